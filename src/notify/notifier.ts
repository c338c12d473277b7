import { createLogger, errorMessage, type Logger } from '../shared/index.ts';
import type { NotifyEvent } from './events.ts';
import { outboxKey, type OutboxStore } from './outbox.ts';
import { Fifo } from './queue.ts';
import { PermanentDeliveryError, type Sink } from './sink.ts';

export interface SinkStats {
  /** Events waiting, including the one being delivered. */
  queued: number;
  delivered: number;
  /**
   * Events dropped: attempts exhausted, permanent failure, outbox overflow, or abandoned at stop()
   * (not with a durable outbox: those stay pending for the next start).
   */
  failed: number;
  /** Failed attempts that were retried. */
  retries: number;
}

export interface RetryPolicy {
  /** First backoff ceiling in ms (default 500). */
  baseMs?: number;
  /** Backoff ceiling in ms (default 30 000). */
  capMs?: number;
  /** Attempts per event for sinks that do not set their own `maxAttempts` (default 12). */
  maxAttempts?: number;
}

export interface NotifierOptions {
  sinks: Sink[];
  logger?: Logger;
  retry?: RetryPolicy;
  /** Max events waiting per sink; when full the oldest is dropped (default 10 000). */
  maxQueue?: number;
  /** Source of randomness for jitter, [0, 1) (default Math.random). */
  random?: () => number;
  /**
   * Durable outbox. With one, publish() records the event per accepting sink before it returns,
   * deliveries and drops are marked there, events left at stop() stay pending, and the pending
   * events of each sink (by sink name) are loaded at construction, ahead of any new event.
   * Without one, the outbox lives in memory only.
   */
  outbox?: OutboxStore;
}

export const DEFAULT_BACKOFF_BASE_MS = 500;
export const DEFAULT_BACKOFF_CAP_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 12;
export const DEFAULT_MAX_QUEUE = 10_000;
export const DEFAULT_DRAIN_MS = 2000;

/** Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))). */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

interface Entry {
  readonly event: NotifyEvent;
  /** Row id in the durable outbox (undefined without one, or if the write failed). */
  readonly id: number | undefined;
}

interface Outbox {
  readonly sink: Sink;
  readonly maxAttempts: number;
  readonly pending: Fifo<Entry>;
  /** The head-of-line event while it is being delivered or waiting for a retry. */
  current: Entry | undefined;
  /** Highest durable row id this notifier has queued for the sink: a lower or equal one is a duplicate. */
  maxId: number;
  running: boolean;
  wake: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  readonly stats: { delivered: number; failed: number; retries: number };
}

/**
 * Fans incident events out to sinks. Each sink has its own bounded FIFO outbox and its own
 * delivery loop, so a slow or dead sink never delays the caller or another sink. Order is
 * preserved per sink (strict FIFO, head-of-line retry).
 */
export class Notifier {
  private readonly outboxes: Outbox[] = [];
  private readonly logger: Logger;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly maxQueue: number;
  private readonly random: () => number;
  private readonly abort = new AbortController();
  private stopping = false;
  private stopped = false;
  private stopPromise: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly store: OutboxStore | undefined;

  constructor(opts: NotifierOptions) {
    this.logger = opts.logger ?? createLogger();
    this.baseMs = opts.retry?.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.capMs = opts.retry?.capMs ?? DEFAULT_BACKOFF_CAP_MS;
    this.maxQueue = Math.max(1, opts.maxQueue ?? DEFAULT_MAX_QUEUE);
    this.random = opts.random ?? Math.random;
    this.store = opts.outbox;
    const defaultAttempts = opts.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const seen = new Map<string, number>();
    for (const sink of opts.sinks) {
      const n = (seen.get(sink.name) ?? 0) + 1;
      seen.set(sink.name, n);
      // Two sinks with one name would share a stats key: give the later ones a suffix.
      const named = n === 1 ? sink : withName(sink, `${sink.name}#${n}`);
      this.outboxes.push({
        sink: named,
        maxAttempts: Math.max(1, sink.maxAttempts ?? defaultAttempts),
        pending: new Fifo(),
        current: undefined,
        maxId: 0,
        running: false,
        wake: undefined,
        timer: undefined,
        stats: { delivered: 0, failed: 0, retries: 0 },
      });
    }
    if (this.store) this.loadPending(this.store);
  }

  /** Queues each sink's pending durable events (a previous process's), in order, ahead of new ones. */
  private loadPending(store: OutboxStore): void {
    for (const box of this.outboxes) {
      try {
        const rows = store.pending(box.sink.name);
        for (const row of rows) {
          if (row.id <= box.maxId) continue;
          box.maxId = row.id;
          this.queue(box, { event: row.event, id: row.id });
        }
        if (rows.length > 0) {
          this.safeLog(
            'warn',
            { sink: box.sink.name, pending: rows.length },
            'notify: resuming events left pending by a previous run',
          );
        }
      } catch (err) {
        this.safeLog('error', { sink: box.sink.name, err: errorMessage(err) }, 'notify: could not load pending events');
      }
    }
  }

  /** Appends to the in-memory queue (dropping the oldest when full) and starts the loop. */
  private queue(box: Outbox, entry: Entry): void {
    if (box.pending.length >= this.maxQueue) {
      const dropped = box.pending.shift();
      box.stats.failed++;
      if (dropped?.id !== undefined) this.mark(dropped.id, 'dropped', 'outbox full');
      this.safeLog(
        'error',
        {
          sink: box.sink.name,
          incidentId: dropped?.event.incident.id,
          kind: dropped?.event.kind,
          maxQueue: this.maxQueue,
        },
        'notify outbox full: dropped oldest event',
      );
    }
    box.pending.push(entry);
    if (!box.running) this.startLoop(box);
  }

  /** Records the fate of a durable row; a failing store is logged, never thrown. */
  private mark(id: number, state: 'delivered' | 'dropped' | 'attempt', reason = ''): void {
    const store = this.store;
    if (!store) return;
    try {
      if (state === 'delivered') store.delivered(id);
      else if (state === 'dropped') store.dropped(id, reason);
      else store.failedAttempt?.(id);
    } catch (err) {
      this.safeLog('error', { id, state, err: errorMessage(err) }, 'notify: could not update the durable outbox');
    }
  }

  /** Queues the event for every sink that accepts it. Synchronous; never blocks, never throws. */
  publish(event: NotifyEvent): void {
    if (this.stopping) {
      this.safeLog('warn', { kind: event.kind, incidentId: event.incident.id }, 'notifier stopped: event not sent');
      return;
    }
    for (const box of this.outboxes) {
      try {
        if (box.sink.accepts && !box.sink.accepts(event)) continue;
        let id: number | undefined;
        if (this.store) {
          try {
            id = this.store.enqueue(box.sink.name, outboxKey(event), event);
          } catch (err) {
            // Still delivered from memory: a broken store must not silence alerts.
            this.safeLog(
              'error',
              { sink: box.sink.name, err: errorMessage(err) },
              'notify: could not persist event; queued in memory only',
            );
          }
          if (id !== undefined) {
            if (id <= box.maxId) continue; // same idempotency key already queued (or done) here
            box.maxId = id;
          }
        }
        this.queue(box, { event, id });
      } catch (err) {
        this.safeLog('error', { sink: box.sink.name, err: errorMessage(err) }, 'notify: could not queue event');
      }
    }
  }

  stats(): Record<string, SinkStats> {
    const out: Record<string, SinkStats> = {};
    for (const box of this.outboxes) {
      out[box.sink.name] = { queued: box.pending.length + (box.current ? 1 : 0), ...box.stats };
    }
    return out;
  }

  /**
   * Stops accepting events and tries to drain every outbox for up to `drainMs` (default 2000);
   * then aborts in-flight deliveries, drops what is left (with a warning) and resolves.
   * No timer or retry outlives the returned promise.
   */
  stop(opts: { drainMs?: number } = {}): Promise<void> {
    this.stopPromise ??= this.doStop(opts.drainMs ?? DEFAULT_DRAIN_MS);
    return this.stopPromise;
  }

  private async doStop(drainMs: number): Promise<void> {
    this.stopping = true;
    if (!this.isIdle() && drainMs > 0) {
      let deadline: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        deadline = setTimeout(resolve, drainMs);
      });
      clearTimeout(deadline);
    }
    this.stopped = true;
    this.abort.abort(new Error('notifier stopped'));
    for (const box of this.outboxes) {
      clearTimeout(box.timer);
      box.timer = undefined;
      box.wake?.();
      const left = box.pending.length + (box.current ? 1 : 0);
      if (left > 0) {
        const durable = this.store !== undefined;
        // With a durable outbox the events stay pending there, for the next start: not failed.
        if (!durable) box.stats.failed += left;
        box.pending.clear();
        box.current = undefined;
        if (durable)
          this.safeLog(
            'warn',
            { sink: box.sink.name, pending: left },
            'notifier stopped before the outbox drained; events kept for the next start',
          );
        else this.safeLog('warn', { sink: box.sink.name, dropped: left }, 'notifier stopped before the outbox drained');
      }
    }
    this.idleWaiters = [];
  }

  private isIdle(): boolean {
    return this.outboxes.every((b) => !b.running && b.pending.length === 0 && !b.current);
  }

  private startLoop(box: Outbox): void {
    box.running = true;
    // Start on a microtask so that publish() never runs sink code (JSON, fetch setup) itself.
    queueMicrotask(() => {
      this.runLoop(box)
        .catch((err: unknown) => {
          this.safeLog('error', { sink: box.sink.name, err: errorMessage(err) }, 'notify loop crashed');
        })
        .finally(() => {
          if (this.stopping && this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
        });
    });
  }

  private async runLoop(box: Outbox): Promise<void> {
    try {
      await this.deliverAll(box);
    } finally {
      // Cleared synchronously with the loop's end, so a publish() right after restarts it.
      box.running = false;
    }
  }

  private async deliverAll(box: Outbox): Promise<void> {
    const { sink } = box;
    while (!this.stopped) {
      const entry = box.current ?? box.pending.shift();
      if (!entry) return;
      box.current = entry;
      const { event, id } = entry;
      let attempt = 0;
      for (;;) {
        attempt++;
        try {
          await sink.deliver(event, attempt, this.abort.signal);
          box.stats.delivered++;
          if (id !== undefined) this.mark(id, 'delivered');
          // stop() gave up on this in-flight event and counted it failed, but it made it after all.
          if (this.stopped) {
            if (!this.store) box.stats.failed--;
            return;
          }
          break;
        } catch (err) {
          if (this.stopped) return;
          const permanent = err instanceof PermanentDeliveryError;
          if (permanent || attempt >= box.maxAttempts) {
            box.stats.failed++;
            if (id !== undefined)
              this.mark(
                id,
                'dropped',
                permanent ? `permanent failure: ${errorMessage(err)}` : `attempts exhausted: ${errorMessage(err)}`,
              );
            this.safeLog(
              'error',
              { sink: sink.name, incidentId: event.incident.id, kind: event.kind, attempt, err: errorMessage(err) },
              permanent ? 'notify: permanent failure, event dropped' : 'notify: attempts exhausted, event dropped',
            );
            break;
          }
          box.stats.retries++;
          if (id !== undefined) this.mark(id, 'attempt');
          const delay = backoffDelay(attempt, this.baseMs, this.capMs, this.random);
          this.safeLog(
            'warn',
            {
              sink: sink.name,
              incidentId: event.incident.id,
              kind: event.kind,
              attempt,
              retryInMs: delay,
              err: errorMessage(err),
            },
            'notify: delivery failed, will retry',
          );
          await this.sleep(box, delay);
          if (this.stopped) return;
        }
      }
      box.current = undefined;
    }
  }

  /** A cancellable sleep whose timer never keeps the process alive. */
  private sleep(box: Outbox, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(box.timer);
        box.timer = undefined;
        box.wake = undefined;
        resolve();
      };
      box.wake = done;
      box.timer = setTimeout(done, ms);
      box.timer.unref();
    });
  }

  private safeLog(level: 'warn' | 'error', obj: Record<string, unknown>, msg: string): void {
    try {
      this.logger[level](obj, msg);
    } catch {
      // A broken logger must not break publish().
    }
  }
}

function withName(sink: Sink, name: string): Sink {
  return {
    name,
    maxAttempts: sink.maxAttempts,
    deliver: (event, attempt, signal) => sink.deliver(event, attempt, signal),
    ...(sink.accepts ? { accepts: (event: NotifyEvent) => sink.accepts?.(event) ?? true } : {}),
  };
}
