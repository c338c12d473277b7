/**
 * The operator's cockpit end to end, with real parts only: the simulator encodes and serves a
 * live MPEG-TS stream over UDP with a scripted black, the monitor (buildApp with a SQLite
 * store, worker processes, the HTTP API) watches it, and a real HTTP receiver collects webhooks.
 *
 * - A silence in force when the black opens: the incident is recorded and served, marked
 *   silenced, and not notified; when the silence ends while it is still open, it is notified.
 * - Acknowledge through the API: persisted, served, sent to the webhook.
 * - The evidence clip: downloadable from the API, opened by node-av (MPEG-TS, video starting on
 *   a keyframe), spanning the onset.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/shared/polyfill.ts';
import { Demuxer } from 'node-av/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type VigilApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const BLACK_AT = 7;
const BLACK_FOR = 8;
/** The silence ends this long after the simulation starts: after the black opens, before it ends. */
const SILENCE_UNTIL = 11.5;

const scenario = parseScenario({
  seed: 5,
  streams: [
    {
      id: 'cockpit',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 320, height: 180, fps: 25, bitrateKbps: 400 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: 60,
      schedule: [{ at: BLACK_AT, type: 'black', duration: BLACK_FOR }],
    },
    {
      // Silenced for the whole test by a config-file rule on its tag.
      id: 'cockpit-quiet',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 160, height: 90, fps: 25, bitrateKbps: 150 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 880 },
      cycle: 60,
      schedule: [{ at: 6, type: 'black', duration: 3 }],
    },
  ],
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('cockpit end to end: silence, acknowledge, evidence clip', () => {
  let sim: SimulationHandle;
  let app: VigilApp;
  let store: Store;
  let server: RunningServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cockpit-'));
  let simStart = 0;

  beforeAll(async () => {
    receiver = await startReceiver();
    simStart = Date.now();
    sim = await startSimulation(scenario);
    const config = parseConfig({
      notify: { console: false, webhooks: [{ url: receiver.url }], silences: [{ tag: 'quiet', duration: 600, comment: 'config' }] },
      incidents: { flapWindow: 1 },
      streams: sim.streams.map((s) => ({ id: s.id, url: s.url, tags: s.id === 'cockpit-quiet' ? ['quiet'] : ['e2e'] })),
    });
    store = openStore(join(dir, 'vigil.db'));
    app = buildApp(config, { workers: 1, store });
    await app.start();
    server = await startServer(app, { port: 0, token: 'tok' });
  }, 30_000);

  afterAll(async () => {
    await server?.close();
    await app?.stop();
    await sim?.stop();
    await receiver?.close();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  const api = async (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${server.url}${path}`, init);
  const post = (path: string, body: unknown): Promise<Response> =>
    api(path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer tok' }, body: JSON.stringify(body) });

  it('silenced while the rule is in force, notified when it ends, acknowledged, with a clip around the onset', async () => {
    // A silence for this stream and type, ending between the black's open and its end.
    const res = await post('/api/silences', {
      stream: 'cockpit',
      type: 'black',
      endsAt: new Date(simStart + SILENCE_UNTIL * 1000).toISOString(),
      comment: 'e2e',
    });
    expect(res.status).toBe(201);
    const silence = (await res.json()) as { id: string; state: string };
    expect(silence.state).toBe('active');

    // The black opens inside the silence: recorded and served, marked silenced, not notified.
    const opened = await until(
      'the black to open',
      () => app.openIncidents('cockpit').find((i) => i.type === 'black'),
      (BLACK_AT + 8) * 1000,
    );
    const id = opened.id;
    const served = (await (await api(`/api/incidents/${id}`)).json()) as Incident & { silenced: boolean; silencedBy: string[] };
    if (Date.now() < simStart + SILENCE_UNTIL * 1000 - 500) {
      expect(served.silenced).toBe(true);
      expect(served.silencedBy).toEqual([silence.id]);
      expect(receiver.events.filter((e) => e.incident.id === id)).toEqual([]);
      expect(store.getIncident(id)).toMatchObject({ id, silenced: true });
    }

    // The silence expires while the black is still open: it is notified then, once.
    const notified = await until(
      'the open notification after the silence',
      () => receiver.events.find((e) => e.incident.id === id && e.event === 'incident.opened'),
      (SILENCE_UNTIL + 6) * 1000,
    );
    expect(notified.receivedAt).toBeGreaterThanOrEqual(simStart + SILENCE_UNTIL * 1000);
    expect((notified.incident as Incident & { silenced: boolean }).silenced).toBe(false);
    // It was held back by that rule (kept on the incident for the record).
    expect((notified.incident as Incident & { silencedBy?: string[] }).silencedBy).toEqual([silence.id]);
    expect(receiver.events.filter((e) => e.incident.id === id && e.event === 'incident.opened')).toHaveLength(1);

    // Acknowledge through the API.
    const bad = await post(`/api/incidents/${id}/ack`, { note: 'x' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { details: string[] } }).error.details.join()).toMatch(/body\.by/);
    const ack = await post(`/api/incidents/${id}/ack`, { by: 'ann', note: 'on it' });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as { acknowledged: { by: string } }).acknowledged.by).toBe('ann');
    expect((await post(`/api/incidents/${id}/ack`, { by: 'bob' })).status).toBe(409);
    await until('the ack webhook', () => receiver.events.find((e) => e.incident.id === id && (e.event as string) === 'incident.acknowledged'), 5000);
    expect(store.getIncident(id)).toMatchObject({ acknowledged: { by: 'ann', note: 'on it' } });

    // The evidence clip: cut onset + 5 s, served as MPEG-TS, opened by node-av.
    let clip: Response | undefined;
    const t0 = Date.now();
    while (Date.now() - t0 < 15_000) {
      const r = await api(`/api/incidents/${id}/clip`);
      if (r.status === 200) {
        clip = r;
        break;
      }
      await sleep(250);
    }
    expect(clip, 'clip served').toBeDefined();
    expect(clip!.headers.get('content-type')).toBe('video/mp2t');
    const start = Number(clip!.headers.get('x-vigil-clip-start'));
    const duration = Number(clip!.headers.get('x-vigil-clip-duration'));
    const incident = (await (await api(`/api/incidents/${id}`)).json()) as Incident & { clipUrl: string };
    expect(incident.clipUrl).toBe(`/api/incidents/${id}/clip`);
    // It spans the onset, with pre-roll and post-roll (5 s each; the start snaps to a keyframe).
    expect(start).toBeLessThanOrEqual(incident.start - 2);
    expect(start + duration).toBeGreaterThanOrEqual(incident.start + 4);
    expect(duration).toBeLessThan(20);

    if (process.env.VIGIL_TEST_VERBOSE) console.log({ onset: incident.start, clipStart: start, duration, silencedCheckedLive: served.silenced });
    const file = join(dir, 'clip.ts');
    writeFileSync(file, Buffer.from(await clip!.arrayBuffer()));
    const demuxer = await Demuxer.open(file);
    try {
      expect(demuxer.formatName).toMatch(/mpegts/);
      const video = demuxer.video();
      expect(video, 'clip has video').toBeDefined();
      expect(demuxer.audio(), 'clip has audio').toBeDefined();
      const tb = video!.timeBase;
      let first: { pts: number; key: boolean } | undefined;
      let last = 0;
      let frames = 0;
      for await (const pkt of demuxer.packets()) {
        if (!pkt) break;
        if (pkt.streamIndex === video!.index) {
          const pts = (Number(pkt.pts) * tb.num) / tb.den;
          first ??= { pts, key: pkt.isKeyframe };
          last = Math.max(last, pts);
          frames++;
        }
        pkt.free();
      }
      expect(first?.key, 'video starts on a keyframe').toBe(true);
      // The original packets, not re-encoded: the media span matches what the API says (25 fps).
      expect(last - first!.pts).toBeGreaterThan(duration - 1);
      expect(frames).toBeGreaterThan(duration * 25 * 0.8);
    } finally {
      await demuxer.close();
    }
  }, 60_000);
  it('an incident that opens and closes inside a config-file silence is recorded, marked silenced, never notified', async () => {
    const closed = await until(
      'the quiet black to close',
      () => store.listIncidents({ stream: 'cockpit-quiet', state: 'closed' }).items.find((i) => i.type === 'black'),
      20_000,
    );
    expect(closed).toMatchObject({ silenced: true, silencedBy: ['config-1'] });
    // Give a late notification the chance to show up: there must be none, open or close.
    await sleep(1000);
    expect(receiver.events.filter((e) => e.incident.streamId === 'cockpit-quiet')).toEqual([]);
    const served = (await (await api(`/api/incidents?stream=cockpit-quiet`)).json()) as { items: { id: string; silenced: boolean }[] };
    expect(served.items.find((i) => i.id === closed.id)?.silenced).toBe(true);
    // The config rule is listed, read-only.
    const rules = (await (await api('/api/silences')).json()) as { id: string; source: string }[];
    expect(rules.find((r) => r.id === 'config-1')).toMatchObject({ source: 'config' });
    expect((await api('/api/silences/config-1', { method: 'DELETE', headers: { authorization: 'Bearer tok' } })).status).toBe(409);
    const metrics = await (await api('/metrics')).text();
    expect(metrics).toMatch(/^vigil_incidents_silenced_total [1-9]/m);
  }, 30_000);
});

