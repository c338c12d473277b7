import { describe, expect, it } from 'vitest';
import { createSinks, createWebhookSink, notifyConfigSchema } from '../../src/notify/index.ts';
import { parseConfigText } from '../../src/config/index.ts';
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
    const { webhooks, slack, pagerduty } = notifyConfigSchema.shape;
    for (const [where, shape] of Object.entries({
      notify: notifyConfigSchema.shape,
      webhooks: webhooks.unwrap().element.shape,
      slack: slack.unwrap().element.shape,
      pagerduty: pagerduty.unwrap().element.shape,
    })) {
      for (const [key, field] of Object.entries(shape)) expect(field.description, `${where}.${key}`).toBeTruthy();
    }
  });

  it('accepts routing and secrets on every remote sink kind', () => {
    const route = { types: ['black'], tags: ['news'], minSeverity: 'major' } as const;
    const cfg = notifyConfigSchema.parse({
      webhooks: [{ url: 'https://a.example/h', secretEnv: 'HOOK_SECRET', ...route }],
      slack: [{ urlEnv: 'SLACK_URL', ...route }],
      pagerduty: [{ routingKeyEnv: 'PD_KEY', ...route }],
    });
    expect(cfg.webhooks?.[0]).toMatchObject({ secretEnv: 'HOOK_SECRET', ...route });
    expect(cfg.slack?.[0]).toEqual({ urlEnv: 'SLACK_URL', timeoutMs: 5000, maxAttempts: 12, ...route });
    expect(cfg.pagerduty?.[0]).toMatchObject({ routingKeyEnv: 'PD_KEY', ...route });
  });

  it('rejects unknown keys and bad values in slack and pagerduty, naming the field', () => {
    const issues = (input: unknown): string[] => {
      const res = notifyConfigSchema.safeParse(input);
      expect(res.success).toBe(false);
      return (res.error?.issues ?? []).map(
        (i) => `${i.path.join('.')}${'keys' in i ? `[${i.keys.join(',')}]` : ''}: ${i.message}`,
      );
    };
    expect(issues({ slack: [{ urlEnv: 'S', channel: '#ops' }] })).toEqual([
      expect.stringMatching(/^slack\.0\[channel\]: /),
    ]);
    expect(issues({ pagerduty: [{ routingKeyEnv: 'P', routingKey: 'abc' }] })).toEqual([
      expect.stringMatching(/^pagerduty\.0\[routingKey\]: /),
    ]);
    expect(issues({ pagerduty: [{}] })).toEqual([expect.stringMatching(/^pagerduty\.0\.routingKeyEnv: /)]);
    expect(issues({ pagerduty: [{ routingKeyEnv: 'P', minSeverity: 'high' }] })).toEqual([
      expect.stringMatching(/^pagerduty\.0\.minSeverity: /),
    ]);
    expect(issues({ slack: [{ urlEnv: 'S', types: ['blak'] }] })).toEqual([
      expect.stringMatching(/^slack\.0\.types\.0: /),
    ]);
    expect(issues({ slack: [{ url: 'ftp://x' }] })).toEqual(['slack.0.url: must be an http:// or https:// URL']);
    expect(issues({ slack: [{}] })).toEqual(['slack.0.urlEnv: set exactly one of urlEnv and url']);
    expect(issues({ slack: [{ urlEnv: 'S', url: 'https://h.example/x' }] })).toEqual([
      'slack.0.urlEnv: set exactly one of urlEnv and url',
    ]);
    expect(issues({ webhooks: [{ url: 'https://x.io', tags: 'news' }] })).toEqual([
      expect.stringMatching(/^webhooks\.0\.tags: /),
    ]);
    expect(issues({ webhooks: [{ url: 'https://x.io', secret: 'inline' }] })).toEqual([
      expect.stringMatching(/^webhooks\.0\[secret\]: /),
    ]);
  });

  it('full config errors name the field path', () => {
    const details = (yaml: string): readonly string[] => {
      try {
        parseConfigText(yaml, 'test.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(VigilError);
        return (err as VigilError).details;
      }
      throw new Error('config was accepted');
    };
    expect(
      details(`
notify:
  slack: [{ urlEnv: S, chanel: "#ops" }]
  pagerduty: [{ routingKeyEnv: P, minSeverity: high }]
`),
    ).toEqual(['notify.slack[0].chanel: unknown key', expect.stringMatching(/^notify\.pagerduty\[0\]\.minSeverity: /)]);
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
