/**
 * EBU R128 / ITU-R BS.1770-4 loudness metering in process: momentary (400 ms), short-term (3 s),
 * integrated (gated) loudness, loudness range (EBU Tech 3342) and true peak (4x oversampling).
 *
 * The arithmetic follows FFmpeg's ebur128 filter where the standards leave room, so the two agree:
 * - K-weighting: the two biquads re-derived from the 48 kHz coefficients of BS.1770 (shelf f0 ≈ 1682 Hz,
 *   G ≈ +4 dB; high-pass f0 ≈ 38.1 Hz), recomputed for the actual sample rate (as libebur128 and FFmpeg do);
 * - loudness is updated every 100 ms (sampleRate / 10 samples); M and S are undefined (-Infinity here)
 *   until their window has been filled once;
 * - integrated loudness and LRA gate blocks through a 0.01 LU histogram from -70 to +10 LUFS (bounded
 *   memory for a stream that runs for months), with the relative gate from the mean power of the
 *   blocks above the absolute gate;
 * - channel weights: LFE 0, surrounds (BL, BR, BC, SL, SR) 1.41, every other channel 1.0.
 *
 * Everything runs on typed arrays allocated once; the per-sample loops allocate nothing.
 */

/**
 * -Infinity and NaN as module constants: a `Number.X` load on a branch the optimised code has not
 * seen yet (the first silent chunk) deoptimises it, and the loop's on-stack-replacement code kept
 * doing so on every silent chunk (16 deopts on the bench input). A constant needs no type feedback.
 */
const NEG_INF = -Infinity;
const NOT_A_NUMBER = NaN;

/** Absolute gate and histogram range (LUFS). */
const ABS_GATE = -70;
const HIST_TOP = 10;
const HIST_GRAIN = 100;
const HIST_SIZE = (HIST_TOP - ABS_GATE) * HIST_GRAIN + 1;

/** C's lrint in the default rounding mode: halves go to the even neighbour (as FFmpeg rounds). */
function lrint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function loudnessOf(power: number): number {
  return power > 0 ? -0.691 + 10 * Math.log10(power) : NEG_INF;
}

/** BS.1770 channel weight from an FFmpeg channel name. */
export function channelWeight(name: string): number {
  if (name === 'LFE' || name === 'LFE2') return 0;
  if (
    name === 'BL' ||
    name === 'BR' ||
    name === 'BC' ||
    name === 'SL' ||
    name === 'SR' ||
    name === 'SDL' ||
    name === 'SDR'
  )
    return 1.41;
  return 1;
}

/** Biquad coefficients [b0, b1, b2, a1, a2] of the two K-weighting stages at `sampleRate`. */
export function kWeighting(sampleRate: number): { shelf: Float64Array; highPass: Float64Array } {
  let f0 = 1681.974450955533;
  const G = 3.999843853973347;
  let Q = 0.7071752369554196;
  let K = Math.tan((Math.PI * f0) / sampleRate);
  const Vh = 10 ** (G / 20);
  const Vb = Vh ** 0.4996667741545416;
  let a0 = 1 + K / Q + K * K;
  const shelf = Float64Array.of(
    (Vh + (Vb * K) / Q + K * K) / a0,
    (2 * (K * K - Vh)) / a0,
    (Vh - (Vb * K) / Q + K * K) / a0,
    (2 * (K * K - 1)) / a0,
    (1 - K / Q + K * K) / a0,
  );
  f0 = 38.13547087602444;
  Q = 0.5003270373238773;
  K = Math.tan((Math.PI * f0) / sampleRate);
  a0 = 1 + K / Q + K * K;
  const highPass = Float64Array.of(1, -2, 1, (2 * (K * K - 1)) / a0, (1 - K / Q + K * K) / a0);
  return { shelf, highPass };
}

/** Gated-block histogram (0.01 LU bins): integrated loudness and LRA without keeping every block. */
class GateHistogram {
  readonly counts = new Float64Array(HIST_SIZE);
  /** Energy of each bin's loudness (FFmpeg sums these rather than the blocks' exact powers). */
  static readonly energies = Float64Array.from(
    { length: HIST_SIZE },
    (_, i) => 10 ** ((i / HIST_GRAIN + ABS_GATE + 0.691) / 10),
  );
  sumPower = 0;
  n = 0;

  add(power: number, loudness: number): void {
    if (!(loudness >= ABS_GATE)) return;
    const bin = Math.min(HIST_SIZE - 1, Math.max(0, lrint((loudness - ABS_GATE) * HIST_GRAIN)));
    this.counts[bin]! += 1;
    this.sumPower += power;
    this.n++;
  }

  gateBin(relative: number): number {
    const threshold = loudnessOf(this.sumPower / this.n) + relative;
    return Math.min(HIST_SIZE - 1, Math.max(0, lrint((threshold - ABS_GATE) * HIST_GRAIN)));
  }

  reset(): void {
    this.counts.fill(0);
    this.sumPower = 0;
    this.n = 0;
  }
}

/** Taps per phase of the true-peak interpolator (BS.1770-4 Annex 2 uses 4 phases x 12 taps). */
const TP_TAPS = 12;
const TP_PHASES = 4;

/**
 * Polyphase coefficients of the 4x interpolator: a Kaiser-windowed sinc (cut-off at the input
 * Nyquist frequency), each phase normalised to unity DC gain. Phase 0 is the input sample itself.
 */
function truePeakCoefficients(): Float64Array {
  const beta = 5.5;
  const half = TP_TAPS / 2;
  const out = new Float64Array((TP_PHASES - 1) * TP_TAPS);
  const i0 = (x: number): number => {
    let sum = 1;
    let term = 1;
    for (let k = 1; k < 30; k++) {
      term *= (x / (2 * k)) ** 2;
      sum += term;
    }
    return sum;
  };
  for (let p = 1; p < TP_PHASES; p++) {
    let dc = 0;
    for (let j = 0; j < TP_TAPS; j++) {
      // Tap j multiplies the input sample at offset (j - half + 1) from the base sample; the output
      // lies p/4 of a sample after the base sample.
      const t = j - half + 1 - p / TP_PHASES;
      const sinc = t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t);
      const r = t / (half + 0.5);
      const w = Math.abs(r) >= 1 ? 0 : i0(beta * Math.sqrt(1 - r * r)) / i0(beta);
      out[(p - 1) * TP_TAPS + j] = sinc * w;
      dc += sinc * w;
    }
    for (let j = 0; j < TP_TAPS; j++) out[(p - 1) * TP_TAPS + j]! /= dc;
  }
  return out;
}
const TP_COEFFS = truePeakCoefficients();
/**
 * The kernel folded on its symmetry (phase 3 is phase 1 mirrored, phase 2 is symmetric), for
 * taps j and 11 - j (j < 6): phases 1/3 even part u_j and odd part v_j, phase 2's h_j.
 */
const TP_SYM = Float64Array.from({ length: TP_TAPS / 2 }, (_, j) => (TP_COEFFS[j]! + TP_COEFFS[2 * TP_TAPS + j]!) / 2);
const TP_ANTI = Float64Array.from({ length: TP_TAPS / 2 }, (_, j) => (TP_COEFFS[j]! - TP_COEFFS[2 * TP_TAPS + j]!) / 2);
const TP_HALF = Float64Array.from({ length: TP_TAPS / 2 }, (_, j) => TP_COEFFS[TP_TAPS + j]!);

/** Per channel: sum of squared samples and largest absolute sample of the chunk being fed. */
export interface SampleStats {
  readonly sumSq: ArrayLike<number>;
  readonly peak: ArrayLike<number>;
}
/** Largest sum of |coefficients| over the phases: bounds an interpolated value by its window's peak. */
const TP_GAIN = Math.max(
  1,
  ...[0, 1, 2].map((p) => TP_COEFFS.subarray(p * TP_TAPS, (p + 1) * TP_TAPS).reduce((a, v) => a + Math.abs(v), 0)),
);

export class R128Meter {
  readonly sampleRate: number;
  readonly channelNames: readonly string[];
  private readonly blockSamples: number;
  private readonly weights: Float64Array;
  private readonly shelf: Float64Array;
  private readonly highPass: Float64Array;
  /** Per channel: shelf z1, z2, high-pass z1, z2 (transposed direct form II). */
  private readonly state: Float64Array;
  /** Sum of squared K-weighted samples per channel in the current 100 ms block. */
  private readonly blockSum: Float64Array;
  private blockFill = 0;
  /** Weighted energy (sum over channels of weight * sum of squares) of the last 30 blocks. */
  private readonly ring = new Float64Array(30);
  private ringPos = 0;
  private blocks = 0;
  private readonly i400 = new GateHistogram();
  private readonly i3000 = new GateHistogram();
  /** Per channel: the last TP_TAPS - 1 samples of the previous chunk, oldest first, for the interpolator. */
  private readonly tpHist: Float64Array;
  /** The chunk being judged, after those samples (grown as chunks need). */
  private tpBuf = new Float64Array(0);
  /** Linear true peak, over all channels: since the last takeChunkPeak() and since start. */
  private chunkPeak = 0;
  private maxPeakLinear = 0;
  private readonly channelPeaks: Float64Array;

  /** Plain RMS (dBFS) of the loudest channel in the latest process() call, as the silence detector measures it. */
  lastRmsDb = NEG_INF;
  /** Loudness of the latest complete 400 ms / 3 s window (LUFS), -Infinity before the window filled. */
  momentary = NEG_INF;
  shortTerm = NEG_INF;
  /** Number of 100 ms updates so far. */
  get updates(): number {
    return this.blocks;
  }

  /** Called at every 100 ms update with the sample offset (within the current process() call) where it happened. */
  onUpdate: ((offsetInChunk: number) => void) | undefined;

  constructor(sampleRate: number, channelNames: readonly string[]) {
    if (!(sampleRate >= 1000)) throw new Error(`R128Meter: sample rate ${sampleRate} Hz is not supported`);
    this.sampleRate = sampleRate;
    this.channelNames = [...channelNames];
    this.blockSamples = Math.max(1, Math.floor(sampleRate / 10));
    const c = channelNames.length;
    this.weights = Float64Array.from(channelNames, channelWeight);
    const k = kWeighting(sampleRate);
    this.shelf = k.shelf;
    this.highPass = k.highPass;
    this.state = new Float64Array(c * 4);
    this.blockSum = new Float64Array(c);
    this.tpHist = new Float64Array(c * (TP_TAPS - 1));
    this.channelPeaks = new Float64Array(c);
  }

  /**
   * Feeds `n` samples of every channel (float32 planar, full scale ±1). `stats`, when given, are the
   * chunk's per-channel sum of squares and largest absolute sample (saves a pass over the samples).
   */
  process(channels: readonly Float32Array[], n: number, stats?: SampleStats): void {
    this.truePeak(channels, n, stats);
    let off = 0;
    while (off < n) {
      const take = Math.min(n - off, this.blockSamples - this.blockFill);
      this.filter(channels, off, take);
      off += take;
      this.blockFill += take;
      if (this.blockFill === this.blockSamples) {
        this.endBlock();
        this.onUpdate?.(off);
      }
    }
  }

  private filter(channels: readonly Float32Array[], off: number, count: number): void {
    const [b0, b1, b2, a1, a2] = this.shelf as unknown as [number, number, number, number, number];
    const [c0, c1, c2, d1, d2] = this.highPass as unknown as [number, number, number, number, number];
    const st = this.state;
    const end = off + count;
    for (let c = 0; c < channels.length; c++) {
      if (this.weights[c] === 0) continue;
      const x = channels[c]!;
      let s1 = st[c * 4]!;
      let s2 = st[c * 4 + 1]!;
      let h1 = st[c * 4 + 2]!;
      let h2 = st[c * 4 + 3]!;
      let sum = 0;
      for (let i = off; i < end; i++) {
        const v = x[i]!;
        const y = b0 * v + s1;
        s1 = b1 * v - a1 * y + s2;
        s2 = b2 * v - a2 * y;
        const z = c0 * y + h1;
        h1 = c1 * y - d1 * z + h2;
        h2 = c2 * y - d2 * z;
        sum += z * z;
      }
      // Flush denormals (a long silence after sound) like FFmpeg does.
      st[c * 4] = Math.abs(s1) < 1e-30 ? 0 : s1;
      st[c * 4 + 1] = Math.abs(s2) < 1e-30 ? 0 : s2;
      st[c * 4 + 2] = Math.abs(h1) < 1e-30 ? 0 : h1;
      st[c * 4 + 3] = Math.abs(h2) < 1e-30 ? 0 : h2;
      this.blockSum[c]! += sum;
    }
  }

  private endBlock(): void {
    let e = 0;
    for (let c = 0; c < this.blockSum.length; c++) {
      e += this.weights[c]! * this.blockSum[c]!;
      this.blockSum[c] = 0;
    }
    this.blockFill = 0;
    this.ring[this.ringPos] = e;
    this.ringPos = (this.ringPos + 1) % 30;
    this.blocks++;
    if (this.blocks >= 4) {
      let s = 0;
      for (let k = 1; k <= 4; k++) s += this.ring[(this.ringPos - k + 30) % 30]!;
      const p = s / (4 * this.blockSamples);
      this.momentary = loudnessOf(p);
      this.i400.add(p, this.momentary);
    }
    if (this.blocks >= 30) {
      let s = 0;
      for (let k = 0; k < 30; k++) s += this.ring[k]!;
      const p = s / (30 * this.blockSamples);
      this.shortTerm = loudnessOf(p);
      this.i3000.add(p, this.shortTerm);
    }
  }

  /** Integrated loudness so far (LUFS): -70 LUFS absolute gate, -10 LU relative gate; -Infinity before any block passed. */
  integrated(): number {
    const h = this.i400;
    if (h.n === 0) return NEG_INF;
    let cnt = 0;
    let pow = 0;
    for (let i = h.gateBin(-10); i < HIST_SIZE; i++) {
      cnt += h.counts[i]!;
      pow += h.counts[i]! * GateHistogram.energies[i]!;
    }
    return cnt > 0 ? loudnessOf(pow / cnt) : NEG_INF;
  }

  /** Loudness range so far (LU), EBU Tech 3342: short-term values, -20 LU relative gate, 10th to 95th percentile. */
  loudnessRange(): number {
    const h = this.i3000;
    if (h.n === 0) return 0;
    const gate = h.gateBin(-20);
    let total = 0;
    for (let i = gate; i < HIST_SIZE; i++) total += h.counts[i]!;
    if (total === 0) return 0;
    let low = NOT_A_NUMBER;
    let n = 0;
    const lowCount = Math.floor(0.1 * total + 0.5);
    for (let i = gate; i < HIST_SIZE; i++) {
      n += h.counts[i]!;
      if (n >= lowCount) {
        low = i / HIST_GRAIN + ABS_GATE;
        break;
      }
    }
    let high = NOT_A_NUMBER;
    n = total;
    const highCount = Math.floor(0.95 * total + 0.5);
    for (let i = HIST_SIZE - 1; i >= 0; i--) {
      n -= Math.min(n, h.counts[i]!);
      if (n < highCount) {
        high = i / HIST_GRAIN + ABS_GATE;
        break;
      }
    }
    return high - low;
  }

  /** Highest true peak since start (dBTP), over all channels. */
  get maxTruePeak(): number {
    return toDb(this.maxPeakLinear);
  }

  /** Highest true peak of channel `c` since start (dBTP). */
  channelTruePeak(c: number): number {
    return toDb(this.channelPeaks[c] ?? 0);
  }

  /** Highest true peak since the previous call (dBTP), over all channels. */
  takeChunkPeak(): number {
    const p = this.chunkPeak;
    this.chunkPeak = 0;
    return toDb(p);
  }

  /**
   * 4x polyphase interpolation; the peak of every original and interpolated sample. An interpolated
   * value is at most TP_GAIN times the largest sample in its window, so windows whose samples all
   * lie below (chunk sample peak) / TP_GAIN cannot raise the peak and are skipped: the result is
   * exact, and on programme audio only a few percent of the windows are computed.
   *
   * The kernel is symmetric: phase 2 (half a sample) is its own mirror image and phase 3 is phase 1
   * mirrored. So with s_j = x_j + x_(11-j) and d_j = x_j - x_(11-j) (j < 6), phase 2 is
   * sum(h_j s_j), and phases 1 and 3 are P + Q and P - Q with P = sum(u_j s_j), Q = sum(v_j d_j);
   * the larger of their magnitudes is |P| + |Q|. 18 multiplies a window instead of 36.
   */
  private truePeak(channels: readonly Float32Array[], n: number, stats?: SampleStats): void {
    const st = stats ?? sampleStats(channels, n);
    let chunkMax = this.chunkPeak;
    let loudestMs = 0;
    for (let c = 0; c < channels.length; c++) {
      const sq = st.sumSq[c]!;
      if (n > 0 && sq / n > loudestMs) loudestMs = sq / n;
      if (this.tpBuf.length < n + TP_TAPS - 1) this.tpBuf = new Float64Array(n + TP_TAPS - 1 + 1024);
      const peak = channelTruePeak(channels[c]!, n, this.tpHist, c * (TP_TAPS - 1), this.tpBuf, st.peak[c]!);
      if (peak > this.channelPeaks[c]!) this.channelPeaks[c] = peak;
      if (peak > this.maxPeakLinear) this.maxPeakLinear = peak;
      if (peak > chunkMax) chunkMax = peak;
    }
    this.chunkPeak = chunkMax;
    this.lastRmsDb = loudestMs > 0 ? 10 * Math.log10(loudestMs) : NEG_INF;
  }

  /** Forget everything (a discontinuity or a new connection). */
  reset(): void {
    this.state.fill(0);
    this.blockSum.fill(0);
    this.blockFill = 0;
    this.ring.fill(0);
    this.ringPos = 0;
    this.blocks = 0;
    this.i400.reset();
    this.i3000.reset();
    this.tpHist.fill(0);
    this.chunkPeak = 0;
    this.maxPeakLinear = 0;
    this.channelPeaks.fill(0);
    this.momentary = NEG_INF;
    this.shortTerm = NEG_INF;
    this.lastRmsDb = NEG_INF;
  }
}

function toDb(linear: number): number {
  return linear > 0 ? 20 * Math.log10(linear) : NEG_INF;
}

/** Per channel: sum of squares and largest absolute sample (when the caller did not pass them). */
function sampleStats(channels: readonly Float32Array[], n: number): SampleStats {
  const sumSq = new Float64Array(channels.length);
  const peak = new Float64Array(channels.length);
  for (let c = 0; c < channels.length; c++) {
    const x = channels[c]!;
    let sq = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      sq += v * v;
      const a = v < 0 ? -v : v;
      if (a > p) p = a;
    }
    sumSq[c] = sq;
    peak[c] = p;
  }
  return { sumSq, peak };
}

/**
 * True peak of one channel's chunk: `samplePeak` raised by any interpolated value above it.
 * `hist[base .. base + TP_TAPS - 1)` holds the channel's last TP_TAPS - 1 samples before this chunk
 * (oldest first) and is updated for the next one; `buf` is scratch of at least n + TP_TAPS - 1.
 * The samples are laid out once, contiguously (no ring written per sample), and only the windows
 * within TP_TAPS of a sample at or above samplePeak / TP_GAIN are computed, in sample order: the
 * same windows' values as a per-sample ring gives, so the same peak. A small function of its own so
 * the JIT compiles the hot loops once, apart from the per-chunk bookkeeping.
 */
function channelTruePeak(
  x: Float32Array,
  n: number,
  hist: Float64Array,
  base: number,
  buf: Float64Array,
  samplePeak: number,
): number {
  const K = TP_TAPS - 1;
  for (let j = 0; j < K; j++) buf[j] = hist[base + j]!;
  buf.set(n === x.length ? x : x.subarray(0, n), K);
  for (let j = 0; j < K; j++) hist[base + j] = buf[n + j]!;
  let peak = samplePeak;
  const threshold = samplePeak / TP_GAIN;
  if (!(threshold > 0)) return peak;
  const u0 = TP_SYM[0]!;
  const u1 = TP_SYM[1]!;
  const u2 = TP_SYM[2]!;
  const u3 = TP_SYM[3]!;
  const u4 = TP_SYM[4]!;
  const u5 = TP_SYM[5]!;
  const v0 = TP_ANTI[0]!;
  const v1 = TP_ANTI[1]!;
  const v2 = TP_ANTI[2]!;
  const v3 = TP_ANTI[3]!;
  const v4 = TP_ANTI[4]!;
  const v5 = TP_ANTI[5]!;
  const h0 = TP_HALF[0]!;
  const h1 = TP_HALF[1]!;
  const h2 = TP_HALF[2]!;
  const h3 = TP_HALF[3]!;
  const h4 = TP_HALF[4]!;
  const h5 = TP_HALF[5]!;
  const end = n + K;
  // Window w covers buf[w .. w + K] (the chunk's sample w is its newest); it can exceed the peak
  // only if one of its samples is at or above the threshold. Scan for such samples and compute
  // the windows that contain them, each once.
  let next = 0;
  for (let b = 0; b < end; b++) {
    const v = buf[b]!;
    if ((v < 0 ? -v : v) < threshold) continue;
    // Windows w with w <= b <= w + K, not yet computed, within the chunk.
    const last = b < n ? b : n - 1;
    for (let w = next > b - K ? next : b - K; w <= last; w++) {
      const x0 = buf[w]!;
      const x1 = buf[w + 1]!;
      const x2 = buf[w + 2]!;
      const x3 = buf[w + 3]!;
      const x4 = buf[w + 4]!;
      const x5 = buf[w + 5]!;
      const x6 = buf[w + 6]!;
      const x7 = buf[w + 7]!;
      const x8 = buf[w + 8]!;
      const x9 = buf[w + 9]!;
      const x10 = buf[w + 10]!;
      const x11 = buf[w + 11]!;
      const s0 = x0 + x11;
      const s1 = x1 + x10;
      const s2 = x2 + x9;
      const s3 = x3 + x8;
      const s4 = x4 + x7;
      const s5 = x5 + x6;
      const p = u0 * s0 + u1 * s1 + u2 * s2 + u3 * s3 + u4 * s4 + u5 * s5;
      const q = v0 * (x0 - x11) + v1 * (x1 - x10) + v2 * (x2 - x9) + v3 * (x3 - x8) + v4 * (x4 - x7) + v5 * (x5 - x6);
      let y = (p < 0 ? -p : p) + (q < 0 ? -q : q);
      if (y > peak) peak = y;
      y = h0 * s0 + h1 * s1 + h2 * s2 + h3 * s3 + h4 * s4 + h5 * s5;
      if (y < 0) y = -y;
      if (y > peak) peak = y;
    }
    if (last + 1 > next) next = last + 1;
  }
  return peak;
}
