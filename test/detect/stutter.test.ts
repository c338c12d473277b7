/**
 * stutter on real encoded MPEG-TS (simulator's libx264 + AAC, 25 fps): frames dropped (whole
 * PES packets removed, continuity counters renumbered), frames sent twice with the same
 * timestamp, pictures repeated with fresh timestamps (one-frame freezes every 0.2 s, the
 * pattern of a frame-rate conversion), timestamps jittered; and variable frame rate, which
 * must not count as stutter.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { prng, type Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile, type PesUnit } from '../helpers/ts-damage.ts';

const DURATION = 12;
const FPS = 25;
const PERIOD = 90000 / FPS;
/** Onset tolerance (s): the first irregular frame is at most a frame or two after the damage starts. */
const TOL = 0.3;
/** The incident ends about one event interval (1 / threshold = 0.5 s) after the last irregular frame. */
const END_TOL = 0.8;

function stream(schedule: Record<string, unknown>[]) {
  return parseScenario({
    seed: 7,
    streams: [
      {
        id: 'st',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        // No burnt-in clock: a repeated picture must be the same picture.
        clock: false,
        video: { width: 160, height: 90, fps: FPS },
        audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
        cycle: DURATION,
        schedule,
      },
    ],
  }).streams[0]!;
}

const mine = (list: Incident[]) => list.filter((i) => i.type === 'stutter');
const show = (list: Incident[]) =>
  list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join(', ');

async function stutterIncidents(input: string) {
  return mine((await analyze({ input })).incidents);
}

/** The video PES packets (frames) whose PTS is in [from, to) s. */
function videoUnits(ts: TsFile, from = -Infinity, to = Infinity): PesUnit[] {
  const vpid = ts.pidOf('video');
  const units = ts.pesUnits();
  return units.filter((u) => {
    if (u.pid !== vpid) return false;
    const t = ts.secondsOf(u, units);
    return t >= from && t < to;
  });
}

describe('stutter detector on damaged MPEG-TS', () => {
  let dir: string;
  let clean: string;

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-stutter-'));
    clean = join(dir, 'clean.ts');
    await renderToFile(stream([]), clean, { duration: DURATION });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports nothing on the clean file', async () => {
    expect(show(await stutterIncidents(clean))).toBe('');
  });

  it('every 5th frame dropped from 4 s to 8 s: one stutter incident, dropped frames counted, nominal 25 fps', async () => {
    const ts = await TsFile.read(clean);
    const frames = videoUnits(ts, 4, 8);
    const gone = frames.filter((_, k) => k % 5 === 4);
    ts.drop(
      gone.flatMap((u) => u.packets),
      { renumber: true },
    );
    const f = join(dir, 'drop5.ts');
    await ts.write(f);
    const found = await stutterIncidents(f);
    expect(found.length, show(found)).toBe(1);
    const firstDrop = (gone[0]!.pts - videoUnits(await TsFile.read(clean))[0]!.pts) / 90000;
    expect(Math.abs(found[0]!.start - firstDrop), show(found)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(found[0]!.end! - 8), show(found)).toBeLessThanOrEqual(END_TOL);
    expect(found[0]!.measurements?.dropped).toBeGreaterThan(0);
    expect(found[0]!.measurements?.duplicated).toBe(0);
    expect(found[0]!.measurements?.nominalFps).toBe(FPS);
  });

  it('every 4th frame sent twice with the same timestamp from 4 s to 8 s: one incident, counted as duplicated', async () => {
    const ts = await TsFile.read(clean);
    ts.repeat(videoUnits(ts, 4, 8).filter((_, k) => k % 4 === 3));
    const f = join(dir, 'repeat.ts');
    await ts.write(f);
    const found = await stutterIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 4.12), show(found)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(found[0]!.end! - 8), show(found)).toBeLessThanOrEqual(END_TOL);
    expect(found[0]!.measurements?.duplicated).toBeGreaterThan(0);
    expect(found[0]!.measurements?.dropped).toBe(0);
  });

  it('a picture repeated with a fresh timestamp every 0.2 s from 4 s to 8 s (moving content): one incident', async () => {
    const f = join(dir, 'repeat-pictures.ts');
    const schedule = Array.from({ length: 20 }, (_, k) => ({ at: 4 + 0.2 * k, type: 'freeze', duration: 2 / FPS }));
    await renderToFile(stream(schedule), f, { duration: DURATION });
    const found = await stutterIncidents(f);
    expect(found.length, show(found)).toBe(1);
    // The first repeat is the frame after 4.00 s. Pictures alone are slower to tell than timestamps:
    // a catch-up is judged against the moves around it too (so content that speeds up is not read
    // as catching up), and the first one or two repeats of a burst may not count (measured: 0.4 s).
    expect(Math.abs(found[0]!.start - (4 + 1 / FPS)), show(found)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(found[0]!.end! - 8), show(found)).toBeLessThanOrEqual(END_TOL);
    expect(found[0]!.measurements?.duplicated).toBeGreaterThan(0);
    // Control: with the picture check off, the same file has a perfect cadence.
    const off = mine((await analyze({ input: f, detectors: { stutter: { pictures: false } } })).incidents);
    expect(show(off)).toBe('');
  }, 30_000);

  it('a freeze (long run of one picture) is not stutter', async () => {
    const f = join(dir, 'freeze.ts');
    await renderToFile(stream([{ at: 4, type: 'freeze', duration: 4 }]), f, { duration: DURATION });
    expect(show(await stutterIncidents(f))).toBe('');
  }, 30_000);

  it('every 12th frame displaced by 40% of a period from 4 s to 8 s: jitter, one incident', async () => {
    const ts = await TsFile.read(clean);
    const frames = videoUnits(ts, 4, 8).filter((_, k) => k % 12 === 6);
    for (const u of frames) ts.setTimestamps(u, u.pts + 0.4 * PERIOD, u.dts + 0.4 * PERIOD);
    const f = join(dir, 'jitter.ts');
    await ts.write(f);
    const found = await stutterIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(found[0]!.measurements?.jitter).toBeGreaterThan(0);
  });

  it('variable frame rate (every frame interval random between 0.6 and 1.4 periods) is not stutter', async () => {
    const ts = await TsFile.read(clean);
    const rand = prng(11);
    const frames = videoUnits(ts);
    let t = frames[0]!.pts;
    for (const u of frames) {
      ts.setTimestamps(u, t, t);
      t += PERIOD * (0.6 + 0.8 * rand());
    }
    const f = join(dir, 'vfr.ts');
    await ts.write(f);
    expect(show(await stutterIncidents(f))).toBe('');
  });
});
