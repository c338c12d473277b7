/**
 * The corruption detector's WebAssembly kernels (src/detect/corruption/assembly/kernels.ts):
 * - bit-identical to the TypeScript reference loops on real decoded frames (features and the
 *   two perceptrons, over consecutive frames so the temporal features and the previous-frame
 *   context are exercised, across a picture-size change and a reset);
 * - the committed kernels.wasm is what the source compiles to (`npm run build:wasm`);
 * - production code really runs them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import { describe, expect, it } from 'vitest';
import { BlockFeatures } from '../../src/detect/corruption/features.ts';
import { Kernels, KERNELS_URL, kernelsUnavailable } from '../../src/detect/corruption/kernels.ts';
import { CorruptionModel } from '../../src/detect/corruption/model.ts';
import { log, log1p } from '../../src/detect/corruption/log.ts';
import { prng } from '../../src/shared/index.ts';
import { rebuildWasm } from '../helpers/wasm.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

interface Plane {
  readonly luma: Uint8Array;
  readonly stride: number;
  readonly width: number;
  readonly height: number;
}

/** Every `step`-th decoded luma plane (copied) of a clip, at most `count`. */
async function planes(file: string, count: number, step: number): Promise<Plane[]> {
  await using dmx = await Demuxer.open(join(MEDIA, file));
  const st = dmx.video()!;
  using dec = await Decoder.create(st);
  const out: Plane[] = [];
  let i = 0;
  for await (const f of dec.frames(dmx.packets(st.index))) {
    if (!f) continue;
    if (i++ % step === 0)
      out.push({ luma: new Uint8Array(f.data![0]!), stride: f.linesize[0]!, width: f.width, height: f.height });
    f.free();
    if (out.length >= count) break;
  }
  return out;
}

/** Synthetic pictures: moving texture and noise, with flat odd-level macroblocks (concealment-like) in some. */
function synthetic(count: number, width: number, height: number, stride: number): Plane[] {
  const rand = prng(7);
  return Array.from({ length: count }, (_, i) => {
    const luma = new Uint8Array(stride * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++)
        luma[y * stride + x] = Math.max(
          0,
          Math.min(255, Math.round(70 + (x + 3 * i) / 4 + 30 * Math.sin((y + i) / 9) + rand() * 30)),
        );
    }
    if (i % 2 === 1) for (let y = 32; y < 80; y++) luma.fill(128 + 40 * (i % 3), y * stride + 48, y * stride + 112);
    return { luma, stride, width, height };
  });
}

/** Runs wasm and TypeScript side by side over the planes; returns frames compared and blocks stage 2 scored. */
function compare(sequence: readonly Plane[]): { frames: number; scored: number } {
  const wasmF = new BlockFeatures();
  const jsF = new BlockFeatures({ kernels: false });
  const wasmM = new CorruptionModel();
  const jsM = new CorruptionModel(undefined, { kernels: false });
  let frames = 0;
  let scored = 0;
  sequence.forEach((p, i) => {
    if (i === 3) {
      // A discontinuity: both forget the previous frame.
      for (const o of [wasmF, jsF]) o.reset();
      for (const o of [wasmM, jsM]) o.reset();
    }
    const decodeError = i % 5 === 4;
    const n = wasmF.compute(p.luma, p.stride, p.width, p.height, decodeError);
    expect(jsF.compute(p.luma, p.stride, p.width, p.height, decodeError)).toBe(n);
    expect(sameBits(wasmF.out, jsF.out)).toBe(0);
    expect(wasmF.globalChange).toBe(jsF.globalChange);
    expect(Object.is(wasmF.medianTemporal, jsF.medianTemporal)).toBe(true);
    const keyframe = i % 4 === 0;
    const threshold = decodeError ? 0.5 : wasmM.blockThreshold;
    const ratio = wasmM.score(wasmF.out, wasmF.cols, wasmF.rows, keyframe, threshold);
    expect(jsM.score(jsF.out, jsF.cols, jsF.rows, keyframe, threshold)).toBe(ratio);
    expect(wasmM.scored).toBe(jsM.scored);
    expect(sameBits(wasmM.map, jsM.map)).toBe(0);
    frames++;
    scored += wasmM.scored;
  });
  return { frames, scored };
}

function sameBits(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) diff++;
  return diff;
}

describe('corruption WebAssembly kernels', () => {
  it('load in this build (production runs them, not the fallback)', () => {
    expect(kernelsUnavailable()).toBeUndefined();
    expect(new BlockFeatures().usesKernels).toBe(true);
    expect(new CorruptionModel().usesKernels).toBe(true);
    expect(new BlockFeatures({ kernels: false }).usesKernels).toBe(false);
  });

  it("compute logarithms bit-identical to the TypeScript reference's (log.ts), and within an ulp or so of V8's Math.log", () => {
    const k = Kernels.create()!;
    const rand = prng(11);
    const f32 = new Float32Array(1);
    let mismatches = 0;
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      // Spread over exponents, plus float32 values and small integers as the features produce.
      let x = rand() * 2 ** (rand() * 60 - 30);
      if (i % 3 === 1) x = Math.round(rand() * 600) / (1 + Math.round(rand() * 60));
      if (i % 3 === 2) x = f32[0] = x;
      // Near 1, where the table-free polynomial branch takes over, and its edges.
      if (i % 7 === 3) x = 1 + (rand() - 0.5) * 0.2;
      if (!Object.is(k.exports.log(x), log(x))) mismatches++;
      if (!Object.is(k.exports.log1p(x), log1p(x))) mismatches++;
      if (!Object.is(k.exports.log1p(-x / (1 + x)), log1p(-x / (1 + x)))) mismatches++;
      const ref = Math.log(x);
      if (Number.isFinite(ref) && ref !== 0) worst = Math.max(worst, Math.abs(log(x) - ref) / Math.abs(ref));
    }
    for (const x of [
      0,
      -0,
      1,
      2,
      0.5,
      5e-324,
      1e-310,
      2.2250738585072014e-308,
      Number.MAX_VALUE,
      Infinity,
      -Infinity,
      -1,
      -2,
      NaN,
      1 + 2 ** -30,
      1 - 2 ** -30,
      0.9375,
      0.9375 - 2 ** -52,
      1.064697265625,
      1.064697265625 - 2 ** -52,
      2 ** -60,
    ]) {
      if (!Object.is(k.exports.log(x), log(x))) mismatches++;
      if (!Object.is(k.exports.log1p(x), log1p(x))) mismatches++;
      const ref = Math.log(x);
      if (Number.isFinite(ref) && ref !== 0) worst = Math.max(worst, Math.abs(log(x) - ref) / Math.abs(ref));
      else if (!Object.is(log(x), ref)) mismatches++;
    }
    // Both are accurate to about half an ulp: they differ by at most one or two in the last place.
    expect(worst).toBeLessThan(4 * Number.EPSILON);
    expect(mismatches).toBe(0);
    expect(k.exports.STATE_ARRAYS.value).toBe(30);
    expect(k.exports.MEDIAN_SCRATCH_BYTES.value).toBe(2048 * 4);
  });

  it('give bit-identical features, maps and ratios to the TypeScript loops on synthetic pictures (stride wider than the picture, partial block row, size change, block counts not a multiple of the kernels\' four lanes)', () => {
    // 20x11 = 220 blocks, 13x7 = 91 (3 over a multiple of 4), 13x5 = 65 (1 over).
    const r = compare([...synthetic(5, 320, 184, 352), ...synthetic(4, 208, 120, 208), ...synthetic(3, 208, 80, 224)]);
    expect(r.frames).toBe(12);
    expect(r.scored).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_MEDIA)(
    'give bit-identical features, maps and ratios to the TypeScript loops on real decoded frames, across size changes and a reset',
    async () => {
      // 720p (80x45 blocks), 480x360 (30x22 blocks: a partial block row), 640x480 speech; one frame
      // every 6 (the detector's 0.2 s at 30 fps).
      const r = compare([
        ...(await planes('bbb_720p_vp8_vorbis_0-30s.webm', 8, 6)),
        ...(await planes('static_water_stream_480x360.mp4', 6, 6)),
        ...(await planes('speech_his_girl_friday_bw_640x480.mp4', 6, 6)),
      ]);
      expect(r.frames).toBe(20);
      // Stage 2 ran on some blocks: the comparison covered both perceptrons.
      expect(r.scored).toBeGreaterThan(0);
    },
    60_000,
  );

  it('the committed kernels.wasm is what assembly/kernels.ts compiles to (run npm run build:wasm after editing it)', () => {
    const { built, committed } = rebuildWasm(KERNELS_URL);
    expect(Buffer.compare(built, committed)).toBe(0);
  }, 60_000);
});
