import { afterEach, describe, expect, it } from 'vitest';
import { Notifier, createWebhookSink, outboxKey, type OutboxStore, type Sink } from '../../src/notify/index.ts';
import type { IncidentEvent } from '../../src/shared/index.ts';
import { Receiver, captureLogger, freePort, makeEvent, waitFor } from './helpers.ts';

/** An OutboxStore in memory, with the SQLite one's semantics (ids increase, (sink, key) unique). */
class MemoryOutbox implements OutboxStore {
  readonly rows: {
    id: number;
    sink: string;
    key: string;
    event: IncidentEvent;
    state: 'pending' | 'delivered' | 'dropped';
    reason?: string;
  }[] = [];
  private nextId = 1;

  enqueue(sink: string, key: string, event: IncidentEvent): number {
    const found = this.rows.find((r) => r.sink === sink && r.key === key);
    if (found) return found.id;
    const id = this.nextId++;
    // A copy, as a database would keep.
    this.rows.push({ id, sink, key, event: JSON.parse(JSON.stringify(event)) as IncidentEvent, state: 'pending' });
    return id;
  }
  delivered(id: number): void {
    const r = this.rows.find((x) => x.id === id);
    if (r?.state === 'pending') r.state = 'delivered';
  }
  dropped(id: number, reason: string): void {
    const r = this.rows.find((x) => x.id === id);
    if (r?.state === 'pending') Object.assign(r, { state: 'dropped', reason });
  }
  pending(sink: string): { id: number; event: IncidentEvent }[] {
    return this.rows.filter((r) => r.sink === sink && r.state === 'pending').map((r) => ({ id: r.id, event: r.event }));
  }
}

/**
 * A process that dies: after crash(), its sink never answers again and its outbox writes are
 * lost (what a kill -9 leaves behind), while the shared outbox keeps what was written before.
 */
function crashable(sink: Sink, outbox: OutboxStore): { sink: Sink; outbox: OutboxStore; crash: () => void } {
  let dead = false;
  const never = new Promise<never>(() => undefined);
  return {
    crash: () => {
      dead = true;
    },
    sink: {
      name: sink.name,
      async deliver(event, attempt, signal) {
        if (dead) return never;
        try {
          await sink.deliver(event, attempt, signal);
        } catch (err) {
          if (dead) return never;
          throw err;
        }
        if (dead) return never;
      },
    },
    outbox: {
      enqueue: (s, k, e) => outbox.enqueue(s, k, e),
      delivered: (id) => {
        if (!dead) outbox.delivered(id);
      },
      dropped: (id, reason) => {
        if (!dead) outbox.dropped(id, reason);
      },
      pending: (s) => outbox.pending(s),
    },
  };
}

const retry = { baseMs: 20, capMs: 200, maxAttempts: 100 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function notifier(sinks: Sink[], outbox: OutboxStore): Notifier {
  const n = new Notifier({ sinks, outbox, retry, logger: captureLogger().logger });
  cleanups.push(() => n.stop({ drainMs: 0 }));
  return n;
}

async function receiverOn(port: number): Promise<Receiver> {
  const r = await new Receiver().start(port);
  cleanups.push(() => r.close());
  return r;
}

/** Opened then closed, for `n` incidents, interleaved across incidents. */
function incidentEvents(n: number): IncidentEvent[] {
  const opened = Array.from({ length: n }, () => makeEvent('incident.opened'));
  const closed = opened.map((o) => makeEvent('incident.closed', { id: o.incident.id }));
  const out: IncidentEvent[] = [];
  for (let i = 0; i < n; i++) {
    out.push(opened[i]!);
    if (i > 0) out.push(closed[i - 1]!);
  }
  out.push(closed[n - 1]!);
  return out;
}

function keysOf(r: Receiver): string[] {
  return r.requests.map((q) => String(q.headers['idempotency-key']));
}

/** Every key exactly once, in publish order (so opened before closed for each incident). */
function expectExactlyOnceInOrder(r: Receiver, events: IncidentEvent[]): void {
  const keys = keysOf(r);
  expect(keys).toEqual(events.map(outboxKey));
  expect(new Set(keys).size).toBe(keys.length);
  for (const q of r.requests) {
    const body = q.body as { event: string; incident: { id: string } };
    expect(`${body.incident.id}:${body.event}`).toBe(q.headers['idempotency-key']);
  }
}

describe('durable outbox', () => {
  it('a receiver that refuses connections for a while, then comes back, gets every event once, in order', async () => {
    const port = await freePort();
    const outbox = new MemoryOutbox();
    const n = notifier([createWebhookSink({ url: `http://127.0.0.1:${port}/hook`, name: 'hook' })], outbox);
    const events = incidentEvents(4);
    for (const ev of events) n.publish(ev);
    // Published again while still pending: same idempotency key, not queued twice.
    n.publish(events[0]!);
    n.publish(events[3]!);
    expect(outbox.rows).toHaveLength(events.length);
    expect(outbox.pending('hook').map((r) => outboxKey(r.event))).toEqual(events.map(outboxKey));

    await waitFor(() => (n.stats().hook?.retries ?? 0) >= 3, 5000, 'failed attempts while the receiver is down');
    expect(n.stats().hook?.delivered).toBe(0);
    const r = await receiverOn(port);
    await waitFor(() => n.stats().hook?.delivered === events.length, 8000, 'every event delivered');
    await new Promise((res) => setTimeout(res, 100)); // nothing more arrives

    expectExactlyOnceInOrder(r, events);
    expect(outbox.rows.every((row) => row.state === 'delivered')).toBe(true);
    expect(n.stats().hook).toMatchObject({ queued: 0, delivered: events.length, failed: 0 });

    // Published again after delivery: the outbox knows the key; nothing is sent again.
    n.publish(events[1]!);
    await new Promise((res) => setTimeout(res, 100));
    expect(r.requests).toHaveLength(events.length);
  });

  it('after a crash, a new Notifier over the same outbox delivers what was pending, first, and nothing twice', async () => {
    const port = await freePort();
    const outbox = new MemoryOutbox();
    const url = `http://127.0.0.1:${port}/hook`;

    // Process 1: receiver down; events are accepted (durably) but none can be delivered.
    const p1 = crashable(createWebhookSink({ url, name: 'hook' }), outbox);
    const first = new Notifier({ sinks: [p1.sink], outbox: p1.outbox, retry, logger: captureLogger().logger });
    const before = incidentEvents(3);
    for (const ev of before) first.publish(ev);
    await waitFor(() => (first.stats().hook?.retries ?? 0) >= 2, 5000, 'failed attempts in the first process');
    p1.crash(); // kill -9: no stop(), no drain
    expect(outbox.pending('hook')).toHaveLength(before.length);

    // Process 2: the receiver is back.
    const r = await receiverOn(port);
    const second = notifier([createWebhookSink({ url, name: 'hook' })], outbox);
    const after = [makeEvent('incident.opened')];
    second.publish(after[0]!);
    second.publish(before[1]!); // the same key as a pending one: not sent twice
    const all = [...before, ...after];
    await waitFor(() => second.stats().hook?.delivered === all.length, 8000, 'pending and new events delivered');
    await new Promise((res) => setTimeout(res, 150));

    expectExactlyOnceInOrder(r, all);
    expect(outbox.pending('hook')).toEqual([]);
    expect(outbox.rows.map((row) => row.state)).toEqual(all.map(() => 'delivered'));
    expect(first.stats().hook?.delivered).toBe(0);
  });

  it('marks an event dropped after a permanent failure or exhausted attempts, and moves on', async () => {
    const r = await receiverOn(0);
    r.setResponder((req) => {
      const key = String(req.headers['idempotency-key']);
      if (key === bad400) return 400;
      if (key === bad500) return 500;
      return 200;
    });
    const [a, b, c] = [makeEvent(), makeEvent(), makeEvent()];
    const bad400 = outboxKey(a);
    const bad500 = outboxKey(b);
    const outbox = new MemoryOutbox();
    const n = new Notifier({
      sinks: [createWebhookSink({ url: r.url, name: 'hook' })],
      outbox,
      retry: { baseMs: 5, capMs: 20, maxAttempts: 3 },
      logger: captureLogger().logger,
    });
    cleanups.push(() => n.stop({ drainMs: 0 }));
    for (const ev of [a, b, c]) n.publish(ev);
    await waitFor(
      () => n.stats().hook?.delivered === 1 && n.stats().hook?.queued === 0,
      5000,
      'the good one delivered',
    );
    expect(outbox.rows.map((row) => row.state)).toEqual(['dropped', 'dropped', 'delivered']);
    expect(outbox.rows[0]!.reason).toMatch(/permanent/);
    expect(outbox.rows[1]!.reason).toMatch(/attempts exhausted/);
  });

  it('stop() before the drain leaves the events pending for the next start (not counted failed)', async () => {
    const port = await freePort();
    const outbox = new MemoryOutbox();
    const url = `http://127.0.0.1:${port}/hook`;
    const first = new Notifier({
      sinks: [createWebhookSink({ url, name: 'hook' })],
      outbox,
      retry,
      logger: captureLogger().logger,
    });
    const events = incidentEvents(2);
    for (const ev of events) first.publish(ev);
    await first.stop({ drainMs: 50 });
    expect(first.stats().hook).toMatchObject({ queued: 0, delivered: 0, failed: 0 });
    expect(outbox.pending('hook').map((p) => outboxKey(p.event))).toEqual(events.map(outboxKey));

    const r = await receiverOn(port);
    const second = notifier([createWebhookSink({ url, name: 'hook' })], outbox);
    await waitFor(() => second.stats().hook?.delivered === events.length, 5000, 'resumed');
    expectExactlyOnceInOrder(r, events);
  });

  it('keeps each sink to its own rows and delivers from memory when the store fails', async () => {
    const r = await receiverOn(0);
    const outbox = new MemoryOutbox();
    const broken: OutboxStore = {
      enqueue: () => {
        throw new Error('disk full');
      },
      delivered: () => undefined,
      dropped: () => undefined,
      pending: () => [],
    };
    const ev = makeEvent();
    const n1 = notifier(
      [createWebhookSink({ url: r.url, name: 'a' }), createWebhookSink({ url: r.url, name: 'b' })],
      outbox,
    );
    n1.publish(ev);
    await waitFor(() => n1.stats().a?.delivered === 1 && n1.stats().b?.delivered === 1);
    expect(outbox.rows.map((row) => [row.sink, row.key, row.state])).toEqual([
      ['a', outboxKey(ev), 'delivered'],
      ['b', outboxKey(ev), 'delivered'],
    ]);
    const n2 = notifier([createWebhookSink({ url: r.url, name: 'c' })], broken);
    n2.publish(ev);
    await waitFor(() => n2.stats().c?.delivered === 1);
  });
});
