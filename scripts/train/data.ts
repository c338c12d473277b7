/**
 * Training/evaluation data for the corruption model: sources (lavfi and real clips) scaled to a
 * macroblock-aligned size, encoded clean and damaged (src/simulate/damage.ts), decoded, and
 * re-encoded cleanly; per-block labels from comparison with the clean decode.
 */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import { AV_PIX_FMT_YUV420P, SWS_BICUBIC, type AVPixelFormat } from 'node-av/constants';
import { Frame, SoftwareScaleContext } from 'node-av/lib';
import { damageFrames, type DamageCodec, type DamageMode } from '../../src/simulate/damage.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockFeatures, MB, NUM_FEATURES } from '../../src/detect/corruption/features.ts';
import { blockLabels, LAG, type LumaPlane } from './labels.ts';

export interface Source {
  readonly name: string;
  /** lavfi graph (without size/rate) or a clip path. */
  readonly lavfi?: string;
  readonly clip?: string;
  /** Seconds to skip into a clip. */
  readonly skip?: number;
  /** Cut to this other source and back every `cutEvery` frames (scene cuts). */
  readonly cutWith?: Source;
  readonly cutEvery?: number;
}

/** Read `count` frames of a source as yuv420p at width x height. */
export async function readSource(src: Source, width: number, height: number, count: number, fps: number): Promise<Frame[]> {
  if (src.cutWith) {
    const a = await readSource({ ...src, cutWith: undefined }, width, height, count, fps);
    const b = await readSource(src.cutWith, width, height, count, fps);
    const every = src.cutEvery ?? 12;
    const out = a.map((f, i) => (Math.floor(i / every) % 2 === 0 ? f : b[i]!));
    for (let i = 0; i < count; i++) (Math.floor(i / every) % 2 === 0 ? b[i]! : a[i]!).free();
    return out;
  }
  const input = src.lavfi ? `${src.lavfi.replace('{S}', `${width}x${height}`).replace('{R}', String(fps))}` : src.clip!;
  await using dmx = await Demuxer.open(input, src.lavfi ? { format: 'lavfi' } : {});
  const st = dmx.video();
  if (!st) throw new Error(`${src.name}: no video`);
  using dec = await Decoder.create(st);
  const out: Frame[] = [];
  let sws: SoftwareScaleContext | undefined;
  let skip = src.lavfi ? 0 : Math.round((src.skip ?? 0) * (st.avgFrameRate.num / (st.avgFrameRate.den || 1) || 25));
  for await (const f of dec.frames(dmx.packets(st.index))) {
    if (!f) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    if (!sws) {
      sws = new SoftwareScaleContext();
      sws.getContext(f.width, f.height, f.format as AVPixelFormat, width, height, AV_PIX_FMT_YUV420P, SWS_BICUBIC);
    }
    const o = new Frame();
    o.alloc();
    o.width = width;
    o.height = height;
    o.format = AV_PIX_FMT_YUV420P;
    o.allocBuffer();
    sws.scaleFrameSync(o, f);
    o.pts = BigInt(out.length);
    out.push(o);
    if (out.length >= count) break;
  }
  sws?.freeContext();
  if (out.length === 0 && (src.skip ?? 0) > 0) return readSource({ ...src, skip: 0 }, width, height, count, fps);
  if (out.length < count / 2) throw new Error(`${src.name}: only ${out.length} of ${count} frames`);
  // A short clip plays forwards then backwards to fill the sequence (no jump cut).
  for (let i = out.length; i < count; i++) {
    const k = i % (2 * out.length - 2);
    const c = out[k < out.length ? k : 2 * out.length - 2 - k]!.clone()!;
    c.pts = BigInt(i);
    out.push(c);
  }
  return out;
}

export interface Variant {
  readonly kind: 'clean' | 'lowrate' | 'decoded' | 'reencoded' | 'reencoded-clean' | 'sim-lowrate';
  readonly frames: Frame[];
  /** Per frame, per block: 1 damaged, 0 intact, -1 ambiguous (left out). Null: all intact. */
  readonly labels: Int8Array[] | null;
}

export interface SequenceSpec {
  readonly source: Source;
  readonly codec: DamageCodec;
  readonly reencodeCodec: DamageCodec;
  readonly mode: DamageMode;
  readonly rate: number;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: number;
}

function lumaOf(f: Frame): LumaPlane {
  return { y: f.data![0]!, stride: f.linesize[0]! };
}

/** Per-block labels of each damaged frame against the clean decode (labels.ts). */
function labelsFor(damaged: Frame[], clean: Frame[], width: number, height: number): Int8Array[] {
  const planes = clean.map(lumaOf);
  return damaged.map((d, i) => {
    const refs: LumaPlane[] = [];
    for (let j = i; j >= Math.max(0, i - LAG); j--) refs.push(planes[j]!);
    return blockLabels(lumaOf(d), refs, width, height);
  });
}

/** All variants of one sequence. Frames are owned by the caller (free them). */
export async function makeSequence(s: SequenceSpec): Promise<Variant[]> {
  const src = await readSource(s.source, s.width, s.height, s.frames, s.fps);
  const base = { codec: s.codec, width: s.width, height: s.height, fps: s.fps, gop: s.fps };
  const none = { mode: 'drop' as const, rate: 1, seed: 0, window: [0, 0] as const };
  const clean = await damageFrames(src, { ...base, ...none });
  const bpp = 0.02; // a starved encode: visibly blocky, intact
  const lowrate = await damageFrames(src, { ...base, ...none, bitrateKbps: Math.max(30, Math.round((s.width * s.height * s.fps * bpp) / 1000)) });
  const damaged = await damageFrames(src, { ...base, mode: s.mode, rate: s.rate, seed: s.seed, window: [Math.floor(s.fps / 3), s.frames] });
  const re = { ...base, codec: s.reencodeCodec, ...none };
  const reClean = await damageFrames(clean, re);
  const reDamaged = await damageFrames(damaged, re);
  for (const f of src) f.free();
  const labels = labelsFor(damaged, clean, s.width, s.height);
  return [
    { kind: 'clean', frames: clean, labels: null },
    { kind: 'lowrate', frames: lowrate, labels: null },
    { kind: 'decoded', frames: damaged, labels },
    { kind: 'reencoded-clean', frames: reClean, labels: null },
    { kind: 'reencoded', frames: reDamaged, labels },
  ];
}

export interface FeatureSet {
  /** NUM_FEATURES per block, for analysed frames only. */
  readonly x: Float32Array[];
  /** Block labels per analysed frame (null: all intact). */
  readonly y: (Int8Array | null)[];
  /** A keyframe was decoded since the previous analysed frame. */
  readonly key: boolean[];
  /** The picture changed as a whole (cut): the detector does not judge such frames. */
  readonly cut: boolean[];
  /** The decoder flagged the frame (the detector's lower block threshold applies). */
  readonly err: boolean[];
  readonly cols: number;
  readonly rows: number;
}

/** One decoded picture's luma, as the features read it (frames are converted once, then freed). */
export interface Plane {
  readonly luma: Uint8Array;
  readonly stride: number;
  readonly width: number;
  readonly height: number;
  readonly keyFrame: boolean;
  readonly decodeError: boolean;
}

/** A variant with its frames reduced to luma planes (the frames are freed). */
export interface PlaneVariant {
  readonly kind: Variant['kind'];
  readonly planes: Plane[];
  readonly labels: Int8Array[] | null;
}

export function toPlanes(v: Variant): PlaneVariant {
  const planes = v.frames.map((f) => {
    const { y, stride } = lumaOf(f);
    const p: Plane = { luma: Uint8Array.from(y.subarray(0, stride * f.height)), stride, width: f.width, height: f.height, keyFrame: f.keyFrame !== 0, decodeError: v.kind === 'decoded' && f.decodeErrorFlags !== 0 };
    f.free();
    return p;
  });
  return { kind: v.kind, planes, labels: v.labels };
}

/**
 * Experiments only (TRAIN_CACHE=dir): the decoded planes and labels of each sequence are kept on
 * disk, so that feature and model changes can be retrained without encoding again. The default
 * run (no TRAIN_CACHE) always encodes.
 */
export function cachedPlanes(key: string): PlaneVariant[] | null {
  const dir = process.env.TRAIN_CACHE;
  if (!dir) return null;
  const file = join(dir, `${key.replace(/[^a-z0-9._-]+/gi, '_')}.bin`);
  if (!existsSync(file)) return null;
  const buf = readFileSync(file);
  let o = 0;
  const u32 = (): number => {
    const v = buf.readUInt32LE(o);
    o += 4;
    return v;
  };
  const kinds: Variant['kind'][] = ['clean', 'lowrate', 'decoded', 'reencoded', 'reencoded-clean', 'sim-lowrate'];
  const out: PlaneVariant[] = [];
  const nv = u32();
  for (let i = 0; i < nv; i++) {
    const kind = kinds[u32()]!;
    const nf = u32();
    const hasLabels = u32() === 1;
    const planes: Plane[] = [];
    const labels: Int8Array[] = [];
    for (let j = 0; j < nf; j++) {
      const width = u32();
      const height = u32();
      const flags = u32();
      const luma = new Uint8Array(buf.subarray(o, o + width * height));
      o += width * height;
      planes.push({ luma, stride: width, width, height, keyFrame: (flags & 1) !== 0, decodeError: (flags & 2) !== 0 });
      if (hasLabels) {
        const n = Math.floor(width / MB) * Math.floor(height / MB);
        labels.push(new Int8Array(buf.buffer.slice(buf.byteOffset + o, buf.byteOffset + o + n)));
        o += n;
      }
    }
    out.push({ kind, planes, labels: hasLabels ? labels : null });
  }
  return out;
}

export function storePlanes(key: string, vs: PlaneVariant[]): void {
  const dir = process.env.TRAIN_CACHE;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const kinds: Variant['kind'][] = ['clean', 'lowrate', 'decoded', 'reencoded', 'reencoded-clean', 'sim-lowrate'];
  const parts: Buffer[] = [];
  const u32 = (v: number): void => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  u32(vs.length);
  for (const v of vs) {
    u32(kinds.indexOf(v.kind));
    u32(v.planes.length);
    u32(v.labels ? 1 : 0);
    v.planes.forEach((p, j) => {
      u32(p.width);
      u32(p.height);
      u32((p.keyFrame ? 1 : 0) | (p.decodeError ? 2 : 0));
      const packed = Buffer.alloc(p.width * p.height);
      for (let y = 0; y < p.height; y++) packed.set(p.luma.subarray(y * p.stride, y * p.stride + p.width), y * p.width);
      parts.push(packed);
      if (v.labels) parts.push(Buffer.from(v.labels[j]!.buffer, v.labels[j]!.byteOffset, v.labels[j]!.length));
    });
  }
  writeFileSync(join(dir, `${key.replace(/[^a-z0-9._-]+/gi, '_')}.bin`), Buffer.concat(parts));
}

/**
 * Features of one variant as the detector sees them: every `step`-th frame from `phase`
 * (the detector analyses a sparse subset of frames).
 */
export function featuresOf(v: PlaneVariant, step: number, phase: number): FeatureSet {
  const bf = new BlockFeatures();
  const x: Float32Array[] = [];
  const y: (Int8Array | null)[] = [];
  const key: boolean[] = [];
  const cut: boolean[] = [];
  const err: boolean[] = [];
  for (let i = phase; i < v.planes.length; i += step) {
    const f = v.planes[i]!;
    let k = false;
    for (let j = Math.max(0, i - step + 1); j <= i; j++) k ||= v.planes[j]!.keyFrame;
    const n = bf.compute(f.luma, f.stride, f.width, f.height, f.decodeError);
    if (n === 0) continue;
    if (i < step) continue; // the first analysed frame has no temporal reference
    x.push(bf.out.slice(0, n * NUM_FEATURES));
    y.push(v.labels ? v.labels[i]! : null);
    key.push(k);
    cut.push(bf.globalChange);
    err.push(f.decodeError);
  }
  return { x, y, key, cut, err, cols: bf.cols, rows: bf.rows };
}

/**
 * An intact low-bitrate encode as the simulator (and many cheap live encoders) makes it: x264
 * ultrafast, which turns the deblocking filter off, so starved pictures carry hard 8/16-px block
 * edges everywhere. Rendered through the simulator, decoded; labels null (all intact).
 */
export async function simulatorLowrate(source: string, width: number, height: number, kbps: number, seconds: number, fps = 25): Promise<Variant> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-train-'));
  try {
    const sc = parseScenario({
      streams: [{ id: 's', output: { type: 'udp', port: 0 }, content: { source }, video: { width, height, fps, bitrateKbps: kbps }, audio: false, cycle: seconds, schedule: [] }],
    });
    const path = join(dir, 'sim.ts');
    await renderToFile(sc.streams[0]!, path, { duration: seconds });
    await using dmx = await Demuxer.open(path);
    const st = dmx.video()!;
    using dec = await Decoder.create(st);
    const frames: Frame[] = [];
    for await (const f of dec.frames(dmx.packets(st.index))) if (f) frames.push(f.clone()!);
    return { kind: 'sim-lowrate', frames, labels: null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
