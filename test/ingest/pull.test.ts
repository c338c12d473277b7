/**
 * Pulled RTSP: Vigil plays a stream from a media server, as from an IP camera or a restreamer.
 * The server is a minimal RTSP relay (test/helpers/rtsp-relay.mjs) in a child process; the
 * simulator's `rtsp` output publishes to it (FFmpeg's RTSP muxer, RTP interleaved over TCP), and
 * Vigil pulls with its defaults (FFmpeg's RTSP demuxer, rtsp_transport tcp). The pictures and sound
 * decode, a scheduled black is detected, the publisher going away is a signal loss, and when it
 * publishes again the source reconnects on its own.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DetectorChain, DETECTORS } from '../../src/detect/index.ts';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import type { IntervalEdge, StreamInfo } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { waitFor } from './source-harness.ts';

let relay: ChildProcessWithoutNullStreams | undefined;
let port = 0;

beforeAll(async () => {
  relay = spawn(process.execPath, ['test/helpers/rtsp-relay.mjs', '0'], { stdio: 'pipe' });
  port = await new Promise<number>((resolve, reject) => {
    relay!.once('exit', (code) => reject(new Error(`rtsp relay exited (${code})`)));
    relay!.stdout.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
  });
});

afterAll(() => {
  relay?.kill('SIGTERM');
});

function publisher(url: string): Promise<SimulationHandle> {
  return startSimulation(
    parseScenario({
      streams: [
        {
          id: 'cam',
          output: { type: 'rtsp', url },
          clock: false,
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
          audio: { sampleRate: 48000, channels: 2, bitrateKbps: 96 },
          cycle: 30,
          schedule: [{ at: 4, type: 'black', duration: 3 }],
        },
      ],
    }),
  );
}

describe('RTSP pulled from a media server', () => {
  const sims: SimulationHandle[] = [];
  let source: StreamSource | undefined;
  afterAll(async () => {
    await source?.stop();
    for (const s of sims) await s.stop();
  }, 20_000);

  it('decodes the stream, detects a black in it, reports the publisher going as a signal loss and reconnects when it is back', async () => {
    setMediaLogLevel('quiet');
    const url = `rtsp://127.0.0.1:${port}/live/cam`;
    sims.push(await publisher(url));
    const off: Record<string, { enabled: boolean }> = {};
    for (const d of DETECTORS) if (d.name !== 'black') off[d.name] = { enabled: false };
    const edges: IntervalEdge[] = [];
    const chain = new DetectorChain({ streamId: 'cam', overrides: [off], onEdge: (e) => void edges.push(e) });
    const infos: StreamInfo[] = [];
    let video = 0;
    let audio = 0;
    source = new StreamSource(
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
        packet: (p) => chain.process(p),
        info: (i) => {
          infos.push(i);
          chain.process(i);
        },
        edge: (e) => void edges.push(e),
        discontinuity: (t, w) => chain.flush(t, w),
      },
    );
    const running = source.run().catch(() => {});
    await waitFor('pictures', () => video > 50, 20_000);
    expect(audio).toBeGreaterThan(50);
    expect(infos[0]?.format).toMatch(/rtsp/);
    expect(infos[0]?.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(infos[0]?.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    await waitFor('black opened', () => edges.some((e) => e.type === 'black' && e.phase === 'open'), 15_000);
    await waitFor('black closed', () => edges.some((e) => e.type === 'black' && e.phase === 'close'), 8000);
    const open = edges.find((e) => e.type === 'black' && e.phase === 'open')!;
    const close = edges.find((e) => e.type === 'black' && e.phase === 'close')!;
    expect(close.mediaTime - open.mediaTime).toBeGreaterThan(2.5);
    expect(close.mediaTime - open.mediaTime).toBeLessThan(3.5);

    // The publisher goes: the relay ends the play, and the source reports a signal loss.
    await sims.shift()!.stop();
    await waitFor('signal loss', () => edges.some((e) => e.type === 'signal_loss' && e.phase === 'open'), 10_000);
    // It publishes again: the source reconnects by itself, and the loss closes.
    const before = video;
    sims.push(await publisher(url));
    await waitFor('pictures after the reconnect', () => video > before + 50, 30_000);
    await waitFor(
      'signal loss closed',
      () => edges.some((e) => e.type === 'signal_loss' && e.phase === 'close'),
      10_000,
    );
    expect(source.status().reconnects).toBeGreaterThan(0);
    await source.stop();
    source = undefined;
    await running;
  }, 90_000);
});
