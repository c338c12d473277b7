import { describe, expect, it } from 'vitest';
import { defaultOptions } from '../../src/detect/index.ts';
import { silenceDetector as spec } from '../../src/detect/silence/silence-detector.ts';
import type { AudioChunk } from '../../src/shared/index.ts';
import {
  collectingContext,
  intervals,
  perChannelChunks,
  silenceChunks,
  silent,
  sine,
  sineChunks,
} from '../helpers/frames.ts';

function run(chunks: readonly AudioChunk[], flushTwice = false, perChannel = false) {
  const ctx = collectingContext();
  const det = spec.create({ ...defaultOptions(spec.options), perChannel }, ctx);
  for (const c of chunks) det.process(c);
  const last = chunks[chunks.length - 1]!;
  const end = last.mediaTime + last.nbSamples / last.sampleRate;
  det.flush(end, last.wallTime);
  if (flushTwice) det.flush(end, last.wallTime);
  return { edges: ctx.edges, found: intervals(ctx.edges) };
}

describe('silence detector', () => {
  it('all channels zero for 3 s gives one silence incident without a channel', () => {
    const { edges, found } = run([...sineChunks(0, 1), ...silenceChunks(1, 3), ...sineChunks(4, 2)]);
    expect(edges.map((e) => e.phase)).toEqual(['open', 'close']);
    expect(found).toHaveLength(1);
    expect(found[0]!.type).toBe('silence');
    expect(found[0]!.channel).toBeUndefined();
    expect(Math.abs(found[0]!.start - 1)).toBeLessThan(1024 / 48000 + 1e-9);
    expect(Math.abs(found[0]!.end - 4)).toBeLessThan(1024 / 48000 + 1e-9);
  });

  it('one dead channel is not silence by default (channel_loss reports it)', () => {
    expect(spec.options.perChannel.default).toBe(false);
    expect(run(perChannelChunks([sine(440, -20), silent], 0, 4)).edges).toEqual([]);
  });

  it('with perChannel, one dead channel (FR zero, FL sine) gives one silence incident on FR and no all-channel incident', () => {
    const { found } = run(perChannelChunks([sine(440, -20), silent], 0, 4), false, true);
    expect(found).toHaveLength(1);
    expect(found[0]!.channel).toBe('FR');
    expect(found[0]!.start).toBeCloseTo(0, 6);
    expect(found.filter((i) => i.channel === undefined)).toEqual([]);
  });

  it('a quiet but audible tone at -40 dBFS is not silence', () => {
    expect(run(sineChunks(0, 4, 1000, -40)).edges).toEqual([]);
    // Control: the same tone far below the threshold is silence.
    expect(run(sineChunks(0, 4, 1000, -80)).edges.map((e) => e.phase)).toEqual(['open', 'close']);
  });

  it('does not report the same interval twice', () => {
    // Silence running to the end of input, closed by flush, flushed again.
    const a = run([...sineChunks(0, 1), ...silenceChunks(1, 3)], true);
    expect(a.edges.map((e) => e.phase)).toEqual(['open', 'close']);
    // Silence that ends, then long sound and two flushes.
    const b = run([...silenceChunks(0, 3), ...sineChunks(3, 5)], true);
    expect(b.edges.map((e) => e.phase)).toEqual(['open', 'close']);
    // A dead channel that ends, then two flushes.
    const c = run([...perChannelChunks([sine(440, -20), silent], 0, 3), ...sineChunks(3, 3)], true, true);
    expect(c.edges.map((e) => `${e.phase}:${e.channel ?? ''}`)).toEqual(['open:FR', 'close:FR']);
  });
});
