import type { Frame } from 'node-av/lib';
import type { AudioChunk, PreviewPlane, VideoFrameView } from '../shared/index.ts';

/** Preview target width: about 200 luma samples across, whatever the input size. */
const PREVIEW_TARGET_WIDTH = 192;

/** A VideoFrameView whose fields ingest rewrites in place for every frame (no per-frame objects). */
type MutableVideoView = {
  -readonly [K in keyof VideoFrameView]: VideoFrameView[K];
};

/**
 * Builds the one read-only view of each decoded video frame that every detector shares.
 * Buffers are allocated when the resolution changes, never per frame.
 */
export class VideoViewBuilder {
  private previewData = new Uint8Array(0);
  private preview: { data: Uint8Array; width: number; height: number } = { data: this.previewData, width: 0, height: 0 };
  private step = 2;
  private readonly view: MutableVideoView = {
    kind: 'video',
    mediaTime: 0,
    wallTime: 0,
    width: 0,
    height: 0,
    luma: new Uint8Array(0),
    lumaStride: 0,
    preview: this.preview,
    frameDuration: 1 / 25,
    fullRange: false,
    decodeError: false,
    keyFrame: false,
  };

  constructor(private readonly fullRange: (frame: Frame) => boolean) {}

  build(frame: Frame, mediaTime: number, wallTime: number, frameDuration: number): VideoFrameView | null {
    const planes = frame.data;
    const luma = planes?.[0];
    if (!luma) return null;
    const width = frame.width;
    const height = frame.height;
    const stride = frame.linesize[0] ?? width;
    if (width !== this.view.width || height !== this.view.height) this.resize(width, height);
    computePreview(luma, stride, this.step, this.preview);
    const v = this.view;
    v.mediaTime = mediaTime;
    v.wallTime = wallTime;
    v.luma = luma;
    v.lumaStride = stride;
    v.frameDuration = frameDuration;
    v.fullRange = this.fullRange(frame);
    v.decodeError = frame.decodeErrorFlags !== 0;
    v.keyFrame = frame.keyFrame !== 0;
    return v;
  }

  private resize(width: number, height: number): void {
    this.step = Math.max(2, Math.floor(width / PREVIEW_TARGET_WIDTH));
    const pw = Math.max(1, Math.floor((width - 1) / this.step));
    const ph = Math.max(1, Math.floor((height - 1) / this.step));
    this.previewData = new Uint8Array(pw * ph);
    this.preview.data = this.previewData;
    this.preview.width = pw;
    this.preview.height = ph;
    this.view.width = width;
    this.view.height = height;
  }
}

/** Each preview pixel is the mean of the 2x2 luma block at (x*step, y*step). */
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
