import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Incident } from '../../src/shared/index.ts';

export interface ReceivedEvent {
  readonly event: 'incident.opened' | 'incident.closed';
  readonly incident: Incident;
  /** Wall time (ms) the POST arrived. */
  readonly receivedAt: number;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** A real HTTP webhook receiver on 127.0.0.1 that records every POSTed incident event. */
export async function startReceiver(): Promise<{ url: string; events: ReceivedEvent[]; close(): Promise<void>; server: Server }> {
  const events: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { event: ReceivedEvent['event']; incident: Incident };
        events.push({ event: body.event, incident: body.incident, receivedAt: Date.now(), headers: req.headers });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
