/**
 * stutter on VP9 in Matroska (the simulator's libvpx-vp9 + Opus, 160x90, 25 fps, testsrc2), as in
 * the evaluation corpus:
 * - every 5th frame dropped from 3.32 s for 5 s: the incident must open near the first drop.
 *   (The pending run used to be restarted each time the oldest event slid out of the 2 s window;
 *   with these timestamps it opened at 6.51 s.)
 * - every 5th frame replaced by the previous picture over the same stretch: VP9 codes the repeat
 *   with a little residual (0.03-0.2 levels against 2-3 for a moving frame), so it is not
 *   bit-identical, and the picture jumps two steps after it; the incident must cover the stretch
 *   (it used to end after 3 s, when a near-repeat had to be followed by 1.8 plain steps however
 *   deep its dip).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../../src/detect/index.ts';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const DURATION = 12;
const AT = 3.32;
const LENGTH = 5;

const onlyStutter: Record<string, { enabled: boolean }> = {};
for (const d of DETECTORS) if (d.name !== 'stutter') onlyStutter[d.name] = { enabled: false };

const show = (list: Incident[]) =>
  list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join(', ');

async function render(file: string, mode: 'drop' | 'duplicate') {
  const stream = parseScenario({
    seed: 3,
    streams: [
      {
        id: `vp9-${mode}`,
        output: { type: 'file' },
        content: { source: 'testsrc2' },
        clock: false,
        video: { width: 160, height: 90, fps: 25, codec: 'vp9' },
        audio: { sampleRate: 48000, channels: 2, toneHz: 440, codec: 'opus' },
        cycle: DURATION,
        schedule: [{ at: AT, type: 'stutter', mode, rate: 0.2, duration: LENGTH }],
      },
    ],
  }).streams[0]!;
  await renderToFile(stream, file, { duration: DURATION });
}

async function stutter(file: string) {
  return (await analyze({ input: file, detectors: onlyStutter })).incidents.filter((i) => i.type === 'stutter');
}

describe('stutter on VP9 / Matroska', () => {
  let dir: string;
  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-stutter-vp9-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('every 5th frame dropped: one incident, opening within 0.5 s of the first drop', async () => {
    const f = join(dir, 'drop.mkv');
    await render(f, 'drop');
    const found = await stutter(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - AT), show(found)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(found[0]!.end! - (AT + LENGTH)), show(found)).toBeLessThanOrEqual(0.8);
    expect(found[0]!.measurements?.dropped, show(found)).toBeGreaterThan(0);
  }, 60_000);

  it('every 5th frame replaced by the previous picture: one incident of duplicates covering the stretch', async () => {
    const f = join(dir, 'dup.mkv');
    await render(f, 'duplicate');
    const found = await stutter(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - AT), show(found)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(found[0]!.end! - (AT + LENGTH)), show(found)).toBeLessThanOrEqual(0.8);
    expect(found[0]!.measurements?.duplicated, show(found)).toBeGreaterThan(0);
  }, 60_000);
});
