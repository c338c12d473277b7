/** Audio defects rendered to a file: dead / phase-inverted channel, loudness step, clipping, programme level. */
import '../../src/shared/polyfill.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilterAPI, Frame } from 'node-av';
import { AV_CHANNEL_ORDER_NATIVE, AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import { Rational } from 'node-av/lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';
import { programmeAudio } from '../../src/simulate/synth.ts';
import { db, decodeFile, peak, rms, slice, type DecodedFile } from './decode-helper.ts';

/** Integrated loudness (LUFS) of stereo planar signal through FFmpeg's ebur128 filter. */
async function integratedLufs(left: Float32Array, right: Float32Array, sampleRate: number): Promise<number> {
  const f = FilterAPI.create('ebur128=metadata=1', { threads: 1 });
  let I = NaN;
  const n = 4800;
  for (let pos = 0; pos + n <= left.length; pos += n) {
    const pl = new Float32Array(2 * n);
    pl.set(left.subarray(pos, pos + n));
    pl.set(right.subarray(pos, pos + n), n);
    const fr = Frame.fromAudioBuffer(Buffer.from(pl.buffer), {
      nbSamples: n,
      format: AV_SAMPLE_FMT_FLTP,
      sampleRate,
      channelLayout: { nbChannels: 2, order: AV_CHANNEL_ORDER_NATIVE, mask: 3n },
      timeBase: new Rational(1, sampleRate),
    });
    fr.pts = BigInt(pos);
    for (const g of await f.processAll(fr)) {
      const v = g.getMetadata().getAll()['lavfi.r128.I'];
      if (v !== undefined) I = Number(v);
      g.free();
    }
    fr.free();
  }
  f.close();
  return I;
}

function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

const M = 0.03; // AAC frames overlap by 1024 samples at the edges

describe('audio defects', () => {
  let dir: string;
  let truthProg: GroundTruthEntry[];
  let truthTone: GroundTruthEntry[];
  let prog: DecodedFile;
  let tone: DecodedFile;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-audio-'));
    const sc = parseScenario({
      seed: 5,
      streams: [
        {
          id: 'prog',
          output: { type: 'udp' },
          content: { source: 'smptebars' },
          video: { width: 160, height: 96, fps: 25, bitrateKbps: 150 },
          audio: { signal: 'programme', channels: 2 },
          cycle: 6,
          schedule: [
            { at: 1, type: 'channel_loss', duration: 1, channel: 'FR' },
            { at: 2.5, type: 'silence', duration: 1, channel: 0 },
            { at: 4, type: 'channel_loss', duration: 1, channel: 1, variant: 'phase_invert' },
          ],
        },
        {
          id: 'tone',
          output: { type: 'udp' },
          content: { source: 'smptebars' },
          video: { width: 160, height: 96, fps: 25, bitrateKbps: 150 },
          audio: { channels: 2, toneHz: 440 },
          cycle: 6,
          schedule: [
            { at: 1, type: 'loudness', duration: 1, gainDb: -20 },
            { at: 2.5, type: 'loudness', duration: 1, gainDb: 12 },
            { at: 4, type: 'clipping', duration: 1.5 },
          ],
        },
      ],
    });
    truthProg = await renderToFile(sc.streams[0]!, join(dir, 'prog.mkv'), { duration: 6 });
    truthTone = await renderToFile(sc.streams[1]!, join(dir, 'tone.ts'), { duration: 6 });
    prog = await decodeFile(join(dir, 'prog.mkv'), { video: false });
    tone = await decodeFile(join(dir, 'tone.ts'), { video: false });
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ground truth uses the incident type names', () => {
    expect(truthProg).toEqual([
      { streamId: 'prog', type: 'channel_loss', start: 1, end: 2, channel: 'FR', variant: 'dead' },
      { streamId: 'prog', type: 'channel_loss', start: 2.5, end: 3.5, channel: 'FL', variant: 'dead' },
      { streamId: 'prog', type: 'channel_loss', start: 4, end: 5, channel: 'FR', variant: 'phase_invert' },
    ]);
    expect(truthTone).toEqual([
      { streamId: 'tone', type: 'loudness', start: 1, end: 2, gainDb: -20 },
      { streamId: 'tone', type: 'loudness', start: 2.5, end: 3.5, gainDb: 12 },
      { streamId: 'tone', type: 'clipping', start: 4, end: 5.5, gainDb: 30 },
    ]);
  });

  it('a dead channel is digital zero while the other carries sound (channel_loss and the silence alias)', () => {
    const t0 = prog.audio!.t0;
    expect(peak(slice(prog, 1, t0 + 1 + M, t0 + 2 - M))).toBeLessThan(1e-4);
    expect(rms(slice(prog, 0, t0 + 1 + M, t0 + 2 - M))).toBeGreaterThan(0.01);
    expect(peak(slice(prog, 0, t0 + 2.5 + M, t0 + 3.5 - M))).toBeLessThan(1e-4);
    expect(rms(slice(prog, 1, t0 + 2.5 + M, t0 + 3.5 - M))).toBeGreaterThan(0.01);
    expect(rms(slice(prog, 1, t0 + 0.1, t0 + 0.9))).toBeGreaterThan(0.01);
  });

  it('phase_invert: the channels are anti-correlated in the window, correlated outside', () => {
    const t0 = prog.audio!.t0;
    const inside = correlation(slice(prog, 0, t0 + 4 + M, t0 + 5 - M), slice(prog, 1, t0 + 4 + M, t0 + 5 - M));
    const outside = correlation(slice(prog, 0, t0 + 0.1, t0 + 0.9), slice(prog, 1, t0 + 0.1, t0 + 0.9));
    expect(inside).toBeLessThan(-0.8);
    expect(outside).toBeGreaterThan(0.8);
  });

  it('loudness: the level steps by the gain in the window', () => {
    const t0 = tone.audio!.t0;
    const ref = rms(slice(tone, 0, t0 + 0.2, t0 + 0.9));
    expect(db(rms(slice(tone, 0, t0 + 1 + M, t0 + 2 - M)) / ref)).toBeCloseTo(-20, 0);
    expect(db(rms(slice(tone, 1, t0 + 2.5 + M, t0 + 3.5 - M)) / ref)).toBeCloseTo(12, 0);
    expect(db(rms(slice(tone, 0, t0 + 5.6, t0 + 5.9)) / ref)).toBeCloseTo(0, 0);
  });

  it('clipping: the overdriven tone is flattened at full scale', () => {
    const t0 = tone.audio!.t0;
    const win = slice(tone, 0, t0 + 4 + M, t0 + 5.5 - M);
    const flat = win.filter((v) => Math.abs(v) > 0.9).length / win.length;
    expect(flat).toBeGreaterThan(0.4); // a sine at -21 dBFS peak driven +30 dB is mostly flat tops
    expect(peak(win)).toBeGreaterThan(0.95);
    expect(peak(slice(tone, 0, t0 + 0.2, t0 + 0.9))).toBeLessThan(0.2);
  });

  it('programme signal sits near -23 LUFS (FFmpeg ebur128, 14 s of the generator)', async () => {
    const gen = programmeAudio(48000, 2, 3);
    const inter = await gen.read(14 * 48000);
    const l = new Float32Array(14 * 48000);
    const r = new Float32Array(14 * 48000);
    for (let i = 0; i < l.length; i++) {
      l[i] = inter[2 * i]!;
      r[i] = inter[2 * i + 1]!;
    }
    const I = await integratedLufs(l, r, 48000);
    expect(I).toBeGreaterThan(-24);
    expect(I).toBeLessThan(-22);
  });
});
