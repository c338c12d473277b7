/**
 * The FFmpeg baseline pass (eval/baseline.ts) on a file whose damage garbled one timestamp: the
 * file's length is not taken from it. Transport damage in the evaluation's corpus (TS packets
 * garbled with TEI set) can hit a PES header; FFmpeg's decoder then stamps a frame 18 hours on,
 * and that frame's time was taken as the end of the file (the corpus listed 19 h for 20 min of
 * files, and the baseline's intervals still open at the end closed there).
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBaselines } from '../../eval/baseline.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const params = { black: { d: 2, pixTh: 0.1, picTh: 0.98 }, freeze: { noiseDb: -60, d: 2 }, silence: { noiseDb: -60, d: 2 } };

describe('runBaselines', () => {
  it('takes the file length from its frames, not from a frame whose timestamp damage moved it hours on', async () => {
    const sc = parseScenario({
      streams: [{ id: 's', output: { type: 'udp', port: 0 }, video: { width: 320, height: 180 }, cycle: 8, schedule: [{ type: 'silence', at: 5, duration: 3 }] }],
    });
    const clean = join(dir, 'clean.ts');
    await renderToFile(sc.streams[0]!, clean, { duration: 8 });
    const ts = await TsFile.read(clean);
    const audio = ts.pesUnits().filter((u) => u.pid === ts.pidOf('audio'));
    const hit = audio[Math.floor(audio.length / 4)]!;
    ts.setTimestamps(hit, hit.pts + 18 * 3600 * 90000, hit.dts + 18 * 3600 * 90000);
    const damaged = join(dir, 'damaged.ts');
    await ts.write(damaged);

    const a = await runBaselines(clean, ['silencedetect'], params);
    const b = await runBaselines(damaged, ['silencedetect'], params);
    expect(a.duration).toBeGreaterThan(7.5);
    expect(a.duration).toBeLessThan(8.5);
    expect(b.duration).toBeCloseTo(a.duration, 1);
    // The silence from 5 s is open at the end of the file and closes there, not 18 hours later.
    const silence = b.intervals.filter((i) => i.type === 'silence');
    expect(silence.length).toBeGreaterThan(0);
    for (const i of silence) expect(i.end).toBeLessThan(8.5);
  }, 60_000);
});
