/**
 * audio_missing / video_missing on real encoded MPEG-TS (simulator's libx264 + AAC), damaged
 * at the TS packet level: a stretch of one track's PES packets removed cleanly (continuity
 * counters renumbered, so only the track's absence is visible), a track removed entirely, a
 * track whose packets all arrive but do not decode.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const DURATION = 10;
/** Onset/close tolerance (s): interleaving of the two tracks in the TS plus a frame. */
const TOL = 0.4;

function stream(audio: boolean) {
  return parseScenario({
    seed: 3,
    streams: [
      {
        id: 'tp',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 160, height: 90, fps: 25 },
        ...(audio ? { audio: { sampleRate: 48000, channels: 2, toneHz: 440 } } : { audio: false }),
        cycle: DURATION,
        schedule: [],
      },
    ],
  }).streams[0]!;
}

const mine = (list: Incident[]) => list.filter((i) => i.type === 'audio_missing' || i.type === 'video_missing');
const show = (list: Incident[]) => list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)}`).join(', ');

async function run(input: string, detectors?: Record<string, Record<string, number | boolean>>) {
  const res = await analyze({ input, ...(detectors ? { detectors } : {}) });
  return res.incidents;
}

/** Remove every TS packet of the track's PES packets whose PTS lies in [from, to) s. */
async function removeTrack(src: string, dst: string, kind: 'video' | 'audio', from: number, to: number) {
  const ts = await TsFile.read(src);
  const pid = ts.pidOf(kind);
  const units = ts.pesUnits();
  const gone: number[] = [];
  for (const u of units) {
    if (u.pid !== pid) continue;
    const t = ts.secondsOf(u, units);
    if (t >= from && t < to) gone.push(...u.packets);
  }
  expect(gone.length).toBeGreaterThan(0);
  ts.drop(gone, { renumber: true });
  await ts.write(dst);
}

describe('tracks detector (audio_missing, video_missing) on damaged MPEG-TS', () => {
  let dir: string;
  let clean: string;
  let videoOnly: string;

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-tracks-'));
    clean = join(dir, 'clean.ts');
    videoOnly = join(dir, 'video-only.ts');
    await renderToFile(stream(true), clean, { duration: DURATION });
    await renderToFile(stream(false), videoOnly, { duration: DURATION });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports nothing on the clean file, with audio required or not', async () => {
    expect(show(mine(await run(clean)))).toBe('');
    expect(show(mine(await run(clean, { tracks: { requireAudio: true, requireVideo: true } })))).toBe('');
  });

  it('audio removed from 3 s to 7 s: one audio_missing from about 3 s to about 7 s', async () => {
    const f = join(dir, 'no-audio-3-7.ts');
    await removeTrack(clean, f, 'audio', 3, 7);
    const found = mine(await run(f));
    expect(found.map((i) => i.type), show(found)).toEqual(['audio_missing']);
    const i = found[0]!;
    expect(Math.abs(i.start - 3), show(found)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(i.end! - 7), show(found)).toBeLessThanOrEqual(TOL);
    expect(i.measurements?.declared).toBe(true);
    expect(i.measurements?.everArrived).toBe(true);
  });

  it('a gap shorter than `after` is not reported: 2 s with the default 3 s, 4 s with after: 5', async () => {
    const f = join(dir, 'no-audio-3-5.ts');
    await removeTrack(clean, f, 'audio', 3, 5);
    expect(show(mine(await run(f)))).toBe('');
    const g = join(dir, 'no-audio-3-7b.ts');
    await removeTrack(clean, g, 'audio', 3, 7);
    expect(show(mine(await run(g, { tracks: { after: 5 } })))).toBe('');
  });

  it('video removed from 4 s to 8 s: one video_missing from about 4 s to about 8 s', async () => {
    const f = join(dir, 'no-video-4-8.ts');
    await removeTrack(clean, f, 'video', 4, 8);
    const found = mine(await run(f));
    expect(found.map((i) => i.type), show(found)).toEqual(['video_missing']);
    expect(Math.abs(found[0]!.start - 4), show(found)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(found[0]!.end! - 8), show(found)).toBeLessThanOrEqual(TOL);
    expect(found[0]!.measurements?.packetsArriving).toBe(false);
  });

  it('video packets arrive throughout but none decodes: video_missing from the first keyframe packet to the end', async () => {
    // The first bytes of every video PES payload garbled: the access unit delimiter, SPS and PPS
    // of every keyframe, so no picture ever decodes. Before, only packets counted as presence, and
    // a stream with sound and no picture for its whole length gave no incident at all.
    const ts = await TsFile.read(clean);
    expect(ts.garblePayloadStarts(ts.pidOf('video'), 24)).toBeGreaterThan(DURATION * 20);
    const f = join(dir, 'undecodable-video.ts');
    await ts.write(f);
    const found = mine(await run(f));
    expect(found.map((i) => i.type), show(found)).toEqual(['video_missing']);
    // The garbled stream's parser hands out its first (keyframe) packet about 1 s in.
    expect(found[0]!.start, show(found)).toBeLessThanOrEqual(1 + TOL);
    expect(found[0]!.end, show(found)).toBeGreaterThanOrEqual(DURATION - TOL);
    expect(found[0]!.measurements?.packetsArriving).toBe(true);
    expect(found[0]!.measurements?.everArrived).toBe(false);
  });

  it('a stream joined before its first keyframe is not missing video while the decoder waits for that keyframe', async () => {
    // The keyframe at 0 s removed: video packets (P-frames) arrive from the start, pictures only
    // from the next keyframe at 1 s. With after: 0.5 that wait would read as missing video.
    const f = join(dir, 'no-first-keyframe.ts');
    await removeTrack(clean, f, 'video', -1, 0.02);
    expect(show(mine(await run(f, { tracks: { after: 0.5 } })))).toBe('');
  });

  it('both tracks removed from 4 s to 7 s (a hole in the whole stream) is no missing track', async () => {
    const f = join(dir, 'hole.ts');
    const mid = join(dir, 'hole-mid.ts');
    await removeTrack(clean, mid, 'video', 4, 7);
    await removeTrack(mid, f, 'audio', 4, 7);
    expect(show(mine(await run(f)))).toBe('');
  });

  it('audio declared in the PMT but never sent: audio_missing from the start', async () => {
    const f = join(dir, 'declared-no-audio.ts');
    await removeTrack(clean, f, 'audio', -1, DURATION + 1);
    const found = mine(await run(f));
    expect(found.map((i) => i.type), show(found)).toEqual(['audio_missing']);
    expect(found[0]!.start, show(found)).toBeLessThanOrEqual(TOL);
    expect(found[0]!.end, show(found)).toBeGreaterThanOrEqual(DURATION - TOL);
    expect(found[0]!.measurements?.declared).toBe(true);
    expect(found[0]!.measurements?.everArrived).toBe(false);
  });

  it('a video-only input: nothing by default; audio_missing from the start with requireAudio', async () => {
    expect(show(mine(await run(videoOnly)))).toBe('');
    const found = mine(await run(videoOnly, { tracks: { requireAudio: true } }));
    expect(found.map((i) => i.type), show(found)).toEqual(['audio_missing']);
    expect(found[0]!.start).toBeLessThanOrEqual(TOL);
    expect(found[0]!.measurements?.declared).toBe(false);
    expect(found[0]!.measurements?.everArrived).toBe(false);
  });
});
