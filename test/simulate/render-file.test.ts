import '../../src/shared/polyfill.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, Demuxer } from 'node-av';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';

interface Decoded {
  duration: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /** [media time, mean luma, luma plane copy (bottom half)] per video frame, relative to the first video frame. */
  frames: { t: number; mean: number; lower: Uint8Array }[];
  /** Per channel samples with the time of sample 0, relative to the first video frame. */
  audio: { t0: number; sampleRate: number; channels: Float32Array[] }[];
}

async function decodeFile(path: string): Promise<Decoded> {
  const dmx = await Demuxer.open(path);
  const vs = dmx.video();
  const as = dmx.audio();
  const out: Decoded = { duration: dmx.duration, hasVideo: !!vs, hasAudio: !!as, frames: [], audio: [] };
  const vdec = vs ? await Decoder.create(vs) : undefined;
  const adec = as ? await Decoder.create(as) : undefined;
  const vframes: { t: number; mean: number; lower: Uint8Array }[] = [];
  const aframes: { t: number; sampleRate: number; channels: Float32Array[] }[] = [];
  const onFrames = (frames: import('node-av').Frame[], video: boolean) => {
    for (const f of frames) {
      const ftb = f.timeBase;
      const tb = ftb && ftb.num > 0 ? ftb : video ? vs!.timeBase : as!.timeBase;
      const t = (Number(f.pts) * tb.num) / tb.den;
      if (video) {
        const w = f.width;
        const h = f.height;
        const ls = f.linesize[0]!;
        const y = f.data![0]!;
        let sum = 0;
        for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) sum += y[r * ls + c]!;
        const lower = new Uint8Array(w * (h >> 1));
        for (let r = h >> 1; r < h; r++) lower.set(y.subarray(r * ls, r * ls + w), (r - (h >> 1)) * w);
        vframes.push({ t, mean: sum / (w * h), lower });
      } else {
        const chans: Float32Array[] = [];
        for (let c = 0; c < f.channels; c++) {
          const b = f.data![c]!;
          chans.push(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + f.nbSamples * 4)));
        }
        aframes.push({ t, sampleRate: f.sampleRate, channels: chans });
      }
      f.free();
    }
  };
  for await (const p of dmx.packets()) {
    if (!p) break;
    if (vs && p.streamIndex === vs.index) onFrames(await vdec!.decodeAll(p), true);
    else if (as && p.streamIndex === as.index) onFrames(await adec!.decodeAll(p), false);
    p.free();
  }
  if (vdec) onFrames(await vdec.decodeAll(null), true);
  if (adec) onFrames(await adec.decodeAll(null), false);
  vdec?.close();
  adec?.close();
  await dmx.close();
  vframes.sort((a, b) => a.t - b.t);
  const first = vframes[0]?.t ?? 0;
  out.frames = vframes.map((f) => ({ ...f, t: f.t - first }));
  out.audio = aframes.map((a) => ({ t0: a.t - first, sampleRate: a.sampleRate, channels: a.channels }));
  return out;
}

/** Max |sample| of channel c over media time [a, b). */
function peak(d: Decoded, c: number, a: number, b: number): number {
  let m = 0;
  for (const f of d.audio) {
    const ch = f.channels[c]!;
    for (let i = 0; i < ch.length; i++) {
      const t = f.t0 + i / f.sampleRate;
      if (t >= a && t < b) m = Math.max(m, Math.abs(ch[i]!));
    }
  }
  return m;
}

const stream = parseScenario({
  streams: [
    {
      id: 'file1',
      output: { type: 'udp' },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 320, height: 180, fps: 25 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: 8,
      schedule: [
        { at: 1, type: 'silence', duration: 1, channel: 1 },
        { at: 2, type: 'black', duration: 2 },
        { at: 4.5, type: 'freeze', duration: 1, grain: 0 }, // on the 25 fps grid: frames 113..137
        { at: 5, type: 'silence', duration: 1.5 },
        { at: 6, type: 'clean', duration: 1, variant: 'dark' },
        { at: 7, type: 'clean', duration: 1, variant: 'static' },
      ],
    },
  ],
}).streams[0]!;

describe('renderToFile', () => {
  let dir: string;
  let truth: GroundTruthEntry[];
  let decoded: Decoded;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-render-'));
    truth = await renderToFile(stream, join(dir, 'out.mkv'), { duration: 8 });
    decoded = await decodeFile(join(dir, 'out.mkv'));
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('returns file ground truth without wall times', () => {
    expect(truth).toEqual([
      { streamId: 'file1', type: 'channel_loss', start: 1, end: 2, channel: 'FR', variant: 'dead' },
      { streamId: 'file1', type: 'black', start: 2, end: 4 },
      { streamId: 'file1', type: 'freeze', start: 4.52, end: 5.52 },
      { streamId: 'file1', type: 'silence', start: 5, end: 6.5 },
      { streamId: 'file1', type: 'clean', start: 6, end: 7, variant: 'dark' },
      { streamId: 'file1', type: 'clean', start: 7, end: 8, variant: 'static' },
    ]);
  });

  it('writes video + audio with the expected duration', () => {
    expect(decoded.hasVideo).toBe(true);
    expect(decoded.hasAudio).toBe(true);
    expect(decoded.duration).toBeGreaterThan(7.8);
    expect(decoded.duration).toBeLessThan(8.2);
    expect(decoded.frames).toHaveLength(200);
  });

  it('black interval is really black, the rest is not', () => {
    const inBlack = decoded.frames.filter((f) => f.t >= 2 && f.t < 4);
    expect(inBlack).toHaveLength(50);
    for (const f of inBlack) expect(f.mean).toBeLessThan(20);
    for (const f of decoded.frames.filter((f) => f.t < 1.96 || (f.t >= 4 && f.t < 6)))
      expect(f.mean).toBeGreaterThan(40);
    // dark clean stretch: dim, but not black
    for (const f of decoded.frames.filter((f) => f.t >= 6 && f.t < 7)) {
      expect(f.mean).toBeGreaterThan(20);
      expect(f.mean).toBeLessThan(45);
    }
  });

  it('freeze repeats the picture (outside the clock)', () => {
    const frozen = decoded.frames.filter((f) => f.t >= 4.52 && f.t < 5.52);
    expect(frozen.length).toBe(25);
    const ref = frozen[0]!.lower;
    for (const f of frozen) {
      let diff = 0;
      for (let i = 0; i < ref.length; i++) diff += Math.abs(f.lower[i]! - ref[i]!);
      expect(diff / ref.length).toBeLessThan(0.5);
    }
    const moving = decoded.frames.filter((f) => f.t >= 0.5 && f.t < 1);
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff += Math.abs(moving[0]!.lower[i]! - moving[5]!.lower[i]!);
    expect(diff / ref.length).toBeGreaterThan(1);
  });

  it('static clean stretch: a still picture with a small moving pointer', () => {
    const still = decoded.frames.filter((f) => f.t >= 7 && f.t < 8);
    expect(still).toHaveLength(25);
    for (let k = 1; k < still.length; k++) {
      let diff = 0;
      const a = still[k - 1]!.lower;
      const b = still[k]!.lower;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
      const mean = diff / a.length;
      expect(mean).toBeGreaterThan(0.005); // the pointer moved
      expect(mean).toBeLessThan(0.5); // but the picture is otherwise still
    }
  });

  it('silence is digital zero, on all channels or on the one dead channel', () => {
    const margin = 0.03; // AAC frames overlap by 1024 samples at the edges
    expect(peak(decoded, 0, 5 + margin, 6.5 - margin)).toBeLessThan(1e-4);
    expect(peak(decoded, 1, 5 + margin, 6.5 - margin)).toBeLessThan(1e-4);
    expect(peak(decoded, 1, 1 + margin, 2 - margin)).toBeLessThan(1e-4);
    expect(peak(decoded, 0, 1 + margin, 2 - margin)).toBeGreaterThan(0.05);
    expect(peak(decoded, 0, 0.2, 0.9)).toBeGreaterThan(0.05);
    expect(peak(decoded, 1, 0.2, 0.9)).toBeGreaterThan(0.05);
  });
});

describe('renderToFile containers', () => {
  it('writes .ts and .mp4, and signal loss becomes a gap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-render-'));
    try {
      const s = parseScenario({
        streams: [
          {
            id: 'gap',
            output: { type: 'udp' },
            content: { source: 'smptebars' },
            video: { width: 320, height: 180, fps: 25 },
            cycle: 4,
            schedule: [{ at: 1, type: 'signal_loss', duration: 1.5 }],
          },
        ],
      }).streams[0]!;
      for (const ext of ['ts', 'mp4']) {
        const truth = await renderToFile(s, join(dir, `o.${ext}`), { duration: 4 });
        expect(truth).toEqual([{ streamId: 'gap', type: 'signal_loss', start: 1, end: 3 }]);
        const d = await decodeFile(join(dir, `o.${ext}`));
        expect(d.hasVideo && d.hasAudio).toBe(true);
        // 1 s before the loss + 1 s after it (resumes at the keyframe at 3 s)
        expect(d.frames).toHaveLength(50);
        expect(d.frames.filter((f) => f.t >= 1 && f.t < 3)).toHaveLength(0);
        expect(d.frames.at(-1)!.t).toBeCloseTo(3.96, 2);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('renderToFile with a real clip', () => {
  const media = join(__dirname, '../../../shared/media');
  it('decodes, scales and loops a clip (with its own audio, or a tone when it has none)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-clip-'));
    try {
      for (const [file, hasOwnAudio] of [
        ['static_water_stream_480x360.mp4', true],
        ['bear_vp9_320x240_noaudio.webm', false],
      ] as const) {
        const s = parseScenario({
          streams: [
            {
              id: 'clip',
              output: { type: 'udp' },
              content: { source: 'clip', path: join(media, file) },
              clock: false,
              video: { width: 320, height: 180, fps: 25 },
              cycle: 5, // longer than both clips: they loop
              schedule: [{ at: 4, type: 'black', duration: 1 }],
            },
          ],
        }).streams[0]!;
        await renderToFile(s, join(dir, 'clip.mkv'), { duration: 5 });
        const d = await decodeFile(join(dir, 'clip.mkv'));
        expect(d.frames).toHaveLength(125);
        expect(d.hasAudio).toBe(true);
        for (const f of d.frames.filter((f) => f.t < 3.9)) expect(f.mean).toBeGreaterThan(40);
        for (const f of d.frames.filter((f) => f.t >= 4)) expect(f.mean).toBeLessThan(20);
        expect(peak(d, 0, 0.5, 3.5)).toBeGreaterThan(hasOwnAudio ? 0.001 : 0.05);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
