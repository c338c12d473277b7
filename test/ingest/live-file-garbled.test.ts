/**
 * A local file read as a live channel is released at the pace of its packets' timestamps. A
 * damaged file can carry one garbled timestamp far ahead of the rest (a flipped bit in a PES
 * header that still parses). The pacer used to take it at its word and wait up to 30 s for that
 * one packet, and the wait then showed as a signal loss that the file does not have. A jump
 * ahead now has to be confirmed by the packet after it before the pacer waits for it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { waitFor, watchSource } from './source-harness.ts';

const SECONDS = 8;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-live-garbled-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const readTs = (b: Buffer, o: number): number =>
  (b[o]! >> 1) * 2 ** 29 + b[o + 1]! * 2 ** 22 + (b[o + 2]! >> 1) * 2 ** 15 + b[o + 3]! * 2 ** 7 + (b[o + 4]! >> 1);

function writeTs(b: Buffer, o: number, v: number): void {
  const t = v % 2 ** 33;
  const prefix = b[o]! & 0xf0;
  b[o] = prefix | (Math.floor(t / 2 ** 30) << 1) | 1;
  b[o + 1] = Math.floor(t / 2 ** 22) & 0xff;
  b[o + 2] = ((Math.floor(t / 2 ** 15) & 0x7f) << 1) | 1;
  b[o + 3] = Math.floor(t / 2 ** 7) & 0xff;
  b[o + 4] = ((t & 0x7f) << 1) | 1;
}

/**
 * Moves the PTS and DTS of the `nth` PES packet whose stream id matches `streamId` (0xe0 video,
 * 0xc0 audio) by `seconds`; returns that packet's original PTS in seconds.
 */
function garblePes(file: string, streamId: number, nth: number, seconds: number): number {
  const b = readFileSync(file);
  let seen = 0;
  for (let p = 0; p + 188 <= b.length; p += 188) {
    if (b[p] !== 0x47 || !(b[p + 1]! & 0x40)) continue; // payload unit start only
    const afc = (b[p + 3]! >> 4) & 3;
    let o = p + 4;
    if (afc & 2) o += 1 + b[o]!;
    if (!(afc & 1) || o + 14 > p + 188) continue;
    if (b[o] !== 0 || b[o + 1] !== 0 || b[o + 2] !== 1 || (b[o + 3]! & 0xf0) !== streamId) continue;
    if (seen++ !== nth) continue;
    const flags = b[o + 7]! >> 6;
    if (!(flags & 2)) throw new Error('PES without PTS');
    const pts = readTs(b, o + 9);
    writeTs(b, o + 9, pts + seconds * 90000);
    if (flags === 3) writeTs(b, o + 14, readTs(b, o + 14) + seconds * 90000);
    writeFileSync(file, b);
    return pts / 90000;
  }
  throw new Error(`no PES number ${nth} for stream id ${streamId.toString(16)}`);
}

describe('a damaged file read as a live channel', () => {
  for (const [track, streamId] of [
    ['video', 0xe0],
    ['audio', 0xc0],
  ] as const)
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
      const at = garblePes(file, streamId, track === 'video' ? 75 : 110, 20);
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
