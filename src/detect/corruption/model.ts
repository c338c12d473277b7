/**
 * The corruption model, two small perceptrons (one hidden ReLU layer, sigmoid output) over
 * standardized per-block features (features.ts):
 * - stage 1 scores each 16x16 macroblock from its own features;
 * - stage 2 adds context: the block's stage-1 score, the highest among its 4 neighbours, the
 *   block's and its neighbours' stage-1 scores in the previous analysed frame (damage persists
 *   until the next keyframe), and whether a keyframe came since.
 * Weights come from model.json, written by `npm run train` (scripts/train); inference is plain TS.
 */
import { FEATURE_NAMES, NUM_FEATURES } from './features.ts';
import { Kernels } from './kernels.ts';
import weights from './model.json' with { type: 'json' };

/** Standardized features are clipped to +-CLIP (the same in training). */
export const CLIP = 4;
export const CONTEXT_FEATURES = ['stage1', 'stage1NeighbourMax', 'prevStage1', 'prevStage1NeighbourMax', 'keyframeSince'] as const;
export const NUM_STAGE2 = NUM_FEATURES + CONTEXT_FEATURES.length;

export interface MlpWeights {
  /** Per-feature standardization. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Hidden layer: hidden x inputs, row-major. */
  readonly w1: readonly number[];
  readonly b1: readonly number[];
  readonly w2: readonly number[];
  readonly b2: number;
}

export interface ModelWeights {
  readonly features: readonly string[];
  readonly stage1: MlpWeights;
  readonly stage2: MlpWeights;
  /** Block probability from which a block counts as damaged. */
  readonly blockThreshold: number;
  /** Block threshold on frames the decoder or demuxer flagged as damaged. */
  readonly errorBlockThreshold: number;
  readonly areaThreshold: number;
  readonly trainedOn?: unknown;
}

/** Float32 rounding: the perceptrons compute in float32, every step rounded, as the kernels' f32x4 lanes do. */
const f32 = Math.fround;

/**
 * One perceptron, evaluated on rows of a row-major feature matrix, in float32 arithmetic (each
 * operation rounded to float32, multiply then add): the same numbers as the WebAssembly kernels,
 * which score four blocks at once in f32x4 lanes. (Rounding each step of a float64 computation
 * to float32 gives the correctly rounded float32 result for +, - and *.) Training computes in
 * float64 (scripts/train/mlp.ts); the two differ in the last float32 bits of the logit.
 */
export class Mlp {
  private readonly mean: Float32Array;
  private readonly inv: Float32Array;
  private readonly w1: Float32Array;
  private readonly b1: Float32Array;
  private readonly w2: Float32Array;
  private readonly b2: number;
  private readonly hidden: number;
  private readonly x: Float32Array;

  constructor(
    m: MlpWeights,
    private readonly inputs: number,
  ) {
    this.hidden = m.b1.length;
    if (m.mean.length !== inputs || m.w1.length !== this.hidden * inputs || m.w2.length !== this.hidden) {
      throw new Error('corruption model: weight shapes do not match the feature count; run npm run train');
    }
    this.mean = Float32Array.from(m.mean);
    this.inv = Float32Array.from(m.std, (s) => 1 / (s || 1));
    this.w1 = Float32Array.from(m.w1);
    this.b1 = Float32Array.from(m.b1);
    this.w2 = Float32Array.from(m.w2);
    this.b2 = m.b2;
    this.x = new Float32Array(inputs);
  }

  predict(features: ArrayLike<number>, row: number): number {
    const d = this.inputs;
    const x = this.x;
    const o = row * d;
    const mean = this.mean;
    const inv = this.inv;
    for (let i = 0; i < d; i++) {
      // Clipped as in training: content far outside what the model saw must not extrapolate.
      const v = f32(f32(features[o + i]! - mean[i]!) * inv[i]!);
      x[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
    return this.forward();
  }

  /** Stage 2 without building its input rows: a block's features followed by its context values. */
  predictWith(features: Float32Array, row: number, c0: number, c1: number, c2: number, c3: number, c4: number): number {
    const nf = this.inputs - 5;
    const x = this.x;
    const o = row * nf;
    const mean = this.mean;
    const inv = this.inv;
    for (let i = 0; i < nf; i++) {
      const v = f32(f32(features[o + i]! - mean[i]!) * inv[i]!);
      x[i] = v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
    }
    x[nf] = this.std2(c0, nf);
    x[nf + 1] = this.std2(c1, nf + 1);
    x[nf + 2] = this.std2(c2, nf + 2);
    x[nf + 3] = this.std2(c3, nf + 3);
    x[nf + 4] = this.std2(c4, nf + 4);
    return this.forward();
  }

  private std2(value: number, i: number): number {
    const v = f32(f32(value - this.mean[i]!) * this.inv[i]!);
    return v > CLIP ? CLIP : v < -CLIP ? -CLIP : v;
  }

  private forward(): number {
    const d = this.inputs;
    const x = this.x;
    const w1 = this.w1;
    const b1 = this.b1;
    const w2 = this.w2;
    let z = f32(this.b2);
    for (let h = 0; h < this.hidden; h++) {
      let a = b1[h]!;
      const r = h * d;
      for (let i = 0; i < d; i++) a = f32(a + f32(w1[r + i]! * x[i]!));
      if (a > 0) z = f32(z + f32(w2[h]! * a));
    }
    return 1 / (1 + Math.exp(-z));
  }
}

/** Max of the 4-neighbours of block b in a cols x rows map. */
function neighbourMax(p: Float32Array, b: number, cols: number, rows: number): number {
  const bx = b % cols;
  const by = (b - bx) / cols;
  let m = 0;
  if (bx > 0) m = Math.max(m, p[b - 1]!);
  if (bx + 1 < cols) m = Math.max(m, p[b + 1]!);
  if (by > 0) m = Math.max(m, p[b - cols]!);
  if (by + 1 < rows) m = Math.max(m, p[b + cols]!);
  return m;
}

/**
 * Stage-2 input rows from stage-1 features and scores (training; the detector computes the same
 * values in CorruptionModel.score). `prev` is the previous analysed frame's stage-1 map (same
 * size) or null. Stage-1 scores of blocks the gate did not pass are 0.
 */
export function contextRows(features: Float32Array, p1: Float32Array, prev: Float32Array | null, cols: number, rows: number, keyframeSince: boolean, out: Float32Array): void {
  const n = cols * rows;
  for (let b = 0; b < n; b++) {
    const o = b * NUM_STAGE2;
    for (let i = 0; i < NUM_FEATURES; i++) out[o + i] = features[b * NUM_FEATURES + i]!;
    out[o + NUM_FEATURES] = p1[b]!;
    out[o + NUM_FEATURES + 1] = neighbourMax(p1, b, cols, rows);
    out[o + NUM_FEATURES + 2] = prev ? prev[b]! : 0;
    out[o + NUM_FEATURES + 3] = prev ? neighbourMax(prev, b, cols, rows) : 0;
    out[o + NUM_FEATURES + 4] = keyframeSince ? 1 : 0;
  }
}

/**
 * Stage 2 runs only on blocks where the block, a neighbour, or the block or a neighbour in the
 * previous analysed frame reached this stage-1 probability; the others score 0. Stage 2 refines
 * stage 1 with context: on the training and held-out data no block under this gate would have
 * reached 0.5 (the lower, decoder-flagged block threshold) through stage 2 (scripts/train reports
 * the count; at 0.3 a few would have). Stage 2 then scores about a third to two thirds of the blocks.
 */
export const STAGE2_GATE = 0.15;

/** Per-stream model state: the previous analysed frame's stage-1 map. */
export class CorruptionModel {
  private readonly stage1: Mlp;
  private readonly stage2: Mlp;
  private p1 = new Float32Array(0);
  private prev = new Float32Array(0);
  private havePrev = false;
  private cols = 0;
  /** Final per-block probabilities of the last frame scored (0 where stage 2 was gated off). */
  map = new Float32Array(0);
  /** Blocks stage 2 scored in the last frame. */
  scored = 0;
  readonly blockThreshold: number;
  readonly areaThreshold: number;

  /** WebAssembly kernels, or null for the TypeScript loops (reference; fallback). */
  private readonly kernels: Kernels | null;
  private wasmFor = 0;
  private w = { w1: 0, w2: 0, ws1: 0, ws2: 0, feat: 0, x: 0, z1: 0, p1: 0, prev: 0, z2: 0 };
  /** Views on the kernels' memory, made once per layout. */
  private views = { feat: new Float32Array(0), z1: new Float64Array(0), p1: new Float32Array(0), prev: new Float32Array(0), z2: new Float64Array(0) };

  /** `opts.kernels: false` runs the TypeScript loops (the reference) instead of WebAssembly. */
  constructor(
    private readonly m: ModelWeights = weights,
    opts: { kernels?: boolean } = {},
  ) {
    if (m.features.length !== NUM_FEATURES || m.features.some((f, i) => f !== FEATURE_NAMES[i])) {
      throw new Error(`corruption model: feature list [${m.features.join(', ')}] does not match this build's features; run npm run train`);
    }
    this.stage1 = new Mlp(m.stage1, NUM_FEATURES);
    this.stage2 = new Mlp(m.stage2, NUM_STAGE2);
    this.blockThreshold = m.blockThreshold;
    this.areaThreshold = m.areaThreshold;
    this.kernels = opts.kernels === false ? null : Kernels.create();
  }

  /** Whether the WebAssembly kernels run the perceptrons. */
  get usesKernels(): boolean {
    return this.kernels !== null;
  }

  reset(): void {
    this.havePrev = false;
  }

  /** Score one frame's blocks into `map`; returns the fraction of blocks at or above `threshold`. */
  score(features: Float32Array, cols: number, rows: number, keyframeSince: boolean, threshold = this.blockThreshold): number {
    const n = cols * rows;
    if (this.p1.length !== n || this.cols !== cols) {
      this.cols = cols;
      this.p1 = new Float32Array(n);
      this.prev = new Float32Array(n);
      this.map = new Float32Array(n);
      this.havePrev = false;
    }
    if (this.kernels) return this.scoreWasm(this.kernels, features, cols, rows, keyframeSince, threshold);
    const { p1, prev, map } = this;
    for (let b = 0; b < n; b++) p1[b] = this.stage1.predict(features, b);
    if (!this.havePrev) prev.fill(0);
    const key = keyframeSince ? 1 : 0;
    let hits = 0;
    let scored = 0;
    for (let b = 0; b < n; b++) {
      const nb = neighbourMax(p1, b, cols, rows);
      const pb = prev[b]!;
      const pnb = neighbourMax(prev, b, cols, rows);
      const self = p1[b]!;
      if (self < STAGE2_GATE && nb < STAGE2_GATE && pb < STAGE2_GATE && pnb < STAGE2_GATE) {
        map[b] = 0;
        continue;
      }
      scored++;
      const p = this.stage2.predictWith(features, b, self, nb, pb, pnb, key);
      map[b] = p;
      if (p >= threshold) hits++;
    }
    prev.set(p1);
    this.havePrev = true;
    this.scored = scored;
    return hits / n;
  }

  /**
   * score() in WebAssembly (assembly/kernels.ts): the same float32 sums in the same order as the
   * TypeScript loops above, four blocks at once, so the same map and ratio bit for bit; the
   * sigmoids stay here (V8's Math.exp).
   */
  private scoreWasm(k: Kernels, features: Float32Array, cols: number, rows: number, keyframeSince: boolean, threshold: number): number {
    const n = cols * rows;
    const { m, w } = this;
    if (this.wasmFor !== n) {
      const packed1 = packWeights(m.stage1);
      const packed2 = packWeights(m.stage2);
      // Prepared layers for the kernels (f32x4 splats: w1, b1, w2): (inputs + 2) x hidden vectors.
      const prepared = (mlp: MlpWeights, d: number) => (d + 2) * mlp.b1.length * 16;
      [w.w1, w.w2, w.ws1, w.ws2, w.feat, w.x, w.z1, w.p1, w.prev, w.z2] = k.layout([
        packed1.byteLength,
        packed2.byteLength,
        prepared(m.stage1, NUM_FEATURES),
        prepared(m.stage2, NUM_STAGE2),
        n * NUM_FEATURES * 4,
        // Inputs of four rows (16 bytes each), then stage 2's five context rows.
        (NUM_STAGE2 + 5) * 16,
        n * 8,
        n * 4,
        n * 4,
        n * 8,
      ]);
      new Float32Array(k.buffer, w.w1, packed1.length).set(packed1);
      new Float32Array(k.buffer, w.w2, packed2.length).set(packed2);
      k.exports.prepareWeights(w.w1, NUM_FEATURES, m.stage1.b1.length, w.ws1);
      k.exports.prepareWeights(w.w2, NUM_STAGE2, m.stage2.b1.length, w.ws2);
      const buf = k.buffer;
      this.views = {
        feat: new Float32Array(buf, w.feat, n * NUM_FEATURES),
        z1: new Float64Array(buf, w.z1, n),
        p1: new Float32Array(buf, w.p1, n),
        prev: new Float32Array(buf, w.prev, n),
        z2: new Float64Array(buf, w.z2, n),
      };
      this.wasmFor = n;
    }
    const v = this.views;
    v.feat.set(features.length === v.feat.length ? features : features.subarray(0, v.feat.length));
    k.exports.stage1(w.feat, NUM_FEATURES, n, w.w1, w.ws1, m.stage1.b1.length, m.stage1.b2, w.x, w.z1);
    const { z1, p1, prev, z2 } = v;
    for (let b = 0; b < n; b++) p1[b] = 1 / (1 + Math.exp(-z1[b]!));
    if (!this.havePrev) prev.fill(0);
    const scored = k.exports.stage2(w.feat, NUM_FEATURES, cols, rows, w.w2, w.ws2, m.stage2.b1.length, m.stage2.b2, w.x, w.p1, w.prev, keyframeSince ? 1 : 0, STAGE2_GATE, w.z2);
    const map = this.map;
    let hits = 0;
    for (let b = 0; b < n; b++) {
      const z = z2[b]!;
      if (Number.isNaN(z)) {
        map[b] = 0;
        continue;
      }
      const p = 1 / (1 + Math.exp(-z));
      map[b] = p;
      if (p >= threshold) hits++;
    }
    prev.set(p1);
    this.havePrev = true;
    this.scored = scored;
    return hits / n;
  }
}

/** One perceptron's weights as the kernels read them: mean, 1/std, w1, b1, w2 (b2 is passed apart, as float64). */
function packWeights(m: MlpWeights): Float32Array {
  return Float32Array.from([...m.mean, ...m.std.map((s) => 1 / (s || 1)), ...m.w1, ...m.b1, ...m.w2]);
}
