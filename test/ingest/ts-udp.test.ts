/**
 * The TR 101 290 analyzer on a live MPEG-TS over UDP input: the simulator sends over loopback,
 * a relay forwards, and ingest reads udp:// through the analyzer on the way to the demuxer.
 * A clean live stream gives no finding; a stretch with no PAT gives one PAT finding (and no
 * continuity error: the relay keeps the counters going); stopping the source is prompt, also
 * while the sender is silent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor, watchSource } from './source-harness.ts';
import { relayedStream, type Relay } from './udp-relay.ts';

describe('TR 101 290 checks on a live UDP input', () => {
  let relay: Relay;

  let session: Awaited<ReturnType<typeof relayedStream>> | undefined;

  beforeAll(async () => {
    session = await relayedStream('mux');
    relay = session.relay;
  }, 60_000);

  afterAll(async () => {
    await session?.close();
  }, 20_000);

  it('reads the bytes: nothing on the clean stream, one PAT finding for a PAT-less stretch, prompt stop', async () => {
    const w = watchSource({ id: 'mux', url: relay.url, live: true, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      await sleep(2500);
      expect(w.infos[0]?.tsAnalysis?.videoPid).toBeGreaterThan(0);
      expect(w.infos[0]?.tsAnalysis?.audioPid).toBeGreaterThan(0);
      expect(w.ts).toEqual([]);

      relay.mode = 'nopat';
      const from = Date.now();
      await waitFor('PAT finding', () => w.ts.some((e) => e.check === 'pat'), 5000);
      const pat = w.ts.find((e) => e.check === 'pat')!;
      // Reported once the PAT has been missing for 0.5 s of stream time (and the demuxer has
      // handed out the packet it was found at).
      expect(pat.wallTime - from).toBeGreaterThanOrEqual(400);
      expect(pat.wallTime - from).toBeLessThan(2500);
      expect(pat.pid).toBe(0);
      expect(pat.detail).toMatch(/no PAT/);
      await sleep(1500);
      relay.mode = 'pass';
      await sleep(1500);
      expect(w.ts.map((e) => e.check)).toEqual(['pat']);
      expect(w.source.status().state).toBe('live');
    } finally {
      const t = Date.now();
      await w.source.stop();
      expect(Date.now() - t).toBeLessThan(3000);
    }
  }, 60_000);

  it('stops promptly while its sender is silent (a read waiting on the socket is left behind, not waited for)', async () => {
    relay.mode = 'pass';
    const w = watchSource({ id: 'mux', url: relay.url, live: true, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      await sleep(1000);
      relay.mode = 'drop';
      await sleep(700);
    } finally {
      const t = Date.now();
      await w.source.stop();
      // Before, stop waited for the UDP read timeout (5 s) of the read in flight.
      expect(Date.now() - t).toBeLessThan(1500);
      relay.mode = 'pass';
    }
    // The socket the abandoned read holds is closed when that read ends (at most 5 s on): a new
    // source on the same port at once is refused the port until then, retries, and goes live.
    const again = watchSource({ id: 'mux', url: relay.url, live: true, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live again', () => again.source.status().state === 'live', 20_000);
    } finally {
      await again.source.stop();
    }
  }, 60_000);
});
