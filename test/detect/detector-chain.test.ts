import { afterEach, describe, expect, it, vi } from 'vitest';
import { DETECTORS, DetectorChain } from '../../src/detect/index.ts';
import { blackDetector } from '../../src/detect/black/black-detector.ts';
import type { IntervalEdge, MediaInput } from '../../src/shared/index.ts';
import { intervals, sineChunks, silenceChunks, texture, videoFrames, type FrameOptions } from '../helpers/frames.ts';

const FPS = 25;
const opts: FrameOptions = { width: 320, height: 180, fps: FPS };
const tex = texture(9);

function makeChain(overrides?: Record<string, Record<string, number | boolean>>) {
  const edges: IntervalEdge[] = [];
  const errors: { name: string; err: unknown }[] = [];
  const c = new DetectorChain({
    streamId: 's1',
    overrides: [overrides],
    onEdge: (e) => edges.push(e),
    onDetectorError: (name, err) => errors.push({ name, err }),
  });
  const feed = (inputs: readonly MediaInput[]) => {
    for (const i of inputs) c.process(i);
  };
  return { c, edges, errors, feed };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DetectorChain', () => {
  it('a detector that throws is disabled and reported while the others keep running', () => {
    let calls = 0;
    vi.spyOn(blackDetector, 'create').mockImplementation(() => ({
      process() {
        calls++;
        throw new Error('boom');
      },
      flush() {},
    }));
    const { c, edges, errors, feed } = makeChain();
    expect(c.detectorNames).toContain('black');
    // A still picture for 3 s (freeze), with 3 s of silent audio interleaved.
    const video = videoFrames((x, y) => tex(x, y), 0, 3 * FPS, opts);
    const audio = silenceChunks(0, 3);
    feed(video.slice(0, 10));
    feed(audio);
    feed(video.slice(10));
    c.flush(3, Date.now());
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.name).toBe('black');
    expect((errors[0]!.err as Error).message).toBe('boom');
    const found = intervals(edges);
    expect(found.filter((i) => i.type === 'freeze')).toHaveLength(1);
    expect(found.filter((i) => i.type === 'silence')).toHaveLength(1);
    expect(found.filter((i) => i.type === 'black')).toEqual([]);
  });

  it('{ black: { enabled: false } } removes the black detector', () => {
    const all = makeChain().c.detectorNames;
    expect(all).toEqual(DETECTORS.map((d) => d.name));
    const { c, edges, feed } = makeChain({ black: { enabled: false } });
    expect(c.detectorNames).toEqual(all.filter((n) => n !== 'black'));
    feed(videoFrames(() => 16, 0, 3 * FPS, opts));
    c.flush(3, Date.now());
    expect(edges.filter((e) => e.type === 'black')).toEqual([]);
  });

  it('{ freeze: { minDuration: 5 } } takes effect', () => {
    const still = videoFrames((x, y) => tex(x, y), 0, 4 * FPS, opts);
    const moving = videoFrames((x, y, i) => tex(x + 3 * i, y), 4 * FPS, FPS, opts);
    const def = makeChain();
    def.feed([...still, ...moving]);
    expect(intervals(def.edges).filter((i) => i.type === 'freeze')).toHaveLength(1);

    const slow = makeChain({ freeze: { minDuration: 5 } });
    slow.feed([...still, ...moving]);
    slow.c.flush(5, Date.now());
    expect(slow.edges.filter((e) => e.type === 'freeze')).toEqual([]);

    // ... and 6 s of the still picture does open one.
    const slow6 = makeChain({ freeze: { minDuration: 5 } });
    slow6.feed(videoFrames((x, y) => tex(x, y), 0, 6 * FPS, opts));
    slow6.c.flush(6, Date.now());
    expect(intervals(slow6.edges).filter((i) => i.type === 'freeze')).toHaveLength(1);
  });

  it('overrides reach audio detectors too ({ silence: { threshold: -30 } })', () => {
    const quiet = sineChunks(0, 3, 440, -40);
    const def = makeChain();
    def.feed(quiet);
    def.c.flush(3, Date.now());
    expect(def.edges).toEqual([]);
    const strict = makeChain({ silence: { threshold: -30 } });
    strict.feed(quiet);
    strict.c.flush(3, Date.now());
    expect(intervals(strict.edges).filter((i) => i.type === 'silence')).toHaveLength(1);
  });
});
