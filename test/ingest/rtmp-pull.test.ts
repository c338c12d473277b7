/**
 * RTMP pulled from a media server, the usual way an RTMP contribution reaches a monitor: the
 * simulator publishes to node-media-server (a real RTMP server, run in a child process), and Vigil
 * plays the stream from it as a client (no input options). The pictures and sound decode, a
 * scheduled black is detected on them, the publisher going away is a signal loss, and the
 * source stops promptly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectorChain, DETECTORS } from '../../src/detect/index.ts';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import type { IntervalEdge, StreamInfo } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { sleep, waitFor } from './source-harness.ts';

async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('RTMP pulled from a server', () => {
  let server: ChildProcess;
  let store: string;
  let port: number;
  let publisher: SimulationHandle | undefined;

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    port = await freeTcpPort();
    store = mkdtempSync(join(tmpdir(), 'vigil-rtmp-'));
    server = spawn(process.execPath, [join(import.meta.dirname, '../helpers/rtmp-server.cjs'), String(port), store], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout!.on('data', (d) => (out += String(d)));
    await waitFor('the RTMP server', () => /Rtmp Server listening/.test(out), 15_000);
  }, 30_000);

  afterAll(async () => {
    await publisher?.stop();
    server?.kill('SIGTERM');
    rmSync(store, { recursive: true, force: true });
  }, 20_000);

  it('decodes what is published, detects a black on it, reports the publisher gone, stops promptly', async () => {
    const url = `rtmp://127.0.0.1:${port}/live/cam`;
    publisher = await startSimulation(
      parseScenario({
        streams: [
          {
            id: 'cam',
            output: { type: 'rtmp', url },
            clock: false,
            video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
            audio: { sampleRate: 48000, channels: 2, bitrateKbps: 96 },
            cycle: 30,
            schedule: [{ at: 5, type: 'black', duration: 3 }],
          },
        ],
      }),
    );
    await sleep(1000);
    const edges: IntervalEdge[] = [];
    const infos: StreamInfo[] = [];
    let video = 0;
    let audio = 0;
    const only = Object.fromEntries(DETECTORS.map((d) => [d.name, { enabled: d.name === 'black' }]));
    const chain = new DetectorChain({ streamId: 'cam', overrides: [only], onEdge: (e) => edges.push(e), onDetectorError: () => {} });
    const source = new StreamSource(
      { id: 'cam', url, live: true, signalLossAfter: 2, reconnectDelay: { initial: 0.2, max: 1 } },
      {
        video: (v) => {
          video++;
          chain.process(v);
        },
        audio: (a) => {
          audio++;
          chain.process(a);
        },
        info: (i) => void infos.push(i),
        edge: (e) => void edges.push(e),
        discontinuity: (t, w) => chain.flush(t, w),
      },
    );
    const done = source.run().catch(() => {});
    try {
      await waitFor('live', () => source.status().state === 'live', 20_000);
      expect(infos[0]?.format).toMatch(/flv/);
      expect(infos[0]?.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
      await waitFor('a black', () => edges.some((e) => e.type === 'black' && e.phase === 'open'), 20_000);
      expect(video).toBeGreaterThan(50);
      expect(audio).toBeGreaterThan(50);
      await publisher.stop();
      publisher = undefined;
      await waitFor('signal loss', () => edges.some((e) => e.type === 'signal_loss' && e.phase === 'open'), 15_000);
    } finally {
      const t = Date.now();
      await source.stop();
      await done;
      expect(Date.now() - t).toBeLessThan(6000);
    }
  }, 90_000);
});
