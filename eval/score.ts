/**
 * Scoring: detections against ground truth, per incident type.
 *
 * Rules (docs/evaluation.md states them for readers):
 * - A detection counts as a true positive when it overlaps (with `slack` seconds either side)
 *   a truth interval of its own type; a truth interval counts as found when any detection of
 *   its type overlaps it. Recall = found / truth intervals; precision = matched detections /
 *   scored detections; F1 their harmonic mean.
 * - A detection that matches no truth of its type but overlaps the truth interval of a defect
 *   that legitimately implies its type (black implies a still picture, silence implies low
 *   loudness, ...: `implies` in eval/defects.ts) is ignored: neither true nor false.
 * - Likewise a detection of a type the file's content rightly shows throughout (a real clip
 *   whose own sound is too quiet or too loud: `legit` in eval/corpus.ts) is ignored.
 * - A corruption interval whose damage no picture shows (`unseen`: eval/visible.ts) is not a
 *   truth: it counts neither as found nor as missed, and a detection over it is ignored.
 * - Every other detection is a false positive. False alarms per hour count the false
 *   positives in clean-only files over the hours of those files.
 * - Where a defect type says which measurements can see which of its variants (`canFind` in
 *   eval/defects.ts), a detection finds and matches only truths it can see: an A/V-sync
 *   incident on container timestamps does not find a content offset (timestamps cannot show
 *   one; an overlap is coincidence), while a content verdict over a timestamp drift can (the
 *   presentation is out of sync there).
 * - Onset error: for each found truth interval, |start of the earliest overlapping detection
 *   - truth start|; the table shows the mean.
 */
import type { IncidentType } from '../src/shared/index.ts';

export interface Interval {
  readonly type: IncidentType;
  readonly start: number;
  readonly end: number;
  readonly channel?: string;
  /** Truth only: the defect is there but shows nowhere (not scored; detections over it are ignored). */
  readonly unseen?: boolean;
  /** Truth only: the schedule variant that made it (for `canFind`). */
  readonly variant?: string;
}

export interface FileScore {
  /** Per type: counts in this file. */
  readonly byType: Map<IncidentType, TypeCounts>;
}

export interface TypeCounts {
  truths: number;
  found: number;
  detections: number;
  matched: number;
  falsePositives: number;
  ignored: number;
  onsetErrors: number[];
  /** The truth intervals no detection found, and the detections that were false positives (for the listing in report.md). */
  missed: Interval[];
  falseAlarms: Interval[];
}

export const emptyCounts = (): TypeCounts => ({
  truths: 0,
  found: 0,
  detections: 0,
  matched: 0,
  falsePositives: 0,
  ignored: 0,
  onsetErrors: [],
  missed: [],
  falseAlarms: [],
});

export function overlaps(a: { start: number; end: number }, b: { start: number; end: number }, slack = 0): boolean {
  return a.start < b.end + slack && b.start < a.end + slack;
}

export interface ScoreOptions {
  /** Seconds of tolerance at each side of a truth interval. */
  readonly slack?: number;
  /** For a truth type, the detection types it legitimately implies. */
  readonly implies: (truthType: IncidentType) => readonly IncidentType[];
  /** Only these detection types are scored (others are ignored). */
  readonly types?: readonly IncidentType[];
  /** Types the file's content rightly shows throughout: unmatched detections of these are ignored. */
  readonly legit?: readonly IncidentType[];
  /** Whether a detection can see this truth at all (default: any detection of its type). */
  readonly canFind?: (truth: Interval, detection: Interval) => boolean;
}

/** Score one file's detections against its truth. */
export function scoreFile(truth: readonly Interval[], detections: readonly Interval[], o: ScoreOptions): Map<IncidentType, TypeCounts> {
  const slack = o.slack ?? 0.5;
  const out = new Map<IncidentType, TypeCounts>();
  const get = (t: IncidentType): TypeCounts => {
    let c = out.get(t);
    if (!c) out.set(t, (c = emptyCounts()));
    return c;
  };
  const scored = (t: IncidentType) => !o.types || o.types.includes(t);
  const sees = (t: Interval, d: Interval): boolean => d.type === t.type && overlaps(d, t, slack) && (!o.canFind || o.canFind(t, d));
  for (const t of truth) {
    if (!scored(t.type) || t.unseen) continue;
    const c = get(t.type);
    c.truths++;
    const hits = detections.filter((d) => sees(t, d));
    if (hits.length) {
      c.found++;
      c.onsetErrors.push(Math.abs(Math.min(...hits.map((h) => h.start)) - t.start));
    } else c.missed.push(t);
  }
  for (const d of detections) {
    if (!scored(d.type)) continue;
    const c = get(d.type);
    c.detections++;
    if (truth.some((t) => !t.unseen && sees(t, d))) c.matched++;
    else if (o.legit?.includes(d.type)) c.ignored++;
    else if (truth.some((t) => t.type === d.type && t.unseen && overlaps(d, t, slack))) c.ignored++;
    else if (truth.some((t) => t.type !== d.type && o.implies(t.type).includes(d.type) && overlaps(d, t, slack))) c.ignored++;
    else {
      c.falsePositives++;
      c.falseAlarms.push(d);
    }
  }
  return out;
}

export function addCounts(into: TypeCounts, c: TypeCounts): void {
  into.truths += c.truths;
  into.found += c.found;
  into.detections += c.detections;
  into.matched += c.matched;
  into.falsePositives += c.falsePositives;
  into.ignored += c.ignored;
  into.onsetErrors.push(...c.onsetErrors);
  into.missed.push(...c.missed);
  into.falseAlarms.push(...c.falseAlarms);
}

export interface Metrics {
  readonly precision: number | undefined;
  readonly recall: number | undefined;
  readonly f1: number | undefined;
  readonly onsetError: number | undefined;
}

export function metrics(c: TypeCounts): Metrics {
  const scoredDet = c.matched + c.falsePositives;
  const precision = scoredDet > 0 ? c.matched / scoredDet : c.truths > 0 ? undefined : undefined;
  const recall = c.truths > 0 ? c.found / c.truths : undefined;
  let f1: number | undefined;
  if (recall !== undefined) {
    // No detections at all: precision is undefined, F1 is 0 when there was something to find.
    const p = precision ?? 0;
    f1 = p + recall > 0 ? (2 * p * recall) / (p + recall) : 0;
  }
  const onsetError = c.onsetErrors.length ? c.onsetErrors.reduce((a, b) => a + b, 0) / c.onsetErrors.length : undefined;
  return { precision, recall, f1, onsetError };
}

/** Turn (time, flag) samples into intervals of at least `minDuration` s where the flag holds. */
export function intervalsFromSeries(
  samples: readonly { t: number; on: boolean }[],
  minDuration: number,
  type: IncidentType,
  end: number,
): Interval[] {
  const out: Interval[] = [];
  let open: number | undefined;
  for (const s of samples) {
    if (s.on && open === undefined) open = s.t;
    else if (!s.on && open !== undefined) {
      if (s.t - open >= minDuration) out.push({ type, start: open, end: s.t });
      open = undefined;
    }
  }
  if (open !== undefined && end - open >= minDuration) out.push({ type, start: open, end });
  return out;
}
