import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerDeps } from './deps.ts';
import { incidentView, statusView } from './schemas.ts';

/** A client that buffers more than this is too slow to follow; it is dropped (EventSource reconnects). */
const MAX_BUFFERED = 1 << 20;

export interface SseHub {
  /** Takes over the reply and streams events until the client goes away. */
  attach(request: FastifyRequest, reply: FastifyReply): void;
  /** Ends every open stream (server shutdown). */
  closeAll(): void;
  readonly size: number;
}

export function createSseHub(deps: Pick<ServerDeps, 'events'>, heartbeatMs: number): SseHub {
  const clients = new Set<() => void>();
  return {
    get size() {
      return clients.size;
    },
    closeAll() {
      for (const end of [...clients]) end();
    },
    attach(request, reply) {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let ended = false;
      const write = (chunk: string): void => {
        if (ended) return;
        res.write(chunk);
        if (res.writableLength > MAX_BUFFERED) end();
      };
      const send = (event: string, data: unknown): void => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const offIncident = deps.events.on('incident', (e) => send(e.kind, incidentView(e.incident)));
      const offUpdate = deps.events.on('incidentUpdate', (i) => send('incident.updated', incidentView(i)));
      const offStatus = deps.events.on('status', (s) =>
        send('status', { id: s.id, ...statusView(s.status), gauges: s.gauges }),
      );
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      function end(): void {
        if (ended) return;
        ended = true;
        offIncident();
        offUpdate();
        offStatus();
        clearInterval(heartbeat);
        clients.delete(end);
        if (!res.writableEnded) res.end();
      }
      clients.add(end);
      request.raw.on('close', end);
      res.on('close', end);
      res.on('error', end);
      // Tell EventSource how long to wait before reconnecting, and flush the headers now.
      write('retry: 3000\n: connected\n\n');
    },
  };
}
