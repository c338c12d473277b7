/**
 * av_sync on real encoded files from the simulator (libx264 + AAC in MPEG-TS), through the
 * whole pipeline (analyze: ingest → detectors → incidents): the flash-and-beep sync pattern
 * with and without an audio offset, and audio timestamps drifting against video.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile, type ScheduleItem } from '../../src/simulate/index.ts';

const DURATION = 16;

function stream(schedule: unknown[], content: Record<string, unknown> = { source: 'syncpattern' }, cycle = DURATION) {
  return parseScenario({
    seed: 5,
    streams: [
      {
        id: 'sync',
        output: { type: 'udp' },
        content,
        video: { width: 160, height: 90, fps: 25 },
        audio: { sampleRate: 48000, channels: 2 },
        cycle,
        schedule: schedule as ScheduleItem[],
      },
    ],
  }).streams[0]!;
}

const avSync = (list: Incident[]) => list.filter((i) => i.type === 'av_sync');
const show = (list: Incident[]) =>
  list.map((i) => `${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join('; ');

let dir = '';
beforeAll(async () => {
  setMediaLogLevel('quiet');
  dir = await mkdtemp(join(tmpdir(), 'vigil-avsync-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('av_sync on simulator files', () => {
  it('clean sync pattern: no av_sync incident', async () => {
    const file = join(dir, 'clean.ts');
    await renderToFile(stream([]), file, { duration: DURATION });
    const res = await analyze({ input: file });
    expect(avSync(res.incidents), show(avSync(res.incidents))).toEqual([]);
  });

  for (const offsetMs of [300, -200]) {
    it(`sync pattern with audio ${offsetMs > 0 ? 'late' : 'early'} by ${Math.abs(offsetMs)} ms: one incident, offset within a frame`, async () => {
      const file = join(dir, `offset${offsetMs}.ts`);
      await renderToFile(stream([{ type: 'av_offset', at: 2, duration: DURATION - 2, offsetMs }]), file, {
        duration: DURATION,
      });
      const found = avSync((await analyze({ input: file })).incidents);
      expect(found, show(found)).toHaveLength(1);
      const m = found[0]!.measurements;
      expect(m.kind).toBe('test_signal');
      // The offset starts at 2 s; flashes come once a second.
      expect(Math.abs(found[0]!.start - 2), show(found)).toBeLessThanOrEqual(1.05);
      expect(Math.abs(Number(m.offsetMs) - offsetMs), show(found)).toBeLessThan(40);
      expect(found[0]!.confidence).toBeGreaterThanOrEqual(0.5);
    });
  }

  it('audio timestamps drifting against video: one timestamps incident', async () => {
    // The skew baseline is learnt in the first ~6 s, so the drift starts after that.
    const file = join(dir, 'drift.ts');
    await renderToFile(stream([{ type: 'timestamp_drift', at: 8, duration: DURATION - 8, driftMs: 400 }]), file, {
      duration: DURATION,
    });
    const found = avSync((await analyze({ input: file })).incidents);
    const ts = found.filter((i) => i.measurements.kind === 'timestamps');
    expect(ts, show(found)).toHaveLength(1);
    const m = ts[0]!.measurements;
    expect(Math.max(Math.abs(Number(m.skewChangeMs)), Math.abs(Number(m.audioClockDriftMs)))).toBeGreaterThan(100);
    // The simulator ramps audio PTS by 400 ms over 8 s: 50 000 ppm.
    // Measured at the open, over the last 5 s of the audio clock (which began in sync).
    expect(Number(m.audioClockPpm)).toBeGreaterThan(50000 * 0.5);
    expect(Number(m.audioClockPpm)).toBeLessThan(50000 * 1.3);
    expect(m.cause).toBe('drift');
  });

  // After the drift window the simulator puts the audio back in step: a positive drift drops the
  // audio the drifted packets already covered (timestamps stay continuous), a negative one jumps
  // forward. The tracks agree again, so the incident closes; it used to stay open to the end of
  // the file, held by the offset the audio clock had accumulated.
  for (const driftMs of [400, -400]) {
    it(`audio timestamps drifting ${driftMs > 0 ? 'ahead' : 'behind'} by ${Math.abs(driftMs)} ms over 8-16 s, then in step again: one incident, closed within 8 s of the end of the drift`, async () => {
      const file = join(dir, `drift-window${driftMs}.ts`);
      const seconds = 34;
      await renderToFile(
        stream([{ type: 'timestamp_drift', at: 8, duration: 8, driftMs }], { source: 'syncpattern' }, seconds),
        file,
        {
          duration: seconds,
        },
      );
      const found = avSync((await analyze({ input: file })).incidents);
      const ts = found.filter((i) => i.measurements.kind === 'timestamps');
      expect(ts, show(found)).toHaveLength(1);
      expect(ts[0]!.start, show(found)).toBeGreaterThan(8);
      expect(ts[0]!.start, show(found)).toBeLessThan(16);
      expect(ts[0]!.end, show(found)).toBeGreaterThan(16);
      expect(ts[0]!.end, show(found)).toBeLessThan(24);
    });
  }
  // A track that goes missing and comes back in step is audio_missing / video_missing, not A/V
  // sync. (With video, the muxer also releases the last pictures before the gap only after it.)
  for (const type of ['audio_missing', 'video_missing']) {
    it(`${type.replace('_', ' ')} for 6 s, then back in step: no av_sync incident`, async () => {
      const file = join(dir, `${type}.ts`);
      const seconds = 24;
      await renderToFile(stream([{ type, at: 4, duration: 6 }], { source: 'syncpattern' }, seconds), file, {
        duration: seconds,
      });
      const res = await analyze({ input: file });
      expect(res.incidents.filter((i) => i.type === type).length, show(res.incidents)).toBeGreaterThan(0);
      expect(avSync(res.incidents), show(avSync(res.incidents))).toEqual([]);
    });
  }
});
