/** Decode a rendered file with node-av for the simulator tests: packets, frames, audio samples. */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer, type Frame } from 'node-av';
import {
  AV_CODEC_ID_AAC,
  AV_CODEC_ID_H264,
  AV_CODEC_ID_HEVC,
  AV_CODEC_ID_MP2,
  AV_CODEC_ID_MPEG2VIDEO,
  AV_CODEC_ID_OPUS,
  AV_CODEC_ID_VP9,
  AV_PKT_FLAG_CORRUPT,
  AV_SAMPLE_FMT_FLTP,
  AV_SAMPLE_FMT_S16P,
} from 'node-av/constants';

export interface DecodedFile {
  videoCodec?: string;
  audioCodec?: string;
  /** Demuxed packets: kind, pts (s, raw: not rebased), key and corrupt flags, size. */
  packets: { kind: 'video' | 'audio'; pts: number; key: boolean; corrupt: boolean; size: number }[];
  /** Decoded pictures: pts (s, raw) and mean luma; `decodeErrors` counts packets the decoder refused. */
  frames: { t: number; mean: number; sig?: Uint8Array }[];
  decodeErrors: number;
  /** Audio per channel with the pts (s, raw) of its first sample. */
  audio?: { t0: number; sampleRate: number; channels: Float32Array[] };
}

export async function decodeFile(
  path: string,
  opts: { audio?: boolean; video?: boolean; signature?: boolean } = {},
): Promise<DecodedFile> {
  const dmx = await Demuxer.open(path);
  const vs = dmx.video();
  const as = dmx.audio();
  const out: DecodedFile = {
    videoCodec: vs ? codecName(vs.codecpar) : undefined,
    audioCodec: as ? codecName(as.codecpar) : undefined,
    packets: [],
    frames: [],
    decodeErrors: 0,
  };
  const vdec = vs && opts.video !== false ? await Decoder.create(vs) : undefined;
  const adec = as && opts.audio !== false ? await Decoder.create(as) : undefined;
  const chunks: { t: number; data: Float32Array[] }[] = [];
  let sampleRate = 0;
  const onVideo = (frames: Frame[]) => {
    for (const f of frames) {
      const tb = f.timeBase && f.timeBase.num > 0 ? f.timeBase : vs!.timeBase;
      const y = f.data![0]!;
      const ls = f.linesize[0]!;
      let sum = 0;
      const sig = opts.signature ? new Uint8Array(Math.ceil(f.height / 2) * Math.ceil(f.width / 2)) : undefined;
      let k = 0;
      for (let r = 0; r < f.height; r += 2) {
        for (let c = 0; c < f.width; c += 2) {
          const v = y[r * ls + c]!;
          sum += v;
          if (sig) sig[k++] = v;
        }
      }
      out.frames.push({
        t: (Number(f.pts) * tb.num) / tb.den,
        mean: sum / (Math.ceil(f.height / 2) * Math.ceil(f.width / 2)),
        sig,
      });
      f.free();
    }
  };
  const onAudio = (frames: Frame[]) => {
    for (const f of frames) {
      const tb = f.timeBase && f.timeBase.num > 0 ? f.timeBase : as!.timeBase;
      sampleRate = f.sampleRate;
      const data: Float32Array[] = [];
      for (let c = 0; c < f.channels; c++) {
        if (f.format === AV_SAMPLE_FMT_FLTP) {
          const b = f.data![c]!;
          data.push(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + f.nbSamples * 4)));
        } else if (f.format === AV_SAMPLE_FMT_S16P) {
          const b = f.data![c]!;
          const i16 = new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + f.nbSamples * 2));
          data.push(Float32Array.from(i16, (v) => v / 32768));
        } else {
          throw new Error(`decode-helper: sample format ${f.format} not handled`);
        }
      }
      chunks.push({ t: (Number(f.pts) * tb.num) / tb.den, data });
      f.free();
    }
  };
  for await (const p of dmx.packets()) {
    if (!p) break;
    const isV = vs && p.streamIndex === vs.index;
    const st = isV ? vs : as;
    if (st && p.pts !== undefined) {
      out.packets.push({
        kind: isV ? 'video' : 'audio',
        pts: (Number(p.pts) * st.timeBase.num) / st.timeBase.den,
        key: p.isKeyframe,
        corrupt: (p.flags & AV_PKT_FLAG_CORRUPT) !== 0,
        size: p.size,
      });
    }
    try {
      if (isV && vdec) onVideo(await vdec.decodeAll(p));
      else if (!isV && adec && st) onAudio(await adec.decodeAll(p));
    } catch {
      out.decodeErrors++;
    }
    p.free();
  }
  try {
    if (vdec) onVideo(await vdec.decodeAll(null));
    if (adec) onAudio(await adec.decodeAll(null));
  } catch {
    out.decodeErrors++;
  }
  vdec?.close();
  adec?.close();
  await dmx.close();
  out.frames.sort((a, b) => a.t - b.t);
  if (chunks.length) {
    // Concatenate into one contiguous signal starting at the first chunk's pts.
    const t0 = chunks[0]!.t;
    const n = chunks.reduce((m, c) => Math.max(m, Math.round((c.t - t0) * sampleRate) + c.data[0]!.length), 0);
    const channels = chunks[0]!.data.map(() => new Float32Array(n));
    for (const c of chunks) {
      const off = Math.round((c.t - t0) * sampleRate);
      c.data.forEach((d, k) => channels[k]!.set(d, off));
    }
    out.audio = { t0, sampleRate, channels };
  }
  return out;
}

function codecName(par: { codecId: number }): string {
  const names: [number, string][] = [
    [AV_CODEC_ID_MPEG2VIDEO, 'mpeg2video'],
    [AV_CODEC_ID_H264, 'h264'],
    [AV_CODEC_ID_HEVC, 'hevc'],
    [AV_CODEC_ID_VP9, 'vp9'],
    [AV_CODEC_ID_MP2, 'mp2'],
    [AV_CODEC_ID_AAC, 'aac'],
    [AV_CODEC_ID_OPUS, 'opus'],
  ];
  return names.find(([id]) => id === par.codecId)?.[1] ?? `id${par.codecId}`;
}

/** Samples of channel c over [a, b) seconds (pts time). */
export function slice(d: DecodedFile, c: number, a: number, b: number): Float32Array {
  const au = d.audio!;
  const i0 = Math.max(0, Math.round((a - au.t0) * au.sampleRate));
  const i1 = Math.min(au.channels[c]!.length, Math.round((b - au.t0) * au.sampleRate));
  return au.channels[c]!.subarray(i0, Math.max(i0, i1));
}

export function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}

export function peak(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

export const db = (x: number) => 20 * Math.log10(x);

/** Mean absolute difference of two frame signatures (luma levels). */
export function sigDiff(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}
