/**
 * The audio view every audio detector reads: float planar samples with the channel names of the
 * layout. Ingest copies each decoded chunk into a frame of its own (av_frame_copy) and keeps its
 * channel views, so the view must follow every change of sample count (up and down, past the copy
 * target's capacity), channel count and channel layout, and stay readable after the decoder's frame
 * is freed.
 */
import '../../src/shared/polyfill.ts';
import { AV_CHANNEL_ORDER_NATIVE, AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import { Frame } from 'node-av/lib';
import { describe, expect, it } from 'vitest';
import { AudioViewBuilder } from '../../src/ingest/frame-views.ts';

function popcount(mask: bigint): number {
  let n = 0;
  for (let m = mask; m > 0n; m >>= 1n) n += Number(m & 1n);
  return n;
}

/** A float planar frame of `n` samples on the channels of `mask`, sample i of channel c = value(c, i). */
function audioFrame(n: number, mask: bigint, value: (c: number, i: number) => number): Frame {
  const count = popcount(mask);
  const f = new Frame();
  f.alloc();
  f.format = AV_SAMPLE_FMT_FLTP;
  f.nbSamples = n;
  f.sampleRate = 48000;
  f.channelLayout = { nbChannels: count, order: AV_CHANNEL_ORDER_NATIVE, mask };
  expect(f.allocBuffer()).toBeGreaterThanOrEqual(0);
  const planes = f.data!;
  for (let c = 0; c < count; c++) {
    const p = new Float32Array(planes[c]!.buffer, planes[c]!.byteOffset, n);
    for (let i = 0; i < n; i++) p[i] = value(c, i);
  }
  return f;
}

const STEREO = 0x3n;
const FIVE_ONE = 0x3fn; // FL FR FC LFE BL BR
const FC_LFE = 0xcn;

describe('AudioViewBuilder', () => {
  it('follows sample count, channel count and layout changes, and outlives the decoder frame', () => {
    const builder = new AudioViewBuilder();
    const steps: { n: number; mask: bigint; names: string[] }[] = [
      { n: 1024, mask: STEREO, names: ['FL', 'FR'] },
      { n: 1024, mask: STEREO, names: ['FL', 'FR'] },
      { n: 1024, mask: FIVE_ONE, names: ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'] },
      { n: 960, mask: FIVE_ONE, names: ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'] },
      // Same channel count as stereo, other channels: only the layout tells.
      { n: 960, mask: FC_LFE, names: ['FC', 'LFE'] },
      { n: 1024, mask: STEREO, names: ['FL', 'FR'] },
      { n: 17, mask: STEREO, names: ['FL', 'FR'] },
      // Lengths that vary frame to frame (Vorbis, Opus), and one longer than the copy target was made for.
      { n: 128, mask: STEREO, names: ['FL', 'FR'] },
      { n: 1024, mask: STEREO, names: ['FL', 'FR'] },
      { n: 128, mask: STEREO, names: ['FL', 'FR'] },
      { n: 6000, mask: STEREO, names: ['FL', 'FR'] },
      { n: 2048, mask: STEREO, names: ['FL', 'FR'] },
    ];
    try {
      for (const [k, s] of steps.entries()) {
        const value = (c: number, i: number): number => Math.fround(Math.sin(0.01 * (i + 1) * (c + 1) + k));
        const frame = audioFrame(s.n, s.mask, value);
        const chunk = builder.build(frame, k, 1000 + k);
        // The decoder reuses or frees its frame once the detectors have run; the view must not depend on it.
        frame.free();
        expect(chunk, `step ${k}`).not.toBeNull();
        expect(chunk!.nbSamples).toBe(s.n);
        expect(chunk!.sampleRate).toBe(48000);
        expect(chunk!.mediaTime).toBe(k);
        expect(chunk!.channelNames).toEqual(s.names);
        expect(chunk!.channels).toHaveLength(s.names.length);
        for (let c = 0; c < s.names.length; c++) {
          const got = chunk!.channels[c]!;
          expect(got.length, `step ${k} channel ${c}`).toBe(s.n);
          for (let i = 0; i < s.n; i++) if (got[i] !== value(c, i)) expect.fail(`step ${k} channel ${c} sample ${i}: ${got[i]} != ${value(c, i)}`);
        }
      }
    } finally {
      builder.close();
    }
  });
});
