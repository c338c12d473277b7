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
import { StreamSource } from '../../src/ingest/index.ts';
import { LISTEN_WAIT, openOptions } from '../../src/ingest/protocol-options.ts';
import type { SimulationHandle } from '../../src/simulate/index.ts';
import { blackLength, publisher, watchBlack } from './publish-harness.ts';
import { freeTcpPort, sleep, waitFor } from './source-harness.ts';

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
  rtsp: {
    url: (port: number) => `rtsp://127.0.0.1:${port}/live/cam`,
    inputOptions: { rtsp_flags: 'listen' },
    format: /rtsp/,
  },
} as const;

describe.each(['rtmp', 'rtsp'] as const)('%s push into a listening source', (kind) => {
  const sims: SimulationHandle[] = [];
  let source: StreamSource | undefined;
  afterAll(async () => {
    await source?.stop();
    for (const s of sims) await s.stop();
  }, 20_000);

  it('decodes the pushed stream, detects a black in it, and takes the next push after the encoder goes', async () => {
    const push = PUSH[kind];
    const url = push.url(await freeTcpPort());
    const w = watchBlack({
      id: 'cam',
      url,
      live: true,
      inputOptions: push.inputOptions,
      reconnectDelay: { initial: 0.2, max: 0.5 },
    });
    source = w.source;
    await sleep(300); // listening before the encoder connects (it would retry every second anyway)
    sims.push(await publisher(kind, url));
    await waitFor('pictures', () => w.count.video > 50, 20_000);
    expect(w.count.audio).toBeGreaterThan(50);
    expect(w.infos[0]?.format).toMatch(push.format);
    expect(w.infos[0]?.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(w.infos[0]?.audio).toMatchObject({ codec: 'aac', sampleRate: 48000 });
    expect(w.infos[0]?.tsAnalysis).toBeUndefined();
    // The black from 5 s of the encoder's cycle (the stream is joined from its start here).
    await waitFor('black opened', () => w.edges.some((e) => e.type === 'black' && e.phase === 'open'), 15_000);
    await waitFor('black closed', () => w.edges.some((e) => e.type === 'black' && e.phase === 'close'), 8000);
    expect(blackLength(w.edges)).toBeGreaterThan(2.5);
    expect(blackLength(w.edges)).toBeLessThan(3.5);

    // The encoder goes away; the source listens again, and a new encoder's push is decoded.
    await sims.shift()!.stop();
    await waitFor('connection dropped', () => w.source.status().state !== 'live', 10_000);
    const before = w.count.video;
    sims.push(await publisher(kind, url));
    await waitFor('pictures of the second push', () => w.count.video > before + 50, 20_000);
    // The gap was a signal loss; it closes after signalRecovery (2 s) of media flowing again.
    await waitFor('live again', () => w.source.status().state === 'live', 10_000);
    expect(w.infos.length).toBeGreaterThanOrEqual(2);
    await w.source.stop();
    source = undefined;
    await w.running;
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
