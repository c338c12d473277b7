import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterEach } from 'vitest';
import { Notifier, type Sink } from '../../src/notify/index.ts';
import type { Incident, IncidentEvent } from '../../src/shared/index.ts';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** The body exactly as received (for signature checks). */
  raw: string;
}

export type Responder = (req: ReceivedRequest, index: number) => number | 'hang';

/** A real HTTP receiver on 127.0.0.1 that records every request. */
export class Receiver {
  readonly requests: ReceivedRequest[] = [];
  private server: Server | undefined;
  port = 0;

  constructor(private respond: Responder = () => 200) {}

  setResponder(respond: Responder): void {
    this.respond = respond;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: unknown = raw;
        try {
          body = JSON.parse(raw);
        } catch {
          // keep raw text
        }
        const rec: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, raw };
        const index = this.requests.push(rec) - 1;
        const status = this.respond(rec, index);
        if (status === 'hang') return;
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port that nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const r = await new Receiver().start();
  const port = r.port;
  await r.close();
  return port;
}

let seq = 0;
export function makeEvent(
  kind: IncidentEvent['kind'] = 'incident.opened',
  overrides: Partial<Incident> = {},
): IncidentEvent {
  seq++;
  const closed = kind === 'incident.closed';
  const incident: Incident = {
    id: `inc-${seq}`,
    streamId: 'udp-bars',
    streamName: 'UDP test pattern',
    tags: [],
    type: 'black',
    severity: 'critical',
    state: closed ? 'closed' : 'open',
    start: 12.04,
    ...(closed ? { end: 16.02, closedAt: '2026-11-26T10:01:06.000Z' } : {}),
    openedAt: '2026-11-26T10:01:02.000Z',
    occurrences: 1,
    measurements: { meanLuma: 16.1 },
    ...overrides,
  };
  return { kind, incident };
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pino logger whose records land in `records`. */
export function captureLogger(): { logger: Logger; records: { level: number; msg: string; [k: string]: unknown }[] } {
  const records: { level: number; msg: string; [k: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line) records.push(JSON.parse(line) as { level: number; msg: string });
      }
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), records };
}

/** A writable that collects text. */
export class TextSink extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    cb();
  }
}

/**
 * Per-file test harness: receivers and notifiers made through it are closed/stopped after
 * each test. Call at module top level.
 */
export function harness(): {
  receiver: (respond?: Responder) => Promise<Receiver>;
  notifier: (sinks: Sink[], logger?: Logger) => Notifier;
} {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    async receiver(respond) {
      const r = await new Receiver(respond).start();
      cleanups.push(() => r.close());
      return r;
    },
    notifier(sinks, logger = captureLogger().logger) {
      const n = new Notifier({ sinks, logger, retry: { baseMs: 10, capMs: 100 } });
      cleanups.push(() => n.stop({ drainMs: 0 }));
      return n;
    },
  };
}
