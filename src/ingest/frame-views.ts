import {
  AV_FRAME_FLAG_CORRUPT,
  AV_FRAME_FLAG_INTERLACED,
  AV_PIX_FMT_GRAY8,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_NV21,
  AV_PIX_FMT_YUV410P,
  AV_PIX_FMT_YUV411P,
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUV422P,
  AV_PIX_FMT_YUV440P,
  AV_PIX_FMT_YUV444P,
  AV_SAMPLE_FMT_FLTP,
  SWS_FAST_BILINEAR,
  type AVPixelFormat,
} from 'node-av/constants';
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
  /** Row stride of `lumaPlane` (node-av's `linesize` getter builds an array per call). */
  private lumaStride = 0;
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
      interlaced: false,
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
    v.lumaStride = this.lumaPlane ? this.lumaStride : (frame.linesize[0] ?? width);
    v.frameDuration = frameDuration;
    v.fullRange = this.fullRange(frame);
    v.decodeError = damaged ?? frameDamaged(frame);
    v.keyFrame = frame.keyFrame !== 0;
    v.interlaced = (frame.flags & AV_FRAME_FLAG_INTERLACED) !== 0;
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
    const { scaler, format: outFormat } = previewScaler(width, height, format, pw, ph);
    this.scaler = scaler;
    this.scaled.free();
    this.scaled.alloc();
    this.scaled.width = pw;
    this.scaled.height = ph;
    this.scaled.format = outFormat;
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
    if (this.lumaFrame.allocBuffer() >= 0) {
      this.lumaPlane = this.lumaFrame.data?.[0] ?? undefined;
      this.lumaStride = this.lumaFrame.linesize[0] ?? width;
    }
    this.preview.width = pw;
    this.preview.height = ph;
    this.view.width = width;
    this.view.height = height;
    this.srcFormat = format;
  }
}

/**
 * 8-bit limited-range YUV formats whose preview is scaled straight to GRAY8: libswscale's luma path
 * is then the same as for a YUV output, bit for bit (test/ingest/preview.test.ts), with no chroma
 * work at all (about 25% less time a frame than YUV410P at 640x360 and 1280x720).
 */
const GRAY_PREVIEW_FORMATS: ReadonlySet<number> = new Set([
  AV_PIX_FMT_YUV420P,
  AV_PIX_FMT_YUV422P,
  AV_PIX_FMT_YUV444P,
  AV_PIX_FMT_YUV440P,
  AV_PIX_FMT_YUV411P,
  AV_PIX_FMT_YUV410P,
  AV_PIX_FMT_NV12,
  AV_PIX_FMT_NV21,
]);

/**
 * The preview's scaler (fast bilinear, a 2x2-neighbourhood sample) and the format it writes, of
 * which only the luma plane is read. GRAY8 for the formats above, with both ranges declared full
 * so that libswscale copies luma levels as they are: by default it would expand limited-range luma
 * to full range for a gray output. Otherwise (full-range "J" formats, high bit depth, RGB) YUV410P,
 * whose luma plane is YUV420P's bit for bit and whose 4x4-subsampled chroma is the least chroma
 * work a YUV output takes.
 */
function previewScaler(width: number, height: number, format: AVPixelFormat, pw: number, ph: number): { scaler: SoftwareScaleContext; format: AVPixelFormat } {
  if (GRAY_PREVIEW_FORMATS.has(format)) {
    const gray = new SoftwareScaleContext();
    gray.allocContext();
    const set: [string, number | string][] = [
      ['srcw', width],
      ['srch', height],
      ['src_format', format],
      ['dstw', pw],
      ['dsth', ph],
      ['dst_format', AV_PIX_FMT_GRAY8],
      ['sws_flags', 'fast_bilinear'],
      ['src_range', 1],
      ['dst_range', 1],
    ];
    if (set.every(([k, v]) => gray.setOption(k, v) >= 0) && gray.initContext() >= 0) return { scaler: gray, format: AV_PIX_FMT_GRAY8 };
    gray.freeContext();
  }
  const scaler = new SoftwareScaleContext();
  scaler.getContext(width, height, format, pw, ph, AV_PIX_FMT_YUV410P, SWS_FAST_BILINEAR);
  return { scaler, format: AV_PIX_FMT_YUV410P };
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

/** Samples a channel the audio copy target holds at least (Vorbis frames reach 4096 at 48 kHz). */
const AUDIO_CAPACITY = 4096;

/**
 * Builds the float32 planar view of a decoded (fltp) audio frame.
 *
 * The samples are copied (av_frame_copy, natively: a few KB) into a frame this builder allocates
 * once per format, whose planes are wrapped once and kept, as VideoViewBuilder does for luma:
 * node-av's `Frame.data` getter wraps every plane as a new external Buffer on each call (about
 * 8 µs a chunk plus the collections those wrappers cause, measured at 47 chunks a second), and the
 * channel layout getter builds an object per call. The copy target holds at least AUDIO_CAPACITY
 * samples a channel, so codecs whose frames vary in length (Vorbis, Opus, a short last frame) only
 * set its sample count; the views for each length are made once. av_frame_copy refuses a frame
 * whose format or channel layout differs from the target's, which is how a change is noticed: only
 * then are the layout and the target taken anew. Where no target can be made for a format, the view
 * wraps the decoder's frame (and the target is not tried again for that format). The views are
 * valid until the next build().
 */
export class AudioViewBuilder {
  private names: string[] = [];
  private mask = -1n;
  private readonly copyFrame = new Frame();
  /** `copyFrame`'s planes over its whole capacity, wrapped once per allocation; empty while it has none. */
  private planes: Float32Array[] = [];
  private capacity = 0;
  /** The sample count `copyFrame` is set to. */
  private copyLength = 0;
  /** Views of `length` samples on `planes`, per length seen since the allocation. */
  private readonly views = new Map<number, Float32Array[]>();
  /** The format (sample format, channels, layout) no copy target could be made for. */
  private failed = '';
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
    const n = frame.nbSamples;
    let channels = n > 0 && n <= this.capacity ? this.copied(frame, n) : null;
    if (!channels) {
      // First chunk, a longer one, or the format changed (or no copy target can be made): read the layout.
      const count = frame.channels;
      const layout = frame.channelLayout;
      if (layout.mask !== this.mask || this.names.length !== count) {
        this.mask = layout.mask;
        this.names = channelNames(layout.mask, count);
      }
      const key = `${frame.format}/${count}/${layout.order}/${layout.mask}`;
      if (n > 0 && key !== this.failed) {
        if (this.allocCopy(frame, n, count, layout)) channels = this.copied(frame, n);
        if (!channels) this.failed = key;
      }
      channels ??= this.wrap(frame, n, count);
    }
    if (!channels) return null;
    const a = this.chunk;
    a.mediaTime = mediaTime;
    a.wallTime = wallTime;
    a.sampleRate = frame.sampleRate;
    a.nbSamples = n;
    a.channels = channels;
    a.channelNames = this.names;
    return a;
  }

  close(): void {
    this.planes = [];
    this.views.clear();
    this.capacity = 0;
    this.copyFrame.free();
  }

  /** `frame`'s n samples copied into the target, as views; null where av_frame_copy refuses (another format or layout). */
  private copied(frame: Frame, n: number): Float32Array[] | null {
    const f = this.copyFrame;
    if (this.copyLength !== n) {
      f.nbSamples = n;
      this.copyLength = n;
    }
    if (f.copy(frame) < 0) return null;
    let v = this.views.get(n);
    if (!v) {
      v = this.planes.map((p) => p.subarray(0, n));
      this.views.set(n, v);
    }
    return v;
  }

  /** The decoder's own planes, wrapped for this chunk only (the fallback). */
  private wrap(frame: Frame, n: number, count: number): Float32Array[] | null {
    const planes = frame.data;
    if (!planes) return null;
    const channels: Float32Array[] = [];
    for (let c = 0; c < count; c++) {
      const p = planes[c];
      if (!p) return null;
      channels.push(new Float32Array(p.buffer, p.byteOffset, n));
    }
    return channels;
  }

  /** A float planar copy target for `frame`'s format and layout, at least AUDIO_CAPACITY samples long; false where it cannot be made. */
  private allocCopy(frame: Frame, n: number, count: number, layout: Frame['channelLayout']): boolean {
    this.planes = [];
    this.views.clear();
    this.capacity = 0;
    const f = this.copyFrame;
    f.free();
    if (frame.format !== AV_SAMPLE_FMT_FLTP || count <= 0) return false;
    const capacity = Math.max(n, AUDIO_CAPACITY);
    try {
      f.alloc();
      f.format = AV_SAMPLE_FMT_FLTP;
      f.nbSamples = capacity;
      f.sampleRate = frame.sampleRate;
      f.channelLayout = layout;
      if (f.allocBuffer() < 0) return false;
      const planes = f.data;
      if (!planes || planes.length < count) return false;
      const full: Float32Array[] = [];
      for (let c = 0; c < count; c++) {
        const p = planes[c];
        if (!p || p.byteLength < capacity * 4) return false;
        full.push(new Float32Array(p.buffer, p.byteOffset, capacity));
      }
      this.planes = full;
      this.capacity = capacity;
      this.copyLength = capacity;
      return true;
    } catch {
      return false;
    }
  }
}
