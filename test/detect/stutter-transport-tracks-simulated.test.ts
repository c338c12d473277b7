/**
 * The simulator's own issue-3 defects (src/simulate: stutter drop/duplicate, transport TS
 * packet loss and a timestamp jump, audio_missing, video_missing), rendered once to MPEG-TS
 * and run through analyze(): every injected defect gives exactly one incident of its type,
 * starting near the ground truth, and nothing else of these types is reported.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';

const DURATION = 36;
const MINE = new Set(['stutter', 'transport', 'audio_missing', 'video_missing']);
/** transport.window (default): an incident closes this long after the last error. */
const TRANSPORT_WINDOW = 5;

const STREAM = parseScenario({
  seed: 3,
  streams: [
    {
      id: 'sim',
      output: { type: 'udp' },
      content: { source: 'testsrc2' },
      video: { width: 160, height: 90, fps: 25 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: DURATION,
      schedule: [
        { at: 3, type: 'stutter', mode: 'drop', rate: 0.2, duration: 3 },
        { at: 9, type: 'transport', mode: 'drop', rate: 0.02, duration: 2 },
        { at: 16, type: 'audio_missing', duration: 4 },
        { at: 22, type: 'stutter', mode: 'duplicate', rate: 0.25, duration: 3 },
        { at: 28, type: 'video_missing', duration: 3 },
        // Last: after the jump, media time runs 2 s ahead of the ground truth's content time.
        { at: 32, type: 'transport', rate: 0, discontinuityMs: 2000, duration: 1 },
      ],
    },
  ],
}).streams[0]!;

const show = (list: readonly Incident[]) =>
  list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)}`).join(', ') || '(none)';

describe('stutter, transport, tracks on the simulator defects', () => {
  let dir: string;
  let truth: GroundTruthEntry[];
  let found: Incident[];

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-sim-issue3-'));
    const file = join(dir, 'sim.ts');
    truth = (await renderToFile(STREAM, file, { duration: DURATION })).filter((e) => MINE.has(e.type));
    found = (await analyze({ input: file })).incidents.filter((i) => MINE.has(i.type));
  }, 90_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the simulator injected the six defects', () => {
    expect(truth.map((e) => e.type)).toEqual(['stutter', 'transport', 'audio_missing', 'stutter', 'video_missing', 'transport']);
  });

  it('each defect gives exactly one incident of its type, starting within 0.5 s of the injected start', () => {
    const report: string[] = [];
    for (const t of truth) {
      const slack = t.type === 'transport' ? TRANSPORT_WINDOW + 1 : 1;
      const m = found.filter((i) => i.type === t.type && i.start < t.end! + 0.5 && i.end! > t.start - 0.5 && i.start > t.start - 1 - slack);
      if (m.length !== 1) {
        report.push(`${t.type} ${t.start}-${t.end}: ${m.length} incidents`);
        continue;
      }
      const err = m[0]!.start - t.start;
      if (Math.abs(err) > 0.5) report.push(`${t.type} ${t.start}-${t.end}: start off by ${err.toFixed(2)} s`);
      // Ends: missing tracks and stutter within 0.8 s; transport a window after the last error.
      const endErr = m[0]!.end! - t.end!;
      const endOk = t.type === 'transport' ? endErr > -0.5 && endErr < TRANSPORT_WINDOW + 2.5 : Math.abs(endErr) <= 0.8;
      if (!endOk) report.push(`${t.type} ${t.start}-${t.end}: end off by ${endErr.toFixed(2)} s`);
    }
    expect(report, show(found)).toEqual([]);
  });

  it('nothing else of these types', () => {
    expect(found.length, show(found)).toBe(truth.length);
  });
});
