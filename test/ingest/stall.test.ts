/**
 * A stalled source: packets keep arriving but carry the same frame over and over (an
 * upstream encoder stuck on its last picture). The repeated timestamp is not fresh media,
 * so StreamSource must treat it as signal loss.
 *
 * Realistic stream, not a unit test of the private freshness rule: the simulator sends live
 * MPEG-TS over UDP through a relay (udp-relay.ts) that, when stalled, resends the TS packets
 * of the last video frame it forwarded (a keyframe) unchanged (same PTS) at 25 fps with PAT/PMT and no audio. A raw
 * node-av probe first proves that this stream really decodes to frames with one repeated
 * timestamp; then StreamSource watches the same relay.
 */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor, watchSource } from './source-harness.ts';
import { relayedStream, type Relay } from './udp-relay.ts';

const LOSS_AFTER = 1;
const RECOVERY = 2;

describe('stalled source (repeated timestamps)', () => {
  let relay: Relay;

  let session: Awaited<ReturnType<typeof relayedStream>> | undefined;

  beforeAll(async () => {
    session = await relayedStream('stall');
    relay = session.relay;
  }, 60_000);

  afterAll(async () => {
    await session?.close();
  }, 20_000);

  it('the stalled relay output decodes to frames that all carry one timestamp', async () => {
    relay.mode = 'pass';
    const dmx = await Demuxer.open(relay.url, { options: { timeout: '5000000' } } as never);
    const pts: { stalled: boolean; pts: number }[] = [];
    try {
      const vs = dmx.video()!;
      const dec = await Decoder.create(vs);
      const t0 = Date.now();
      for await (const p of dmx.packets(vs.index)) {
        if (!p) break;
        if (relay.mode === 'pass' && Date.now() - t0 > 2000) relay.mode = 'stall';
        const stalled = relay.stalledAt > 0;
        for (const f of await dec.decodeAll(p)) {
          pts.push({ stalled, pts: Number(f.bestEffortTimestamp) });
          f.free();
        }
        p.free();
        if (pts.filter((x) => x.stalled).length >= 25) break;
      }
      dec.close();
    } finally {
      relay.mode = 'pass';
      await dmx.close();
    }
    // Skip the frames still in flight when the stall began.
    const stalled = pts.filter((x) => x.stalled).slice(10).map((x) => x.pts);
    expect(stalled.length).toBeGreaterThanOrEqual(10);
    expect(new Set(stalled).size, `pts while stalled: ${stalled.join(',')}`).toBe(1);
    expect(pts.filter((x) => !x.stalled).length).toBeGreaterThan(20);
  }, 30_000);

  it('StreamSource counts the repeated frame as stalled: signal_loss opens, and closes once real media returns', async () => {
    relay.mode = 'pass';
    const w = watchSource({
      id: 'stall',
      url: relay.url,
      live: true,
      signalLossAfter: LOSS_AFTER,
      signalRecovery: RECOVERY,
      reconnectDelay: { initial: 0.2, max: 1 },
    });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      await sleep(2000);
      const sendsBefore = relay.stallSends;
      relay.mode = 'stall';
      await waitFor('the relay to stall on a keyframe', () => relay.stalledAt > 0, 3000);
      const stallAt = relay.stalledAt;
      await sleep(4000);
      const during = w.source.status();
      const mediaDuring = w.media.filter((t) => t > stallAt + 300).length;
      relay.mode = 'pass';
      const resumedAt = Date.now();
      expect(relay.stallSends - sendsBefore, 'the relay kept sending the repeated frame').toBeGreaterThan(50);
      expect(mediaDuring, `no frame reached the sink while stalled: ${JSON.stringify(w.log.filter((x) => x.wall > stallAt - 200).slice(0, 20).map((x) => [x.kind, x.wall - stallAt, x.media]))}`).toBe(0);
      expect(during.state).toBe('lost');
      expect(during.lastFrameAt).toBeLessThanOrEqual(stallAt + 300);

      await waitFor('close', () => w.edges.some((e) => e.phase === 'close'), 8000);
      await sleep(1000);
      expect(w.edges.map((e) => `${e.type}/${e.phase}`)).toEqual(['signal_loss/open', 'signal_loss/close']);
      const [open, close] = w.edges as [(typeof w.edges)[0], (typeof w.edges)[0]];
      expect(Math.abs(open.wallTime - stallAt)).toBeLessThanOrEqual(500);
      expect(open.receivedAt - stallAt).toBeLessThanOrEqual(LOSS_AFTER * 1000 + 900);
      expect(close.wallTime).toBeGreaterThanOrEqual(resumedAt - 100);
      expect(Number(close.measurements?.lostForSeconds)).toBeGreaterThan(3);
      expect(w.source.status().state).toBe('live');
    } finally {
      await w.source.stop();
    }
  }, 40_000);
});
