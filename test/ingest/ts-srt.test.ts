/**
 * MPEG-TS over SRT: the simulator's `srt` output listens on loopback (FFmpeg's srt protocol in
 * listener mode) and ingest calls it. SRT is read through the TR 101 290 analyzer like UDP:
 * a clean stretch gives no finding, the simulator's `tables` window (PAT and PMT not sent) gives
 * a PAT finding about 0.5 s in; the same input with `tsAnalysis: false` is read by probing and
 * decodes all the same. Which SRT URLs are tapped (caller mode only) is checked on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocolOptions } from '../../src/ingest/protocol-options.ts';
import { tapUrl } from '../../src/ingest/ts-tap.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { sleep, waitFor, watchSource } from './source-harness.ts';

describe('which inputs are read through the TR 101 290 analyzer', () => {
  it('srt:// in caller mode (the default), with the protocol options in its query; not listener or rendezvous', () => {
    const opts = protocolOptions('srt://10.0.0.9:9000');
    expect(tapUrl('srt://10.0.0.9:9000', opts)).toBe('srt://10.0.0.9:9000?timeout=5000000');
    expect(tapUrl('srt://10.0.0.9:9000?mode=caller&timeout=2000000', opts)).toBe('srt://10.0.0.9:9000?mode=caller&timeout=2000000');
    expect(tapUrl('srt://10.0.0.9:9000?streamid=cam1', opts)).toBe('srt://10.0.0.9:9000?streamid=cam1&timeout=5000000');
    expect(tapUrl('srt://:9000?mode=listener', opts)).toBeUndefined();
    expect(tapUrl('srt://10.0.0.9:9000?mode=rendezvous', opts)).toBeUndefined();
  });

  it('udp:// and MPEG-TS files are tapped; HLS, RTMP, RTSP and other containers are not', () => {
    expect(tapUrl('udp://239.1.1.1:5000', protocolOptions('udp://239.1.1.1:5000'))).toMatch(/^udp:\/\/239\.1\.1\.1:5000\?timeout=/);
    expect(tapUrl('/media/feed.ts', {})).toBe('/media/feed.ts');
    expect(tapUrl('/media/feed.m2ts', {})).toBeUndefined();
    expect(tapUrl('/media/feed.mp4', {})).toBeUndefined();
    expect(tapUrl('http://cdn/live.m3u8', {})).toBeUndefined();
    expect(tapUrl('rtmp://host/live/key', {})).toBeUndefined();
    expect(tapUrl('rtsp://cam/stream', {})).toBeUndefined();
  });
});

describe('TR 101 290 checks on a live SRT input', () => {
  let sim: SimulationHandle;
  const WINDOW = { at: 9, duration: 2.5 };

  beforeAll(async () => {
    sim = await startSimulation(
      parseScenario({
        streams: [
          {
            id: 'srt1',
            output: { type: 'srt', port: 0 },
            clock: false,
            video: { width: 320, height: 180, fps: 25, bitrateKbps: 200 },
            audio: { sampleRate: 48000, channels: 1, bitrateKbps: 32 },
            cycle: 30,
            schedule: [{ at: WINDOW.at, type: 'transport', mode: 'tables', rate: 1, duration: WINDOW.duration }],
          },
        ],
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
  }, 20_000);

  it('reads the bytes: nothing on the clean stretch, a PAT finding once PAT/PMT stop, prompt stop', async () => {
    expect(sim.streams[0]!.url).toMatch(/^srt:\/\/127\.0\.0\.1:\d+$/);
    expect(sim.streams[0]!.output).toBe('srt');
    const w = watchSource({ id: 'srt1', url: sim.streams[0]!.url, live: true, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      expect(w.infos[0]?.tsAnalysis?.videoPid).toBeGreaterThan(0);
      expect(w.infos[0]?.tsAnalysis?.audioPid).toBeGreaterThan(0);
      await waitFor('the tables window in the truth', () => sim.truth().some((e) => e.type === 'transport'), 20_000);
      const videoBefore = w.log.filter((e) => e.kind === 'video').length;
      expect(videoBefore).toBeGreaterThan(25);
      // Nothing until the window: the clean stream is clean over SRT too.
      expect(w.ts).toEqual([]);
      await waitFor('PAT finding', () => w.ts.some((e) => e.check === 'pat'), 5000);
      const pat = w.ts.find((e) => e.check === 'pat')!;
      expect(pat.pid).toBe(0);
      expect(pat.detail).toMatch(/no PAT/);
      // 0.5 s of stream time after the window opened, in media time (the source started at 0).
      const truth = sim.truth().find((e) => e.type === 'transport')!;
      expect(truth.mode).toBe('tables');
      await sleep(WINDOW.duration * 1000 + 1500);
      const checks = new Set(w.ts.map((e) => e.check));
      expect([...checks].sort()).toEqual(['pat', 'pmt']);
      expect(w.source.status().state).toBe('live');
      expect(w.log.filter((e) => e.kind === 'video').length).toBeGreaterThan(videoBefore + 50);
    } finally {
      const t = Date.now();
      await w.source.stop();
      expect(Date.now() - t).toBeLessThan(3000);
    }
  }, 60_000);

  it('with tsAnalysis off the same input is read by probing: frames, no findings', async () => {
    const w = watchSource({ id: 'srt1', url: sim.streams[0]!.url, live: true, tsAnalysis: false, reconnectDelay: { initial: 0.2, max: 1 } });
    try {
      await waitFor('live', () => w.source.status().state === 'live', 20_000);
      await waitFor('frames', () => w.log.filter((e) => e.kind === 'video').length > 25, 10_000);
      expect(w.infos[0]?.tsAnalysis).toBeUndefined();
      expect(w.ts).toEqual([]);
    } finally {
      await w.source.stop();
    }
  }, 60_000);
});
