/**
 * The TS tap's reads race the source's abort signal: each read's abort listener goes with the
 * read. A source that reconnects for months opens the tap again and again on the same signal, so
 * nothing of a finished read or a closed tap may stay attached to it. A local file read
 * synchronously goes through one reused buffer, which must hand the demuxer the very bytes
 * libavformat's own file reading does.
 */
import '../../src/shared/polyfill.ts';
import { createHash } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Demuxer } from 'node-av/api';
import { PacketReader } from '../../src/ingest/packet-reader.ts';
import { openTapped } from '../../src/ingest/ts-tap.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tap-'));
const file = join(dir, 'in.ts');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  const sc = parseScenario({
    seed: 2,
    streams: [
      {
        id: 's',
        output: { type: 'udp' },
        video: { width: 160, height: 90, fps: 25 },
        audio: { sampleRate: 48000, channels: 1 },
      },
    ],
  });
  await renderToFile(sc.streams[0]!, file, { duration: 3 });
}, 60_000);

describe('openTapped', () => {
  it('leaves no listener on the abort signal once a tapped input has been read and closed, however often', async () => {
    const abort = new AbortController();
    for (let round = 0; round < 3; round++) {
      const tap = await openTapped(file, { live: false, signal: abort.signal, onFinding: () => {} });
      let packets = 0;
      for await (const p of tap.demuxer.packets()) {
        if (!p) break;
        packets++;
        p.free();
      }
      await tap.close();
      expect(packets).toBeGreaterThan(100);
      expect(getEventListeners(abort.signal, 'abort')).toEqual([]);
    }
  });

  it('reads a local file synchronously into the demuxer exactly as libavformat reads it itself, and analyses it', async () => {
    const signal = new AbortController().signal;
    const digest = async (demuxer: Demuxer): Promise<string[]> => {
      const reader = new PacketReader(demuxer, { sync: true, signal });
      const out: string[] = [];
      for (let p = await reader.next(); p; p = await reader.next()) {
        out.push(
          `${p.streamIndex} ${p.pts} ${p.size} ${createHash('sha1')
            .update(p.data ?? Buffer.alloc(0))
            .digest('hex')}`,
        );
        p.free();
      }
      reader.close();
      return out;
    };
    const findings: string[] = [];
    const tap = await openTapped(file, { live: false, sync: true, signal, onFinding: (f) => findings.push(f.check) });
    const tapped = await digest(tap.demuxer);
    const programs = [...tap.analyzer.programs.keys()];
    await tap.close();
    const plain = await Demuxer.open(file, { copyTs: true });
    const direct = await digest(plain);
    await plain.close();
    expect(direct.length).toBeGreaterThan(100);
    expect(tapped).toEqual(direct);
    // The analyzer saw the multiplex: its programme map, and no finding on an intact file.
    expect(programs.length).toBe(1);
    expect(findings).toEqual([]);
  });
});
