/**
 * TR 101 290 2.4 on a live UDP input: the simulator sends a constant-bitrate multiplex
 * (`muxrateKbps`) over loopback, and for a window moves some of its PCRs off their byte position
 * (transport mode `pcr`). Ingest's analyzer sees the datagrams as they arrive: nothing on the
 * clean stretch, PCR accuracy findings inside the window and nothing else there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { sleep, waitFor, watchSource } from './source-harness.ts';

describe('PCR accuracy on a live constant-bitrate UDP multiplex', () => {
  let sim: SimulationHandle;
  const WINDOW = { at: 7, duration: 2 };

  beforeAll(async () => {
    sim = await startSimulation(
      parseScenario({
        streams: [
          {
            id: 'cbr1',
            output: { type: 'udp', port: 0, muxrateKbps: 600 },
            clock: false,
            video: { width: 320, height: 180, fps: 25, bitrateKbps: 200 },
            audio: { sampleRate: 48000, channels: 1, bitrateKbps: 32 },
            cycle: 30,
            schedule: [{ at: WINDOW.at, type: 'transport', mode: 'pcr', rate: 0.5, duration: WINDOW.duration }],
          },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
  }, 20_000);

  it('nothing on the clean stretch, PCR accuracy findings in the window, nothing else', async () => {
    const w = watchSource({ id: 'cbr1', url: sim.streams[0]!.url, live: true, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      await waitFor('the pcr window in the truth', () => sim.truth().some((e) => e.type === 'transport'), 20_000);
      // The clean stretch, datagram by datagram at the multiplex rate: no finding at all.
      expect(w.ts).toEqual([]);
      await waitFor('PCR accuracy finding', () => w.ts.some((e) => e.check === 'pcr_accuracy'), 5000);
      await sleep(WINDOW.duration * 1000 + 1000);
      const checks = new Set(w.ts.map((e) => e.check));
      expect([...checks]).toEqual(['pcr_accuracy']);
      expect(w.ts.length).toBeGreaterThan(10); // half the PCRs of 2 s
      for (const e of w.ts) expect(e.detail).toMatch(/us from its byte position/);
    } finally {
      await w.source.stop();
    }
  }, 60_000);
});
