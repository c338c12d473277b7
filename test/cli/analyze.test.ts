/**
 * `vigil analyze` as a user runs it: a real process over real media files rendered by the
 * simulator with scripted defects, checked against the simulator's ground truth.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type GroundTruthEntry, type ScheduleItem } from '../../src/simulate/index.ts';
import { ANSI, lines, runVigil, type VigilRun } from './run-vigil.ts';

interface JsonlIncident {
  type: string;
  start: number;
  end: number;
  channel?: string;
  [k: string]: unknown;
}

const START_TOL = 0.5;
const END_TOL = 1.0;

function streamOf(cycle: number, schedule: ScheduleItem[] | Record<string, unknown>[]) {
  return parseScenario({
    seed: 1,
    streams: [
      {
        id: 'cli',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        clock: true,
        video: { width: 320, height: 180, fps: 25 },
        audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
        cycle,
        schedule,
      },
    ],
  }).streams[0]!;
}

/** 25 s: every defect type once (freeze twice: plain and under grain), and two clean stretches. */
const MAIN = streamOf(25, [
  { at: 1, type: 'black', duration: 4 },
  { at: 6, type: 'freeze', duration: 4 },
  { at: 6, type: 'silence', duration: 4 },
  { at: 11, type: 'clean', duration: 3, variant: 'dark' },
  { at: 15, type: 'freeze', duration: 4, grain: 10 },
  { at: 15, type: 'silence', duration: 4, channel: 1 },
  { at: 20, type: 'clean', duration: 4, variant: 'static' },
]);
const MAIN_DURATION = 25;

/** 20 s: clean stretches on their own, then black from 16 s to the very end of the file. */
const TAIL = streamOf(20, [
  { at: 2, type: 'clean', duration: 5, variant: 'static' },
  { at: 9, type: 'clean', duration: 4, variant: 'dark' },
  { at: 16, type: 'black', duration: 4 },
]);
const TAIL_DURATION = 20;

const isDefect = (e: GroundTruthEntry) => e.type !== 'clean';
const label = (e: { type: string; channel?: string | undefined }) => `${e.type}${e.channel ? `(${e.channel})` : ''}`;

/** Parses stdout as the jsonl contract: every line one JSON object with type/start/end. */
function parseJsonl(stdout: string): JsonlIncident[] {
  expect(stdout === '' || stdout.endsWith('\n'), 'stdout ends with a newline').toBe(true);
  const raw = stdout.split('\n');
  raw.pop(); // after the final newline
  return raw.map((line, i) => {
    expect(line, `stdout line ${i + 1} is not empty`).not.toBe('');
    let obj: unknown;
    expect(
      () => {
        obj = JSON.parse(line) as unknown;
      },
      `stdout line ${i + 1} is JSON: ${line}`,
    ).not.toThrow();
    expect(obj !== null && typeof obj === 'object' && !Array.isArray(obj), `line ${i + 1} is an object`).toBe(true);
    const o = obj as JsonlIncident;
    expect(typeof o.type, `line ${i + 1} type`).toBe('string');
    expect(Number.isFinite(o.start), `line ${i + 1} start is a number: ${line}`).toBe(true);
    expect(Number.isFinite(o.end), `line ${i + 1} end is a number: ${line}`).toBe(true);
    expect(o.end, `line ${i + 1} end >= start`).toBeGreaterThanOrEqual(o.start);
    return o;
  });
}

/** The incidents for one ground-truth defect: same type and channel (or none), overlapping its interval. */
function matching(incidents: JsonlIncident[], truth: GroundTruthEntry): JsonlIncident[] {
  return incidents.filter(
    (i) =>
      i.type === truth.type &&
      (i.channel ?? undefined) === (truth.channel ?? undefined) &&
      i.start < truth.end! + END_TOL &&
      i.end > truth.start - START_TOL,
  );
}

function describeAll(incidents: JsonlIncident[]): string {
  return incidents.map((i) => `${label(i)} ${i.start}-${i.end}`).join(', ') || '(none)';
}

function expectMatchesTruth(incidents: JsonlIncident[], truth: GroundTruthEntry[]): void {
  const defects = truth.filter(isDefect);
  for (const t of defects) {
    const m = matching(incidents, t);
    const ctx = `${label(t)} truth ${t.start}-${t.end}; got ${describeAll(incidents)}`;
    expect(m.length, `exactly one line for ${ctx}`).toBe(1);
    expect(Math.abs(m[0]!.start - t.start), `start of ${ctx}`).toBeLessThanOrEqual(START_TOL);
    expect(Math.abs(m[0]!.end - t.end!), `end of ${ctx}`).toBeLessThanOrEqual(END_TOL);
  }
  // Nothing that is not an injected defect.
  for (const i of incidents) {
    const t = defects.filter((d) => matching([i], d).length > 0);
    expect(t.length, `line ${label(i)} ${i.start}-${i.end} matches an injected defect`).toBeGreaterThan(0);
  }
  expect(incidents.length, `one line per defect; got ${describeAll(incidents)}`).toBe(defects.length);
}

function expectNoneOnCleanStretches(incidents: JsonlIncident[], truth: GroundTruthEntry[]): void {
  for (const c of truth.filter((e) => e.type === 'clean')) {
    const over = incidents.filter((i) => i.start < c.end! && i.end > c.start);
    expect(
      over.map((i) => `${label(i)} ${i.start}-${i.end}`),
      `lines overlapping clean ${c.variant} ${c.start}-${c.end}`,
    ).toEqual([]);
  }
}

describe('vigil analyze (real process, rendered media)', () => {
  let dir: string;
  const files = { ts: '', mp4: '', tail: '', noBlackConfig: '' };
  let truthMain: GroundTruthEntry[];
  let truthMp4: GroundTruthEntry[];
  let truthTail: GroundTruthEntry[];
  // One analyze run per input, shared by the tests that read it.
  const runs = new Map<string, Promise<VigilRun>>();
  const once = (key: string, args: string[]): Promise<VigilRun> => {
    let r = runs.get(key);
    if (!r) {
      r = runVigil(args, { timeoutMs: 60_000 });
      runs.set(key, r);
    }
    return r;
  };
  const jsonlRun = (file: string) => once(`jsonl:${file}`, ['analyze', file, '--format', 'jsonl']);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-analyze-'));
    files.ts = join(dir, 'main.ts');
    files.mp4 = join(dir, 'main.mp4');
    files.tail = join(dir, 'tail.ts');
    files.noBlackConfig = join(dir, 'no-black.yaml');
    await writeFile(files.noBlackConfig, 'detectors:\n  black: { enabled: false }\n');
    truthMain = await renderToFile(MAIN, files.ts, { duration: MAIN_DURATION });
    truthMp4 = await renderToFile(MAIN, files.mp4, { duration: MAIN_DURATION });
    truthTail = await renderToFile(TAIL, files.tail, { duration: TAIL_DURATION });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(runs.values());
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ground truth of the rendered file has the scripted defects (sanity)', () => {
    expect(truthMain.filter(isDefect).map(label)).toEqual(['black', 'freeze', 'silence', 'freeze', 'channel_loss(FR)']);
    expect(truthMain.filter((e) => e.type === 'clean').map((e) => e.variant)).toEqual(['dark', 'static']);
    expect(truthMp4).toEqual(truthMain);
  });

  /** The jsonl contract checked against ground truth, on one rendered file. */
  function jsonlContract(title: string, file: () => string, truth: () => GroundTruthEntry[]): void {
    describe(title, () => {
      it('exits 0 with only jsonl on stdout', async () => {
        const r = await jsonlRun(file());
        expect(r.timedOut).toBe(false);
        expect(r.code, r.stderr).toBe(0);
        expect(parseJsonl(r.stdout).length).toBeGreaterThan(0);
      });

      for (const [name, pick] of [
        ['black', (t: GroundTruthEntry) => t.type === 'black'],
        ['freeze', (t: GroundTruthEntry) => t.type === 'freeze' && t.start < 10],
        ['freeze under grain 10', (t: GroundTruthEntry) => t.type === 'freeze' && t.start > 10],
        ['silence on all channels', (t: GroundTruthEntry) => t.type === 'silence' && !t.channel],
        ['a dead FR channel', (t: GroundTruthEntry) => t.type === 'channel_loss' && t.channel === 'FR'],
      ] as const) {
        it(`reports ${name} once, at the right time`, async () => {
          const incidents = parseJsonl((await jsonlRun(file())).stdout);
          const t = truth().find(pick)!;
          expect(t, 'ground truth entry').toBeDefined();
          const ctx = `${label(t)} truth ${t.start}-${t.end}; got ${describeAll(incidents)}`;
          const m = matching(incidents, t);
          expect(m.length, `exactly one line for ${ctx}`).toBe(1);
          expect(Math.abs(m[0]!.start - t.start), `start of ${ctx}`).toBeLessThanOrEqual(START_TOL);
          expect(Math.abs(m[0]!.end - t.end!), `end of ${ctx}`).toBeLessThanOrEqual(END_TOL);
        });
      }

      it('one line per injected defect and nothing else', async () => {
        expectMatchesTruth(parseJsonl((await jsonlRun(file())).stdout), truth());
      });

      it('no line overlaps a clean stretch (dark, static)', async () => {
        expectNoneOnCleanStretches(parseJsonl((await jsonlRun(file())).stdout), truth());
      });
    });
  }

  jsonlContract(
    '--format jsonl on a .ts file',
    () => files.ts,
    () => truthMain,
  );
  jsonlContract(
    '--format jsonl on an .mp4 file (same stream, container picked by extension)',
    () => files.mp4,
    () => truthMp4,
  );

  it('a defect lasting to the end of the file is closed at the end of input', async () => {
    const r = await jsonlRun(files.tail);
    expect(r.code, r.stderr).toBe(0);
    const incidents = parseJsonl(r.stdout);
    expectNoneOnCleanStretches(incidents, truthTail);
    const black = incidents.filter((i) => i.type === 'black');
    expect(black.length, describeAll(incidents)).toBe(1);
    expect(Math.abs(black[0]!.start - 16)).toBeLessThanOrEqual(START_TOL);
    expect(Math.abs(black[0]!.end - TAIL_DURATION)).toBeLessThanOrEqual(END_TOL);
    expectMatchesTruth(incidents, truthTail);
  });

  it('without --format: readable text, one line per incident, no ANSI codes on a pipe', async () => {
    const [text, json] = await Promise.all([once(`text:${files.ts}`, ['analyze', files.ts]), jsonlRun(files.ts)]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(ANSI);
    expect(text.stderr).not.toMatch(ANSI);
    const incidents = parseJsonl(json.stdout);
    const out = lines(text.stdout);
    expect(out.length, text.stdout).toBe(incidents.length);
    incidents.forEach((i, n) => {
      expect(out[n], `text line ${n + 1}`).toContain(i.type);
      if (i.channel) expect(out[n]).toContain(i.channel);
      expect(() => JSON.parse(out[n]!) as unknown, 'text, not JSON').toThrow();
    });
  });

  it('an unreadable input exits non-zero with one line on stderr and nothing on stdout', async () => {
    const input = '/nonexistent/file.ts';
    const r = await runVigil(['analyze', input, '--format', 'jsonl']);
    expect(r.timedOut).toBe(false);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).toBe('');
    expect(r.stderr.endsWith('\n'), JSON.stringify(r.stderr)).toBe(true);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toContain(input);
    expect(r.stderr).toMatch(/no such file|not found|cannot (open|read)|does not exist/i);
  });

  it('--config with black disabled: no black lines, the other detectors still run', async () => {
    const r = await runVigil(['analyze', files.ts, '--format', 'jsonl', '--config', files.noBlackConfig], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const incidents = parseJsonl(r.stdout);
    expect(incidents.filter((i) => i.type === 'black')).toEqual([]);
    const all = truthMain.find((t) => t.type === 'silence' && !t.channel)!;
    expect(matching(incidents, all).length, describeAll(incidents)).toBe(1);
    expect(
      incidents.some((i) => i.type === 'freeze'),
      describeAll(incidents),
    ).toBe(true);
  });
});
