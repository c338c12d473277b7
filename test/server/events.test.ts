import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, startServer } from '../../src/server/index.ts';
import { FakeDeps, incident, stream } from './fake-deps.ts';

/** Opens a real HTTP connection and collects the SSE text as it arrives. */
function connect(
  url: string,
): Promise<{ res: IncomingMessage; text: () => string; waitFor: (s: string) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let buf = '';
      const waiters: { s: string; done: () => void }[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (const w of [...waiters]) if (buf.includes(w.s)) w.done();
      });
      resolve({
        res,
        text: () => buf,
        waitFor: (s) =>
          new Promise<void>((done, fail) => {
            if (buf.includes(s)) return done();
            const t = setTimeout(
              () => fail(new Error(`timed out waiting for ${JSON.stringify(s)}; got ${JSON.stringify(buf)}`)),
              5000,
            );
            waiters.push({ s, done: () => (clearTimeout(t), done()) });
          }),
      });
    });
    req.on('error', reject);
  });
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
};

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('GET /api/events (SSE)', () => {
  it('streams incident and status events from the deps bus over a real connection, then cleans up', async () => {
    const deps = new FakeDeps();
    deps.addStream(stream('cam1'));
    const server = createServer(deps, { heartbeatMs: 100 });
    await server.listen({ port: 0, host: '127.0.0.1' });
    cleanup = () => server.close();
    const address = server.server.address() as AddressInfo;

    const client = await connect(`http://127.0.0.1:${address.port}/api/events`);
    expect(client.res.statusCode).toBe(200);
    expect(client.res.headers['content-type']).toMatch(/^text\/event-stream/);
    await client.waitFor(': connected');
    expect(deps.subscriptions).toBe(3);

    const opened = incident('cam1', 'black', '2024-05-01T12:00:00.000Z');
    deps.bus.emit('incident', { kind: 'incident.opened', incident: opened });
    await client.waitFor('event: incident.opened\n');
    const frame = client
      .text()
      .split('\n\n')
      .find((f) => f.startsWith('event: incident.opened'))!;
    expect(JSON.parse(frame.split('\ndata: ')[1]!)).toEqual({ ...JSON.parse(JSON.stringify(opened)), silenced: false });

    deps.bus.emit('incidentUpdate', { ...opened, acknowledged: { by: 'ann', at: '2024-05-01T12:00:01.000Z' } } as typeof opened);
    await client.waitFor('event: incident.updated\n');
    const updated = client
      .text()
      .split('\n\n')
      .find((f) => f.startsWith('event: incident.updated'))!;
    expect(JSON.parse(updated.split('\ndata: ')[1]!)).toMatchObject({ id: opened.id, acknowledged: { by: 'ann' } });

    deps.bus.emit('incident', {
      kind: 'incident.closed',
      incident: { ...opened, state: 'closed', closedAt: '2024-05-01T12:00:05.000Z' },
    });
    await client.waitFor('event: incident.closed\n');

    deps.setStatus('cam1', { fps: 50 }, { meanLuma: 12 });
    await client.waitFor('event: status\n');
    const status = client
      .text()
      .split('\n\n')
      .find((f) => f.startsWith('event: status'))!;
    expect(JSON.parse(status.split('\ndata: ')[1]!)).toMatchObject({
      id: 'cam1',
      state: 'live',
      fps: 50,
      gauges: { meanLuma: 12 },
    });

    await client.waitFor(': heartbeat\n\n');

    client.res.destroy();
    await until(() => deps.subscriptions === 0);
  });

  it('close() ends open event streams instead of hanging', async () => {
    const deps = new FakeDeps();
    const running = await startServer(deps, { port: 0 });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = await connect(`${running.url}/api/events`);
    await client.waitFor(': connected');
    const ended = new Promise<void>((r) => client.res.on('end', r));
    const t0 = Date.now();
    await running.close();
    await ended;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(deps.subscriptions).toBe(0);
  });
});
