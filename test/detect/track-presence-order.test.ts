/**
 * The tracks detector on decoded media delivered out of order between the tracks, as ingest
 * delivers it: a muxer interleaves audio and video within about 0.7 s, a decoder holds video back
 * by its reorder delay, and the demuxer hands out the last packet before a hole in a track only
 * when the track resumes. Presence is judged on media time, not arrival order.
 */
import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { trackPresenceDetector as spec } from '../../src/detect/track-presence/track-presence-detector.ts';
import type { MediaInput } from '../../src/shared/index.ts';
import { collectingContext, intervals } from '../helpers/frames.ts';

const FPS = 25;
const AUDIO_STEP = 1024 / 48000;

interface Item {
  readonly at: number;
  readonly input: MediaInput;
}

/** Video frames and audio chunks over [0, seconds), video missing in `hole`, each delivered at media time + its track's lag. */
function stream(seconds: number, videoLag: number, hole: [number, number], heldBeforeHole = 0): MediaInput[] {
  const items: Item[] = [];
  const info = { kind: 'info', mediaTime: 0, wallTime: 0, video: {}, audio: {} } as unknown as MediaInput;
  for (let i = 0; i * AUDIO_STEP < seconds; i++) {
    const t = i * AUDIO_STEP;
    items.push({ at: t, input: { kind: 'audio', mediaTime: t, wallTime: t * 1000 } as unknown as MediaInput });
  }
  for (let i = 0; i / FPS < seconds; i++) {
    const t = i / FPS;
    if (t >= hole[0] && t < hole[1]) continue;
    // The last `heldBeforeHole` s of pictures before the hole come out when the video resumes.
    const held = t < hole[0] && t >= hole[0] - heldBeforeHole;
    const at = (held ? hole[1] : t) + videoLag;
    items.push({ at, input: { kind: 'video', mediaTime: t, wallTime: t * 1000 } as unknown as MediaInput });
  }
  items.sort((a, b) => a.at - b.at);
  return [info, ...items.map((i) => i.input)];
}

function run(inputs: readonly MediaInput[]) {
  const ctx = collectingContext();
  const det = spec.create(defaultOptions(spec.options), ctx);
  for (const x of inputs) det.process(x);
  det.flush(30, 30_000);
  return intervals(ctx.edges);
}

describe('tracks detector: media out of order between tracks', () => {
  it('video 0.4 s behind audio throughout: nothing missing', () => {
    expect(run(stream(20, 0.4, [100, 100]))).toEqual([]);
  });

  it('video 1.2 s behind audio with a 5 s hole at 10 s: one video_missing from 10 s, closed when the video resumes', () => {
    const found = run(stream(25, 1.2, [10, 15]));
    expect(found.map((i) => i.type)).toEqual(['video_missing']);
    expect(found[0]!.start).toBeCloseTo(10 - 1 / FPS, 1);
    // Closed on the clock of the flowing track when the first picture after the hole arrives.
    expect(found[0]!.end).toBeGreaterThan(15);
    expect(found[0]!.end).toBeLessThan(17);
  });

  it('the pictures just before a hole, held back until it ends, do not end the incident early', () => {
    const found = run(stream(25, 0.1, [10, 15], 0.2));
    expect(found.map((i) => i.type)).toEqual(['video_missing']);
    expect(found[0]!.start).toBeGreaterThan(9.5);
    expect(found[0]!.start).toBeLessThan(10.1);
    expect(found[0]!.end).toBeGreaterThan(14.9);
    expect(found[0]!.end).toBeLessThan(15.5);
  });
});
