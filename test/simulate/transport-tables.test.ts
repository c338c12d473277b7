/**
 * The simulator's `transport` mode `tables`: a multiplexer that stops sending PAT and PMT for a
 * window. The bytes have no PAT/PMT there and continuous counters elsewhere; Vigil's transport
 * detector (through ingest's TR 101 290 analyzer) reports it as one incident with PAT and PMT
 * errors, and nothing else.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/index.ts';
import { TsAnalyzer, type TsFinding } from '../../src/ingest/ts-analyzer.ts';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tables-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'tables.ts');
let truth: GroundTruthEntry[];

beforeAll(async () => {
  const s = parseScenario({
    seed: 4,
    streams: [
      {
        id: 't',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 320, height: 180, fps: 25 },
        audio: { sampleRate: 48000, channels: 2 },
        cycle: 14,
        schedule: [{ at: 5, type: 'transport', mode: 'tables', rate: 1, duration: 3 }],
      },
    ],
  }).streams[0]!;
  truth = await renderToFile(s, file, { duration: 14 });
}, 60_000);

describe('simulator transport mode tables', { timeout: 60_000 }, () => {
  it('ground truth is the window itself', () => {
    const t = truth.filter((e) => e.type === 'transport');
    expect(t).toHaveLength(1);
    expect(t[0]!.start).toBeCloseTo(5, 1);
    expect(t[0]!.end).toBeCloseTo(8, 1);
  });

  it('the bytes: PAT and PMT gone for the window, every continuity counter intact', () => {
    const found: TsFinding[] = [];
    const a = new TsAnalyzer((f) => found.push(f));
    const b = readFileSync(file);
    for (let i = 0; i < b.length; i += 65536) a.push(b.subarray(i, i + 65536));
    expect(found.map((f) => f.check).sort()).toEqual(['pat', 'pmt']);
    expect(found.every((f) => /for 0\.5\d s/.test(f.detail))).toBe(true);
  });

  it('Vigil reports one transport incident from about 5.5 s with PAT and PMT errors', async () => {
    const r = await analyze({ input: file });
    const tr = r.incidents.filter((i) => i.type === 'transport');
    expect(tr).toHaveLength(1);
    expect(tr[0]!.start).toBeGreaterThan(5.2);
    expect(tr[0]!.start).toBeLessThan(6.2);
    // Measured at the open: the PAT finding opened it (the PMT one comes with the same check, just after).
    expect(tr[0]!.measurements).toMatchObject({ patErrors: 1, ccErrors: 0, transportErrors: 0 });
    expect(r.incidents.filter((i) => i.type !== 'transport')).toEqual([]);
  });
});
