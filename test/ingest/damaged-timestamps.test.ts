/**
 * A burst of damaged MPEG-TS packets must not move media time. The simulator's transport
 * defect (mode corrupt) garbles 5% of the audio and video TS packets for 5 s, PES headers and
 * their timestamps included. node-av's Demuxer corrected MPEG-TS timestamp jumps the way the
 * ffmpeg CLI does (a step back of more than 0.1 s shifts every later packet of every track by
 * that step, for good), so one garbled timestamp moved the rest of a 20 s file to end at 30.7 s:
 * every incident after the burst was reported 5.9 s late. Ingest now reads timestamps as they
 * are (copyTs) and MediaTimeline bridges real discontinuities. At 20% some garbled timestamps
 * still decode: MediaTimeline took one 28 s ahead for a real gap (a 20 s H.264 file ended at
 * 61.7 s) until a step off a track's trajectory had to be confirmed by the next frame.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync } from 'node:fs';
import { analyze } from '../../src/engine/index.ts';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-damagedts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DURATION = 20;

async function read(url: string) {
  setMediaLogLevel('quiet');
  const out = { video: [] as number[], audio: [] as number[] };
  const source = new StreamSource(
    { id: 't', url, live: false, decoderThreads: 1 },
    {
      video: (v) => void out.video.push(v.mediaTime),
      audio: (a) => void out.audio.push(a.mediaTime),
      edge: () => {},
      discontinuity: () => {},
      packet: () => {},
      info: () => {},
    },
  );
  await source.run();
  return out;
}

const largestStep = (times: number[]) => times.slice(1).reduce((m, t, i) => Math.max(m, t - times[i]!), 0);

describe('damaged MPEG-TS timestamps', { timeout: 60_000 }, () => {
  for (const codec of ['h264', 'mpeg2'] as const)
    for (const rate of [0.05, 0.2]) {
      it(`${codec}: ${rate * 100}% of TS packets garbled for 5 s leave media time where the timestamps are`, async () => {
        const sc = parseScenario({
          seed: 1,
          streams: [
            {
              id: 's',
              output: { type: 'udp' },
              content: { source: 'testsrc2' },
              video: { width: 320, height: 180, fps: 25, codec },
              audio: { sampleRate: 48000, channels: 2 },
              cycle: DURATION,
              schedule: [{ type: 'transport', mode: 'corrupt', at: 4, duration: 5, rate }],
            },
          ],
        });
        const file = join(dir, `${codec}-${rate}.ts`);
        await renderToFile(sc.streams[0]!, file, { duration: DURATION });
        const { video, audio } = await read(file);
        expect(video.length).toBeGreaterThan(DURATION * 25 * 0.8);
        expect(video[video.length - 1]!).toBeGreaterThan(DURATION - 0.5);
        expect(video[video.length - 1]!).toBeLessThan(DURATION + 0.1);
        expect(audio[audio.length - 1]!).toBeLessThan(DURATION + 0.1);
        expect(largestStep(video)).toBeLessThan(1);
        expect(largestStep(audio)).toBeLessThan(1);
      });
    }
});

/**
 * One PES timestamp garbled a little ahead (a few bit errors in its PTS field) on a flash-and-beep
 * sync signal, everything else intact. Until 2026-11-27 a step ahead of up to 1 s was taken at
 * once: the next frame, back on the old timestamps, read as a step back, and the track went on
 * from the garbled time. The video (or audio) then ran that far behind for the rest of the input,
 * and av_sync reported the sync signal out by -200 or -500 ms from there to the end.
 */
describe('one timestamp garbled a little ahead', { timeout: 60_000 }, () => {
  let clean: string;
  const prepared = (async () => {
    setMediaLogLevel('quiet');
    const sc = parseScenario({
      streams: [
        {
          id: 's',
          output: { type: 'file' },
          content: { source: 'syncpattern' },
          clock: false,
          video: { width: 320, height: 180, fps: 25 },
          cycle: DURATION,
          schedule: [],
        },
      ],
    });
    clean = join(dir, 'sync.ts');
    await renderToFile(sc.streams[0]!, clean, { duration: DURATION });
  })();

  for (const [track, shift] of [
    ['video', 0.5],
    ['video', 0.2],
    ['audio', 0.5],
  ] as const)
    it(`${track} +${shift * 1000} ms at 8 s: a transport PTS discontinuity, and the tracks stay in sync`, async () => {
      await prepared;
      const file = join(dir, `sync-${track}-${shift}.ts`);
      copyFileSync(clean, file);
      const ts = await TsFile.read(file);
      const pid = ts.pidOf(track);
      const all = ts.pesUnits();
      const unit = all.find((u) => u.pid === pid && Number.isFinite(u.pts) && ts.secondsOf(u, all) >= 8)!;
      ts.setTimestamps(unit, unit.pts + shift * 90000, Number.isFinite(unit.dts) ? unit.dts + shift * 90000 : Number.NaN);
      await ts.write(file);
      const r = await analyze({ input: file });
      const types = r.incidents.map((i) => i.type);
      expect(types, JSON.stringify(r.incidents)).not.toContain('av_sync');
      const transport = r.incidents.filter((i) => i.type === 'transport');
      expect(transport, JSON.stringify(r.incidents)).toHaveLength(1);
      expect(transport[0]!.measurements).toMatchObject({ ptsDiscontinuitiesTotal: 1 });
      expect(transport[0]!.start).toBeGreaterThan(7.5);
      expect(transport[0]!.start).toBeLessThan(8.6);
      expect(r.duration).toBeGreaterThan(DURATION - 0.1);
      expect(r.duration).toBeLessThan(DURATION + 0.1);
    });
});
