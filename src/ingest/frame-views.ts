import { AV_FRAME_FLAG_CORRUPT, AV_PIX_FMT_YUV410P, SWS_FAST_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { Frame, SoftwareScaleContext } from 'node-av/lib';
import type { AudioChunk, PreviewPlane, VideoFrameView } from '../shared/index.ts';

/**
 * The decoder reported damage in this frame: its error flags (concealment) or AV_FRAME_FLAG_CORRUPT
 * (set on frames decoded from packets the demuxer flagged AV_PKT_FLAG_CORRUPT, or from a broken reference).
 */
export function frameDamaged(frame: Frame): boolean {
  return frame.decodeErrorFlags !== 0 || (frame.flags & AV_FRAME_FLAG_CORRUPT) !== 0;
}

/** Preview target width: about 160 luma samples across, whatever the input size. */
const PREVIEW_TARGET_WIDTH = 160;

type MutableVideoView = {
  -readonly [K in keyof VideoFrameView]: VideoFrameView[K];
};

/**
 * Builds the one read-only view of each decoded video frame that every detector shares.
 *
 * The full-resolution luma plane is copied (av_frame_copy, natively) into a frame this builder
 * allocates once per resolution, whose plane-0 wrapper is taken once and kept: node-av 6.1's
 * `Frame.data` getter wraps a frame's buffers as new external Buffers on every call, and a new
 * 1.4 MB wrapper per analysed 720p frame made V8 run an old-space collection about every 7
 * analysed frames once little else was allocated (docs/adr/0003-corruption-model.md). The copy
 * costs about 0.1-0.2 ms a 720p frame and happens only on first access to `view.luma`; the plane
 * is valid until the next frame's view is built. Where that frame cannot be allocated, the view
 * falls back to wrapping the decoder's frame. The preview is scaled by libswscale straight from
 * the decoder's frame (a 2x2-neighbourhood fast bilinear sample), and only that ~20 KB plane is
 * copied into a JS buffer. Buffers are allocated when the resolution changes, never per frame.
 */
export class VideoViewBuilder {
  private preview: { data: Uint8Array; width: number; height: number } = { data: new Uint8Array(0), width: 0, height: 0 };
  private scaler: SoftwareScaleContext | undefined;
  private readonly scaled = new Frame();
  /**
   * Plane 0 of `scaled` and its stride, taken once per resolution: libswscale writes into the
   * frame's existing buffers, and `Frame.data` wraps every plane as new Buffers on each call (about
   * 13 µs a frame of allocation and GC at 640x360, 4% of decoding there).
   */
  private scaledPlane: Uint8Array | undefined;
  /** Views on the preview's rows in `scaledPlane` (one view when rows are contiguous), made with it. */
  private scaledRows: Uint8Array[] = [];
  private srcFormat = -1;
  private current: Frame | undefined;
  private lumaCache: Uint8Array | undefined;
  /** The persistent copy target of the full-resolution planes, and its plane-0 wrapper (taken once). */
  private readonly lumaFrame = new Frame();
  private lumaPlane: Uint8Array | undefined;
  private previewReady = false;
  private readonly view: MutableVideoView;

  constructor(private readonly fullRange: (frame: Frame) => boolean) {
    const luma = (): Uint8Array => this.luma();
    const preview = (): PreviewPlane => this.previewPlane();
    this.view = {
      kind: 'video',
      mediaTime: 0,
      wallTime: 0,
      width: 0,
      height: 0,
      get luma(): Uint8Array {
        return luma();
      },
      lumaStride: 0,
      get preview(): PreviewPlane {
        return preview();
      },
      frameDuration: 1 / 25,
      fullRange: false,
      decodeError: false,
      keyFrame: false,
    };
  }

  /** `damaged`: what the decoder reported for this frame, when the caller already knows (else read from the frame). */
  build(frame: Frame, mediaTime: number, wallTime: number, frameDuration: number, damaged?: boolean): VideoFrameView | null {
    const width = frame.width;
    const height = frame.height;
    if (width < 2 || height < 2) return null;
    if (width !== this.view.width || height !== this.view.height || frame.format !== this.srcFormat) {
      this.resize(width, height, frame.format as AVPixelFormat);
    }
    this.current = frame;
    this.lumaCache = undefined;
    this.previewReady = false;
    const v = this.view;
    v.mediaTime = mediaTime;
    v.wallTime = wallTime;
    v.lumaStride = this.lumaPlane ? (this.lumaFrame.linesize[0] ?? width) : (frame.linesize[0] ?? width);
    v.frameDuration = frameDuration;
    v.fullRange = this.fullRange(frame);
    v.decodeError = damaged ?? frameDamaged(frame);
    v.keyFrame = frame.keyFrame !== 0;
    return v;
  }

  /** Called once the frame's detectors have run: the view must not reach the frame any more. */
  release(): void {
    this.current = undefined;
    this.lumaCache = undefined;
  }

  close(): void {
    this.scaler?.freeContext();
    this.scaler = undefined;
    this.scaledPlane = undefined;
    this.scaledRows = [];
    this.scaled.free();
    this.lumaPlane = undefined;
    this.lumaFrame.free();
  }

  /** Scaled on first access: frames no detector looks at (decimated) cost no scaling. */
  private previewPlane(): PreviewPlane {
    if (!this.previewReady && this.current) {
      if (!this.scalePreview(this.current)) this.preview.data.fill(0);
      this.previewReady = true;
    }
    return this.preview;
  }

  /** Plane 0, copied into the persistent frame (or, where it could not be allocated, wrapped): valid until the next build(). */
  private luma(): Uint8Array {
    if (!this.lumaCache) {
      const frame = this.current;
      if (frame && this.lumaPlane && this.lumaFrame.copy(frame) >= 0) this.lumaCache = this.lumaPlane;
      else {
        this.lumaCache = frame?.data?.[0] ?? new Uint8Array(0);
        if (frame) this.view.lumaStride = frame.linesize[0] ?? frame.width;
      }
    }
    return this.lumaCache;
  }

  private scalePreview(frame: Frame): boolean {
    const plane = this.scaledPlane;
    if (!this.scaler || !plane || this.scaler.scaleFrameSync(this.scaled, frame) < 0) return false;
    const { data, width } = this.preview;
    const rows = this.scaledRows;
    for (let y = 0; y < rows.length; y++) data.set(rows[y]!, y * width);
    return true;
  }

  private resize(width: number, height: number, format: AVPixelFormat): void {
    const pw = Math.max(2, Math.min(width, PREVIEW_TARGET_WIDTH) & ~1);
    const ph = Math.max(2, Math.round((height * pw) / width) & ~1);
    this.scaler?.freeContext();
    this.scaler = new SoftwareScaleContext();
    // YUV410P rather than GRAY8: libswscale would expand limited-range luma to full range for gray.
    // Only the luma plane is read; 4x4-subsampled chroma is the least chroma work a YUV output takes
    // (its luma plane is the same as YUV420P's, bit for bit; about 20% less time a frame than
    // YUV420P, measured at 640x360 and 1280x720).
    this.scaler.getContext(width, height, format, pw, ph, AV_PIX_FMT_YUV410P, SWS_FAST_BILINEAR);
    this.scaled.free();
    this.scaled.alloc();
    this.scaled.width = pw;
    this.scaled.height = ph;
    this.scaled.format = AV_PIX_FMT_YUV410P;
    const plane = this.scaled.allocBuffer() >= 0 ? (this.scaled.data?.[0] ?? undefined) : undefined;
    const stride = this.scaled.linesize[0] ?? pw;
    this.scaledPlane = plane;
    this.scaledRows = [];
    if (plane && stride === pw) this.scaledRows.push(plane.subarray(0, pw * ph));
    else if (plane) for (let y = 0; y < ph; y++) this.scaledRows.push(plane.subarray(y * stride, y * stride + pw));
    this.preview.data = new Uint8Array(pw * ph);
    this.lumaPlane = undefined;
    this.lumaFrame.free();
    this.lumaFrame.alloc();
    this.lumaFrame.width = width;
    this.lumaFrame.height = height;
    this.lumaFrame.format = format;
    if (this.lumaFrame.allocBuffer() >= 0) this.lumaPlane = this.lumaFrame.data?.[0] ?? undefined;
    this.preview.width = pw;
    this.preview.height = ph;
    this.view.width = width;
    this.view.height = height;
    this.srcFormat = format;
  }
}

/**
 * Reference preview in plain JS (each pixel the mean of the 2x2 block at (x*step, y*step)).
 * Ingest uses libswscale instead; tests use this to build views without a decoder.
 */
export function computePreview(luma: Uint8Array, stride: number, step: number, out: PreviewPlane): void {
  const { data, width, height } = out;
  for (let py = 0; py < height; py++) {
    const r0 = py * step * stride;
    const r1 = r0 + stride;
    const o = py * width;
    for (let px = 0; px < width; px++) {
      const x = px * step;
      data[o + px] = (luma[r0 + x]! + luma[r0 + x + 1]! + luma[r1 + x]! + luma[r1 + x + 1]! + 2) >> 2;
    }
  }
}

/** FFmpeg's channel names by bit position of a native-order channel mask. */
const CHANNEL_NAMES = [
  'FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'FLC', 'FRC', 'BC', 'SL', 'SR', 'TC', 'TFL', 'TFC', 'TFR', 'TBL', 'TBC', 'TBR',
];

export function channelNames(mask: bigint, count: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 64 && names.length < count; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CHANNEL_NAMES[bit] ?? `ch${bit}`);
  }
  for (let i = names.length; i < count; i++) names.push(`ch${i}`);
  return names;
}

type MutableAudioChunk = {
  -readonly [K in keyof AudioChunk]: AudioChunk[K];
};

/** Builds the float32 planar view of a decoded (fltp) audio frame. */
export class AudioViewBuilder {
  private names: string[] = [];
  private mask = -1n;
  private readonly chunk: MutableAudioChunk = {
    kind: 'audio',
    mediaTime: 0,
    wallTime: 0,
    sampleRate: 48000,
    nbSamples: 0,
    channels: [],
    channelNames: [],
  };

  build(frame: Frame, mediaTime: number, wallTime: number): AudioChunk | null {
    const planes = frame.data;
    if (!planes) return null;
    const n = frame.nbSamples;
    const count = frame.channels;
    const layout = frame.channelLayout;
    if (layout.mask !== this.mask || this.names.length !== count) {
      this.mask = layout.mask;
      this.names = channelNames(layout.mask, count);
    }
    const channels: Float32Array[] = [];
    for (let c = 0; c < count; c++) {
      const p = planes[c];
      if (!p) return null;
      channels.push(new Float32Array(p.buffer, p.byteOffset, n));
    }
    const a = this.chunk;
    a.mediaTime = mediaTime;
    a.wallTime = wallTime;
    a.sampleRate = frame.sampleRate;
    a.nbSamples = n;
    a.channels = channels;
    a.channelNames = this.names;
    return a;
  }
}
