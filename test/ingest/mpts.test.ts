/**
 * A multi-programme transport stream: two simulator renders multiplexed into one TS (programme 1
 * with a black from 3 s, programme 2 with silence from 3 s). By default Vigil monitors the first
 * programme; `program: 2` monitors the second (its video and audio, found through the PAT and
 * PMTs the TR 101 290 analyzer reads); a programme the PAT does not list, or a programme asked of
 * an input not read byte by byte, is refused with the programmes there are. The multiplex itself
 * is clean: no transport finding; a packet lost on one programme's PID is that programme's
 * transport incident only.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { TsAnalyzer } from '../../src/ingest/ts-analyzer.ts';
import { ErrorCodes, type Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { multiplex } from '../helpers/mpts.ts';

const show = (list: Incident[]) => list.map((i) => `${i.type}${i.channel ? `/${i.channel}` : ''} ${i.start.toFixed(1)}-${i.end?.toFixed(1)}`).sort();

function service(id: string, toneHz: number, schedule: Record<string, unknown>[]) {
  return parseScenario({
    seed: 11,
    streams: [
      {
        id,
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
        audio: { sampleRate: 48000, channels: 2, toneHz },
        cycle: 10,
        schedule,
      },
    ],
  }).streams[0]!;
}

describe('a multi-programme transport stream', { timeout: 60_000 }, () => {
  let dir: string;
  let mpts: string;
  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-mpts-'));
    const a = join(dir, 'a.ts');
    const b = join(dir, 'b.ts');
    await renderToFile(service('one', 440, [{ at: 3, type: 'black', duration: 3 }]), a, { duration: 10 });
    await renderToFile(service('two', 660, [{ at: 3, type: 'silence', duration: 3 }]), b, { duration: 10 });
    mpts = join(dir, 'mpts.ts');
    await writeFile(mpts, multiplex(await readFile(a), await readFile(b)));
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('monitors the first programme by default, and programme 2 when asked', async () => {
    const first = await analyze({ input: mpts });
    expect(show(first.incidents)).toEqual(['black 3.0-6.0']);
    const one = await analyze({ input: mpts, program: 1 });
    expect(show(one.incidents)).toEqual(['black 3.0-6.0']);
    const two = await analyze({ input: mpts, program: 2 });
    expect(show(two.incidents)).toEqual(['silence 3.0-6.0']);
    expect(two.videoFrames).toBeGreaterThan(240);
  });

  it('chooses the programme the same way with the transport detector off (the tap then reads the PAT and PMTs only)', async () => {
    const detectors = { transport: { enabled: false } };
    expect(show((await analyze({ input: mpts, detectors })).incidents)).toEqual(['black 3.0-6.0']);
    expect(show((await analyze({ input: mpts, detectors, program: 2 })).incidents)).toEqual(['silence 3.0-6.0']);
  });

  it("a continuity error on programme 2's video is programme 2's transport incident, not programme 1's", async () => {
    const buf = await readFile(mpts);
    const programs = (() => {
      const a = new TsAnalyzer(() => {});
      a.push(buf);
      return a.programs;
    })();
    const video2 = programs.get(2)![0]!;
    // One packet of that PID at about 5 s (the file is 10 s), without a PCR, taken out.
    const P = 188;
    const n = buf.length / P;
    let drop = -1;
    for (let i = Math.floor(n / 2); i < n; i++) {
      const pid = ((buf[i * P + 1]! & 0x1f) << 8) | buf[i * P + 2]!;
      const pcr = (buf[i * P + 3]! & 0x20) !== 0 && buf[i * P + 4]! > 0 && (buf[i * P + 5]! & 0x10) !== 0;
      if (pid === video2 && !pcr) {
        drop = i;
        break;
      }
    }
    expect(drop).toBeGreaterThan(0);
    const lossy = join(dir, 'lossy.ts');
    await writeFile(lossy, Buffer.concat([buf.subarray(0, drop * P), buf.subarray((drop + 1) * P)]));
    const transport = (r: { incidents: Incident[] }) => r.incidents.filter((i) => i.type === 'transport');
    const two = transport(await analyze({ input: lossy, program: 2 }));
    expect(two.length, show(two).join()).toBe(1);
    expect(two[0]!.measurements?.ccErrors).toBe(1);
    expect(two[0]!.measurements?.lastTsError).toMatch(new RegExp(`PID ${video2}: CC`));
    expect(show(transport(await analyze({ input: lossy, program: 1 })))).toEqual([]);
    expect(show(transport(await analyze({ input: lossy })))).toEqual([]);
  });

  it('refuses a programme the PAT does not list, naming those it does, and a programme without the byte-level reading', async () => {
    await expect(analyze({ input: mpts, program: 3 })).rejects.toMatchObject({
      code: ErrorCodes.PROGRAM_NOT_FOUND,
      message: expect.stringMatching(/no programme 3 in this multiplex \(its PAT lists 1, 2\)/),
    });
    await expect(analyze({ input: mpts, program: 2, tsAnalysis: false })).rejects.toMatchObject({
      code: ErrorCodes.PROGRAM_NOT_FOUND,
      message: expect.stringMatching(/read byte by byte/),
    });
  });
});
