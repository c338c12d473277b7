/**
 * The evaluation harness (npm run eval): its scoring rules on hand-made intervals, and one
 * tiny end-to-end run (one rendered file with one black interval, Vigil and blackdetect on
 * it) that must score that black as found by both.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEDIA, planCorpus } from '../../eval/corpus.ts';
import { availability, DEFECTS, detectorMinDuration } from '../../eval/defects.ts';
import { evaluate } from '../../eval/evaluate.ts';
import { listing, markdown, spliceMarkers } from '../../eval/report.ts';
import { intervalsFromSeries, metrics, scoreFile, type Interval } from '../../eval/score.ts';
import type { IncidentType } from '../../src/shared/index.ts';

const implies = (t: IncidentType): IncidentType[] => (t === 'black' ? ['freeze'] : []);
const iv = (type: IncidentType, start: number, end: number): Interval => ({ type, start, end });

describe('corpus plan', () => {
  it('schedules every defect longer than its detector needs to report it (minimum duration, plus the measurement window where the verdict waits for one)', () => {
    const plan = planCorpus(availability(), { splits: ['tuning', 'held-out'], perVariant: 2, cleanFiles: 1, cleanSeconds: 12, resolutions: [0, 1] });
    let inversions = 0;
    for (const f of plan) {
      for (const p of f.planned) {
        const def = DEFECTS.find((d) => d.type === p.type)!;
        const v = def.variants.find((x) => x.name === p.variant)!;
        const need =
          (detectorMinDuration(def.type, v.minOption) ?? 0) +
          (def.marginOption ? (detectorMinDuration(def.type, def.marginOption) ?? 0) : 0) +
          (v.windowOption ? (detectorMinDuration(def.type, v.windowOption) ?? 0) : 0);
        expect(p.duration, `${f.id} ${p.type}/${p.variant}`).toBeGreaterThan(need);
        if (p.variant === 'phase_invert') {
          inversions++;
          // channel_loss inversions: inversionMinDuration (3 s) after the 2 s correlation window fills.
          expect(p.duration).toBeGreaterThanOrEqual(3 + 2 + 1);
        }
      }
    }
    expect(inversions).toBeGreaterThan(0);
  });

  it('sets loudness and clipping gains from the content\'s own level, and plans phase inversions on correlated stereo only, so each defect is one a correct detector must report', () => {
    // Before, a fixed gain: -26 dB on the water clip (-37 LUFS) made silence, not a quiet programme.
    const plan = planCorpus(availability(), { splits: ['tuning', 'held-out'], perVariant: 5, cleanFiles: 1, cleanSeconds: 12, resolutions: [0, 1] });
    const lufs: Record<string, number> = {
      chaplin_bw_pillarbox_640x360: -16.8,
      speech_his_girl_friday_bw_640x480: -32.5,
      static_water_stream_480x360: -37.4,
      handheld_crystal_toy_480p: -37.8,
      'bbb_720p_vp8_vorbis_0-30s': -23.7,
      sintel_256x110_lowbitrate_blocky: -25.5,
    };
    const contents = new Set<string>();
    let steps = 0;
    for (const f of plan) {
      const level = lufs[f.content] ?? -23;
      for (const item of (f.stream as { schedule: { type: string; gainDb?: number; at: number }[] }).schedule) {
        if (item.type !== 'loudness' && item.type !== 'clipping') continue;
        const after = level + item.gainDb!;
        const variant = f.planned.find((p) => p.type === item.type && p.at === item.at)!.variant;
        if (variant === 'loud') expect(after, `${f.id} ${f.content}`).toBeGreaterThanOrEqual(-13.1);
        if (variant === 'quiet') {
          expect(after, `${f.id} ${f.content}`).toBeLessThanOrEqual(-42.9);
          expect(after, `${f.id} ${f.content}`).toBeGreaterThanOrEqual(-49.1);
        }
        // Overdrive: at least 24 dB over the programme level.
        if (variant === 'overdrive') expect(after, `${f.id} ${f.content}`).toBeGreaterThanOrEqual(-23 + 24 - 0.1);
        contents.add(f.content);
        steps++;
      }
    }
    expect(steps).toBeGreaterThan(20);
    // Polarity inversions only where the channels carry the same sound (chaplin's are uncorrelated: 0.14).
    const inversions = plan.filter((f) => f.planned.some((p) => p.variant === 'phase_invert'));
    expect(inversions.length).toBeGreaterThan(4);
    for (const f of inversions) expect(f.content, f.id).not.toBe('chaplin_bw_pillarbox_640x360');
    // The quiet clips are among them (the case the fixed gains got wrong).
    expect([...contents].some((c) => lufs[c] !== undefined && lufs[c] < -30)).toBe(true);
  });
});

describe('scoring', () => {
  it('counts an overlapping detection of the same type as found, with its onset error', () => {
    const s = scoreFile([iv('black', 10, 14)], [iv('black', 10.4, 14.1)], { implies });
    const c = s.get('black')!;
    expect(c).toMatchObject({ truths: 1, found: 1, detections: 1, matched: 1, falsePositives: 0, ignored: 0 });
    expect(c.onsetErrors[0]).toBeCloseTo(0.4, 6);
    expect(metrics(c)).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });

  it('counts a detection of another type as a false positive unless the truth implies it', () => {
    const truth = [iv('black', 10, 14)];
    const implied = scoreFile(truth, [iv('freeze', 11, 14)], { implies }).get('freeze')!;
    expect(implied).toMatchObject({ detections: 1, matched: 0, falsePositives: 0, ignored: 1 });
    const notImplied = scoreFile(truth, [iv('silence', 11, 14)], { implies }).get('silence')!;
    expect(notImplied).toMatchObject({ detections: 1, falsePositives: 1, ignored: 0 });
    // The black itself was missed: recall 0, F1 0 (no detection of its type).
    const black = scoreFile(truth, [iv('freeze', 11, 14)], { implies }).get('black')!;
    expect(metrics(black)).toMatchObject({ recall: 0, f1: 0 });
  });

  it('ignores detections of a type the content rightly shows throughout', () => {
    const c = scoreFile([], [iv('loudness', 3, 30)], { implies, legit: ['loudness'] }).get('loudness')!;
    expect(c).toMatchObject({ detections: 1, falsePositives: 0, ignored: 1 });
    expect(scoreFile([], [iv('loudness', 3, 30)], { implies }).get('loudness')!.falsePositives).toBe(1);
  });

  it('does not score a corruption interval no picture shows: neither a miss nor a false positive over it', () => {
    const unseen = { ...iv('corruption', 10, 12), unseen: true };
    const missed = scoreFile([unseen, iv('corruption', 20, 22)], [], { implies }).get('corruption')!;
    expect(missed).toMatchObject({ truths: 1, found: 0 });
    const over = scoreFile([unseen], [iv('corruption', 10.5, 12)], { implies }).get('corruption')!;
    expect(over).toMatchObject({ truths: 0, detections: 1, matched: 0, falsePositives: 0, ignored: 1 });
    const elsewhere = scoreFile([unseen], [iv('corruption', 30, 32)], { implies }).get('corruption')!;
    expect(elsewhere).toMatchObject({ falsePositives: 1, ignored: 0 });
  });

  it('does not let an A/V timestamp incident find a content offset it ran into (av_sync canFind)', () => {
    const canFind = DEFECTS.find((d) => d.type === 'av_sync')!.canFind!;
    const drift = { ...iv('av_sync', 4, 28.3), variant: 'timestamp-drift' };
    const offset = { ...iv('av_sync', 32.6, 54.8), variant: 'offset' };
    // A timestamp incident that ran on 0.6 s into the offset's interval: it found the drift, not the offset.
    const tsIncident = { ...iv('av_sync', 12.2, 33.2), channel: 'timestamps' };
    const c = scoreFile([drift, offset], [tsIncident], { implies, canFind }).get('av_sync')!;
    expect(c).toMatchObject({ truths: 2, found: 1, detections: 1, matched: 1, falsePositives: 0 });
    // Without the rule the overlap alone counted it as found.
    expect(scoreFile([drift, offset], [tsIncident], { implies }).get('av_sync')!.found).toBe(2);
    // A content verdict over a timestamp drift is a real desync seen: it finds it.
    const content = iv('av_sync', 10, 20);
    expect(scoreFile([drift], [content], { implies, canFind }).get('av_sync')).toMatchObject({ found: 1, matched: 1 });
    // A timestamp incident over an offset alone is a false positive.
    expect(scoreFile([offset], [{ ...iv('av_sync', 40, 45), channel: 'timestamps' }], { implies, canFind }).get('av_sync')).toMatchObject({ found: 0, falsePositives: 1 });
  });

  it('applies the slack at the edges and no further', () => {
    expect(scoreFile([iv('freeze', 10, 14)], [iv('freeze', 14.4, 16)], { implies, slack: 0.5 }).get('freeze')!.found).toBe(1);
    expect(scoreFile([iv('freeze', 10, 14)], [iv('freeze', 14.6, 16)], { implies, slack: 0.5 }).get('freeze')!.found).toBe(0);
  });

  it('computes precision, recall and F1 from counts', () => {
    const truth = [iv('silence', 5, 8), iv('silence', 20, 24), iv('silence', 40, 43)];
    const dets = [iv('silence', 5, 8), iv('silence', 20.2, 24), iv('silence', 30, 33)];
    const m = metrics(scoreFile(truth, dets, { implies }).get('silence')!);
    expect(m.precision).toBeCloseTo(2 / 3, 9);
    expect(m.recall).toBeCloseTo(2 / 3, 9);
    expect(m.f1).toBeCloseTo(2 / 3, 9);
    expect(m.onsetError).toBeCloseTo(0.1, 9);
  });

  it('turns a flag series into intervals of at least the minimum duration', () => {
    const s = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((t) => ({ t, on: (t >= 2 && t < 5) || t === 7 }));
    expect(intervalsFromSeries(s, 2, 'corruption', 10)).toEqual([{ type: 'corruption', start: 2, end: 5 }]);
    expect(intervalsFromSeries(s.map((x) => ({ ...x, on: x.t >= 8 })), 1, 'corruption', 10)).toEqual([
      { type: 'corruption', start: 8, end: 10 },
    ]);
  });

  it('keeps the missed truths and the false-positive detections, for the listing', () => {
    const truth = [iv('black', 10, 14), iv('black', 30, 34)];
    const c = scoreFile(truth, [iv('black', 10.2, 14), iv('black', 50, 53)], { implies }).get('black')!;
    expect(c.missed).toEqual([iv('black', 30, 34)]);
    expect(c.falseAlarms).toEqual([iv('black', 50, 53)]);
    // Ignored detections are in neither list.
    expect(scoreFile(truth, [iv('freeze', 31, 33)], { implies }).get('freeze')!.falseAlarms).toEqual([]);
  });

  it('replaces the text between the eval markers, or appends them', () => {
    const doc = 'a\n<!-- eval:start -->\nold\n<!-- eval:end -->\nb\n';
    expect(spliceMarkers(doc, 'new')).toBe('a\n<!-- eval:start -->\nnew\n<!-- eval:end -->\nb\n');
    expect(spliceMarkers('a\n', 'x')).toBe('a\n\n<!-- eval:start -->\nx\n<!-- eval:end -->\n');
  });
});

// The corpus draws its content from the real clips too (this file: the speech clip).
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

describe.skipIf(!HAVE_MEDIA)('end to end: one rendered file with one black interval', () => {
  it('scores the black as found by Vigil and by blackdetect, and reports every type', { timeout: 120_000 }, async () => {
    const rep = await evaluate({
      splits: ['tuning'],
      types: ['black'],
      perVariant: 1,
      cleanFiles: 0,
      cleanSeconds: 10,
      resolutions: [0],
      cpuFiles: 1,
    });
    expect(rep.corpus.files).toBe(1);
    expect(rep.rows.map((r) => r.type)).toEqual(['black']);
    const row = rep.rows[0]!;
    expect(row.split).toBe('tuning');
    expect(row.available).toBe(true);
    expect(row.vigil!.counts).toMatchObject({ truths: 1, found: 1, falsePositives: 0 });
    expect(row.vigil!.metrics.f1).toBe(1);
    expect(row.vigil!.cpuRatio).toBeGreaterThan(0);
    expect(row.baseline!.name).toBe('blackdetect');
    expect(row.baseline!.counts).toMatchObject({ truths: 1, found: 1 });
    expect(row.baseline!.cpuRatio).toBeGreaterThan(1);
    const md = markdown(rep, { quick: true });
    expect(md).toContain('| black | Vigil | 1.00 | 1.00 | 1.00 |');
    expect(md).toContain('| black | FFmpeg blackdetect |');
    // Found, no false positive: the listing says so.
    expect(row.vigil!.misses).toEqual([]);
    expect(listing(rep)).toContain("tuning: Vigil's misses and false positives\n\nNone.");
    // The same run with the black taken away from Vigil lists it as missed, with its file.
    const missed = listing({ ...rep, rows: [{ ...row, vigil: { ...row.vigil!, misses: ['tuning-d000 (h264 640x360 x): black 3.00-7.00'] } }] });
    expect(missed).toContain('- black missed: tuning-d000 (h264 640x360 x): black 3.00-7.00');
    // Every type of the contract has an availability verdict, evaluated or not.
    expect(rep.availability.map((a) => a.type)).toContain('transport');
  });
});
