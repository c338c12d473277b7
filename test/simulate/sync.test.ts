/** Sync pattern (flash + beep), audio content offset (av_offset) and audio timestamp drift. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';
import { decodeFile, type DecodedFile } from './decode-helper.ts';

/** Times (s, relative to the first video frame) where the beep starts: |x| crosses 0.1 after a quiet stretch. */
function beepOnsets(d: DecodedFile, v0: number): number[] {
  const a = d.audio!;
  const x = a.channels[0]!;
  const out: number[] = [];
  let quiet = Infinity;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]!) > 0.1) {
      if (quiet > a.sampleRate * 0.3) out.push(a.t0 + i / a.sampleRate - v0);
      quiet = 0;
    } else quiet++;
  }
  return out;
}

describe('sync pattern and av_offset', () => {
  let dir: string;
  let truth: GroundTruthEntry[];
  let d: DecodedFile;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-sync-'));
    const s = parseScenario({
      streams: [
        {
          id: 'sync',
          output: { type: 'udp' },
          content: { source: 'syncpattern' },
          clock: false,
          video: { width: 160, height: 96, fps: 25, bitrateKbps: 200 },
          cycle: 6,
          schedule: [
            { at: 1.5, type: 'av_offset', duration: 2, offsetMs: 120 },
            { at: 4.5, type: 'av_offset', duration: 1.5, offsetMs: -80 },
          ],
        },
      ],
    }).streams[0]!;
    truth = await renderToFile(s, join(dir, 'sync.mkv'), { duration: 6 });
    d = await decodeFile(join(dir, 'sync.mkv'));
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ground truth: av_sync with the content offset', () => {
    expect(truth).toEqual([
      { streamId: 'sync', type: 'av_sync', kind: 'content', start: 1.5, end: 3.5, offsetMs: 120 },
      { streamId: 'sync', type: 'av_sync', kind: 'content', start: 4.5, end: 6, offsetMs: -80 },
    ]);
  });

  it('one white frame per whole second, dark otherwise', () => {
    const v0 = d.frames[0]!.t;
    const flashes = d.frames.filter((f) => f.mean > 200).map((f) => Math.round((f.t - v0) * 1000) / 1000);
    expect(flashes).toEqual([0, 1, 2, 3, 4, 5]);
    for (const f of d.frames.filter((f) => f.mean <= 200)) expect(f.mean).toBeLessThan(80);
  });

  it('the beep starts on the flash, moved by the offset inside the windows', () => {
    const v0 = d.frames[0]!.t;
    const onsets = beepOnsets(d, v0);
    // 5.92: the beep of second 6, 80 ms early (the window runs to the end of the file).
    const expected = [0, 1, 2.12, 3.12, 4, 4.92, 5.92];
    expect(onsets).toHaveLength(expected.length);
    // The very first AAC frame decodes without its predecessor (the priming packet is not
    // written), so the beep at 0 s is only heard from its second half: within one frame.
    expect(onsets[0]!).toBeLessThan(0.025);
    onsets.slice(1).forEach((t, i) => expect(Math.abs(t - expected[i + 1]!)).toBeLessThan(0.003));
  });
});

describe('timestamp_drift', () => {
  it('audio PTS drift against video over the window while the samples stay in place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-drift-'));
    try {
      const s = parseScenario({
        streams: [
          {
            id: 'drift',
            output: { type: 'udp' },
            content: { source: 'syncpattern' },
            video: { width: 160, height: 96, fps: 25, bitrateKbps: 200 },
            cycle: 5,
            schedule: [{ at: 1, type: 'timestamp_drift', duration: 2, driftMs: 200 }],
          },
        ],
      }).streams[0]!;
      const truth = await renderToFile(s, join(dir, 'drift.ts'), { duration: 5 });
      expect(truth).toEqual([
        { streamId: 'drift', type: 'av_sync', kind: 'timestamps', start: 1, end: 3, driftMs: 200, ppm: 100000 },
      ]);
      const d = await decodeFile(join(dir, 'drift.ts'), { video: false, audio: false });
      const audio = d.packets.filter((p) => p.kind === 'audio');
      const v0 = d.packets.find((p) => p.kind === 'video')!.pts;
      // Each audio packet is 1024 samples: its nominal time follows from its position in the stream.
      const a0 = audio[0]!.pts;
      const dev = audio.map((p, k) => ({ nominal: k * (1024 / 48000), off: p.pts - a0 - k * (1024 / 48000) }));
      expect(Math.abs(a0 - v0)).toBeLessThan(0.001);
      for (const { nominal, off } of dev) {
        if (nominal < 1) expect(Math.abs(off)).toBeLessThan(0.001);
        else if (nominal < 3) expect(Math.abs(off - (nominal - 1) * 0.1)).toBeLessThan(0.002);
      }
      const maxOff = Math.max(...dev.map((x) => x.off));
      expect(maxOff).toBeGreaterThan(0.19);
      // After the window the packets already covered by the drifted ones are not sent: a ~0.2 s gap
      // in the sequence, then the timestamps are back on the nominal grid.
      const after = audio.filter((p) => p.pts - a0 > 3.25);
      expect(after.length).toBeGreaterThan(50);
      for (const p of after) {
        const k = Math.round((p.pts - a0) / (1024 / 48000));
        expect(Math.abs(p.pts - a0 - k * (1024 / 48000))).toBeLessThan(0.001);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
