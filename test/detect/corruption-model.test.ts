/**
 * The corruption model's building blocks: the per-block features against a plain per-block
 * reference of their definitions, and the stage-2 gate (stage 2 runs only near blocks that
 * stage 1 found suspicious; the others score 0).
 */
import { describe, expect, it } from 'vitest';
import { BlockFeatures, FEATURE_NAMES, MB, NUM_FEATURES } from '../../src/detect/corruption/features.ts';
import { CorruptionModel, STAGE2_GATE, type ModelWeights } from '../../src/detect/corruption/model.ts';
import weights from '../../src/detect/corruption/model.json' with { type: 'json' };
import { prng, type PacketInfo } from '../../src/shared/index.ts';
import { defaultOptions } from '../../src/detect/index.ts';
import { corruptionDetector as spec } from '../../src/detect/corruption/corruption-detector.ts';
import { collectingContext, frameFromLuma } from '../helpers/frames.ts';

const W = 320;
const H = 192;

/** A picture with texture, a gradient and a few flat 16x16 patches at odd levels (concealment-like). */
function picture(seed: number, stride = W + 32): Uint8Array {
  const rand = prng(seed);
  const p = new Uint8Array(stride * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) p[y * stride + x] = Math.max(0, Math.min(255, Math.round(60 + x / 3 + 30 * Math.sin(y / 7) + rand() * 40)));
  }
  for (const [bx, by, v] of [[3, 2, 200], [4, 2, 200], [10, 7, 20], [15, 9, 128]] as const) {
    for (let y = by * MB; y < by * MB + MB; y++) p.fill(v, y * stride + bx * MB, y * stride + bx * MB + MB);
  }
  return p;
}

/** logInterior and anisotropy of one block from their definitions: mean |step| along rows 2, 6, 10, 14 and columns 2, 6, 10, 14. */
function reference(p: Uint8Array, stride: number, bx: number, by: number): { logInterior: number; anisotropy: number } {
  let h = 0;
  let v = 0;
  for (let r = 2; r < MB; r += 4) {
    for (let x = 1; x < MB; x++) h += Math.abs(p[(by * MB + r) * stride + bx * MB + x]! - p[(by * MB + r) * stride + bx * MB + x - 1]!);
  }
  for (let c = 2; c < MB; c += 4) {
    for (let y = 1; y < MB; y++) v += Math.abs(p[(by * MB + y) * stride + bx * MB + c]! - p[(by * MB + y - 1) * stride + bx * MB + c]!);
  }
  const hInt = Math.fround(h / (4 * (MB - 1)));
  const vInt = Math.fround(v / (4 * (MB - 1)));
  return { logInterior: Math.log1p(Math.fround((hInt + vInt) / 2)), anisotropy: Math.log((hInt + 1) / (vInt + 1)) };
}

describe('corruption features', () => {
  it('match a plain per-block computation of their definitions (any stride)', () => {
    const stride = W + 32;
    const f = new BlockFeatures();
    const n = f.compute(picture(7001, stride), stride, W, H, false);
    expect(n).toBe((W / MB) * (H / MB));
    const li = FEATURE_NAMES.indexOf('logInterior');
    const an = FEATURE_NAMES.indexOf('anisotropy');
    const p = picture(7001, stride);
    for (const [bx, by] of [[0, 0], [3, 2], [7, 5], [19, 11], [10, 7]] as const) {
      const r = reference(p, stride, bx, by);
      const b = by * f.cols + bx;
      expect(f.out[b * NUM_FEATURES + li]).toBeCloseTo(r.logInterior, 5);
      expect(f.out[b * NUM_FEATURES + an]).toBeCloseTo(r.anisotropy, 5);
    }
    // The flat patch at (10, 7) has no interior texture at all.
    expect(f.out[(7 * f.cols + 10) * NUM_FEATURES + li]).toBe(0);
  });
});

describe('corruption model: stage-2 gate', () => {
  function withStage1Bias(b2: number): ModelWeights {
    const m = weights as unknown as ModelWeights;
    return { ...m, stage1: { ...m.stage1, w2: m.stage1.w2.map(() => 0), b2 } };
  }

  it('scores no block when stage 1 finds nothing anywhere (map all 0), and every block when stage 1 finds everything', () => {
    const f = new BlockFeatures();
    const n = f.compute(picture(7002), W + 32, W, H, false);
    const quiet = new CorruptionModel(withStage1Bias(Math.log(STAGE2_GATE / 2 / (1 - STAGE2_GATE / 2))));
    expect(quiet.score(f.out, f.cols, f.rows, false, 0.01)).toBe(0);
    expect(quiet.scored).toBe(0);
    expect(quiet.map.every((v) => v === 0)).toBe(true);
    const loud = new CorruptionModel(withStage1Bias(5));
    loud.score(f.out, f.cols, f.rows, false, 0.5);
    expect(loud.scored).toBe(n);
  });
});

describe('corruption detector: decoder evidence from flagged frames that reach it', () => {
  it('frames with decodeError (packets and pictures in step: nothing discarded) open an incident with source decoder; the same frames unflagged do not', () => {
    const fps = 25;
    const run = (flag: (i: number) => boolean) => {
      const ctx = collectingContext();
      const det = spec.create(defaultOptions(spec.options), ctx);
      // A smooth, slowly drifting picture: nothing for the pixels to see.
      const luma = new Uint8Array(W * H);
      for (let i = 0; i < 150; i++) {
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) luma[y * W + x] = 40 + ((x + i) >> 1);
        const t = i / fps;
        det.process({ kind: 'packet', track: 'video', mediaTime: t, wallTime: 1_700_000_000_000 + t * 1000, pts: t, dts: t, duration: 1 / fps, size: 1000, keyFrame: i % 25 === 0, corrupt: false, discontinuity: false } as PacketInfo);
        det.process({ ...frameFromLuma(luma, W, H, t, 1 / fps), decodeError: flag(i), keyFrame: i % 25 === 0 });
      }
      det.flush(150 / fps, 1_700_000_006_000);
      return ctx.edges.filter((e) => e.phase === 'open');
    };
    const flagged = run((i) => i >= 50 && i < 80);
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.mediaTime).toBeGreaterThanOrEqual(2 - 1e-9);
    expect(flagged[0]!.mediaTime).toBeLessThan(3);
    expect(flagged[0]!.measurements).toMatchObject({ source: 'decoder', decoderErrors: true });
    expect(run(() => false)).toEqual([]);
  });
});

describe('corruption decoder evidence', () => {
  it('holds an incident opened on flagged pictures until the next clean keyframe (damage spreads to the pictures that reference them)', () => {
    const fps = 25;
    const run = (decoderHold?: number) => {
      const ctx = collectingContext();
      const det = spec.create({ ...defaultOptions(spec.options), ...(decoderHold !== undefined ? { decoderHold } : {}) }, ctx);
      const luma = new Uint8Array(W * H);
      for (let i = 0; i < 175; i++) {
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) luma[y * W + x] = 40 + ((x + i) >> 1);
        const t = i / fps;
        const key = i % 50 === 0;
        det.process({ kind: 'packet', track: 'video', mediaTime: t, wallTime: 1_700_000_000_000 + t * 1000, pts: t, dts: t, duration: 1 / fps, size: 1000, keyFrame: key, corrupt: false, discontinuity: false } as PacketInfo);
        // The decoder flags two pictures 0.24 s apart (2.0 s, 2.24 s); the next keyframe is at 4.0 s.
        det.process({ ...frameFromLuma(luma, W, H, t, 1 / fps), decodeError: i === 50 + 1 || i === 57, keyFrame: key });
      }
      det.flush(175 / fps, 1_700_000_007_000);
      return ctx.edges;
    };
    const held = run();
    const open = held.filter((e) => e.phase === 'open');
    const close = held.filter((e) => e.phase === 'close');
    expect(open).toHaveLength(1);
    expect(open[0]!.measurements).toMatchObject({ source: 'decoder' });
    expect(close).toHaveLength(1);
    // Active until the keyframe at 4.0 s (the close edge says where the defect ended).
    expect(close[0]!.mediaTime).toBeGreaterThanOrEqual(3.9);
    expect(close[0]!.mediaTime).toBeLessThan(4.5);
    // Without the hold the two flagged periods do not outlast minDuration: no incident at all.
    expect(run(0).filter((e) => e.phase === 'open')).toEqual([]);
  });
});
