/**
 * Transmission damage for encoded video: drop or damage compressed packets, decode with the
 * decoder's error concealment, and hand back the damaged pictures. Used by the simulator
 * (upstream damage baked in: the caller re-encodes the result cleanly) and by the corruption
 * detector's training-data generator (scripts/train).
 *
 * Modes, per damaged packet:
 * - drop:    the whole packet is lost (null).
 * - bitflip: a few random bits flipped in the payload (about one per 500 bytes, at least one).
 * - burst:   a run of 1 to 3 MPEG-TS payloads (184 bytes each) cut out of the packet, as a
 *            lost TS packet does to the PES it belonged to.
 * Parameter sets (H.264 SPS/PPS, HEVC VPS/SPS/PPS, MPEG-2 sequence headers) and the first bytes
 * after every start code are never touched, so the decoder still parses each NAL / picture
 * header and conceals what follows instead of rejecting the stream.
 */
import { AV_PICTURE_TYPE_NONE, AV_PIX_FMT_YUV420P, AVERROR_EAGAIN, AVERROR_EOF, AV_PKT_FLAG_KEY } from 'node-av/constants';
import {
  FF_DECODER_H264,
  FF_DECODER_HEVC,
  FF_DECODER_MPEG2VIDEO,
  FF_ENCODER_LIBX264,
  FF_ENCODER_LIBX265,
  FF_ENCODER_MPEG2VIDEO,
} from 'node-av/constants';
import { Codec, CodecContext, FFmpegError, Frame, Packet, Rational } from 'node-av/lib';
import { prng } from '../shared/index.ts';
import { setOpt } from './render.ts';

export type DamageMode = 'drop' | 'bitflip' | 'burst';
export interface DamageOptions {
  readonly mode: DamageMode;
  /** probability that a packet in the window is damaged (0..1] */
  readonly rate: number;
  readonly seed: number;
}

export type DamageCodec = 'h264' | 'hevc' | 'mpeg2video';

export interface DamageFramesOptions extends DamageOptions {
  readonly codec: DamageCodec;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Keyframe interval in frames (default: one second). */
  readonly gop?: number;
  /** Encoder bitrate in kbit/s (default: about 0.1 bit per pixel per frame). */
  readonly bitrateKbps?: number;
  /** Only packets with index in [from, to) may be damaged (default: all). */
  readonly window?: readonly [number, number];
}

/** Bytes kept intact after each start code. */
const HEADER_GUARD = 12;
const TS_PAYLOAD = 184;

function check(ret: number, what: string): number {
  FFmpegError.throwIfError(ret, what);
  return ret;
}

function validate(opts: DamageOptions): void {
  if (!['drop', 'bitflip', 'burst'].includes(opts.mode)) throw new Error(`damage: unknown mode '${String(opts.mode)}'`);
  if (!(opts.rate > 0 && opts.rate <= 1)) throw new Error(`damage: rate must be in (0, 1], got ${opts.rate}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`damage: seed must be an integer, got ${opts.seed}`);
}

/** Generator for one (seed, packet) pair, independent of every other packet. */
function packetRand(seed: number, packetIndex: number): () => number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(packetIndex + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return prng((h ^ (h >>> 16)) >>> 0);
}

/**
 * Byte ranges [start, end) that may be damaged: everything except parameter-set NALs and the
 * first HEADER_GUARD bytes after each start code (00 00 01).
 */
function damageableRanges(data: Buffer): Array<[number, number]> {
  const starts: number[] = [];
  for (let i = 0; i + 3 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  if (starts.length === 0) return data.length > HEADER_GUARD * 2 ? [[HEADER_GUARD * 2, data.length]] : [];
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < starts.length; k++) {
    const s = starts[k]!;
    const end = k + 1 < starts.length ? starts[k + 1]! - 3 : data.length;
    const b = data[s]!;
    const h264Type = b & 0x1f;
    const hevcType = (b >> 1) & 0x3f;
    // H.264 SEI/SPS/PPS/AUD (6..9), HEVC VPS/SPS/PPS/AUD/SEI (32..35, 39, 40), MPEG-2 sequence header/extension/GOP (b3, b5, b8).
    const paramSet =
      (h264Type >= 6 && h264Type <= 9 && (b & 0x80) === 0 && hevcType < 32) ||
      (hevcType >= 32 && hevcType <= 40 && (b & 0x81) === 0) ||
      b === 0xb3 ||
      b === 0xb5 ||
      b === 0xb8;
    if (paramSet) continue;
    const from = s + HEADER_GUARD;
    if (end > from) ranges.push([from, end]);
  }
  return ranges;
}

/**
 * Damage one encoded video packet's payload: returns a new Buffer (the input is not modified),
 * the input itself when this packet is spared, or null when the packet is dropped. Deterministic
 * for (seed, packetIndex).
 */
export function damagePacket(data: Buffer, packetIndex: number, opts: DamageOptions): Buffer | null {
  validate(opts);
  const rand = packetRand(opts.seed, packetIndex);
  if (rand() >= opts.rate) return data;
  if (opts.mode === 'drop') return null;
  const ranges = damageableRanges(data);
  const total = ranges.reduce((n, [a, b]) => n + (b - a), 0);
  if (total === 0) return data;
  // Position in the damageable bytes -> byte offset.
  const offsetAt = (pos: number): number => {
    for (const [a, b] of ranges) {
      if (pos < b - a) return a + pos;
      pos -= b - a;
    }
    return ranges[ranges.length - 1]![1] - 1;
  };
  if (opts.mode === 'bitflip') {
    const out = Buffer.from(data);
    const flips = Math.max(1, Math.round(total / 500));
    for (let i = 0; i < flips; i++) {
      const at = offsetAt(Math.floor(rand() * total));
      out[at] = out[at]! ^ (1 << Math.floor(rand() * 8));
    }
    return out;
  }
  // burst: cut out 1..3 TS payloads from one damageable range.
  const at = offsetAt(Math.floor(rand() * total));
  const range = ranges.find(([a, b]) => at >= a && at < b)!;
  const len = Math.min(range[1] - at, TS_PAYLOAD * (1 + Math.floor(rand() * 3)));
  return Buffer.concat([data.subarray(0, at), data.subarray(at + len)]);
}

// ---------------------------------------------------------------- encode / damage / decode

function openEncoder(o: DamageFramesOptions): CodecContext {
  const name = o.codec === 'h264' ? FF_ENCODER_LIBX264 : o.codec === 'hevc' ? FF_ENCODER_LIBX265 : FF_ENCODER_MPEG2VIDEO;
  const codec = Codec.findEncoderByName(name);
  if (!codec) throw new Error(`damageFrames: encoder ${name} not available in this FFmpeg build`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = o.width;
  ctx.height = o.height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  ctx.timeBase = new Rational(1, o.fps);
  ctx.framerate = new Rational(o.fps, 1);
  const gop = o.gop ?? Math.round(o.fps);
  ctx.gopSize = gop;
  ctx.maxBFrames = 0;
  ctx.threadCount = 1;
  const kbps = o.bitrateKbps ?? Math.max(100, Math.round((o.width * o.height * o.fps * 0.1) / 1000));
  ctx.bitRate = BigInt(kbps * 1000);
  if (o.codec === 'h264') {
    setOpt(ctx, 'preset', 'veryfast');
    setOpt(ctx, 'x264-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0`);
  } else if (o.codec === 'hevc') {
    setOpt(ctx, 'preset', 'ultrafast');
    setOpt(ctx, 'x265-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:bframes=0:rc-lookahead=0:log-level=none:frame-threads=1:pools=none`);
  }
  check(ctx.open2Sync(codec, null), `open ${name}`);
  return ctx;
}

function openDecoder(codecName: DamageCodec, enc: CodecContext): CodecContext {
  const codec = Codec.findDecoderByName(codecName === 'h264' ? FF_DECODER_H264 : codecName === 'hevc' ? FF_DECODER_HEVC : FF_DECODER_MPEG2VIDEO);
  if (!codec) throw new Error(`damageFrames: decoder ${codecName} not available`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = enc.width;
  ctx.height = enc.height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  ctx.timeBase = enc.timeBase;
  ctx.threadCount = 1;
  const extra = enc.extraData;
  if (extra && extra.length > 0) ctx.extraData = extra;
  check(ctx.open2Sync(codec, null), `open decoder ${codecName}`);
  return ctx;
}

interface Encoded {
  data: Buffer;
  pts: bigint;
  dts: bigint;
  key: boolean;
}

/**
 * Upstream damage baked in: encode `frames` (YUV420P) with `codec`, damage packets per opts,
 * decode with error concealment, and return the damaged decoded frames (same count and pts as
 * the input; a frame the decoder lost is replaced by the last decoded one, and frames before
 * the first decodable picture by a copy of the input picture's size in mid grey).
 * The caller owns (and frees) the returned frames; the input frames are not modified.
 */
export async function damageFrames(frames: readonly Frame[], opts: DamageFramesOptions): Promise<Frame[]> {
  validate(opts);
  if (!(opts.width >= 16 && opts.height >= 16)) throw new Error(`damageFrames: size ${opts.width}x${opts.height} too small`);
  if (!(opts.fps > 0)) throw new Error(`damageFrames: fps must be > 0, got ${opts.fps}`);
  const enc = openEncoder(opts);
  const packets: Encoded[] = [];
  const collect = async (): Promise<void> => {
    for (;;) {
      const pkt = new Packet();
      pkt.alloc();
      const ret = await enc.receivePacket(pkt);
      if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) {
        pkt.free();
        return;
      }
      check(ret, 'receivePacket');
      packets.push({ data: pkt.data ?? Buffer.alloc(0), pts: pkt.pts, dts: pkt.dts, key: (pkt.flags & AV_PKT_FLAG_KEY) !== 0 });
      pkt.free();
    }
  };
  try {
    for (let i = 0; i < frames.length; i++) {
      const src = frames[i]!;
      if (src.width !== opts.width || src.height !== opts.height || src.format !== AV_PIX_FMT_YUV420P) {
        throw new Error(`damageFrames: frame ${i} is ${src.width}x${src.height} format ${src.format}, expected ${opts.width}x${opts.height} yuv420p`);
      }
      const f = src.clone();
      if (!f) throw new Error(`damageFrames: cannot clone frame ${i}`);
      f.pts = BigInt(i);
      f.pictType = AV_PICTURE_TYPE_NONE;
      check(await enc.sendFrame(f), 'sendFrame');
      f.free();
      await collect();
    }
    check(await enc.sendFrame(null), 'flush encoder');
    await collect();
  } catch (err) {
    enc.freeContext();
    throw err;
  }

  const dec = openDecoder(opts.codec, enc);
  enc.freeContext();
  const decoded = new Map<number, Frame>();
  const [from, to] = opts.window ?? [0, Number.POSITIVE_INFINITY];
  const take = async (): Promise<void> => {
    for (;;) {
      const fr = new Frame();
      fr.alloc();
      const ret = await dec.receiveFrame(fr);
      if (ret < 0) {
        fr.free();
        if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) return;
        continue; // a damaged picture the decoder gave up on
      }
      const idx = Number(fr.pts === undefined || fr.pts < 0n ? fr.bestEffortTimestamp : fr.pts);
      if (Number.isInteger(idx) && idx >= 0 && idx < frames.length && !decoded.has(idx)) decoded.set(idx, fr);
      else fr.free();
    }
  };
  for (let i = 0; i < packets.length; i++) {
    const p = packets[i]!;
    const data = i >= from && i < to ? damagePacket(p.data, i, opts) : p.data;
    if (data === null || data.length === 0) continue;
    const pkt = new Packet();
    pkt.alloc();
    pkt.data = data;
    pkt.pts = p.pts;
    pkt.dts = p.dts;
    if (p.key) pkt.flags = AV_PKT_FLAG_KEY;
    await dec.sendPacket(pkt); // errors on damaged packets are expected: concealment does the rest
    pkt.free();
    await take();
  }
  await dec.sendPacket(null);
  await take();
  dec.freeContext();

  const out: Frame[] = [];
  let last: Frame | undefined;
  for (let i = 0; i < frames.length; i++) {
    let f = decoded.get(i);
    if (f && (f.width !== opts.width || f.height !== opts.height || f.format !== AV_PIX_FMT_YUV420P)) {
      f.free();
      f = undefined;
    }
    if (!f) {
      if (last) f = last.clone() ?? undefined;
      if (!f) f = greyFrame(opts.width, opts.height);
    }
    f.pts = frames[i]!.pts;
    out.push(f);
    last = f;
  }
  return out;
}

function greyFrame(width: number, height: number): Frame {
  const f = new Frame();
  f.alloc();
  f.width = width;
  f.height = height;
  f.format = AV_PIX_FMT_YUV420P;
  check(f.getBuffer(), 'grey frame buffer');
  const size = width * height + 2 * ((width + 1) >> 1) * ((height + 1) >> 1);
  check(f.fromBuffer(Buffer.alloc(size, 128)), 'grey frame fill');
  return f;
}
