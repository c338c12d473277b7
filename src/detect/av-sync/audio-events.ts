import type { AudioChunk } from '../../shared/index.ts';

/** Onset-envelope hop (s): the audio event series is sampled every 10 ms. */
export const HOP = 0.01;
/** Blocks of about 1 ms feed the tone-burst onset finder. */
const BLOCKS_PER_HOP = 10;
/** Mean-square floor of the log-energy flux (about -50 dBFS): quieter changes are not events. */
const FLUX_FLOOR = 1e-5;
/** Hops averaged as the "before" level of the flux. */
const FLUX_HISTORY = 3;
/** Blocks that must be quiet before a burst counts as an onset (30 ms). */
const QUIET_BLOCKS = 30;
/** A burst must be this much louder (mean square) than every quiet block before it (~ +18 dB). */
const BURST_RATIO = 64;
/** Burst blocks must reach this mean square (-45 dBFS). */
const BURST_MIN = 10 ** (-45 / 10);
/** No second burst onset within this time (s). */
const BURST_REFRACTORY = 0.2;

export interface OnsetSink {
  /** One 10 ms hop of the onset envelope: `t` its start (s), `strength` >= 0; `energy` its mean square. */
  hop(t: number, strength: number, energy: number): void;
  /** A tone-burst onset refined to the sample (s). */
  burst(t: number): void;
}

/**
 * Cheap audio front end: a mono mix (front channels) is cut into ~1 ms blocks; each block's
 * mean square, and that of the first difference (a crude high band), feed
 * - a 10 ms onset envelope: positive log-energy flux in the two bands (an energy onset
 *   function, the FFT-free cousin of spectral flux);
 * - a tone-burst onset finder: a block much louder than the 30 ms before it, refined to the
 *   first sample that reaches a fifth of the burst's peak.
 * About 5 multiply-adds per sample; nothing is kept but a 4 ms sample ring.
 */
export class AudioEvents {
  private sampleRate = 0;
  private blockLen = 0;
  // Current block accumulators.
  private inBlock = 0;
  private eLo = 0;
  private eHi = 0;
  private blockPeak = 0;
  private prev = 0;
  // Current hop accumulators.
  private blocksInHop = 0;
  private hopLo = 0;
  private hopHi = 0;
  private hopStart = Number.NaN;
  private readonly histLo: number[] = [];
  private readonly histHi: number[] = [];
  // Burst finder.
  private quiet: Float64Array = new Float64Array(QUIET_BLOCKS);
  private quietCount = 0;
  private quietPos = 0;
  private ring: Float32Array = new Float32Array(0);
  private ringPos = 0;
  private lastBurst = -Infinity;
  private blockStartTime = Number.NaN;
  private nextTime = Number.NaN;

  constructor(private readonly sink: OnsetSink) {}

  process(a: AudioChunk): void {
    const n = a.nbSamples;
    if (n === 0 || a.channels.length === 0) return;
    if (a.sampleRate !== this.sampleRate) this.reset(a.sampleRate);
    // A gap or overlap in timestamps restarts block timing (not the history).
    if (!Number.isFinite(this.nextTime) || Math.abs(a.mediaTime - this.nextTime) > 0.002) {
      this.inBlock = 0;
      this.eLo = this.eHi = this.blockPeak = 0;
      this.blocksInHop = 0;
      this.hopLo = this.hopHi = 0;
      this.hopStart = Number.NaN;
    }
    this.nextTime = a.mediaTime + n / a.sampleRate;
    const chans = frontChannels(a);
    const c0 = chans[0]!;
    const c1 = chans.length > 1 ? chans[1]! : undefined;
    const c2 = chans.length > 2 ? chans[2]! : undefined;
    const gain = 1 / chans.length;
    const ring = this.ring;
    const ringMask = ring.length - 1;
    const blockLen = this.blockLen;
    const sr = this.sampleRate;
    let i = 0;
    while (i < n) {
      if (this.inBlock === 0) {
        this.blockStartTime = a.mediaTime + i / sr;
        if (this.blocksInHop === 0) this.hopStart = this.blockStartTime;
      }
      // The rest of this block (or of the chunk) with everything in locals.
      const begin = i;
      const stop = Math.min(n, i + blockLen - this.inBlock);
      let prev = this.prev;
      let eLo = this.eLo;
      let eHi = this.eHi;
      let peak = this.blockPeak;
      let pos = this.ringPos;
      for (; i < stop; i++) {
        let m = c0[i]!;
        if (c1) m += c1[i]!;
        if (c2) m += c2[i]!;
        m *= gain;
        const d = m - prev;
        prev = m;
        eLo += m * m;
        eHi += d * d;
        const am = m < 0 ? -m : m;
        if (am > peak) peak = am;
        ring[pos] = m;
        pos = (pos + 1) & ringMask;
      }
      this.prev = prev;
      this.eLo = eLo;
      this.eHi = eHi;
      this.blockPeak = peak;
      this.ringPos = pos;
      this.inBlock += stop - begin;
      if (this.inBlock === blockLen) this.endBlock();
    }
  }

  private reset(sampleRate: number): void {
    this.sampleRate = sampleRate;
    this.blockLen = Math.max(8, Math.round(sampleRate / 1000));
    let size = 1;
    while (size < this.blockLen * 4) size <<= 1;
    this.ring = new Float32Array(size);
    this.ringPos = 0;
    this.quiet = new Float64Array(QUIET_BLOCKS);
    this.quietCount = 0;
    this.histLo.length = 0;
    this.histHi.length = 0;
  }

  private endBlock(): void {
    const len = this.blockLen;
    const ms = this.eLo / len;
    this.findBurst(ms);
    this.hopLo += this.eLo;
    this.hopHi += this.eHi;
    this.inBlock = 0;
    this.eLo = this.eHi = this.blockPeak = 0;
    if (++this.blocksInHop === BLOCKS_PER_HOP) {
      const count = len * BLOCKS_PER_HOP;
      const lo = this.hopLo / count;
      const hi = this.hopHi / count;
      const strength = flux(lo, this.histLo) + flux(hi, this.histHi);
      this.sink.hop(this.hopStart, strength, lo);
      this.blocksInHop = 0;
      this.hopLo = this.hopHi = 0;
    }
  }

  private findBurst(ms: number): void {
    let quietMax = 0;
    for (let k = 0; k < this.quietCount; k++) if (this.quiet[k]! > quietMax) quietMax = this.quiet[k]!;
    const t = this.blockStartTime;
    if (
      this.quietCount === QUIET_BLOCKS &&
      ms >= BURST_MIN &&
      ms > quietMax * BURST_RATIO &&
      t - this.lastBurst >= BURST_REFRACTORY
    ) {
      // Refine: the first sample of this block or the one before reaching 1/5 of the peak.
      const len = this.blockLen;
      const ring = this.ring;
      const mask = ring.length - 1;
      const threshold = this.blockPeak * 0.2;
      let onset = len; // index within [previous block, this block], 0..2*len-1
      for (let k = 0; k < 2 * len; k++) {
        const v = ring[(this.ringPos - 2 * len + k + ring.length) & mask]!;
        if ((v < 0 ? -v : v) >= threshold) {
          onset = k;
          break;
        }
      }
      const at = t + (onset - len) / this.sampleRate;
      this.lastBurst = at;
      this.sink.burst(at);
    }
    this.quiet[this.quietPos] = ms;
    this.quietPos = (this.quietPos + 1) % QUIET_BLOCKS;
    if (this.quietCount < QUIET_BLOCKS) this.quietCount++;
  }
}

/** Positive change of log energy against the mean of the last few hops; updates the history. */
function flux(e: number, hist: number[]): number {
  let mean = 0;
  for (const h of hist) mean += h;
  const before = hist.length ? mean / hist.length : e;
  hist.push(e);
  if (hist.length > FLUX_HISTORY) hist.shift();
  const r = Math.log((e + FLUX_FLOOR) / (before + FLUX_FLOOR));
  return r > 0 ? r : 0;
}

/** The channels that carry dialogue and effects: FL, FR, FC when named, else the first two. */
function frontChannels(a: AudioChunk): Float32Array[] {
  const out: Float32Array[] = [];
  const names = a.channelNames;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const ch = a.channels[i];
    if ((name === 'FL' || name === 'FR' || name === 'FC') && ch) out.push(ch);
  }
  if (out.length) return out;
  return a.channels.slice(0, 2);
}
