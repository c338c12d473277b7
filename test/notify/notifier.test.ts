import { afterEach, describe, expect, it } from 'vitest';
import { Notifier, backoffDelay, createConsoleSink, createWebhookSink, type Sink } from '../../src/notify/index.ts';
import type { IncidentEvent } from '../../src/shared/index.ts';
import { Receiver, TextSink, captureLogger, freePort, makeEvent, waitFor } from './helpers.ts';

const fast = { baseMs: 10, capMs: 100 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(...args: ConstructorParameters<typeof Receiver>): Promise<Receiver> {
  const r = await new Receiver(...args).start();
  cleanups.push(() => r.close());
  return r;
}

function notifier(sinks: Sink[], logger = captureLogger().logger): Notifier {
  const n = new Notifier({ sinks, logger, retry: fast });
  cleanups.push(() => n.stop({ drainMs: 0 }));
  return n;
}

describe('webhook delivery', () => {
  it('POSTs the event as JSON with the configured headers and an idempotency key', async () => {
    const r = await receiver();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook', headers: { authorization: 'Bearer t0k' } })]);
    const ev = makeEvent('incident.opened');
    n.publish(ev);
    await waitFor(() => n.stats().hook?.delivered === 1);

    expect(r.requests).toHaveLength(1);
    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers.authorization).toBe('Bearer t0k');
    expect(req.headers['idempotency-key']).toBe(`${ev.incident.id}:incident.opened`);
    const body = req.body as { event: string; incident: unknown; sentAt: string };
    expect(body.event).toBe('incident.opened');
    expect(body.incident).toEqual(ev.incident);
    expect(Number.isNaN(Date.parse(body.sentAt))).toBe(false);
    expect(n.stats().hook).toEqual({ queued: 0, delivered: 1, failed: 0, retries: 0 });
  });

  it('retries after two 500s, delivers exactly once, and keeps order', async () => {
    const r = await receiver((_req, i) => (i < 2 ? 500 : 200));
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook' })]);
    const events = [makeEvent('incident.opened'), makeEvent('incident.opened'), makeEvent('incident.closed')];
    for (const ev of events) n.publish(ev);
    await waitFor(() => n.stats().hook?.delivered === 3);

    const keys = r.requests.map((q) => q.headers['idempotency-key']);
    const first = `${events[0]!.incident.id}:incident.opened`;
    // Head-of-line retry: the first event three times (500, 500, 200), then the others in order.
    expect(keys).toEqual([first, first, first, ...events.slice(1).map((e) => `${e.incident.id}:${e.kind}`)]);
    expect(n.stats().hook).toEqual({ queued: 0, delivered: 3, failed: 0, retries: 2 });
  });

  it('a receiver that is down and starts later gets every event, in order', async () => {
    const port = await freePort();
    const { logger, records } = captureLogger();
    const n = notifier(
      [createWebhookSink({ url: `http://127.0.0.1:${port}/hook`, name: 'late', maxAttempts: 100, timeoutMs: 1000 })],
      logger,
    );
    const events = Array.from({ length: 5 }, (_, i) => makeEvent(i % 2 ? 'incident.closed' : 'incident.opened'));
    for (const ev of events) n.publish(ev);
    await waitFor(() => (n.stats().late?.retries ?? 0) >= 2, 5000, 'failed attempts');
    expect(n.stats().late?.delivered).toBe(0);
    expect(records.some((l) => l.msg.includes('will retry') && String(l.err).includes('ECONNREFUSED'))).toBe(true);

    const r = new Receiver();
    await r.start(port);
    cleanups.push(() => r.close());
    await waitFor(() => n.stats().late?.delivered === 5, 5000, 'delivery after receiver start');
    expect(r.requests.map((q) => q.headers['idempotency-key'])).toEqual(
      events.map((e) => `${e.incident.id}:${e.kind}`),
    );
  });

  it('drops an event on a permanent 4xx without retrying, and moves on', async () => {
    const r = await receiver((_req, i) => (i === 0 ? 400 : 200));
    const { logger, records } = captureLogger();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook' })], logger);
    n.publish(makeEvent());
    n.publish(makeEvent());
    await waitFor(() => n.stats().hook?.delivered === 1);
    expect(r.requests).toHaveLength(2);
    expect(n.stats().hook).toEqual({ queued: 0, delivered: 1, failed: 1, retries: 0 });
    expect(records.some((l) => l.level === 50 && l.msg.includes('permanent'))).toBe(true);
  });

  it('retries 429 and 408', async () => {
    const r = await receiver((_req, i) => [429, 408, 200][i] ?? 200);
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook' })]);
    n.publish(makeEvent());
    await waitFor(() => n.stats().hook?.delivered === 1);
    expect(n.stats().hook?.retries).toBe(2);
  });

  it('gives up after maxAttempts with an error log', async () => {
    const r = await receiver(() => 503);
    const { logger, records } = captureLogger();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook', maxAttempts: 3 })], logger);
    n.publish(makeEvent());
    await waitFor(() => n.stats().hook?.failed === 1);
    expect(r.requests).toHaveLength(3);
    expect(n.stats().hook).toEqual({ queued: 0, delivered: 0, failed: 1, retries: 2 });
    expect(records.some((l) => l.level === 50 && l.msg.includes('exhausted'))).toBe(true);
  });

  it('sends only the configured incident types', async () => {
    const r = await receiver();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook', types: ['silence', 'freeze'] })]);
    n.publish(makeEvent('incident.opened', { type: 'black' }));
    n.publish(makeEvent('incident.opened', { type: 'silence' }));
    n.publish(makeEvent('incident.opened', { type: 'loudness' }));
    n.publish(makeEvent('incident.closed', { type: 'freeze' }));
    await waitFor(() => n.stats().hook?.delivered === 2);
    await new Promise((res) => setTimeout(res, 50));
    expect(r.requests.map((q) => (q.body as { incident: { type: string } }).incident.type)).toEqual([
      'silence',
      'freeze',
    ]);
  });
});

describe('isolation', () => {
  it('a hanging receiver delays neither publish() nor another sink', async () => {
    const hang = await receiver(() => 'hang');
    const ok = await receiver();
    const out = new TextSink();
    const n = notifier([
      createWebhookSink({ url: hang.url, name: 'hang', timeoutMs: 10_000 }),
      createWebhookSink({ url: ok.url, name: 'ok' }),
      createConsoleSink({ stream: out, color: false }),
    ]);
    let slowest = 0;
    for (let i = 0; i < 20; i++) {
      const ev = makeEvent(i % 2 ? 'incident.closed' : 'incident.opened');
      const t0 = performance.now();
      n.publish(ev);
      slowest = Math.max(slowest, performance.now() - t0);
    }
    expect(slowest).toBeLessThan(5);

    await waitFor(() => n.stats().ok?.delivered === 20, 2000, 'healthy sink');
    expect(out.text.trim().split('\n')).toHaveLength(20);
    expect(hang.requests).toHaveLength(1);
    expect(n.stats().hang).toMatchObject({ queued: 20, delivered: 0 });

    // stop() gives up on the hanging sink after drainMs.
    const s0 = performance.now();
    await n.stop({ drainMs: 100 });
    expect(performance.now() - s0).toBeLessThan(1000);
    expect(n.stats().hang).toMatchObject({ queued: 0, failed: 20 });
  });

  it('a sink that throws synchronously or from accepts() does not break publish()', () => {
    const bad: Sink = {
      name: 'bad',
      accepts: () => {
        throw new Error('boom');
      },
      deliver: () => Promise.resolve(),
    };
    const n = notifier([bad]);
    expect(() => n.publish(makeEvent())).not.toThrow();
  });
});

describe('outbox and stop', () => {
  function blockedSink(): Sink & { seen: IncidentEvent[]; release: () => void } {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: IncidentEvent[] = [];
    return {
      name: 'blocked',
      seen,
      release: () => release(),
      async deliver(ev) {
        seen.push(ev as IncidentEvent);
        await gate;
      },
    };
  }

  it('drops the oldest queued event when the outbox is full', async () => {
    const sink = blockedSink();
    const { logger, records } = captureLogger();
    const n = new Notifier({ sinks: [sink], logger, maxQueue: 3, retry: fast });
    cleanups.push(() => n.stop({ drainMs: 0 }));
    const events = Array.from({ length: 6 }, () => makeEvent());
    n.publish(events[0]!);
    await waitFor(() => sink.seen.length === 1);
    for (const ev of events.slice(1)) n.publish(ev);
    // events[0] is in flight; of the 5 waiting, the 2 oldest were dropped.
    expect(n.stats().blocked).toMatchObject({ queued: 4, failed: 2 });
    expect(records.filter((l) => l.msg.includes('outbox full'))).toHaveLength(2);
    sink.release();
    await waitFor(() => n.stats().blocked?.delivered === 4);
    expect(sink.seen.map((e) => e.incident.id)).toEqual([0, 3, 4, 5].map((i) => events[i]!.incident.id));
  });

  it('stop() drains what it can within drainMs', async () => {
    const r = await receiver();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook' })]);
    for (let i = 0; i < 10; i++) n.publish(makeEvent());
    await n.stop({ drainMs: 2000 });
    expect(r.requests).toHaveLength(10);
    expect(n.stats().hook).toMatchObject({ queued: 0, delivered: 10 });
    n.publish(makeEvent());
    expect(n.stats().hook?.queued).toBe(0);
  });

  it('stop() resolves at once when idle, and leaves no retry timer behind', async () => {
    let calls = 0;
    const failing: Sink = {
      name: 'failing',
      deliver: () => {
        calls++;
        return Promise.reject(new Error('nope'));
      },
    };
    // The first retry is due 100 ms after the first failure; stop() gives up after 10 ms.
    const n = new Notifier({
      sinks: [failing],
      logger: captureLogger().logger,
      retry: { baseMs: 200, capMs: 200 },
      random: () => 0.5,
    });
    n.publish(makeEvent());
    await waitFor(() => calls === 1);
    await n.stop({ drainMs: 10 });
    await new Promise((res) => setTimeout(res, 200));
    expect(calls).toBe(1);
    expect(n.stats().failing).toMatchObject({ queued: 0, failed: 1 });

    const idle = new Notifier({ sinks: [failing], logger: captureLogger().logger });
    const t0 = performance.now();
    await idle.stop();
    expect(performance.now() - t0).toBeLessThan(200);
  });

  it('uses exponential backoff with full jitter, capped', () => {
    expect(backoffDelay(1, 500, 30_000, () => 0.999)).toBe(499);
    expect(backoffDelay(3, 500, 30_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(20, 500, 30_000, () => 0.999)).toBe(29_970);
    expect(backoffDelay(5, 500, 30_000, () => 0)).toBe(0);
  });

  it('gives duplicate sink names distinct stats keys', () => {
    const s = (): Sink => ({ name: 'x', deliver: () => Promise.resolve() });
    const n = notifier([s(), s()]);
    expect(Object.keys(n.stats())).toEqual(['x', 'x#2']);
  });
});
