/**
 * Reference audio for the audio-detector tests, all through node-av (FFmpeg 8.1 in process):
 * - decodeClip: a real clip's audio decoded exactly as ingest does it (Decoder with resample to
 *   float32 planar), as copied chunks;
 * - ffmpegEbur128: FFmpeg's ebur128 filter (`peak=true:metadata=1`) on the same samples, read back
 *   from the lavfi.r128.* metadata of each 100 ms output frame;
 * - aacRoundTrip: encode PCM with FFmpeg's AAC encoder and decode it again (lossy-codec effects).
 */
import '../../src/shared/polyfill.ts';
import {
  AV_CHANNEL_ORDER_NATIVE,
  AV_SAMPLE_FMT_FLTP,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  Codec,
  CodecContext,
  CodecParameters,
  Decoder,
  Demuxer,
  FF_ENCODER_AAC,
  FilterAPI,
  Frame,
  Packet,
  Rational,
} from 'node-av';
import { channelNames } from '../../src/ingest/index.ts';
import type { AudioChunk } from '../../src/shared/index.ts';
import { prng } from '../../src/shared/index.ts';

const NAME_BITS = [
  'FL',
  'FR',
  'FC',
  'LFE',
  'BL',
  'BR',
  'FLC',
  'FRC',
  'BC',
  'SL',
  'SR',
  'TC',
  'TFL',
  'TFC',
  'TFR',
  'TBL',
  'TBC',
  'TBR',
];

export function layoutMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const bit = NAME_BITS.indexOf(n);
    if (bit < 0) throw new Error(`layoutMask: no channel-layout bit for channel name '${n}'`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

export interface Pcm {
  readonly sampleRate: number;
  readonly names: readonly string[];
  /** Decoded chunks as ingest hands them out (one Float32Array per channel each). */
  readonly chunks: readonly (readonly Float32Array[])[];
}

/** Decodes the first audio track of `path` as ingest does (float32 planar), copying every chunk. */
export async function decodeClip(path: string, maxSeconds = Number.POSITIVE_INFINITY): Promise<Pcm> {
  const dmx = await Demuxer.open(path);
  const as = dmx.audio();
  if (!as) throw new Error(`decodeClip: ${path} has no audio track`);
  const dec = await Decoder.create(as, { threadCount: 1, resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } } as never);
  const chunks: Float32Array[][] = [];
  let names: string[] = [];
  let sampleRate = 0;
  let total = 0;
  const take = (f: Frame) => {
    const planes = f.data;
    if (planes && f.nbSamples > 0) {
      sampleRate = f.sampleRate;
      names = channelNames(f.channelLayout.mask, f.channels);
      const chans: Float32Array[] = [];
      for (let c = 0; c < f.channels; c++) {
        const p = planes[c]!;
        chans.push(new Float32Array(new Float32Array(p.buffer, p.byteOffset, f.nbSamples)));
      }
      chunks.push(chans);
      total += f.nbSamples;
    }
    f.free();
  };
  try {
    for await (const pkt of dmx.packets(as.index)) {
      if (!pkt) break;
      if (pkt.streamIndex === as.index) for (const f of await dec.decodeAll(pkt)) take(f);
      pkt.free();
      if (sampleRate > 0 && total / sampleRate >= maxSeconds) break;
    }
    for (const f of await dec.decodeAll(null)) take(f);
  } finally {
    dec.close();
    await dmx.close();
  }
  return { sampleRate, names, chunks };
}

/** Splits per-channel PCM into chunks of `size` samples. */
export function chunked(channels: readonly Float32Array[], size: number): Float32Array[][] {
  const out: Float32Array[][] = [];
  const n = channels[0]!.length;
  for (let off = 0; off < n; off += size) out.push(channels.map((c) => c.subarray(off, Math.min(n, off + size))));
  return out;
}

/** AudioChunk views over PCM chunks, media time from the sample count. */
export function* audioChunksOf(pcm: Pcm, start = 0): Generator<AudioChunk> {
  let pos = 0;
  for (const chans of pcm.chunks) {
    const n = chans[0]!.length;
    const mediaTime = start + pos / pcm.sampleRate;
    yield {
      kind: 'audio',
      mediaTime,
      wallTime: 1_700_000_000_000 + mediaTime * 1000,
      sampleRate: pcm.sampleRate,
      nbSamples: n,
      channels: chans,
      channelNames: pcm.names,
    };
    pos += n;
  }
}

export interface R128Point {
  M: number;
  S: number;
  I: number;
  LRA: number;
  /** Highest true peak so far over all channels (dBTP). */
  TP: number;
  /** The LRA's 10th and 95th percentiles (LUFS), FFmpeg's side only. */
  lraLow?: number;
  lraHigh?: number;
}

/** FFmpeg's ebur128 filter (peak=true, metadata=1) on the same samples: one point per 100 ms. */
export async function ffmpegEbur128(pcm: Pcm): Promise<R128Point[]> {
  const filter = FilterAPI.create('ebur128=peak=true:metadata=1', { threads: 1 });
  const out: R128Point[] = [];
  const ch = pcm.names.length;
  const layout = { nbChannels: ch, order: AV_CHANNEL_ORDER_NATIVE, mask: layoutMask(pcm.names) };
  const collect = (frames: Frame[]) => {
    for (const f of frames) {
      const md = f.getMetadata().getAll();
      const num = (k: string) => Number(md[`lavfi.r128.${k}`]);
      if (md['lavfi.r128.M'] !== undefined) {
        const tp = num('true_peak');
        out.push({
          M: num('M'),
          S: num('S'),
          I: num('I'),
          LRA: num('LRA'),
          TP: tp > 0 ? 20 * Math.log10(tp) : -Infinity,
          lraLow: num('LRA.low'),
          lraHigh: num('LRA.high'),
        });
      }
      f.free();
    }
  };
  let pts = 0n;
  try {
    for (const chans of pcm.chunks) {
      const n = chans[0]!.length;
      const buf = Buffer.alloc(n * ch * 4);
      const f32 = new Float32Array(buf.buffer, buf.byteOffset, n * ch);
      for (let c = 0; c < ch; c++) f32.set(chans[c]!, c * n);
      const frame = Frame.fromAudioBuffer(buf, {
        nbSamples: n,
        format: AV_SAMPLE_FMT_FLTP,
        sampleRate: pcm.sampleRate,
        channelLayout: layout,
        timeBase: { num: 1, den: pcm.sampleRate },
      });
      frame.pts = pts;
      pts += BigInt(n);
      collect(await filter.processAll(frame));
      frame.free();
    }
    collect(await filter.processAll(null));
  } finally {
    filter.close();
  }
  return out;
}

function check(ret: number, what: string): void {
  if (ret < 0 && ret !== AVERROR_EAGAIN && ret !== AVERROR_EOF)
    throw new Error(`aacRoundTrip: ${what} failed (${ret})`);
}

/** Encodes float PCM with FFmpeg's AAC encoder at `kbps` and decodes it again (float32 planar). */
export async function aacRoundTrip(
  channels: readonly Float32Array[],
  sampleRate: number,
  kbps = 128,
): Promise<Float32Array[]> {
  const ch = channels.length;
  const layout = { nbChannels: ch, order: AV_CHANNEL_ORDER_NATIVE, mask: ch === 1 ? 4n : 3n };
  const encCodec = Codec.findEncoderByName(FF_ENCODER_AAC);
  if (!encCodec) throw new Error('aacRoundTrip: aac encoder not available');
  const enc = new CodecContext();
  enc.allocContext3(encCodec);
  enc.sampleRate = sampleRate;
  enc.sampleFormat = AV_SAMPLE_FMT_FLTP;
  enc.channelLayout = layout;
  enc.timeBase = new Rational(1, sampleRate);
  enc.bitRate = BigInt(kbps * 1000);
  check(enc.open2Sync(encCodec, null), 'open aac encoder');
  const params = new CodecParameters();
  params.alloc();
  check(params.fromContext(enc), 'codec parameters');
  const decCodec = Codec.findDecoder(params.codecId);
  if (!decCodec) throw new Error('aacRoundTrip: aac decoder not available');
  const dec = new CodecContext();
  dec.allocContext3(decCodec);
  check(dec.parametersToContext(params), 'decoder parameters');
  check(dec.open2Sync(decCodec, null), 'open aac decoder');

  const n = channels[0]!.length;
  const out = channels.map(() => new Float32Array(n + 8192));
  let written = 0;
  const frameSize = enc.frameSize || 1024;
  const receive = async () => {
    for (;;) {
      const pkt = new Packet();
      pkt.alloc();
      const r = await enc.receivePacket(pkt);
      if (r === AVERROR_EAGAIN || r === AVERROR_EOF) {
        pkt.free();
        return;
      }
      check(r, 'receivePacket');
      check(await dec.sendPacket(pkt), 'sendPacket');
      pkt.free();
      for (;;) {
        const f = new Frame();
        f.alloc();
        const d = await dec.receiveFrame(f);
        if (d === AVERROR_EAGAIN || d === AVERROR_EOF) {
          f.free();
          break;
        }
        check(d, 'receiveFrame');
        const planes = f.data!;
        const m = Math.min(f.nbSamples, out[0]!.length - written);
        for (let c = 0; c < ch; c++)
          out[c]!.set(new Float32Array(planes[c]!.buffer, planes[c]!.byteOffset, m), written);
        written += m;
        f.free();
      }
    }
  };
  try {
    for (let off = 0; off < n; off += frameSize) {
      const m = Math.min(frameSize, n - off);
      const buf = Buffer.alloc(frameSize * ch * 4);
      const f32 = new Float32Array(buf.buffer, buf.byteOffset, frameSize * ch);
      for (let c = 0; c < ch; c++) f32.set(channels[c]!.subarray(off, off + m), c * frameSize);
      const frame = Frame.fromAudioBuffer(buf, {
        nbSamples: frameSize,
        format: AV_SAMPLE_FMT_FLTP,
        sampleRate,
        channelLayout: layout,
        timeBase: { num: 1, den: sampleRate },
      });
      frame.pts = BigInt(off);
      check(await enc.sendFrame(frame), 'sendFrame');
      frame.free();
      await receive();
    }
    check(await enc.sendFrame(null), 'flush encoder');
    await receive();
  } finally {
    enc.freeContext();
    dec.freeContext();
    params.free();
  }
  // The encoder delays its output by its priming samples (1024 for FFmpeg's AAC): drop them.
  const delay = Math.min(1024, written);
  return out.map((c) => c.slice(delay, Math.min(written, delay + n)));
}

/** Pink-ish noise (Paul Kellet's economy filter on seeded white noise), RMS about `dbfs`. */
export function pinkNoise(seconds: number, sampleRate: number, seed: number, dbfs = -20): Float32Array {
  const rand = prng(seed);
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const w = rand() * 2 - 1;
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    const v = b0 + b1 + b2 + w * 0.1848;
    out[i] = v;
    sq += v * v;
  }
  const gain = 10 ** (dbfs / 20) / Math.sqrt(sq / Math.max(1, n));
  for (let i = 0; i < n; i++) out[i]! *= gain;
  return out;
}

/** PCM from whole per-channel arrays, cut in chunks of `chunk` samples. */
export function pcmOf(
  channels: readonly Float32Array[],
  sampleRate: number,
  names: readonly string[],
  chunk = 1024,
): Pcm {
  return { sampleRate, names, chunks: chunked(channels, chunk) };
}

/** Joins a clip's chunks into one array per channel. */
export function joined(pcm: Pcm): Float32Array[] {
  const total = pcm.chunks.reduce((a, c) => a + c[0]!.length, 0);
  return pcm.names.map((_, c) => {
    const all = new Float32Array(total);
    let o = 0;
    for (const k of pcm.chunks) {
      all.set(k[c]!, o);
      o += k[c]!.length;
    }
    return all;
  });
}
