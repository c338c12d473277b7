/**
 * The evaluation's visible-damage labels (eval/visible.ts): a clean twin rendered with damage
 * functions that damage nothing lines up picture for picture with the damaged render, so the
 * training label rule finds damage inside the simulator's interval and nowhere else; an
 * interval whose pictures show nothing is not scored as truth.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEDIA, planCorpus, renderFile, seenPart, type Truth } from '../../eval/corpus.ts';
import { availability, truthToIncidentType } from '../../eval/defects.ts';
import { labelDamage, NO_DAMAGE, type PictureDamage } from '../../eval/visible.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { parseScenario, renderToFile, type ScenarioInput } from '../../src/simulate/index.ts';

const video = { width: 320, height: 180, fps: 25, bitrateKbps: 400 };
const one = (s: Omit<ScenarioInput['streams'][number], 'output'>) =>
  parseScenario({ seed: 3, streams: [{ output: { type: 'udp' }, clock: false, video, ...s }] }).streams[0]!;

describe('visible damage against a clean twin', () => {
  let dir: string;
  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-visible-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const [variant, mode, rate] of [
    ['decoder', 'bitflip', 0.5],
    ['reencoded', 'drop', 0.4],
  ] as const) {
    it(`corruption ${variant}: damaged blocks inside the simulator's interval only, none in the twin`, async () => {
      const s = one({ id: `v-${variant}`, content: { source: 'testsrc2' }, cycle: 3, schedule: [{ at: 1, type: 'corruption', duration: 0.6, variant, mode, rate }] });
      const bad = join(dir, `${variant}.ts`);
      const twin = join(dir, `${variant}.clean.ts`);
      const truth = await renderToFile(s, bad, { duration: 3 });
      const twinTruth = await renderToFile(s, twin, { duration: 3, damage: NO_DAMAGE });
      const e = truth.find((x) => x.type === 'corruption')!;
      // The twin went through the same schedule, with nothing hit.
      expect(twinTruth.find((x) => x.type === 'corruption')).toBeDefined();

      const all = [{ start: 0, end: 3 }];
      const pictures = await labelDamage(bad, twin, all);
      // 75 pictures, less any the decoder refused to output (bitflips in their slice headers).
      expect(pictures.length).toBeGreaterThanOrEqual(60);
      const before = pictures.filter((p) => p.t < e.start - 1e-6);
      expect(before.length).toBeGreaterThan(20);
      expect(before.every((p) => p.damaged === 0), JSON.stringify(before)).toBe(true);
      const inside = pictures.filter((p) => p.t >= e.start - 1e-6 && p.t < e.end! - 1e-6);
      expect(Math.max(...inside.map((p) => p.damaged))).toBeGreaterThanOrEqual(5);
      expect(pictures[0]!.blocks).toBe(20 * 11);

      // The twin against itself: identical pictures, nothing damaged.
      const self = await labelDamage(twin, twin, all);
      expect(self.length).toBe(75);
      expect(self.every((p) => p.damaged === 0)).toBe(true);

      // The scored truth: the visibly damaged stretch, inside the simulator's interval.
      const t: Truth = { type: 'corruption', start: e.start, end: e.end! };
      const seen = seenPart(t, pictures, s);
      expect(seen.unseen).toBeUndefined();
      expect(seen.start).toBeGreaterThanOrEqual(e.start - 1e-6);
      expect(seen.end).toBeLessThanOrEqual(e.end! + 0.5 + 1e-6);
      expect(seen.scheduled).toEqual({ start: e.start, end: e.end });
    }, 90_000);
  }

  it('an interval whose pictures show no more than a block here and there is not truth', () => {
    const t: Truth = { type: 'corruption', start: 2, end: 4 };
    const stream = { video: { fps: 25 } };
    const pics = (damaged: (t: number) => number): PictureDamage[] =>
      Array.from({ length: 75 }, (_, k) => ({ t: 2 + k / 25, blocks: 220, damaged: damaged(2 + k / 25) }));
    expect(seenPart(t, pics(() => 0), stream).unseen).toBe(true);
    // One block in every picture: under the 2-block minimum.
    expect(seenPart(t, pics(() => 1), stream).unseen).toBe(true);
    // Four pictures with damage: 0.16 s, under 0.2 s.
    expect(seenPart(t, pics((x) => (x >= 3 && x < 3.15 ? 10 : 0)), stream).unseen).toBe(true);
    // Six pictures from 3.0 s: seen, and trimmed to them.
    const seen = seenPart(t, pics((x) => (x >= 3 - 1e-9 && x < 3.23 ? 10 : 0)), stream);
    expect(seen.unseen).toBeUndefined();
    expect(seen.start).toBeCloseTo(3, 6);
    expect(seen.end).toBeCloseTo(3.24, 6);
  });
});

// The corpus draws its content from the real clips too.
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

describe.skipIf(!HAVE_MEDIA)('the corpus: corruption truth from a rendered twin', () => {
  it('renders the twin and the labels next to the file once, and scores only what shows', { timeout: 180_000 }, async () => {
    setMediaLogLevel('quiet');
    const plan = planCorpus(availability(), { splits: ['tuning'], types: ['corruption'], perVariant: 1, cleanFiles: 0, cleanSeconds: 10, resolutions: [1] });
    const f = plan.find((x) => x.kind !== 'clean')!;
    expect(f.planned.map((p) => p.type)).toContain('corruption');
    const first = await renderFile(f, truthToIncidentType);
    const ext = first.path.endsWith('.mkv') ? '.mkv' : '.ts';
    expect(existsSync(`${first.path}.clean${ext}`)).toBe(true);
    expect(existsSync(`${first.path}.visible.json`)).toBe(true);
    const corruption = first.truth.filter((t) => t.type === 'corruption');
    expect(corruption.length).toBeGreaterThan(0);
    for (const t of corruption) {
      // Every corruption truth was judged against the twin: either unseen, or trimmed inside the
      // simulator's interval (plus the half second after it that is labelled too).
      expect(t.scheduled, JSON.stringify(t)).toBeDefined();
      if (!t.unseen) {
        expect(t.start).toBeGreaterThanOrEqual(t.scheduled!.start - 1e-6);
        expect(t.end).toBeLessThanOrEqual(t.scheduled!.end + 0.5 + 0.05);
        expect(t.end).toBeGreaterThan(t.start);
      }
    }
    // Cached: the same truth, without rendering again.
    const again = await renderFile(f, truthToIncidentType);
    expect(again.cached).toBe(true);
    expect(again.truth).toEqual(first.truth);
  });
});
