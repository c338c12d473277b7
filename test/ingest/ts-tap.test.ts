/**
 * The TS tap's reads race the source's abort signal: each read's abort listener goes with the
 * read. A source that reconnects for months opens the tap again and again on the same signal, so
 * nothing of a finished read or a closed tap may stay attached to it.
 */
import '../../src/shared/polyfill.ts';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTapped } from '../../src/ingest/ts-tap.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-tap-'));
const file = join(dir, 'in.ts');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  const sc = parseScenario({
    seed: 2,
    streams: [{ id: 's', output: { type: 'udp' }, video: { width: 160, height: 90, fps: 25 }, audio: { sampleRate: 48000, channels: 1 } }],
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
});
