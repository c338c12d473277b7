import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SourceStatus } from '../ingest/index.ts';
import type { IntervalEdge, Logger } from '../shared/index.ts';
import type { FromWorker, StreamAssignment, ToWorker } from './protocol.ts';

export interface WorkerPoolOptions {
  readonly size: number;
  readonly onEdge: (edge: IntervalEdge) => void;
  readonly onStatus?: (id: string, status: SourceStatus, gauges: Record<string, number>) => void;
  readonly onThumbnail?: (id: string, thumb: { jpeg: Uint8Array; mediaTime: number; wallTime: number; reasons: readonly string[] }) => void;
  /** An evidence clip a worker cut around an incident onset (reason: `<type>|<channel>|open`). */
  readonly onClip?: (
    id: string,
    clip: { reason: string; mime: string; data: Uint8Array; start: number; duration: number; onset: number },
  ) => void;
  /** A worker died unexpectedly; its streams are being restarted on a fresh worker. */
  readonly onWorkerRestart?: (info: { slot: number; pid: number | undefined; code: number | null; signal: string | null; streams: string[] }) => void;
  readonly logger?: Logger;
  /** Environment for workers (log levels). */
  readonly env?: NodeJS.ProcessEnv;
}

interface Slot {
  index: number;
  child: ChildProcess | undefined;
  streams: Map<string, StreamAssignment>;
  /** Recent unexpected exits (ms), for crash-loop backoff. */
  crashes: number[];
  restartTimer: NodeJS.Timeout | undefined;
}

const WORKER_ENTRY = fileURLToPath(new URL('./stream-worker.ts', import.meta.url));

/**
 * Supervises one worker process per core (see docs/adr/0001-worker-processes.md). Each
 * stream is owned by exactly one worker; a worker that dies is replaced and its streams
 * restarted on the replacement, while streams on other workers never notice.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private stopping = false;

  constructor(private readonly opts: WorkerPoolOptions) {
    for (let i = 0; i < Math.max(1, opts.size); i++) {
      this.slots.push({ index: i, child: undefined, streams: new Map(), crashes: [], restartTimer: undefined });
    }
  }

  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  add(stream: StreamAssignment): void {
    if (this.slotOf(stream.id)) throw new Error(`stream ${stream.id} is already running`);
    // Least-loaded worker owns the new stream.
    const slot = this.slots.reduce((a, b) => (b.streams.size < a.streams.size ? b : a));
    slot.streams.set(stream.id, stream);
    this.send(slot, { type: 'add', stream });
  }

  remove(id: string): void {
    const slot = this.slotOf(id);
    if (!slot) return;
    slot.streams.delete(id);
    this.send(slot, { type: 'remove', id });
  }

  /** Which worker process runs each stream (for status pages and tests). */
  placement(): { slot: number; pid: number | undefined; streams: string[] }[] {
    return this.slots.map((s) => ({ slot: s.index, pid: s.child?.pid, streams: [...s.streams.keys()] }));
  }

  async stop(timeoutMs = 3000): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.restartTimer) clearTimeout(slot.restartTimer);
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        this.send(slot, { type: 'shutdown' });
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private slotOf(id: string): Slot | undefined {
    return this.slots.find((s) => s.streams.has(id));
  }

  private send(slot: Slot, msg: ToWorker): void {
    const child = slot.child;
    if (child?.connected) child.send(msg);
  }

  private spawn(slot: Slot): void {
    const execArgv = WORKER_ENTRY.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
    const child = fork(WORKER_ENTRY, [], {
      execArgv,
      env: { ...process.env, ...this.opts.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Structured clone: thumbnails cross as bytes, not as JSON arrays of numbers.
      serialization: 'advanced',
    });
    slot.child = child;
    child.on('message', (msg: FromWorker) => this.onMessage(slot, msg));
    child.on('error', (err) => this.opts.logger?.error({ slot: slot.index, err }, 'worker process error'));
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
    // Streams already owned by this slot (a restart) start again on the new process.
    for (const stream of slot.streams.values()) this.send(slot, { type: 'add', stream });
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    switch (msg.type) {
      case 'edge':
        this.opts.onEdge(msg.edge);
        break;
      case 'status':
        if (slot.streams.has(msg.id)) this.opts.onStatus?.(msg.id, msg.status, msg.gauges);
        break;
      case 'thumbnail':
        if (slot.streams.has(msg.id)) this.opts.onThumbnail?.(msg.id, msg);
        break;
      case 'clip':
        if (slot.streams.has(msg.id)) this.opts.onClip?.(msg.id, msg);
        break;
      case 'error':
        this.opts.logger?.error({ stream: msg.id, err: msg.message }, 'stream error');
        break;
      default:
        break;
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    if (this.stopping) return;
    const now = Date.now();
    slot.crashes = slot.crashes.filter((t) => now - t < 60_000);
    slot.crashes.push(now);
    // Restart at once the first time; back off if the worker keeps dying (a poison stream).
    const delay = slot.crashes.length <= 1 ? 100 : Math.min(30_000, 500 * 2 ** (slot.crashes.length - 2));
    const streams = [...slot.streams.keys()];
    this.opts.logger?.error({ slot: slot.index, pid: child.pid, code, signal, streams, restartInMs: delay }, 'worker died; restarting');
    this.opts.onWorkerRestart?.({ slot: slot.index, pid: child.pid, code, signal, streams });
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.spawn(slot);
    }, delay);
  }
}
