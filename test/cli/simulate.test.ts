/** `vigil simulate` as a real process: live UDP stream, ground truth file, bounded run. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lines, runVigil, type VigilRun } from './run-vigil.ts';

const SCENARIO = `seed: 1
streams:
  - id: cli-udp
    output: { type: udp, port: 0 }
    content: { source: testsrc2 }
    video: { width: 320, height: 180, fps: 25 }
    audio: { sampleRate: 48000, channels: 2 }
    cycle: 10
    schedule:
      - { at: 1, type: black, duration: 2 }
`;

describe('vigil simulate --scenario --truth --duration', () => {
  let dir: string;
  let truthPath: string;
  let run: VigilRun;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-simulate-'));
    const scenarioPath = join(dir, 's.yaml');
    truthPath = join(dir, 'truth.json');
    await writeFile(scenarioPath, SCENARIO);
    run = await runVigil(['simulate', '--scenario', scenarioPath, '--truth', truthPath, '--duration', '6'], {
      timeoutMs: 30_000,
    });
  }, 40_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('exits 0 by itself within ~20 s', () => {
    expect(run.timedOut, run.stderr).toBe(false);
    expect(run.code, run.stderr).toBe(0);
    expect(run.ms).toBeGreaterThanOrEqual(6_000);
    expect(run.ms).toBeLessThan(20_000);
  });

  it('prints the stream URL on stdout', () => {
    const out = lines(run.stdout);
    expect(out, run.stdout).toHaveLength(1);
    expect(out[0]).toContain('cli-udp');
    expect(out[0]).toMatch(/udp:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/udp:\/\/127\.0\.0\.1:(\d+)/.exec(out[0]!)![1]);
    expect(port).toBeGreaterThan(0);
  });

  it('writes the ground truth as a JSON array with the black entry', async () => {
    const truth = JSON.parse(await readFile(truthPath, 'utf8')) as unknown;
    expect(Array.isArray(truth)).toBe(true);
    const entries = truth as Record<string, unknown>[];
    const black = entries.filter((e) => e.type === 'black');
    expect(black.length, JSON.stringify(entries)).toBeGreaterThanOrEqual(1);
    const b = black[0]!;
    expect(b.streamId).toBe('cli-udp');
    expect(b.start).toBeCloseTo(1, 1);
    expect(b.end).toBeCloseTo(3, 1);
    expect(typeof b.wallStart).toBe('string');
    expect(typeof b.wallEnd).toBe('string');
    const ws = Date.parse(b.wallStart as string);
    const we = Date.parse(b.wallEnd as string);
    expect(Number.isFinite(ws) && Number.isFinite(we)).toBe(true);
    // Played live: the wall-clock interval lasts about as long as the media interval.
    expect((we - ws) / 1000).toBeGreaterThan(1.5);
    expect((we - ws) / 1000).toBeLessThan(2.5);
  });
});
