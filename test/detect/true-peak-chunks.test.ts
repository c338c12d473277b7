/**
 * The true-peak interpolator computes only the windows that can raise the peak (those holding a
 * sample within 1/TP_GAIN of the chunk's sample peak), over the chunk laid out after the previous
 * chunk's last samples. The peak must not depend on how the audio is cut: transients right at a
 * chunk's end, whose interpolated overshoot lies in windows that end in the next (quieter) chunk,
 * must be found however the chunks fall.
 */
import { describe, expect, it } from 'vitest';
import { R128Meter } from '../../src/detect/loudness/r128.ts';
import { prng } from '../../src/shared/index.ts';

function signal(n: number, seed: number): Float32Array[] {
  const rand = prng(seed);
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    l[i] = 0.05 * Math.sin(i * 0.031) + 0.01 * (rand() - 0.5);
    r[i] = 0.04 * Math.sin(i * 0.017 + 1) + 0.01 * (rand() - 0.5);
  }
  // Clicks (alternating full-scale pairs overshoot most between samples) at awkward places.
  for (const at of [1023, 1024, 4095, 7000, 7001, 12287, 20000]) {
    l[at] = 0.95;
    l[at + 1] = -0.95;
    r[at - 1] = -0.9;
  }
  return [l, r];
}

function peaks(ch: Float32Array[], size: number | ((i: number) => number)): { max: number; left: number; right: number } {
  const m = new R128Meter(48000, ['FL', 'FR']);
  const n = ch[0]!.length;
  for (let at = 0, k = 0; at < n; k++) {
    const len = Math.min(n - at, typeof size === 'number' ? size : size(k));
    m.process(
      ch.map((c) => c.subarray(at, at + len)),
      len,
    );
    at += len;
  }
  return { max: m.maxTruePeak, left: m.channelTruePeak(0), right: m.channelTruePeak(1) };
}

describe('true peak does not depend on the chunking', () => {
  it('one chunk, 1024-sample chunks, odd sizes and 1-sample chunks give the same peaks, bit for bit', () => {
    const ch = signal(24000, 7);
    const whole = peaks(ch, 24000);
    expect(whole.max).toBeGreaterThan(20 * Math.log10(0.95)); // the overshoot between the click's samples
    for (const size of [1024, 333, 17, 11, 12, 13, 1, (k: number) => 1 + ((k * 7919) % 2000)]) {
      expect(peaks(ch, size)).toEqual(whole);
    }
  });
});
