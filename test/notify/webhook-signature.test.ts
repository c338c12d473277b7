import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSinks, createWebhookSink, notifyConfigSchema, signWebhookBody } from '../../src/notify/index.ts';
import { VigilError } from '../../src/shared/index.ts';
import { captureLogger, harness, makeEvent, waitFor, type ReceivedRequest } from './helpers.ts';

const { receiver, notifier } = harness();
const SECRET = 's3cr3t-for-tests';
const env = { VIGIL_HOOK_SECRET: SECRET };

/** The receiver-side check documented on signWebhookBody. */
function verifyVigil(rawBody: string, headers: Record<string, string | undefined>, secret: string): boolean {
  const ts = headers['x-vigil-timestamp'] ?? '';
  const sig = headers['x-vigil-signature'] ?? '';
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${rawBody}`).digest('hex')}`);
  const got = Buffer.from(sig);
  return got.length === want.length && timingSafeEqual(got, want);
}

const headersOf = (req: ReceivedRequest): Record<string, string | undefined> =>
  req.headers as Record<string, string | undefined>;

describe('webhook signature', () => {
  it('signs "<timestamp>.<raw body>" with HMAC-SHA256; verifies with the secret, not with another', async () => {
    const r = await receiver();
    const n = notifier([
      createWebhookSink(
        // A configured header cannot shadow the signature (header names are case-insensitive).
        { url: r.url, name: 'signed', secretEnv: 'VIGIL_HOOK_SECRET', headers: { 'X-Vigil-Signature': 'forged' } },
        { env },
      ),
    ]);
    const ev = makeEvent('incident.opened');
    n.publish(ev);
    await waitFor(() => n.stats().signed?.delivered === 1);

    const req = r.requests[0]!;
    const h = headersOf(req);
    const ts = Number(h['x-vigil-timestamp']);
    expect(Number.isInteger(ts)).toBe(true);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(10);
    expect(h['x-vigil-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(h['x-vigil-signature']).toBe(signWebhookBody(SECRET, ts, req.raw));
    expect(h['idempotency-key']).toBe(`${ev.incident.id}:incident.opened`);

    expect(verifyVigil(req.raw, h, SECRET)).toBe(true);
    expect(verifyVigil(req.raw, h, 'another-secret')).toBe(false);
    // Tampering with the body or replaying under a fresh timestamp breaks it too.
    expect(verifyVigil(req.raw.replace('black', 'freeze'), h, SECRET)).toBe(false);
    expect(verifyVigil(req.raw, { ...h, 'x-vigil-timestamp': String(ts + 1) }, SECRET)).toBe(false);
  });

  it('signs every retry afresh', async () => {
    const r = await receiver((_req, i) => (i === 0 ? 503 : 200));
    const n = notifier([createWebhookSink({ url: r.url, name: 'signed', secretEnv: 'VIGIL_HOOK_SECRET' }, { env })]);
    n.publish(makeEvent());
    await waitFor(() => n.stats().signed?.delivered === 1);
    expect(r.requests).toHaveLength(2);
    for (const req of r.requests) expect(verifyVigil(req.raw, headersOf(req), SECRET)).toBe(true);
  });

  it('sends no signature headers without secretEnv', async () => {
    const r = await receiver();
    const n = notifier([createWebhookSink({ url: r.url, name: 'plain' })]);
    n.publish(makeEvent());
    await waitFor(() => n.stats().plain?.delivered === 1);
    expect(r.requests[0]!.headers['x-vigil-signature']).toBeUndefined();
    expect(r.requests[0]!.headers['x-vigil-timestamp']).toBeUndefined();
  });

  it('fails sink creation with an error naming the variable and the sink when the secret is unset or empty', () => {
    for (const e of [{}, { VIGIL_HOOK_SECRET: '' }]) {
      let err: unknown;
      try {
        createWebhookSink({ url: 'https://hooks.example/x', name: 'ops', secretEnv: 'VIGIL_HOOK_SECRET' }, { env: e });
      } catch (caught) {
        err = caught;
      }
      expect(err).toBeInstanceOf(VigilError);
      expect((err as VigilError).code).toBe('VIGIL_ERR_CONFIG_INVALID');
      expect((err as VigilError).message).toBe(
        'notify sink "ops": environment variable VIGIL_HOOK_SECRET (named by secretEnv) is not set',
      );
    }
    const cfg = notifyConfigSchema.parse({ webhooks: [{ url: 'https://hooks.example/x', secretEnv: 'NOPE_SECRET' }] });
    expect(() => createSinks(cfg, { logger: captureLogger().logger, env: {} })).toThrow(
      /"webhook:hooks\.example".*NOPE_SECRET/,
    );
  });

  it('rejects a secretEnv that is not a variable name', () => {
    const res = notifyConfigSchema.safeParse({ webhooks: [{ url: 'https://x.io', secretEnv: 'not a name' }] });
    expect(res.success).toBe(false);
    expect(res.error?.issues[0]?.path).toEqual(['webhooks', 0, 'secretEnv']);
  });
});
