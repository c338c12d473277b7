/**
 * Crash isolation with real parts over loopback (docs/adr/0001-worker-processes.md): the
 * simulator serves live MPEG-TS over UDP, buildApp runs them on two real worker processes,
 * a real HTTP receiver collects webhooks. One worker is killed with SIGSEGV (what a native
 * crash inside FFmpeg looks like to the supervisor); the other worker's streams must not
 * notice, and the dead worker's streams must be back within seconds on a replacement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type AppEvents, type VigilApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const streamDef = (id: string, toneHz: number) => ({
  id,
  output: { type: 'udp' as const, port: 0 },
  content: { source: 'testsrc2' },
  clock: false,
  video: { width: 320, height: 180, fps: 25, bitrateKbps: 200 },
  audio: { sampleRate: 48000 as const, channels: 1, toneHz, bitrateKbps: 32 },
  cycle: 20,
  schedule: [],
});

// s1..s3 for the isolation test, s4 for the crash-loop test (a UDP port has one listener).
const scenario = parseScenario({
  seed: 3,
  streams: [streamDef('s1', 440), streamDef('s2', 550), streamDef('s3', 660), streamDef('s4', 770)],
});

type StatusEvent = AppEvents['status'] & { at: number };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('worker crash isolation', () => {
  let sim: SimulationHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const apps: VigilApp[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    sim = await startSimulation(scenario);
  }, 60_000);

  afterAll(async () => {
    for (const a of apps) await a.stop().catch(() => {});
    await sim?.stop();
    await receiver?.close();
  }, 30_000);

  function makeApp(ids: string[]): { app: VigilApp; statuses: StatusEvent[] } {
    const config = parseConfig({
      notify: { console: false, webhooks: [{ url: receiver.url }] },
      streams: sim.streams.filter((s) => ids.includes(s.id)).map((s) => ({ id: s.id, url: s.url })),
    });
    const app = buildApp(config, { workers: 2 });
    apps.push(app);
    const statuses: StatusEvent[] = [];
    app.events.on('status', (e) => statuses.push({ ...e, at: Date.now() }));
    return { app, statuses };
  }

  it('a SIGSEGV in one worker leaves the other worker\'s streams untouched and the dead one is replaced within 5 s', async () => {
    const ids = ['s1', 's2', 's3'];
    const { app, statuses } = makeApp(ids);
    await app.start();
    await waitFor('every stream live', () => {
      const s = app.streams();
      return s.length === 3 && s.every((x) => x.status?.state === 'live');
    }, 20_000);
    // Let every stream run a little so media time is well under way.
    await sleep(2000);

    const before = app.placement();
    const victim = before.find((p) => p.streams.length > 0 && p.pid !== undefined)!;
    const survivor = before.find((p) => p.slot !== victim.slot)!;
    expect(victim.pid).toBeDefined();
    expect(survivor.pid).toBeDefined();
    expect(survivor.streams.length).toBeGreaterThan(0);
    const allPids = new Set<number>([victim.pid!, survivor.pid!]);

    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGSEGV');

    // (b) replaced: a new pid in the same slot.
    await waitFor('a replacement worker', () => {
      const p = app.placement().find((x) => x.slot === victim.slot)!;
      return p.pid !== undefined && p.pid !== victim.pid;
    }, 5000);
    const replacement = app.placement().find((x) => x.slot === victim.slot)!;
    allPids.add(replacement.pid!);
    expect(replacement.streams.sort()).toEqual([...victim.streams].sort());
    expect(alive(victim.pid!)).toBe(false);

    // (b) the dead worker's streams report 'live' from the new worker within 5 s of the kill.
    // Status events after the kill come only from the replacement (the dead one sends nothing),
    // so app.streams() alone would not do: it still holds the dead worker's last status.
    const liveAgainAt = new Map<string, number>();
    await waitFor('the dead worker\'s streams live again', () => {
      for (const id of victim.streams) {
        const e = statuses.find((s) => s.id === id && s.at > killedAt && s.status.state === 'live');
        if (e && !liveAgainAt.has(id)) liveAgainAt.set(id, e.at);
      }
      return liveAgainAt.size === victim.streams.length;
    }, 5000);
    for (const at of liveAgainAt.values()) expect(at - killedAt).toBeLessThanOrEqual(5000);

    // Watch everything for a few more seconds.
    await sleep(4000);
    const windowEnd = Date.now();

    // (a) surviving streams: never left 'live', and their status kept advancing every second.
    for (const id of survivor.streams) {
      const evs = statuses.filter((s) => s.id === id && s.at >= killedAt - 1000 && s.at <= windowEnd);
      expect(evs.length, `${id} status events`).toBeGreaterThanOrEqual(5);
      expect(evs.filter((e) => e.status.state !== 'live').map((e) => e.status.state), `${id} states`).toEqual([]);
      for (let i = 1; i < evs.length; i++) {
        expect(evs[i]!.at - evs[i - 1]!.at, `${id} status gap`).toBeLessThan(1600);
        expect(evs[i]!.status.mediaTime, `${id} media time advances`).toBeGreaterThan(evs[i - 1]!.status.mediaTime);
      }
      expect(app.streams().find((s) => s.id === id)!.status!.state).toBe('live');
    }

    // (b) restarted streams: their media time advances on the replacement.
    for (const id of victim.streams) {
      const evs = statuses.filter((s) => s.id === id && s.at >= liveAgainAt.get(id)!);
      expect(evs.length, `${id} status events after restart`).toBeGreaterThanOrEqual(3);
      expect(evs.every((e) => e.status.state === 'live'), `${id} live after restart`).toBe(true);
      for (let i = 1; i < evs.length; i++) expect(evs[i]!.status.mediaTime).toBeGreaterThan(evs[i - 1]!.status.mediaTime);
    }

    // (c) no incident for the surviving worker's streams, neither in the tracker nor as a webhook.
    for (const id of survivor.streams) expect(app.openIncidents(id)).toEqual([]);
    expect(receiver.events.filter((e) => survivor.streams.includes(e.incident.streamId)).map((e) => `${e.event} ${e.incident.streamId} ${e.incident.type}`)).toEqual([]);

    // (d) stop resolves and leaves no worker process behind.
    await app.stop();
    for (const pid of allPids) expect(alive(pid), `worker ${pid} still alive`).toBe(false);
    for (const p of app.placement()) if (p.pid !== undefined) expect(alive(p.pid)).toBe(false);
  }, 60_000);

  it('a worker killed repeatedly is restarted each time (crash-loop back-off still restarts)', async () => {
    const { app, statuses } = makeApp(['s4']);
    await app.start();
    await waitFor('s4 live', () => app.streams()[0]?.status?.state === 'live', 20_000);
    const pids = new Set<number>();
    // Back-off after 100 ms, 500 ms, 1 s: three kills stay short.
    for (let round = 0; round < 3; round++) {
      const slot = app.placement().find((p) => p.streams.includes('s4'))!;
      expect(slot.pid, `round ${round}: a worker runs s4`).toBeDefined();
      pids.add(slot.pid!);
      const killedAt = Date.now();
      process.kill(slot.pid!, 'SIGSEGV');
      await waitFor(`round ${round}: replacement`, () => {
        const p = app.placement().find((x) => x.slot === slot.slot)!;
        return p.pid !== undefined && p.pid !== slot.pid;
      }, 5000);
      await waitFor(`round ${round}: s4 live again`, () => statuses.some((s) => s.id === 's4' && s.at > killedAt && s.status.state === 'live'), 8000);
      expect(alive(slot.pid!)).toBe(false);
    }
    const last = app.placement().find((p) => p.streams.includes('s4'))!;
    pids.add(last.pid!);
    expect(pids.size).toBe(4);
    await app.stop();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);
});
