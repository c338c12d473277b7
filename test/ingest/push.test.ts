/**
 * Pushed inputs: an encoder pushes to Vigil, which listens.
 * - RTMP: the simulator's `rtmp` output (FFmpeg's RTMP client publishing FLV), Vigil with
 *   `inputOptions: { listen: '1' }` (FFmpeg's RTMP server side);
 * - RTSP: the simulator's `rtsp` output (FFmpeg's RTSP muxer: ANNOUNCE and RECORD, RTP
 *   interleaved over TCP), Vigil with `inputOptions: { rtsp_flags: 'listen' }`.
 * The pictures and sound decode, a scheduled black is detected on them, when the encoder goes
 * away the source listens again and takes the next push, and a source still waiting for its
 * first push stops promptly.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { DetectorChain, DETECTORS } from '../../src/detect/index.ts';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import { LISTEN_WAIT, openOptions } from '../../src/ingest/protocol-options.ts';
import type { IntervalEdge, StreamInfo } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { freeTcpPort, sleep, waitFor } from './source-harness.ts';

function publisher(kind: 'rtmp' | 'rtsp', url: string): Promise<SimulationHandle> {
  return startSimulation(
    parseScenario({
      streams: [
        {
          id: 'cam',
          output: { type: kind, url },
          clock: false,
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
          audio: { sampleRate: 48000, channels: 2, bitrateKbps: 96 },
          cycle: 30,
          schedule: [{ at: 5, type: 'black', duration: 3 }],
        },
      ],
    }),
  );
}

describe('options a pushed input is opened with', () => {
  it('a listening RTMP or RTSP input waits LISTEN_WAIT per open unless its own options say otherwise; others are not listening', () => {
    expect(openOptions('rtmp://0.0.0.0:1935/live/x', { listen: '1' })).toEqual({
      options: { rw_timeout: '5000000', listen: '1', timeout: String(LISTEN_WAIT) },
      listening: true,
    });
    expect(openOptions('rtmp://0.0.0.0:1935/live/x', { listen: '1', timeout: '30' }).options.timeout).toBe('30');
    expect(openOptions('rtsp://0.0.0.0:8554/cam', { rtsp_flags: 'listen' })).toMatchObject({
      options: { rtsp_flags: 'listen', listen_timeout: String(LISTEN_WAIT), rtsp_transport: 'tcp' },
      listening: true,
    });
    expect(openOptions('rtmp://server/live/x', {}).listening).toBe(false);
    expect(openOptions('rtmp://server/live/x', { listen: '0' }).listening).toBe(false);
    expect(openOptions('rtsp://cam/stream', { rtsp_transport: 'udp' })).toEqual({
      options: { rtsp_transport: 'udp', timeout: '5000000' },
      listening: false,
    });
  });
});

const PUSH = {
  rtmp: { url: (port: number) => `rtmp://127.0.0.1:${port}/live/cam`, inputOptions: { listen: '1' }, format: /flv/ },
  rtsp: { url: (port: number) => `rtsp://127.0.0.1:${port}/live/cam`, inputOptions: { rtsp_flags: 'listen' }, format: /rtsp/ },
} as const;

describe.each(['rtmp', 'rtsp'] as const)('%s push into a listening source', (kind) => {
  const sims: SimulationHandle[] = [];
  let source: StreamSource | undefined;
  afterAll(async () => {
    await source?.stop();
    for (const s of sims) await s.stop();
  }, 20_000);

  it('decodes the pushed stream, detects a black in it, and takes the next push after the encoder goes', async () => {
    setMediaLogLevel('quiet');
    const push = PUSH[kind];
    const url = push.url(await freeTcpPort());
    const off: Record<string, { enabled: boolean }> = {};
    for (const d of DETECTORS) if (d.name !== 'black') off[d.name] = { enabled: false };
    const edges: IntervalEdge[] = [];
    const chain = new DetectorChain({ streamId: 'cam', overrides: [off], onEdge: (e) => void edges.push(e) });
    const infos: StreamInfo[] = [];
    let video = 0;
    let audio = 0;
    let lastMedia = 0;
    source = new StreamSource(
      { id: 'cam', url, live: true, inputOptions: push.inputOptions, reconnectDelay: { initial: 0.2, max: 0.5 } },
      {
        video: (v) => {
          video++;
          lastMedia = v.mediaTime;
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
        edge: () => {},
        discontinuity: (t, w) => chain.flush(t, w),
      },
    );
    const running = source.run().catch(() => {});
    await sleep(300); // listening before the encoder connects (it would retry every second anyway)
    sims.push(await publisher(kind, url));
    await waitFor('pictures', () => video > 50, 20_000);
    expect(audio).toBeGreaterThan(50);
    expect(infos[0]?.format).toMatch(push.format);
    expect(infos[0]?.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(infos[0]?.audio).toMatchObject({ codec: 'aac', sampleRate: 48000 });
    expect(infos[0]?.tsAnalysis).toBeUndefined();
    // The black from 5 s of the encoder's cycle (the stream is joined from its start here).
    await waitFor('black opened', () => edges.some((e) => e.type === 'black' && e.phase === 'open'), 15_000);
    await waitFor('black closed', () => edges.some((e) => e.type === 'black' && e.phase === 'close'), 8000);
    const open = edges.find((e) => e.type === 'black' && e.phase === 'open')!;
    const close = edges.find((e) => e.type === 'black' && e.phase === 'close')!;
    expect(close.mediaTime - open.mediaTime).toBeGreaterThan(2.5);
    expect(close.mediaTime - open.mediaTime).toBeLessThan(3.5);

    // The encoder goes away; the source listens again, and a new encoder's push is decoded.
    await sims.shift()!.stop();
    await waitFor('connection dropped', () => source!.status().state !== 'live', 10_000);
    const before = video;
    sims.push(await publisher(kind, url));
    await waitFor('pictures of the second push', () => video > before + 50, 20_000);
    // The gap was a signal loss; it closes after signalRecovery (2 s) of media flowing again.
    await waitFor('live again', () => source!.status().state === 'live', 10_000);
    expect(infos.length).toBeGreaterThanOrEqual(2);
    expect(lastMedia).toBeGreaterThan(0);
    await source.stop();
    source = undefined;
    await running;
  }, 90_000);

  it('a source waiting for its first push stops promptly', async () => {
    const push = PUSH[kind];
    const waiting = new StreamSource(
      { id: 'idle', url: push.url(await freeTcpPort()), live: true, inputOptions: push.inputOptions },
      { video: () => {}, audio: () => {}, edge: () => {}, discontinuity: () => {} },
    );
    const running = waiting.run().catch(() => {});
    await sleep(1000);
    const t = Date.now();
    await waiting.stop();
    await running;
    // FFmpeg's open cannot be interrupted while it waits for a connection: each open waits at most
    // LISTEN_WAIT (2 s) and then listens again, so a stop takes at most about that long. (Without
    // that bound the RTMP wait never ended and the RTSP open failed at once, FFmpeg 8 refusing its
    // own default listen_timeout of -1.)
    expect(Date.now() - t).toBeLessThan(LISTEN_WAIT * 1000 + 1500);
  }, 20_000);
});
