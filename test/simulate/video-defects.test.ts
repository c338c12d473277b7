/** Stutter, missing tracks and corruption (decoder-side and re-encoded) rendered to files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type ScenarioInput } from '../../src/simulate/index.ts';
import { decodeFile, sigDiff } from './decode-helper.ts';

const video = { width: 160, height: 96, fps: 25, bitrateKbps: 250 };
const one = (s: Omit<ScenarioInput['streams'][number], 'output'>) =>
  parseScenario({ streams: [{ output: { type: 'udp' }, clock: false, video, ...s }] }).streams[0]!;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

describe('video defects', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-video-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stutter: dropped frames leave timestamp gaps, duplicated frames repeat the picture', async () => {
    const s = one({
      id: 'st',
      content: { source: 'testsrc2' },
      cycle: 3,
      schedule: [
        { at: 0.4, type: 'stutter', duration: 1, mode: 'drop', rate: 0.2 },
        { at: 1.6, type: 'stutter', duration: 1, mode: 'duplicate', rate: 0.25 },
      ],
    });
    const truth = await renderToFile(s, join(dir, 'st.mkv'), { duration: 3 });
    expect(truth).toEqual([
      { streamId: 'st', type: 'stutter', start: 0.4, end: 1.4, mode: 'drop', rate: 0.2 },
      { streamId: 'st', type: 'stutter', start: 1.6, end: 2.6, mode: 'duplicate', rate: 0.25 },
    ]);
    const d = await decodeFile(join(dir, 'st.mkv'), { audio: false, signature: true });
    const t0 = d.frames[0]!.t;
    const idx = d.frames.map((f) => Math.round((f.t - t0) * 25));
    // Frames 10..34 are the drop window: every 5th (14, 19, 24, 29, 34) is missing.
    const missing = Array.from({ length: 75 }, (_, i) => i).filter((i) => !idx.includes(i));
    expect(missing).toEqual([14, 19, 24, 29, 34]);
    // Keyframes stay on whole seconds.
    const vp = d.packets.filter((p) => p.kind === 'video');
    const keys = vp.filter((p) => p.key).map((p) => r3(p.pts - vp[0]!.pts));
    expect(keys).toEqual([0, 1, 2]);
    // Frames 40..64 are the duplicate window: every 4th (43, 47, ...) repeats its predecessor.
    const byIdx = new Map(d.frames.map((f, k) => [idx[k]!, f]));
    const repeats: number[] = [];
    for (let i = 1; i < 75; i++) {
      const a = byIdx.get(i - 1);
      const b = byIdx.get(i);
      if (a && b && sigDiff(a.sig!, b.sig!) < 0.5) repeats.push(i);
    }
    expect(repeats).toEqual([43, 47, 51, 55, 59, 63]);
  }, 60_000);

  it('audio_missing / video_missing: one track stops while the other goes on', async () => {
    const s = one({
      id: 'miss',
      content: { source: 'smptebars' },
      cycle: 5,
      schedule: [
        { at: 1, type: 'audio_missing', duration: 1 },
        { at: 2.5, type: 'video_missing', duration: 0.7 },
      ],
    });
    for (const ext of ['ts', 'mp4']) {
      const truth = await renderToFile(s, join(dir, `miss.${ext}`), { duration: 5 });
      expect(truth).toEqual([
        { streamId: 'miss', type: 'audio_missing', start: 1, end: 2 },
        // video resumes on the next keyframe
        { streamId: 'miss', type: 'video_missing', start: 2.5, end: 4 },
      ]);
      const d = await decodeFile(join(dir, `miss.${ext}`), { audio: false, video: false });
      const v0 = d.packets.find((p) => p.kind === 'video')!.pts;
      const rel = (kind: 'audio' | 'video') => d.packets.filter((p) => p.kind === kind).map((p) => p.pts - v0);
      const a = rel('audio');
      const v = rel('video');
      expect(a.filter((t) => t >= 1 && t < 1.98)).toHaveLength(0);
      expect(a.filter((t) => t >= 2.5 && t < 4).length).toBeGreaterThan(60); // audio goes on
      expect(v.filter((t) => t >= 2.5 - 1e-6 && t < 4 - 1e-6)).toHaveLength(0);
      expect(v.filter((t) => t >= 1 && t < 2)).toHaveLength(25); // video goes on
      expect(v.filter((t) => t >= 4 - 1e-6)).toHaveLength(25);
    }
  }, 60_000);

  it('a track declared but never sent (audio.missing) is one whole-stream audio_missing entry', async () => {
    const s = one({ id: 'noaud', content: { source: 'smptebars' }, cycle: 2, audio: { missing: true } });
    const truth = await renderToFile(s, join(dir, 'noaud.ts'), { duration: 4 });
    expect(truth).toEqual([{ streamId: 'noaud', type: 'audio_missing', start: 0, end: 4, whole: true }]);
    const d = await decodeFile(join(dir, 'noaud.ts'), { audio: false });
    expect(d.audioCodec).toBe('aac'); // declared in the PMT
    expect(d.packets.filter((p) => p.kind === 'audio')).toHaveLength(0);
    expect(d.frames).toHaveLength(100);
  }, 60_000);

  for (const [variant, mode, rate] of [
    ['decoder', 'bitflip', 0.5],
    ['reencoded', 'drop', 0.4],
  ] as const) {
    it(`corruption ${variant}: pictures differ from a clean render inside the ground truth only`, async () => {
      const base = { id: `c-${variant}`, content: { source: 'testsrc2' }, cycle: 3 } as const;
      const clean = one(base);
      const bad = one({ ...base, schedule: [{ at: 1, type: 'corruption', duration: 0.6, variant, mode, rate }] });
      await renderToFile(clean, join(dir, 'clean.ts'), { duration: 3 });
      const truth = await renderToFile(bad, join(dir, 'bad.ts'), { duration: 3 });
      expect(truth).toHaveLength(1);
      const e = truth[0]!;
      expect(e).toMatchObject({ streamId: base.id, type: 'corruption', variant, mode, rate });
      expect(e.start).toBeGreaterThanOrEqual(1);
      expect(e.start).toBeLessThan(1.6);
      if (variant === 'decoder')
        expect(e.end).toBe(2); // clean again at the next keyframe
      else expect(e).toMatchObject({ start: 1, end: 1.6 });
      const c = await decodeFile(join(dir, 'clean.ts'), { audio: false, signature: true });
      const b = await decodeFile(join(dir, 'bad.ts'), { audio: false, signature: true });
      const c0 = c.frames[0]!.t;
      const b0 = b.frames[0]!.t;
      const cleanAt = new Map(c.frames.map((f) => [Math.round((f.t - c0) * 25), f]));
      let differInside = 0;
      for (const f of b.frames) {
        const i = Math.round((f.t - b0) * 25);
        const diff = sigDiff(f.sig!, cleanAt.get(i)!.sig!);
        // Before: the same packets. After (re-encoded): the main encoder's references and rate
        // control went through damaged pictures, a residue far below the damage (measured < 1).
        const outside = variant === 'decoder' || i < Math.round(e.start * 25) ? 0.01 : 1.5;
        if (i < Math.round(e.start * 25) || i >= Math.round(e.end! * 25))
          expect(diff, `frame ${i}`).toBeLessThan(outside);
        else if (diff > 1) differInside++;
      }
      expect(differInside).toBeGreaterThan(3);
      if (variant === 'reencoded') {
        expect(b.decodeErrors).toBe(0);
        expect(b.frames).toHaveLength(75);
      }
    }, 60_000);
  }
});
