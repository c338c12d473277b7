/**
 * Signal loss, seen by StreamSource in process over a real network path: the simulator
 * sends live MPEG-TS over UDP, a relay on loopback forwards it to the source and drops
 * packets on a timeline the test controls (a network outage). Small signalLossAfter /
 * signalRecovery keep it short: loss opens after 1 s without media, closes after 2 s of media.
 * Joins (the first connection and a reconnect) land mid-GOP: the decoder must not report
 * start-up pictures as damage now that flagged pictures reach the detectors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { sleep, waitFor, watchSource } from './source-harness.ts';
import { startRelay, type Relay } from './udp-relay.ts';

const LOSS_AFTER = 1;
const RECOVERY = 2;

const stream = (id: string) => ({
  id,
  output: { type: 'udp' as const, port: 0 },
  clock: false,
  video: { width: 320, height: 180, fps: 25, bitrateKbps: 200 },
  audio: { sampleRate: 48000 as const, channels: 1, bitrateKbps: 32 },
  cycle: 60,
  schedule: [],
});

describe('signal loss over a real UDP path', () => {
  let sim: SimulationHandle;
  const relays: Relay[] = [];

  beforeAll(async () => {
    sim = await startSimulation(parseScenario({ streams: [stream('outage'), stream('storm'), stream('reconnect')] }));
  }, 60_000);

  afterAll(async () => {
    for (const r of relays) await r.close();
    await sim?.stop();
  }, 20_000);

  async function setup(id: string) {
    const relay = await startRelay(sim.streams.find((s) => s.id === id)!.url);
    relays.push(relay);
    const w = watchSource({
      id,
      url: relay.url,
      live: true,
      signalLossAfter: LOSS_AFTER,
      signalRecovery: RECOVERY,
      reconnectDelay: { initial: 0.2, max: 1 },
    });
    await waitFor(`${id} live`, () => w.source.status().state === 'live', 20_000);
    await sleep(1500);
    // Joined mid-stream (likely mid-GOP): pictures start at a keyframe, with no start-up damage reported.
    const video = w.log.filter((e) => e.kind === 'video');
    expect(video[0]?.keyFrame).toBe(true);
    expect(video.filter((e) => e.decodeError)).toEqual([]);
    expect(w.source.status().decodeErrors).toBe(0);
    return { relay, w };
  }

  it('a 5 s outage gives one open after signalLossAfter and one close after media resumes', async () => {
    const { relay, w } = await setup('outage');
    try {
      relay.mode = 'drop';
      const outageAt = Date.now();
      await sleep(5000);
      expect(w.source.status().state).toBe('lost');
      relay.mode = 'pass';
      const resumedAt = Date.now();
      await waitFor('close', () => w.edges.some((e) => e.phase === 'close'), 8000);
      await sleep(1500);

      const opens = w.edges.filter((e) => e.phase === 'open');
      const closes = w.edges.filter((e) => e.phase === 'close');
      expect(w.edges.map((e) => `${e.type}/${e.phase}`)).toEqual(['signal_loss/open', 'signal_loss/close']);
      const open = opens[0]!;
      const close = closes[0]!;
      // The open is dated at the last media before the outage...
      const lastMedia = Math.max(...w.media.filter((t) => t <= open.receivedAt));
      expect(Math.abs(open.wallTime - lastMedia)).toBeLessThanOrEqual(500);
      expect(Math.abs(open.wallTime - relay.lastForwardAt) <= 500 || Math.abs(open.wallTime - outageAt) <= 500).toBe(true);
      // ... and raised about signalLossAfter later (watchdog ticks every 200 ms).
      const onset = open.receivedAt - open.wallTime;
      expect(onset).toBeGreaterThanOrEqual(LOSS_AFTER * 1000);
      expect(onset).toBeLessThanOrEqual(LOSS_AFTER * 1000 + 700);
      // Close: media flowed for signalRecovery seconds after the resume.
      expect(close.wallTime).toBeGreaterThanOrEqual(resumedAt - 100);
      expect(close.receivedAt - close.wallTime).toBeGreaterThanOrEqual(RECOVERY * 1000);
      expect(close.receivedAt - resumedAt).toBeLessThanOrEqual(RECOVERY * 1000 + 2000);
      expect(Number(close.measurements?.lostForSeconds)).toBeGreaterThan(4);
      expect(Number(close.measurements?.lostForSeconds)).toBeLessThan(6.5);
      expect(close.mediaTime).toBeGreaterThan(open.mediaTime);
      expect(w.source.status().state).toBe('live');
    } finally {
      await w.source.stop();
    }
  }, 40_000);

  it('a reconnect storm (brief resumes shorter than signalRecovery) is one loss, not a flapping one', async () => {
    const { relay, w } = await setup('storm');
    try {
      // Three gaps longer than signalLossAfter, separated by resumes shorter than signalRecovery:
      // media never flows for signalRecovery seconds until the last resume, so the loss must
      // stay open through the whole storm and close once, signalRecovery after the last resume.
      const GAP = 1800;
      const RESUME = 1200;
      const resumes: number[] = [];
      for (let i = 0; i < 3; i++) {
        relay.mode = 'drop';
        await sleep(GAP);
        relay.mode = 'pass';
        resumes.push(Date.now());
        if (i < 2) await sleep(RESUME);
      }
      const finalResume = resumes[resumes.length - 1]!;
      await waitFor('close', () => w.edges.some((e) => e.phase === 'close' && e.receivedAt >= finalResume), 8000);
      await sleep(1500);
      const log = w.edges.map((e) => `${e.phase}@${e.receivedAt - resumes[0]!}ms`).join(', ');
      expect(w.edges.map((e) => `${e.type}/${e.phase}`), `edges (ms after first resume): ${log}`).toEqual(['signal_loss/open', 'signal_loss/close']);
      const close = w.edges[1]!;
      // The loss ends with the last resume, and lasted the whole storm.
      expect(close.wallTime).toBeGreaterThanOrEqual(finalResume - 100);
      expect(Number(close.measurements?.lostForSeconds)).toBeGreaterThan((3 * GAP + 2 * RESUME) / 1000 - 1.5);
    } finally {
      await w.source.stop();
    }
  }, 40_000);

  it('an outage longer than the UDP read timeout reconnects; the new connection starts on a keyframe with no damage reported', async () => {
    const { relay, w } = await setup('reconnect');
    try {
      relay.mode = 'drop';
      // The UDP read times out after 5 s (protocolOptions): the source reopens the input.
      await waitFor('reconnect', () => w.source.status().reconnects > 0, 15_000);
      const resumedAt = Date.now();
      relay.mode = 'pass';
      await waitFor('media after the reconnect', () => w.log.some((e) => e.kind === 'video' && e.wall > resumedAt + 1500), 15_000);
      const after = w.log.filter((e) => e.kind === 'video' && e.wall >= resumedAt);
      // Joined mid-GOP again, on a fresh decoder: pictures start at a keyframe, none flagged.
      expect(after[0]?.keyFrame).toBe(true);
      expect(after.filter((e) => e.decodeError)).toEqual([]);
      expect(w.source.status().decodeErrors).toBe(0);
    } finally {
      await w.source.stop();
    }
  }, 45_000);
});
