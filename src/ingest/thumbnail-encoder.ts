import {
  AV_CODEC_FLAG_QSCALE,
  AV_PIX_FMT_YUVJ420P,
  AVERROR_EAGAIN,
  FF_ENCODER_MJPEG,
  FF_QP2LAMBDA,
  SWS_BILINEAR,
  type AVPixelFormat,
} from 'node-av/constants';
import { Codec, CodecContext, Frame, Packet, Rational, SoftwareScaleContext } from 'node-av/lib';

/** Width of evidence thumbnails; height follows the picture's aspect ratio. */
const THUMB_WIDTH = 320;

/**
 * Encodes a decoded frame as a small JPEG (evidence and live stream thumbnails). Runs a
 * few times a minute per stream, never per frame: libswscale then FFmpeg's MJPEG encoder.
 */
export class ThumbnailEncoder {
  private scaler: SoftwareScaleContext | undefined;
  private encoder: CodecContext | undefined;
  private readonly scaled = new Frame();
  private readonly packet = new Packet();
  private key = '';
  private count = 0;

  encode(frame: Frame): Buffer | undefined {
    const w = frame.width;
    const h = frame.height;
    if (w < 2 || h < 2) return undefined;
    const tw = Math.min(THUMB_WIDTH, w) & ~1;
    const th = Math.max(2, Math.round((h * tw) / w) & ~1);
    const key = `${w}x${h}:${frame.format}`;
    if (key !== this.key) this.open(w, h, frame.format as AVPixelFormat, tw, th, key);
    if (!this.scaler || !this.encoder) return undefined;
    if (this.scaler.scaleFrameSync(this.scaled, frame) < 0) return undefined;
    // Encoders refuse a timestamp that does not increase, even MJPEG's intra-only one.
    this.scaled.pts = BigInt(this.count++);
    this.scaled.quality = 3 * FF_QP2LAMBDA;
    if (this.encoder.sendFrameSync(this.scaled) < 0) return undefined;
    this.packet.unref();
    const ret = this.encoder.receivePacketSync(this.packet);
    if (ret < 0 || ret === AVERROR_EAGAIN) return undefined;
    const data = this.packet.data;
    return data ? Buffer.from(data) : undefined;
  }

  close(): void {
    this.scaler?.freeContext();
    this.encoder?.freeContext();
    this.scaler = undefined;
    this.encoder = undefined;
    this.scaled.free();
    this.packet.free();
  }

  private open(w: number, h: number, format: AVPixelFormat, tw: number, th: number, key: string): void {
    this.scaler?.freeContext();
    this.encoder?.freeContext();
    this.scaler = undefined;
    this.encoder = undefined;
    const codec = Codec.findEncoderByName(FF_ENCODER_MJPEG);
    if (!codec) return;
    const enc = new CodecContext();
    enc.allocContext3(codec);
    enc.width = tw;
    enc.height = th;
    enc.pixelFormat = AV_PIX_FMT_YUVJ420P;
    enc.timeBase = new Rational(1, 25);
    // Fixed quality (qscale 3), not a bitrate: thumbnails are single pictures.
    enc.setFlags(AV_CODEC_FLAG_QSCALE);
    enc.globalQuality = 3 * FF_QP2LAMBDA;
    if (enc.open2Sync(codec, null) < 0) {
      enc.freeContext();
      return;
    }
    const sws = new SoftwareScaleContext();
    sws.getContext(w, h, format, tw, th, AV_PIX_FMT_YUVJ420P, SWS_BILINEAR);
    this.scaled.free();
    this.scaled.alloc();
    this.scaled.width = tw;
    this.scaled.height = th;
    this.scaled.format = AV_PIX_FMT_YUVJ420P;
    this.scaled.allocBuffer();
    this.packet.alloc();
    this.encoder = enc;
    this.scaler = sws;
    this.key = key;
  }
}
