/**
 * Content generated in JS: the flash-and-beep sync pattern, a programme-like audio signal,
 * and a delay line that shifts audio content against the pictures (av_offset).
 */
import { prng } from '../shared/index.ts';

/** Yields tightly packed yuv420p pictures (W*H*3/2 bytes), one per output frame. */
export interface VideoSource {
  next(): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Yields interleaved float32 samples at the configured rate/channels. */
export interface AudioSource {
  read(n: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Luma of the sync pattern's flash frame (full white, video range). */
export const FLASH_LUMA = 235;
/** Beep frequency and peak level of the sync pattern. */
export const BEEP_HZ = 1000;
export const BEEP_PEAK = 0.5;

/**
 * Sync pattern pictures: dim colour bars with a white bar sweeping left to right once a
 * second along the bottom, and a full white frame on every whole second (frame index
 * divisible by fps). Frame i shows media time i / fps.
 */
export function syncPatternVideo(width: number, height: number, fps: number): VideoSource {
  const ySize = width * height;
  const cw = width >> 1;
  const ch = height >> 1;
  const base = new Uint8Array(ySize * 1.5);
  // Eight dim bars (about 30% of 75% bars): luma 30..60, mild chroma.
  const bars: [number, number, number][] = [
    [60, 128, 128],
    [57, 108, 131],
    [50, 134, 108],
    [46, 114, 111],
    [40, 142, 145],
    [36, 122, 148],
    [30, 148, 125],
    [24, 128, 128],
  ];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) base[y * width + x] = bars[Math.floor((x * 8) / width)]![0];
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      const b = bars[Math.floor((x * 16) / width)]!;
      base[ySize + y * cw + x] = b[1];
      base[ySize + ySize / 4 + y * cw + x] = b[2];
    }
  }
  let i = 0;
  return {
    async next() {
      const k = i++;
      const pic = base.slice();
      if (k % fps === 0) {
        pic.fill(FLASH_LUMA, 0, ySize);
        pic.fill(128, ySize);
        return pic;
      }
      // Sweep marker: position = fraction of the second elapsed.
      const barH = Math.max(4, Math.floor(height / 12));
      const x0 = Math.floor(((k % fps) / fps) * width);
      const x1 = Math.min(width, x0 + Math.max(4, Math.floor(width / fps)));
      for (let y = height - 2 * barH; y < height - barH; y++) pic.fill(200, y * width + x0, y * width + x1);
      return pic;
    },
    async close() {},
  };
}

/**
 * Sync pattern sound: a 1 kHz beep (peak -6 dBFS) of `beepSamples` starting exactly on every
 * whole second, over a quiet correlated noise floor (about -50 dBFS RMS, so that silence
 * detectors stay quiet between beeps). Identical on every channel.
 */
export function syncPatternAudio(sampleRate: number, channels: number, beepSamples: number, seed: number): AudioSource {
  const rand = prng(seed ^ 0x51c0);
  let pos = 0;
  const floor = 0.00316 * Math.sqrt(3); // uniform noise with RMS ~ -50 dBFS
  return {
    async read(n) {
      const out = new Float32Array(n * channels);
      for (let s = 0; s < n; s++) {
        const p = pos + s;
        const inSec = p % sampleRate;
        let v = (rand() * 2 - 1) * floor;
        if (inSec < beepSamples) v += BEEP_PEAK * Math.sin((2 * Math.PI * BEEP_HZ * inSec) / sampleRate);
        for (let c = 0; c < channels; c++) out[s * channels + c] = v;
      }
      pos += n;
      return out;
    },
    async close() {},
  };
}

/**
 * Gain that puts the programme signal at about -23 LUFS (integrated, stereo). Calibrated by
 * measuring this generator with FFmpeg's ebur128 filter; test/simulate checks it stays within 1 LU.
 */
export const PROGRAMME_GAIN = 0.262;

/**
 * Programme-like sound: pink noise (Paul Kellet's filter), 90% common to all channels and
 * 10% per channel (strongly correlated, like real stereo), under a slow level envelope of
 * about +-6 dB (periods of 7 s and 2.3 s), so that loudness varies like speech or music.
 */
export function programmeAudio(sampleRate: number, channels: number, seed: number): AudioSource {
  const rand = prng(seed ^ 0x9a0e);
  const state = Array.from({ length: channels + 1 }, () => new Float64Array(7));
  const pink = (st: Float64Array): number => {
    const w = rand() * 2 - 1;
    st[0] = 0.99886 * st[0]! + w * 0.0555179;
    st[1] = 0.99332 * st[1]! + w * 0.0750759;
    st[2] = 0.969 * st[2]! + w * 0.153852;
    st[3] = 0.8665 * st[3]! + w * 0.3104856;
    st[4] = 0.55 * st[4]! + w * 0.5329522;
    st[5] = -0.7616 * st[5]! - w * 0.016898;
    const out = st[0] + st[1] + st[2] + st[3] + st[4] + st[5] + st[6]! + w * 0.5362;
    st[6] = w * 0.115926;
    return out * 0.11;
  };
  let pos = 0;
  return {
    async read(n) {
      const out = new Float32Array(n * channels);
      for (let s = 0; s < n; s++) {
        const t = (pos + s) / sampleRate;
        const envDb = 4 * Math.sin((2 * Math.PI * t) / 7) + 2 * Math.sin((2 * Math.PI * t) / 2.3);
        const g = PROGRAMME_GAIN * 10 ** (envDb / 20);
        const common = pink(state[channels]!);
        for (let c = 0; c < channels; c++) {
          const v = g * (0.9 * common + 0.1 * pink(state[c]!));
          out[s * channels + c] = v > 1 ? 1 : v < -1 ? -1 : v;
        }
      }
      pos += n;
      return out;
    },
    async close() {},
  };
}

/**
 * Random access over a sequential audio source: `readAt(pos, n)` returns interleaved samples
 * [pos, pos + n) of the source (zeros before its start), keeping `history` samples behind the
 * last read so that delayed audio can be read again.
 */
export class AudioDelayLine {
  private buf = new Float32Array(0);
  private bufStart = 0; // source sample index of buf[0]
  private bufLen = 0; // samples (per channel) in buf

  constructor(
    private readonly src: AudioSource,
    private readonly channels: number,
    private readonly history: number,
  ) {}

  async readAt(pos: number, n: number): Promise<Float32Array> {
    const ch = this.channels;
    const end = pos + n;
    while (this.bufStart + this.bufLen < end) {
      const more = await this.src.read(1024);
      const need = (this.bufLen + 1024) * ch;
      if (this.buf.length < need) {
        const grown = new Float32Array(Math.max(need, this.buf.length * 2));
        grown.set(this.buf.subarray(0, this.bufLen * ch));
        this.buf = grown;
      }
      this.buf.set(more, this.bufLen * ch);
      this.bufLen += 1024;
    }
    const out = new Float32Array(n * ch);
    const from = Math.max(pos, this.bufStart);
    if (from < end) {
      out.set(this.buf.subarray((from - this.bufStart) * ch, (end - this.bufStart) * ch), (from - pos) * ch);
    }
    // Forget what no later read can need.
    const keepFrom = end - this.history;
    const drop = keepFrom - this.bufStart;
    if (drop > 8192) {
      const d = Math.min(drop, this.bufLen);
      this.buf.copyWithin(0, d * ch, this.bufLen * ch);
      this.bufLen -= d;
      this.bufStart += d;
    }
    return out;
  }

  close(): Promise<void> {
    return this.src.close();
  }
}

/**
 * Interlaced pictures from a source running at twice the frame rate: each output picture weaves
 * two consecutive source pictures, the first as the top field (even rows) and the second as the
 * bottom field (odd rows), as a top-field-first camera captures them. Each field's rows are
 * low-passed vertically ([1 2 1] / 4 over the source picture's rows, as FFmpeg's interlace filter
 * does by default and interlaced cameras do against twitter). The rows of each chroma plane
 * alternate the same way. Anything that moves shows the two field times ("combing"), as
 * broadcast 576i and 1080i carry it.
 */
export function weaveFields(source: VideoSource, width: number, height: number): VideoSource {
  const planes = [
    { offset: 0, w: width, h: height },
    { offset: width * height, w: width / 2, h: height / 2 },
    { offset: (width * height * 5) / 4, w: width / 2, h: height / 2 },
  ];
  return {
    async next(): Promise<Uint8Array> {
      const top = await source.next();
      const bottom = await source.next();
      const out = new Uint8Array(top.length);
      for (const p of planes) {
        for (let y = 0; y < p.h; y++) {
          const src = (y & 1) === 0 ? top : bottom;
          const row = p.offset + y * p.w;
          const up = p.offset + Math.max(0, y - 1) * p.w;
          const down = p.offset + Math.min(p.h - 1, y + 1) * p.w;
          for (let x = 0; x < p.w; x++) out[row + x] = (src[up + x]! + 2 * src[row + x]! + src[down + x]! + 2) >> 2;
        }
      }
      return out;
    },
    close: () => source.close(),
  };
}
