import {
  AVCOL_RANGE_MPEG,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AV_PIX_FMT_GRAY8,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_NV21,
  AV_PIX_FMT_YUV410P,
  AV_PIX_FMT_YUV411P,
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUV422P,
  AV_PIX_FMT_YUV440P,
  AV_PIX_FMT_YUV444P,
  AV_PIX_FMT_YUVJ420P,
  AV_PIX_FMT_YUVJ422P,
  AV_PIX_FMT_YUVJ440P,
  AV_PIX_FMT_YUVJ444P,
  SWS_BILINEAR,
  type AVPixelFormat,
} from 'node-av/constants';
import { avGetPixFmtName, Codec, CodecContext, FFmpegError, Frame, SoftwareScaleContext, type Packet, type Stream } from 'node-av/lib';
import { frameDamaged } from './frame-views.ts';

/** 8-bit formats whose first plane is luma at native resolution: no conversion needed. */
export const LUMA_FIRST_FORMATS: ReadonlySet<number> = new Set<number>([
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUVJ420P,
  AV_PIX_FMT_YUV422P,
  AV_PIX_FMT_YUVJ422P,
  AV_PIX_FMT_YUV444P,
  AV_PIX_FMT_YUVJ444P,
  AV_PIX_FMT_YUV440P,
  AV_PIX_FMT_YUVJ440P,
  AV_PIX_FMT_YUV410P,
  AV_PIX_FMT_YUV411P,
  AV_PIX_FMT_GRAY8,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_NV21,
]);

/** Formats libswscale converts to limited-range YUV (RGB, palette, gray, mono), by name. */
const RGB_OR_GRAY = /^(rgb|bgr|gbr|argb|abgr|0rgb|0bgr|x2rgb|x2bgr|pal8|gray|ya|mono)/;

/** What the decoder did with the packets it was given, since it was opened. */
export interface VideoDecoderCounters {
  /** Pictures handed on. */
  frames: number;
  /** Of those, pictures the decoder flagged (decode error flags or AV_FRAME_FLAG_CORRUPT). */
  damaged: number;
  /** Packets the decoder refused (avcodec_send_packet < 0): nothing of them can be shown. */
  sendErrors: number;
  /** Flagged pictures before the connection's first keyframe or clean picture, not handed on. */
  droppedBeforeSync: number;
}

/**
 * Video decoding with node-av's low-level API (avcodec send/receive on one reused AVFrame).
 *
 * Why not node-av's `Decoder` class: with exitOnError off it silently discards every frame
 * carrying decode-error flags or AV_FRAME_FLAG_CORRUPT (so concealed, damaged pictures never
 * reached the detectors), and it clones every frame it returns. Here each picture is handed to
 * the callback by reference, with `damaged` telling what the decoder reported, and the frame is
 * unreferenced when the callback returns: the callee must not keep it.
 *
 * Kept from what `Decoder` did: the codec context is configured from the stream's parameters
 * with pkt_timebase set to the stream's time base (so best_effort_timestamp is in stream
 * units), the thread count is set before open, send errors are tolerated (the packets are lost,
 * decoding goes on), and `flush()` drains what the decoder holds at the end of the input.
 * Pictures whose first plane is not 8-bit luma (10-bit, RGB, packed YUV...) are converted to
 * yuv420p at the same size (libswscale, bilinear, frame properties copied), the way
 * `Decoder`'s `rescale` option did; unlike it, the converter follows size and format changes,
 * and the converted frame's colour range says what the samples are (RGB becomes limited range).
 *
 * A connection joined in the middle of a GOP (live MPEG-TS, reconnects) can make a decoder
 * emit concealed pictures built on missing references. FFmpeg's H.264, HEVC and MPEG-2
 * decoders show nothing before the first keyframe on their own; as a guard for decoders that
 * do, flagged pictures before the first keyframe or clean picture of the connection are not
 * handed on (counted in `droppedBeforeSync`): they are start-up artefacts, not damage.
 */
export class VideoDecoder {
  readonly counters: VideoDecoderCounters = { frames: 0, damaged: 0, sendErrors: 0, droppedBeforeSync: 0 };
  private readonly ctx: CodecContext;
  private readonly frame = new Frame();
  private readonly converted = new Frame();
  private scaler: SoftwareScaleContext | undefined;
  private scalerKey = '';
  private toLimited = false;
  private synced = false;
  private closed = false;

  constructor(stream: Stream, threads: number) {
    const codec = Codec.findDecoder(stream.codecpar.codecId);
    if (!codec) throw new Error(`no decoder for codec id ${stream.codecpar.codecId}`);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    try {
      FFmpegError.throwIfError(ctx.parametersToContext(stream.codecpar), 'copying codec parameters');
      ctx.pktTimebase = stream.timeBase;
      ctx.threadCount = threads;
      // No options Dictionary: passing one to open2 crashes later in node-av.
      FFmpegError.throwIfError(ctx.open2Sync(codec, null), 'opening the video decoder');
    } catch (err) {
      ctx.freeContext();
      throw err;
    }
    this.ctx = ctx;
    this.frame.alloc();
    this.converted.alloc();
  }

  /**
   * Send one packet (null: end of input, drain) and hand every picture that comes out to
   * `onFrame`. Never throws for damaged input.
   */
  decode(pkt: Packet | null, onFrame: (frame: Frame, damaged: boolean) => void): void {
    if (this.closed) return;
    if (pkt && pkt.size === 0) return;
    let ret = this.ctx.sendPacketSync(pkt);
    if (ret === AVERROR_EAGAIN) {
      // Cannot happen when every send is followed by a full receive; recover anyway.
      this.receive(onFrame);
      ret = this.ctx.sendPacketSync(pkt);
    }
    if (ret < 0 && ret !== AVERROR_EOF && ret !== AVERROR_EAGAIN) this.counters.sendErrors++;
    this.receive(onFrame);
  }

  flush(onFrame: (frame: Frame, damaged: boolean) => void): void {
    this.decode(null, onFrame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.freeContext();
    this.frame.free();
    this.converted.free();
    this.scaler?.freeContext();
    this.scaler = undefined;
  }

  private receive(onFrame: (frame: Frame, damaged: boolean) => void): void {
    const frame = this.frame;
    for (;;) {
      frame.unref();
      // EAGAIN (needs input), EOF (drained) and real errors all end this round.
      if (this.ctx.receiveFrameSync(frame) < 0) break;
      const damaged = frameDamaged(frame);
      if (!this.synced) {
        if (damaged && frame.keyFrame === 0) {
          this.counters.droppedBeforeSync++;
          continue;
        }
        this.synced = true;
      }
      const out = LUMA_FIRST_FORMATS.has(frame.format) ? frame : this.convert(frame);
      if (!out) continue;
      this.counters.frames++;
      if (damaged) this.counters.damaged++;
      try {
        onFrame(out, damaged);
      } finally {
        if (out !== frame) out.unref();
      }
    }
    frame.unref();
  }

  /** To yuv420p at the same size; frame properties (timestamps, flags, colour range) are copied. */
  private convert(frame: Frame): Frame | undefined {
    const w = frame.width;
    const h = frame.height;
    const fmt = frame.format as AVPixelFormat;
    if (w < 1 || h < 1) return undefined;
    const key = `${w}x${h}:${fmt}`;
    if (key !== this.scalerKey) {
      this.scaler?.freeContext();
      this.scaler = new SoftwareScaleContext();
      this.scaler.getContext(w, h, fmt, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR);
      if (this.scaler.initContext() < 0) {
        this.scaler.freeContext();
        this.scaler = undefined;
      }
      this.scalerKey = key;
      this.toLimited = RGB_OR_GRAY.test(avGetPixFmtName(fmt) ?? '');
    }
    if (!this.scaler) return undefined;
    const out = this.converted;
    out.unref();
    out.format = AV_PIX_FMT_YUV420P;
    out.width = w;
    out.height = h;
    if (this.scaler.scaleFrameSync(out, frame) < 0) return undefined;
    // Timestamps, flags, key frame, colour properties: as decoded.
    out.copyProps(frame);
    // libswscale (this context) keeps the sample scale from YUV to YUV, whatever the tagged range,
    // and makes limited-range YUV from RGB and gray: say so, or a full-range RGB tag would stick.
    if (this.toLimited) out.colorRange = AVCOL_RANGE_MPEG;
    return out;
  }
}
