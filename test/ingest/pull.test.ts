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
import type { StreamSource } from '../../src/ingest/index.ts';
import type { SimulationHandle } from '../../src/simulate/index.ts';
import { blackLength, publisher, watchBlack } from './publish-harness.ts';
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

describe('RTSP pulled from a media server', () => {
  const sims: SimulationHandle[] = [];
  let source: StreamSource | undefined;
  afterAll(async () => {
    await source?.stop();
    for (const s of sims) await s.stop();
  }, 20_000);

  it('decodes the stream, detects a black in it, reports the publisher going as a signal loss and reconnects when it is back', async () => {
    const url = `rtsp://127.0.0.1:${port}/live/cam`;
    sims.push(await publisher('rtsp', url));
    const w = watchBlack({ id: 'cam', url, live: true, signalLossAfter: 2, reconnectDelay: { initial: 0.2, max: 1 } });
    source = w.source;
    await waitFor('pictures', () => w.count.video > 50, 20_000);
    expect(w.count.audio).toBeGreaterThan(50);
    expect(w.infos[0]?.format).toMatch(/rtsp/);
    expect(w.infos[0]?.video).toMatchObject({ codec: 'h264', width: 320, height: 180 });
    expect(w.infos[0]?.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2 });
    await waitFor('black opened', () => w.edges.some((e) => e.type === 'black' && e.phase === 'open'), 15_000);
    await waitFor('black closed', () => w.edges.some((e) => e.type === 'black' && e.phase === 'close'), 8000);
    expect(blackLength(w.edges)).toBeGreaterThan(2.5);
    expect(blackLength(w.edges)).toBeLessThan(3.5);

    // The publisher goes: the relay ends the play, and the source reports a signal loss.
    await sims.shift()!.stop();
    await waitFor('signal loss', () => w.edges.some((e) => e.type === 'signal_loss' && e.phase === 'open'), 10_000);
    // It publishes again: the source reconnects by itself, and the loss closes.
    const before = w.count.video;
    sims.push(await publisher('rtsp', url));
    await waitFor('pictures after the reconnect', () => w.count.video > before + 50, 30_000);
    await waitFor(
      'signal loss closed',
      () => w.edges.some((e) => e.type === 'signal_loss' && e.phase === 'close'),
      10_000,
    );
    expect(w.source.status().reconnects).toBeGreaterThan(0);
    await w.source.stop();
    source = undefined;
    await w.running;
  }, 90_000);
});
