/**
 * Encoders for the simulator: video h264 (libx264), hevc (libx265), mpeg2 (mpeg2video),
 * vp9 (libvpx-vp9); audio aac, mp2, opus (libopus). All tuned for speed (fastest presets,
 * no B-frames, no lookahead) with a keyframe on every whole second of media time: the GOP
 * is `fps` frames and the render loop also forces an I-frame on the first picture sent in
 * each second (so dropped frames do not move keyframes off the second grid).
 */
import {
  AV_CHANNEL_ORDER_NATIVE,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_CODEC_FLAG_INTERLACED_DCT,
  AV_CODEC_FLAG_INTERLACED_ME,
  AV_OPT_SEARCH_CHILDREN,
  AV_PIX_FMT_YUV420P,
  AV_SAMPLE_FMT_FLT,
  AV_SAMPLE_FMT_FLTP,
  AV_SAMPLE_FMT_S16,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  FF_ENCODER_AAC,
  FF_ENCODER_LIBOPUS,
  FF_ENCODER_LIBVPX_VP9,
  FF_ENCODER_LIBX264,
  FF_ENCODER_LIBX265,
  FF_ENCODER_MP2,
  FF_ENCODER_MPEG2VIDEO,
} from 'node-av/constants';
import { Codec, CodecContext, FFmpegError, FormatContext, Frame, Option, Packet, Rational } from 'node-av/lib';
import type { IRational } from 'node-av/lib';
import type { ScenarioStream } from './scenario.ts';

export const check = (ret: number, what: string): number => {
  FFmpegError.throwIfError(ret, what);
  return ret;
};

/** Set an AVOption on a context or its private data (codec/muxer options). */
export function setOpt(obj: CodecContext | FormatContext, name: string, value: string): void {
  check(Option.set(obj.getNative(), name, value, AV_OPT_SEARCH_CHILDREN), `option ${name}=${value}`);
}

export interface Enc {
  ctx: CodecContext;
  timeBase: IRational;
  out: Packet[];
}

export type VideoCodecName = ScenarioStream['video']['codec'];

const VIDEO_ENCODERS: Record<VideoCodecName, string> = {
  h264: FF_ENCODER_LIBX264,
  hevc: FF_ENCODER_LIBX265,
  mpeg2: FF_ENCODER_MPEG2VIDEO,
  vp9: FF_ENCODER_LIBVPX_VP9,
};

export function openVideoEncoder(stream: ScenarioStream, globalHeader: boolean, threads: number): Enc {
  const { width, height, fps, bitrateKbps, preset, codec: name } = stream.video;
  const encName = VIDEO_ENCODERS[name];
  const codec = Codec.findEncoderByName(encName as never);
  if (!codec) throw new Error(`${encName} encoder not available in this FFmpeg build`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = width;
  ctx.height = height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  const timeBase = new Rational(1, fps);
  ctx.timeBase = timeBase;
  ctx.framerate = new Rational(fps, 1);
  ctx.gopSize = fps;
  ctx.maxBFrames = 0;
  ctx.bitRate = BigInt(bitrateKbps * 1000);
  ctx.rcMaxRate = BigInt(Math.round(bitrateKbps * 1500));
  ctx.rcBufferSize = bitrateKbps * 1000;
  ctx.threadCount = threads;
  if (globalHeader) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
  // Field DCT and field motion estimation; libx264 reads the DCT flag as its `interlaced` (MBAFF).
  if (stream.video.interlaced) {
    ctx.setFlags(AV_CODEC_FLAG_INTERLACED_DCT);
    ctx.setFlags(AV_CODEC_FLAG_INTERLACED_ME);
  }
  // Private options through AVOptions: passing a Dictionary to open2 double-frees on GC in node-av 6.1.
  switch (name) {
    case 'h264':
      setOpt(ctx, 'preset', preset);
      setOpt(ctx, 'forced-idr', '1');
      setOpt(
        ctx,
        'x264-params',
        `keyint=${fps}:min-keyint=${fps}:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0${stream.video.interlaced ? ':tff=1' : ''}`,
      );
      break;
    case 'hevc':
      setOpt(ctx, 'preset', preset);
      setOpt(ctx, 'forced-idr', '1');
      setOpt(
        ctx,
        'x265-params',
        `keyint=${fps}:min-keyint=${fps}:scenecut=0:bframes=0:rc-lookahead=0:frame-threads=1:pools=${threads}:log-level=error:open-gop=0`,
      );
      break;
    case 'mpeg2':
      ctx.rcBufferSize = Math.max(bitrateKbps * 1000, 1_835_008 / 4);
      break;
    case 'vp9':
      setOpt(ctx, 'deadline', 'realtime');
      setOpt(ctx, 'cpu-used', '8');
      setOpt(ctx, 'lag-in-frames', '0');
      setOpt(ctx, 'row-mt', '0');
      setOpt(ctx, 'keyint_min', String(fps));
      break;
  }
  check(ctx.open2Sync(codec, null), `open ${encName}`);
  return { ctx, timeBase, out: [] };
}

export type AudioCodecName = 'aac' | 'mp2' | 'opus';

export interface AudioEnc extends Enc {
  frameSize: number;
  /** Build an encoder frame from planar float samples (channel c at [c*n, (c+1)*n)). */
  makeFrame(planar: Float32Array, n: number, pts: bigint): Frame;
}

export function openAudioEncoder(
  cfg: { codec: AudioCodecName; sampleRate: number; channels: number; bitrateKbps: number },
  globalHeader: boolean,
): AudioEnc {
  const { codec: name, sampleRate, channels, bitrateKbps } = cfg;
  const encName = name === 'aac' ? FF_ENCODER_AAC : name === 'opus' ? FF_ENCODER_LIBOPUS : FF_ENCODER_MP2;
  const codec = Codec.findEncoderByName(encName);
  if (!codec) throw new Error(`${encName} encoder not available`);
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.sampleRate = sampleRate;
  const format = name === 'aac' ? AV_SAMPLE_FMT_FLTP : name === 'opus' ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
  ctx.sampleFormat = format;
  const layout = { nbChannels: channels, order: AV_CHANNEL_ORDER_NATIVE, mask: channels === 1 ? 4n : 3n };
  ctx.channelLayout = layout;
  const timeBase = new Rational(1, sampleRate);
  ctx.timeBase = timeBase;
  ctx.bitRate = BigInt((name === 'mp2' ? Math.max(64, bitrateKbps) : bitrateKbps) * 1000);
  if (globalHeader) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
  if (name === 'aac') setOpt(ctx, 'aac_coder', 'fast');
  if (name === 'opus') setOpt(ctx, 'application', 'audio');
  check(ctx.open2Sync(codec, null), `open ${encName}`);
  const frameSize = ctx.frameSize || 1024;
  const makeFrame = (planar: Float32Array, n: number, pts: bigint): Frame => {
    let buf: Buffer;
    if (format === AV_SAMPLE_FMT_FLTP) {
      buf = Buffer.from(planar.buffer, planar.byteOffset, n * channels * 4);
    } else if (format === AV_SAMPLE_FMT_FLT) {
      const inter = new Float32Array(n * channels);
      for (let c = 0; c < channels; c++) for (let s = 0; s < n; s++) inter[s * channels + c] = planar[c * n + s]!;
      buf = Buffer.from(inter.buffer);
    } else {
      const inter = new Int16Array(n * channels);
      for (let c = 0; c < channels; c++) {
        for (let s = 0; s < n; s++) {
          const v = Math.round(planar[c * n + s]! * 32767);
          inter[s * channels + c] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
        }
      }
      buf = Buffer.from(inter.buffer);
    }
    const f = Frame.fromAudioBuffer(buf, {
      nbSamples: n,
      format,
      sampleRate,
      channelLayout: layout,
      timeBase,
    });
    f.pts = pts;
    return f;
  };
  return { ctx, timeBase, out: [], frameSize, makeFrame };
}

export async function drain(enc: Enc): Promise<void> {
  for (;;) {
    const pkt = new Packet();
    pkt.alloc();
    const ret = await enc.ctx.receivePacket(pkt);
    if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) {
      pkt.free();
      return;
    }
    check(ret, 'receivePacket');
    enc.out.push(pkt);
  }
}

export async function encode(enc: Enc, frame: Frame | null): Promise<void> {
  check(await enc.ctx.sendFrame(frame), 'sendFrame');
  await drain(enc);
}
