/** A tiny one-hidden-layer perceptron (ReLU, sigmoid output), trained with Adam on weighted log loss. */
import { prng } from '../../src/shared/prng.ts';
import { CLIP } from '../../src/detect/corruption/model.ts';

const clip = (v: number): number => (v > CLIP ? CLIP : v < -CLIP ? -CLIP : v);

export interface Mlp {
  mean: number[];
  std: number[];
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: number;
  hidden: number;
  inputs: number;
}

export function standardize(x: Float32Array, n: number, d: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sq[j]! += (x[i * d + j]! - mean[j]!) ** 2;
  const std = sq.map((s) => Math.sqrt(s / n) || 1);
  return { mean, std };
}

export function predict(m: Mlp, x: Float32Array, i: number, h: Float64Array = new Float64Array(m.hidden)): number {
  const d = m.inputs;
  let z = m.b2;
  for (let k = 0; k < m.hidden; k++) {
    let a = m.b1[k]!;
    for (let j = 0; j < d; j++) a += m.w1[k * d + j]! * clip((x[i * d + j]! - m.mean[j]!) / m.std[j]!);
    h[k] = a > 0 ? a : 0;
    z += m.w2[k]! * h[k]!;
  }
  return 1 / (1 + Math.exp(-z));
}

/** Train on n samples of d features (x row-major), labels y (0/1), sample weights w. */
export function train(x: Float32Array, y: Uint8Array, w: Float32Array, n: number, d: number, opts: { hidden: number; epochs: number; seed: number; lr: number }): Mlp {
  const rand = prng(opts.seed);
  const { mean, std } = standardize(x, n, d);
  const H = opts.hidden;
  const m: Mlp = {
    mean,
    std,
    w1: Float64Array.from({ length: H * d }, () => (rand() * 2 - 1) * Math.sqrt(6 / (d + H))),
    b1: new Float64Array(H).fill(0.01),
    w2: Float64Array.from({ length: H }, () => (rand() * 2 - 1) * Math.sqrt(6 / (H + 1))),
    b2: 0,
    hidden: H,
    inputs: d,
  };
  const params = [m.w1, m.b1, m.w2];
  const mom = params.map((p) => new Float64Array(p.length));
  const vel = params.map((p) => new Float64Array(p.length));
  let mb2 = 0;
  let vb2 = 0;
  const g = params.map((p) => new Float64Array(p.length));
  const xs = new Float64Array(d);
  const h = new Float64Array(H);
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const batch = 256;
  const b1 = 0.9;
  const b2 = 0.999;
  let t = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    let loss = 0;
    let wsum = 0;
    const lr = opts.lr * (epoch >= opts.epochs - 2 ? 0.3 : 1);
    for (let s = 0; s < n; s += batch) {
      for (const gg of g) gg.fill(0);
      let gb2 = 0;
      const end = Math.min(n, s + batch);
      let bw = 0;
      for (let q = s; q < end; q++) {
        const i = order[q]!;
        for (let j = 0; j < d; j++) xs[j] = clip((x[i * d + j]! - mean[j]!) / std[j]!);
        let z = m.b2;
        for (let k = 0; k < H; k++) {
          let a = m.b1[k]!;
          for (let j = 0; j < d; j++) a += m.w1[k * d + j]! * xs[j]!;
          h[k] = a > 0 ? a : 0;
          z += m.w2[k]! * h[k]!;
        }
        const p = 1 / (1 + Math.exp(-z));
        const wt = w[i]!;
        bw += wt;
        loss -= wt * (y[i] ? Math.log(p + 1e-9) : Math.log(1 - p + 1e-9));
        wsum += wt;
        const dz = wt * (p - y[i]!);
        gb2 += dz;
        for (let k = 0; k < H; k++) {
          g[2]![k]! += dz * h[k]!;
          if (h[k]! > 0) {
            const dh = dz * m.w2[k]!;
            g[1]![k]! += dh;
            for (let j = 0; j < d; j++) g[0]![k * d + j]! += dh * xs[j]!;
          }
        }
      }
      t++;
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      for (let pi = 0; pi < params.length; pi++) {
        const p = params[pi]!;
        for (let k = 0; k < p.length; k++) {
          const gk = g[pi]![k]! / bw + (pi === 0 ? 1e-3 * p[k]! : 0);
          mom[pi]![k] = b1 * mom[pi]![k]! + (1 - b1) * gk;
          vel[pi]![k] = b2 * vel[pi]![k]! + (1 - b2) * gk * gk;
          p[k]! -= (lr * (mom[pi]![k]! / c1)) / (Math.sqrt(vel[pi]![k]! / c2) + 1e-8);
        }
      }
      const gk = gb2 / bw;
      mb2 = b1 * mb2 + (1 - b1) * gk;
      vb2 = b2 * vb2 + (1 - b2) * gk * gk;
      m.b2 -= (lr * (mb2 / c1)) / (Math.sqrt(vb2 / c2) + 1e-8);
    }
    console.log(`  epoch ${epoch + 1}/${opts.epochs}: weighted log loss ${(loss / wsum).toFixed(4)}`);
  }
  return m;
}
