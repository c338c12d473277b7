import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.ts';
import {
  Notifier,
  createEmailSink,
  createSinks,
  emailMessage,
  notifyConfigSchema,
  type NotifyEvent,
} from '../../src/notify/index.ts';
import { VigilError } from '../../src/shared/index.ts';
import { captureLogger, freePort, harness, makeEvent, waitFor } from './helpers.ts';

/** A mail as the in-process SMTP server received it. */
interface Received {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
  secure: boolean;
}

/** A real SMTP server (smtp-server) on 127.0.0.1 that records every message. */
class MailServer {
  readonly mails: Received[] = [];
  port = 0;
  /** SMTP reply to DATA: undefined accepts, a number rejects with that code. */
  reject: number | undefined;
  private server: SMTPServer | undefined;

  constructor(private readonly opts: { auth?: { user: string; pass: string }; starttls?: boolean; implicitTls?: boolean } = {}) {}

  async start(port = 0): Promise<this> {
    const server = new SMTPServer({
      logger: false,
      // smtp-server's built-in self-signed certificate serves both STARTTLS and implicit TLS.
      secure: this.opts.implicitTls === true,
      authOptional: this.opts.auth === undefined,
      ...(this.opts.starttls ? {} : { disabledCommands: ['STARTTLS'] }),
      // Loopback test: PLAIN over an unencrypted connection is fine here.
      allowInsecureAuth: true,
      onAuth: (auth, _session, cb) => {
        const want = this.opts.auth;
        if (want && auth.username === want.user && auth.password === want.pass) cb(null, { user: auth.username });
        else cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData: (stream, session: SMTPServerSession, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.reject !== undefined) {
            cb(Object.assign(new Error('Mailbox unavailable'), { responseCode: this.reject }));
            return;
          }
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
            user: typeof session.user === 'string' ? session.user : undefined,
            secure: session.secure,
          });
          cb();
        });
      },
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
    return this;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

/** Unfolded header value (RFC 5322 folding undone). */
function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head);
  return m?.[1];
}

/** Decodes quoted-printable text (the text and HTML parts). */
function qp(s: string): string {
  return Buffer.from(
    s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function mailServer(opts?: ConstructorParameters<typeof MailServer>[0], port?: number): Promise<MailServer> {
  const s = await new MailServer(opts).start(port);
  cleanups.push(() => s.close());
  return s;
}
const { notifier } = harness();

// A tiny but real JPEG would do; the sink treats the bytes as opaque.
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xd9]);
const news = {
  streamId: 'news-hd',
  streamName: 'News HD',
  tags: ['news'],
  measurements: { meanLuma: 16.123, frames: 40 },
  thumbnailUrl: 'https://vigil.example/api/incidents/x/thumbnail',
  clipUrl: 'https://vigil.example/api/incidents/x/clip',
};

describe('email sink', () => {
  it('mails subject, text and HTML with measurements and links, the onset JPEG inline, through SMTP AUTH', async () => {
    const smtp = await mailServer({ auth: { user: 'vigil', pass: 's3cret' } });
    const sink = createEmailSink(
      {
        host: '127.0.0.1',
        port: smtp.port,
        tls: 'none',
        user: 'vigil',
        passwordEnv: 'SMTP_PASS',
        from: 'Vigil <vigil@example.com>',
        to: ['ops@example.com', 'noc@example.com'],
        name: 'mail',
      },
      { env: { SMTP_PASS: 's3cret' }, thumbnail: () => JPEG, publicUrl: 'https://vigil.example/' },
    );
    const n = notifier([sink]);
    const ev = makeEvent('incident.opened', news);
    n.publish(ev);
    await waitFor(() => n.stats().mail?.delivered === 1, 10_000, 'mail delivered');

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.user).toBe('vigil');
    expect(mail.from).toBe('vigil@example.com');
    expect(mail.to).toEqual(['ops@example.com', 'noc@example.com']);
    expect(header(mail.raw, 'Subject')).toBe('[Vigil] CRITICAL black on News HD: opened');
    expect(header(mail.raw, 'X-Vigil-Incident')).toBe(ev.incident.id);
    // multipart: text, HTML referencing cid:onset, and the JPEG with Content-ID <onset>.
    const body = qp(mail.raw);
    expect(body).toContain('Severity: critical');
    expect(body).toContain('meanLuma = 16.12');
    expect(body).toContain(`Incident: https://vigil.example/api/incidents/${ev.incident.id}`);
    expect(body).toContain('Evidence clip: https://vigil.example/api/incidents/x/clip');
    expect(body).toContain('src="cid:onset"');
    expect(mail.raw).toMatch(/Content-ID: <onset>/i);
    expect(mail.raw).toContain(Buffer.from(JPEG).toString('base64'));

    const closed = makeEvent('incident.closed', { ...news, id: ev.incident.id });
    n.publish(closed);
    await waitFor(() => n.stats().mail?.delivered === 2, 10_000, 'close mailed');
    expect(header(smtp.mails[1]!.raw, 'Subject')).toBe('[Vigil] CRITICAL black on News HD: closed');
    expect(qp(smtp.mails[1]!.raw)).toContain('Duration: 3.98 s');
    // No inline picture on close (the onset one went with the open mail).
    expect(smtp.mails[1]!.raw).not.toMatch(/Content-ID/i);
  });

  it.each([
    { tls: 'starttls' as const, server: { starttls: true }, what: 'upgrades with STARTTLS' },
    { tls: 'implicit' as const, server: { implicitTls: true }, what: 'speaks TLS from the first byte (SMTPS)' },
  ])('$what when tls is "$tls"', async ({ tls, server }) => {
    const smtp = await mailServer(server);
    const sink = createEmailSink({
      host: '127.0.0.1',
      port: smtp.port,
      tls,
      // smtp-server's built-in certificate is self-signed.
      rejectUnauthorized: false,
      from: 'vigil@example.com',
      to: ['ops@example.com'],
      name: 'mail',
    });
    const n = notifier([sink]);
    n.publish(makeEvent('incident.opened', news));
    await waitFor(() => n.stats().mail?.delivered === 1, 10_000, 'mail delivered');
    expect(smtp.mails[0]!.secure).toBe(true);
  });

  it('refuses a self-signed certificate unless told to accept it', async () => {
    const smtp = await mailServer({ implicitTls: true });
    const sink = createEmailSink({ host: '127.0.0.1', port: smtp.port, tls: 'implicit', from: 'v@example.com', to: ['o@example.com'], name: 'mail', maxAttempts: 1 });
    const n = notifier([sink]);
    n.publish(makeEvent('incident.opened', news));
    await waitFor(() => n.stats().mail?.failed === 1, 10_000, 'dropped');
    expect(smtp.mails).toHaveLength(0);
  });

  it('refuses a server without STARTTLS when tls is "starttls" (retried, then dropped)', async () => {
    const smtp = await mailServer({ starttls: false });
    const sink = createEmailSink({
      host: '127.0.0.1',
      port: smtp.port,
      from: 'vigil@example.com',
      to: ['ops@example.com'],
      name: 'mail',
      maxAttempts: 2,
    });
    const n = notifier([sink]);
    n.publish(makeEvent('incident.opened', news));
    await waitFor(() => n.stats().mail?.failed === 1, 10_000, 'dropped');
    expect(smtp.mails).toHaveLength(0);
  });

  it('drops on a 5xx reply (permanent) without retrying', async () => {
    const smtp = await mailServer();
    smtp.reject = 550;
    const sink = createEmailSink({ host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'v@example.com', to: ['o@example.com'], name: 'mail' });
    const n = notifier([sink]);
    n.publish(makeEvent('incident.opened', news));
    await waitFor(() => n.stats().mail?.failed === 1, 10_000, 'dropped');
    expect(n.stats().mail?.retries).toBe(0);
  });

  it('a relay down then back gets every event once, in order, through the durable outbox', async () => {
    const port = await freePort();
    const store = openStore(':memory:');
    cleanups.push(() => Promise.resolve(store.close()));
    const sink = createEmailSink({ host: '127.0.0.1', port, tls: 'none', from: 'v@example.com', to: ['o@example.com'], name: 'mail', timeoutMs: 2000 });
    const n = new Notifier({ sinks: [sink], logger: captureLogger().logger, retry: { baseMs: 20, capMs: 200 }, outbox: store.outbox });
    cleanups.push(() => n.stop({ drainMs: 0 }));
    const open = makeEvent('incident.opened', news);
    const close = makeEvent('incident.closed', { ...news, id: open.incident.id });
    n.publish(open);
    n.publish(close);
    await waitFor(() => (n.stats().mail?.retries ?? 0) >= 2, 10_000, 'retries while down');
    expect(store.outbox.pending('mail')).toHaveLength(2);
    const smtp = await mailServer(undefined, port);
    await waitFor(() => n.stats().mail?.delivered === 2, 15_000, 'both mailed');
    expect(smtp.mails.map((m) => header(m.raw, 'X-Vigil-Event'))).toEqual(['incident.opened', 'incident.closed']);
    expect(store.outbox.pending('mail')).toHaveLength(0);
  });

  it('routes by severity and type, and never mails acknowledgements', () => {
    const sink = createEmailSink({ host: 'h', from: 'v@example.com', to: ['o@example.com'], minSeverity: 'major', types: ['black'] });
    expect(sink.accepts?.(makeEvent('incident.opened', { severity: 'critical' }))).toBe(true);
    expect(sink.accepts?.(makeEvent('incident.opened', { severity: 'minor' }))).toBe(false);
    expect(sink.accepts?.(makeEvent('incident.opened', { type: 'freeze' }))).toBe(false);
    const ack: NotifyEvent = { kind: 'incident.acknowledged', incident: makeEvent().incident, ack: { by: 'ann', at: '2026-11-26T10:00:00Z' } };
    expect(sink.accepts?.(ack)).toBe(false);
  });

  it('escapes HTML in stream names and measurement values', () => {
    const m = emailMessage(makeEvent('incident.opened', { streamName: '<script>x</script>', measurements: { note: 'a<b' } }));
    expect(m.html).not.toContain('<script>');
    expect(m.html).toContain('&lt;script&gt;');
    expect(m.html).toContain('a&lt;b');
  });

  it('config: names the field and the unset password variable', () => {
    const parsed = notifyConfigSchema.safeParse({ email: [{ host: 'h', from: 'v@x.io', to: [], user: 'u' }] });
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toContain('email.0.to');
    expect(paths).toContain('email.0.passwordEnv');
    const cfg = notifyConfigSchema.parse({ email: [{ host: 'h', from: 'v@x.io', to: ['o@x.io'], user: 'u', passwordEnv: 'NOPE_PASS' }] });
    expect(() => createSinks(cfg, { logger: captureLogger().logger, env: {} })).toThrow(VigilError);
    expect(() => createSinks(cfg, { logger: captureLogger().logger, env: {} })).toThrow(/NOPE_PASS/);
  });
});
