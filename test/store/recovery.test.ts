/**
 * Restart recovery in process (buildApp with a store): incidents that were open when the
 * previous process died stay open under their id when the restarted detectors see the defect
 * again, close with closedBy 'restart' when they do not within the grace period, and close at
 * once when their stream is no longer monitored. Streams added through the API come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type VigilApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { openStore, type Store } from '../../src/store/index.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const scenario = parseScenario({
  seed: 3,
  streams: [
    {
      id: 'rec',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 320, height: 180, fps: 25, bitrateKbps: 400 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: 120,
      schedule: [{ at: 0, type: 'black', duration: 100 }],
    },
  ],
});

const past = (id: string, over: Partial<Incident>): Incident => ({
  id,
  streamId: 'rec',
  streamName: 'rec',
  tags: [],
  type: 'black',
  severity: 'critical',
  state: 'open',
  start: 42,
  openedAt: new Date(Date.now() - 60_000).toISOString(),
  occurrences: 1,
  measurements: { meanLuma: 16 },
  thumbnailUrl: `/api/incidents/${id}/thumbnail`,
  ...over,
});

describe('restart recovery with a store', () => {
  let sim: SimulationHandle;
  let store: Store;
  let app: VigilApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const GRACE = 8000;

  beforeAll(async () => {
    receiver = await startReceiver();
    sim = await startSimulation(scenario);
    store = openStore(':memory:');
    // What a previous process left behind.
    store.saveIncident(past('still-black', {}));
    store.saveIncident(past('gone-freeze', { type: 'freeze', severity: 'major' }));
    store.saveIncident(past('removed-stream', { streamId: 'old' }));
    store.saveIncident(past('done', { state: 'closed', end: 50, closedAt: new Date().toISOString() }));
    store.upsertStream(parseConfig({ streams: [{ id: 'api-added', url: 'udp://127.0.0.1:9' }] }).streams[0]!, 'api');
    store.upsertStream(parseConfig({ streams: [{ id: 'stale-config', url: 'udp://127.0.0.1:9' }] }).streams[0]!, 'config');
    const config = parseConfig({
      logLevel: 'error',
      notify: { console: false, webhooks: [{ url: receiver.url }] },
      streams: sim.streams.map((s) => ({ id: s.id, url: s.url })),
    });
    app = buildApp(config, { workers: 1, store, restartGraceMs: GRACE });
    await app.start();
  }, 30_000);

  afterAll(async () => {
    await app?.stop();
    store?.close();
    await sim?.stop();
    await receiver?.close();
  }, 20_000);

  it('monitors config streams and API-added ones; forgets config rows no longer in the file', () => {
    expect(app.streams().map((s) => s.id).sort()).toEqual(['api-added', 'rec']);
    expect(store.listStreams().map((s) => [s.id, s.source])).toEqual([
      ['api-added', 'api'],
      ['rec', 'config'],
    ]);
  });

  it('closes at once an incident whose stream is gone; keeps the others open meanwhile', () => {
    expect(store.getIncident('removed-stream')).toMatchObject({ state: 'closed', measurements: { closedBy: 'restart' } });
    expect(app.openIncidents('rec').map((i) => i.id).sort()).toEqual(['gone-freeze', 'still-black']);
  });

  it('after the grace period: the confirmed one is still open under its id and onset; the other closed by restart', async () => {
    await new Promise((r) => setTimeout(r, GRACE + 1500));
    const black = store.getIncident('still-black')!;
    expect(black).toMatchObject({ state: 'open', start: 42 });
    // Its persisted onset, not the restarted detector's.
    expect(Date.now() - Date.parse(black.openedAt)).toBeGreaterThan(60_000);
    const freeze = store.getIncident('gone-freeze')!;
    expect(freeze).toMatchObject({ state: 'closed', measurements: { closedBy: 'restart' } });
    expect(freeze.end! - freeze.start).toBeGreaterThan(60);
    expect(app.openIncidents('rec').map((i) => i.id)).toEqual(['still-black']);
    expect(app.incidents().filter((i) => i.streamId === 'rec' && i.type === 'black' && i.state === 'open').map((i) => i.id)).toEqual(['still-black']);
    // Notified: the two closes; no second "opened" for the re-confirmed incident.
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.events.map((e) => `${e.event} ${e.incident.id}`).sort()).toEqual(['incident.closed gone-freeze', 'incident.closed removed-stream']);
  }, 20_000);

  it('removing an API stream through the app deletes it from the store', () => {
    app.removeStream('api-added');
    expect(store.listStreams().map((s) => s.id)).toEqual(['rec']);
    app.addStream(parseConfig({ streams: [{ id: 'api-2', url: 'udp://127.0.0.1:10' }] }).streams[0]!);
    expect(store.listStreams().map((s) => [s.id, s.source])).toEqual([
      ['rec', 'config'],
      ['api-2', 'api'],
    ]);
  });
});
