/** Transport damage on MPEG-TS: dropped/corrupted TS packets and a timestamp discontinuity. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';
import { decodeFile, type DecodedFile } from './decode-helper.ts';

const scenario = (schedule: unknown[]) =>
  parseScenario({
    seed: 11,
    streams: [
      {
        id: 'tr',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 160, height: 96, fps: 25, bitrateKbps: 400 },
        cycle: 6,
        schedule,
      },
    ],
  }).streams[0]!;

/** Continuity-counter errors per PID in a TS file. */
function ccErrors(buf: Buffer): number {
  const last = new Map<number, number>();
  let errors = 0;
  for (let off = 0; off + 188 <= buf.length; off += 188) {
    const pid = ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
    if (pid === 0x1fff || !(buf[off + 3]! & 0x10)) continue;
    const cc = buf[off + 3]! & 0x0f;
    const prev = last.get(pid);
    if (prev !== undefined && cc !== ((prev + 1) & 0x0f)) errors++;
    last.set(pid, cc);
  }
  return errors;
}

describe('transport', () => {
  let dir: string;
  let truth: GroundTruthEntry[];
  let d: DecodedFile;
  let bytes: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-transport-'));
    const s = scenario([
      { at: 1, type: 'transport', duration: 1, mode: 'drop', rate: 0.05 },
      { at: 3, type: 'transport', duration: 0.5, mode: 'corrupt', rate: 0.05 },
      { at: 4.2, type: 'transport', duration: 0.4, rate: 0, discontinuityMs: 2000 },
    ]);
    truth = await renderToFile(s, join(dir, 'tr.ts'), { duration: 6 });
    bytes = await readFile(join(dir, 'tr.ts'));
    d = await decodeFile(join(dir, 'tr.ts'), { audio: false, video: false });
  }, 60_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('ground truth: the damage windows, clean again at the next keyframe; the jump', () => {
    expect(truth).toEqual([
      { streamId: 'tr', type: 'transport', start: 1, end: 2, mode: 'drop', rate: 0.05 },
      { streamId: 'tr', type: 'transport', start: 3, end: 4, mode: 'corrupt', rate: 0.05 },
      { streamId: 'tr', type: 'transport', start: 4.2, end: 4.6, rate: 0, discontinuityMs: 2000 },
    ]);
  });

  it('dropped TS packets show as continuity errors, and the demuxer flags the PES corrupt', () => {
    expect(bytes.length % 188).toBe(0);
    expect(ccErrors(bytes)).toBeGreaterThan(3);
    const v0 = d.packets.find((p) => p.kind === 'video')!.pts;
    const corruptAt = d.packets.filter((p) => p.corrupt).map((p) => p.pts - v0);
    expect(corruptAt.length).toBeGreaterThan(3);
    // A dropped or garbled PES start glues its payload to the PES before it, which is flagged:
    // one video frame, or an audio PES (several AAC frames) up to ~0.1 s before the window.
    expect(corruptAt.filter((t) => t < 0.9)).toHaveLength(0);
    expect(corruptAt.filter((t) => t >= 1 && t < 2.05).length).toBeGreaterThan(0);
    expect(corruptAt.filter((t) => t >= 3 && t < 3.55).length).toBeGreaterThan(0); // TEI set
    expect(corruptAt.filter((t) => t >= 2.1 && t < 2.9)).toHaveLength(0);
  });

  it('timestamps jump forward by the discontinuity at its start', () => {
    const v = d.packets.filter((p) => p.kind === 'video').map((p) => p.pts);
    const steps = v.slice(1).map((t, i) => Math.round((t - v[i]!) * 1000) / 1000);
    const jumps = steps.map((s, i) => ({ s, t: v[i + 1]! - v[0]! })).filter((x) => x.s > 0.5);
    expect(jumps).toHaveLength(1);
    expect(jumps[0]!.s).toBeCloseTo(2.04, 3); // 2 s + one frame
    expect(jumps[0]!.t).toBeCloseTo(4.2 + 2, 3);
  });

  it('refuses transport damage for containers other than MPEG-TS', async () => {
    const s = scenario([{ at: 1, type: 'transport', duration: 1 }]);
    await expect(renderToFile(s, join(dir, 'x.mkv'), { duration: 2 })).rejects.toThrow(/transport damage needs MPEG-TS \(container ts\)/);
  });
});
