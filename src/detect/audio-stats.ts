import type { AudioChunk } from '../shared/index.ts';

/** Per channel of one audio chunk: sum of squared samples and the largest absolute sample. */
export interface ChunkStats {
  readonly sumSq: Float64Array;
  readonly peak: Float64Array;
}

let lastChannels: readonly Float32Array[] | undefined;
let lastFirst: Float32Array | undefined;
let lastTime = Number.NaN;
let lastN = -1;
let stats: { sumSq: Float64Array; peak: Float64Array } = { sumSq: new Float64Array(0), peak: new Float64Array(0) };

/**
 * One pass over a chunk's samples shared by the audio detectors (silence: RMS; loudness: plain
 * RMS and the sample peak that bounds true-peak work; clipping: the peak that rules a chunk out).
 * The chain hands every detector the same chunk in turn, so the latest chunk's result is kept and
 * handed out again while the same chunk (same channel arrays, time and length) comes by. The
 * returned arrays are overwritten by the next chunk: read them at once, never keep them.
 */
export function chunkStats(a: AudioChunk): ChunkStats {
  const chans = a.channels;
  const n = a.nbSamples;
  if (chans === lastChannels && chans[0] === lastFirst && a.mediaTime === lastTime && n === lastN) return stats;
  const count = chans.length;
  if (stats.sumSq.length !== count) stats = { sumSq: new Float64Array(count), peak: new Float64Array(count) };
  for (let c = 0; c < count; c++) {
    const x = chans[c]!;
    let sq = 0;
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      sq += v * v;
      const m = v < 0 ? -v : v;
      if (m > peak) peak = m;
    }
    stats.sumSq[c] = sq;
    stats.peak[c] = peak;
  }
  lastChannels = chans;
  lastFirst = chans[0];
  lastTime = a.mediaTime;
  lastN = n;
  return stats;
}
