/**
 * Durability with real processes: the monitor (`node bin/vigil.js monitor`) watches a
 * simulated UDP stream that goes black and stays black; as soon as a real webhook receiver
 * gets incident.opened, the monitor is killed with SIGKILL. The incident must already be in
 * the SQLite file, and a restarted monitor on the same config must serve it (same id) and
 * keep it open once its fresh detector sees the black picture again, without a new incident.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { REPO_ROOT } from '../cli/run-vigil.ts';
import { startReceiver } from '../helpers/webhook-receiver.ts';

const BIN = join(REPO_ROOT, 'bin', 'vigil.js');

const scenario = parseScenario({
  seed: 7,
  streams: [
    {
      id: 'k9',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 320, height: 180, fps: 25, bitrateKbps: 400 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: 120,
      // Black from 3 s for long enough to outlive the kill and the restart.
      schedule: [{ at: 3, type: 'black', duration: 100 }],
    },
  ],
});

interface Monitor {
  child: ChildProcess;
  url: Promise<string>;
  stderr: () => string;
  exited: Promise<void>;
}

const spawned: ChildProcess[] = [];
const workerPids = new Set<number>();

function startMonitor(configPath: string): Monitor {
  const env = { ...process.env };
  delete env.PORT;
  const child = spawn(process.execPath, [BIN, 'monitor', '--config', configPath], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.push(child);
  let err = '';
  child.stdout.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /dashboard on (http:\/\/\S+?)\/\s/.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`monitor exited early:\n${err}`)));
  });
  url.catch(() => undefined);
  return { child, url, stderr: () => err, exited };
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('kill -9 right after an incident opens', () => {
  let dir: string;
  let sim: SimulationHandle;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let configPath: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-kill9-'));
    receiver = await startReceiver();
    sim = await startSimulation(scenario);
    configPath = join(dir, 'vigil.yaml');
    // JSON is YAML.
    writeFileSync(
      configPath,
      JSON.stringify({
        workers: 1,
        server: { port: 0 },
        notify: { console: false, webhooks: [{ url: receiver.url }] },
        streams: sim.streams.map((s) => ({ id: s.id, url: s.url })),
      }),
    );
  }, 30_000);

  afterAll(async () => {
    for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await sim?.stop();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('the incident is on disk when the webhook arrives, and the restarted monitor serves and keeps it', async () => {
    const first = startMonitor(configPath);
    await first.url;
    const opened = await until('incident.opened', 30_000, () => receiver.events.find((e) => e.event === 'incident.opened'));
    const workers = childrenOf(first.child.pid!);
    for (const pid of workers) workerPids.add(pid);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(workers.length, 'the monitor had a worker process').toBeGreaterThan(0);
    // Workers exit when their IPC channel to the dead supervisor closes.
    await until('worker processes to exit', 5000, () => (workers.every((p) => !alive(p)) ? true : undefined));

    const inc: Incident = opened.incident;
    expect(inc.type).toBe('black');
    const db = new Database(join(dir, 'vigil.db'), { readonly: true });
    const row = db.prepare('SELECT id, stream_id, type, state, json FROM incidents WHERE id = ?').get(inc.id) as
      | { id: string; stream_id: string; type: string; state: string; json: string }
      | undefined;
    db.close();
    expect(row, 'the incident is in the database').toBeDefined();
    expect(row).toMatchObject({ id: inc.id, stream_id: 'k9', type: 'black', state: 'open' });
    expect(JSON.parse(row!.json)).toEqual(inc);

    const second = startMonitor(configPath);
    const base = await second.url;
    for (const pid of childrenOf(second.child.pid!)) workerPids.add(pid);
    const res = await fetch(`${base}/api/incidents/${inc.id}`);
    expect(res.status).toBe(200);
    const served = (await res.json()) as Incident;
    expect(served).toMatchObject({ id: inc.id, state: 'open', openedAt: inc.openedAt, streamId: 'k9' });

    // The fresh detector sees the black picture again: the same incident stays open, nothing new opens.
    const before = receiver.events.length;
    await new Promise((r) => setTimeout(r, 7000));
    const page = (await (await fetch(`${base}/api/incidents?stream=k9&type=black`)).json()) as { items: Incident[]; total: number };
    expect(page.items.map((i) => [i.id, i.state])).toEqual([[inc.id, 'open']]);
    expect(receiver.events.slice(before).map((e) => `${e.event} ${e.incident.id}`)).toEqual([]);
    const stream = (await (await fetch(`${base}/api/streams/k9`)).json()) as { openIncidents: Incident[] };
    expect(stream.openIncidents.map((i) => [i.id, i.openedAt])).toEqual([[inc.id, inc.openedAt]]);

    second.child.kill('SIGTERM');
    await second.exited;
  }, 55_000);
});
