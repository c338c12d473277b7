/**
 * A local file read as a live channel is released at the pace of its packets' timestamps. A
 * damaged file can carry one garbled timestamp far ahead of the rest (a flipped bit in a PES
 * header that still parses). The pacer used to take it at its word and wait up to 30 s for that
 * one packet, and the wait then showed as a signal loss that the file does not have. A jump
 * ahead now has to be confirmed by the packet after it before the pacer waits for it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';
import { waitFor, watchSource } from './source-harness.ts';

const SECONDS = 8;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-live-garbled-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Moves the PTS and DTS of the `nth` PES packet of the track by `seconds`; returns that packet's
 * original PTS in seconds.
 */
async function garblePes(file: string, track: 'video' | 'audio', nth: number, seconds: number): Promise<number> {
  const ts = await TsFile.read(file);
  const pid = ts.pidOf(track);
  const unit = ts.pesUnits().filter((u) => u.pid === pid)[nth];
  if (!unit || !Number.isFinite(unit.pts)) throw new Error(`no PES number ${nth} with a PTS on the ${track} track`);
  const pts = unit.pts;
  const shift = seconds * 90000;
  ts.setTimestamps(unit, pts + shift, Number.isFinite(unit.dts) ? unit.dts + shift : Number.NaN);
  await ts.write(file);
  return pts / 90000;
}

describe('a damaged file read as a live channel', () => {
  for (const track of ['video', 'audio'] as const)
    it(`one ${track} timestamp garbled 20 s ahead is not waited for: no signal loss, the file plays at 1x`, async () => {
      const file = join(dir, `${track}.ts`);
      const sc = parseScenario({
        seed: 3,
        streams: [
          {
            id: 'g',
            output: { type: 'udp' },
            clock: false,
            video: { width: 160, height: 90, fps: 25 },
            audio: { sampleRate: 48000, channels: 1, codec: 'mp2' },
            cycle: SECONDS,
          },
        ],
      });
      await renderToFile(sc.streams[0]!, file, { duration: SECONDS });
      // About 3 s in: a little over a third of the packets of either track.
      const at = await garblePes(file, track, track === 'video' ? 75 : 110, 20);
      expect(at).toBeGreaterThan(1);
      const w = watchSource({
        id: 'g',
        url: file,
        live: true,
        signalLossAfter: 1,
        reconnectDelay: { initial: 5, max: 5 },
      });
      try {
        await waitFor(
          'the last second of the file',
          () => w.log.some((e) => e.kind === 'video' && e.media > SECONDS - 1),
          25_000,
        );
      } finally {
        await w.source.stop();
        await w.done;
      }
      expect(w.edges.filter((e) => e.type === 'signal_loss')).toEqual([]);
      const video = w.log.filter((e) => e.kind === 'video');
      const last = video.find((e) => e.media > SECONDS - 1)!;
      // Paced at 1x from the first picture (with a second's slack for a loaded machine).
      expect(last.wall - video[0]!.wall).toBeLessThan((last.media - video[0]!.media + 1) * 1000);
      expect(last.media).toBeLessThan(SECONDS + 0.1);
    }, 40_000);
});
