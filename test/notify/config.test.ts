import { describe, expect, it } from 'vitest';
import { createSinks, createWebhookSink, notifyConfigSchema } from '../../src/notify/index.ts';
import { VigilError } from '../../src/shared/index.ts';
import { TextSink, captureLogger } from './helpers.ts';

describe('notifyConfigSchema', () => {
  it('applies defaults', () => {
    expect(notifyConfigSchema.parse({})).toEqual({ console: true });
    const cfg = notifyConfigSchema.parse({ webhooks: [{ url: 'https://example.com/h' }] });
    expect(cfg.webhooks?.[0]).toEqual({ url: 'https://example.com/h', timeoutMs: 5000, maxAttempts: 12 });
  });

  it('rejects unknown keys, non-http URLs and unknown incident types', () => {
    expect(notifyConfigSchema.safeParse({ consle: true }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ url: 'https://x.io', retries: 3 }] }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ url: 'ftp://x.io' }] }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ url: 'not a url' }] }).success).toBe(false);
    expect(notifyConfigSchema.safeParse({ webhooks: [{ url: 'http://x.io', types: ['blak'] }] }).success).toBe(false);
  });

  it('describes every field', () => {
    const webhook = notifyConfigSchema.shape.webhooks.unwrap().element;
    for (const [key, field] of Object.entries({ ...notifyConfigSchema.shape, ...webhook.shape })) {
      expect(field.description, key).toBeTruthy();
    }
  });
});

describe('createSinks', () => {
  it('builds console and webhook sinks from config', () => {
    const cfg = notifyConfigSchema.parse({
      webhooks: [{ url: 'http://127.0.0.1:9/x' }, { url: 'https://a.example/y', name: 'ops' }],
    });
    const sinks = createSinks(cfg, { logger: captureLogger().logger, consoleStream: new TextSink() });
    expect(sinks.map((s) => s.name)).toEqual(['console', 'webhook:127.0.0.1:9', 'ops']);
    expect(createSinks(notifyConfigSchema.parse({ console: false }), { logger: captureLogger().logger })).toEqual([]);
  });

  it('createWebhookSink rejects an invalid config with a VigilError', () => {
    expect(() => createWebhookSink({ url: 'file:///etc/passwd' })).toThrow(VigilError);
  });
});
