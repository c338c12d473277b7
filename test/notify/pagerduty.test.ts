import { describe, expect, it } from 'vitest';
import {
  PAGERDUTY_SEVERITY,
  createPagerDutySink,
  createSinks,
  notifyConfigSchema,
  pagerdutyEvent,
  type PagerDutyEvent,
} from '../../src/notify/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { captureLogger, harness, makeEvent, waitFor } from './helpers.ts';

const { receiver, notifier } = harness();
const env = { PD_KEY: 'R0UT1NGK3Y' };
type Trigger = Extract<PagerDutyEvent, { event_action: 'trigger' }>;

describe('pagerduty sink', () => {
  it('triggers on open and resolves on close with the same dedup_key', async () => {
    const r = await receiver(() => 202);
    const n = notifier([createPagerDutySink({ routingKeyEnv: 'PD_KEY', url: r.url, name: 'pd' }, { env })]);
    const opened = makeEvent('incident.opened', {
      streamId: 'news-hd',
      streamName: 'News HD',
      tags: ['news'],
      severity: 'major',
      measurements: { meanLuma: 16.1 },
    });
    n.publish(opened);
    n.publish({
      kind: 'incident.closed',
      incident: { ...opened.incident, state: 'closed', end: 20, closedAt: '2026-11-26T10:01:10.000Z' },
    });
    await waitFor(() => n.stats().pd?.delivered === 2);

    const [trigger, resolve] = r.requests.map((q) => q.body) as [Trigger, PagerDutyEvent];
    expect(r.requests[0]!.headers['content-type']).toBe('application/json');
    expect(trigger).toEqual({
      routing_key: 'R0UT1NGK3Y',
      event_action: 'trigger',
      dedup_key: opened.incident.id,
      client: 'Vigil',
      payload: {
        summary: 'black on News HD (major)',
        source: 'news-hd',
        severity: 'error',
        timestamp: '2026-11-26T10:01:02.000Z',
        component: 'black',
        group: 'News HD',
        custom_details: { meanLuma: 16.1, start: 12.04, streamName: 'News HD', tags: ['news'] },
      },
    });
    expect(resolve).toEqual({ routing_key: 'R0UT1NGK3Y', event_action: 'resolve', dedup_key: opened.incident.id });
    expect(n.stats().pd).toEqual({ queued: 0, delivered: 2, failed: 0, retries: 0 });
  });

  it('maps critical/major/minor to critical/error/warning', () => {
    expect(PAGERDUTY_SEVERITY).toEqual({ critical: 'critical', major: 'error', minor: 'warning' });
    for (const [ours, theirs] of [
      ['critical', 'critical'],
      ['major', 'error'],
      ['minor', 'warning'],
    ] as const) {
      const body = pagerdutyEvent(makeEvent('incident.opened', { severity: ours }), 'k') as Trigger;
      expect(body.payload.severity).toBe(theirs);
    }
  });

  it('adds links and images only when the incident has a thumbnailUrl', () => {
    const thumb = 'https://vigil.example/t/1.jpg';
    // The shared Incident type gains thumbnailUrl later; sinks read it defensively.
    const over: Partial<Incident> & { thumbnailUrl: string } = { thumbnailUrl: thumb };
    const withThumb = pagerdutyEvent(makeEvent('incident.opened', over), 'k') as Trigger;
    expect(withThumb.links).toEqual([{ href: thumb, text: 'Thumbnail at onset' }]);
    expect(withThumb.images).toEqual([{ src: thumb, alt: 'UDP test pattern at 12.04 s' }]);
    const without = pagerdutyEvent(makeEvent('incident.opened'), 'k');
    expect('links' in without || 'images' in without).toBe(false);
  });

  it('retries a 429 and delivers exactly once', async () => {
    const r = await receiver((_req, i) => (i === 0 ? 429 : 202));
    const n = notifier([createPagerDutySink({ routingKeyEnv: 'PD_KEY', url: r.url, name: 'pd' }, { env })]);
    const ev = makeEvent();
    n.publish(ev);
    await waitFor(() => n.stats().pd?.delivered === 1);
    await new Promise((res) => setTimeout(res, 50));
    expect(r.requests.map((q) => (q.body as PagerDutyEvent).dedup_key)).toEqual([ev.incident.id, ev.incident.id]);
    expect(n.stats().pd).toEqual({ queued: 0, delivered: 1, failed: 0, retries: 1 });
  });

  it('retries 5xx', async () => {
    const r = await receiver((_req, i) => (i < 2 ? [500, 503][i]! : 202));
    const n = notifier([createPagerDutySink({ routingKeyEnv: 'PD_KEY', url: r.url, name: 'pd' }, { env })]);
    n.publish(makeEvent());
    await waitFor(() => n.stats().pd?.delivered === 1);
    expect(n.stats().pd?.retries).toBe(2);
  });

  it('drops an event on 400 (and 408) without retrying, and moves on', async () => {
    const r = await receiver((_req, i) => [400, 408][i] ?? 202);
    const { logger, records } = captureLogger();
    const n = notifier([createPagerDutySink({ routingKeyEnv: 'PD_KEY', url: r.url, name: 'pd' }, { env })], logger);
    for (let i = 0; i < 3; i++) n.publish(makeEvent());
    await waitFor(() => n.stats().pd?.delivered === 1);
    expect(r.requests).toHaveLength(3);
    expect(n.stats().pd).toEqual({ queued: 0, delivered: 1, failed: 2, retries: 0 });
    expect(records.some((l) => l.level === 50 && l.msg.includes('permanent'))).toBe(true);
    // The routing key is never logged.
    expect(JSON.stringify(records)).not.toContain('R0UT1NGK3Y');
  });

  it('defaults to the Events API v2 URL and fails creation when routingKeyEnv is unset', () => {
    expect(notifyConfigSchema.parse({ pagerduty: [{ routingKeyEnv: 'PD_KEY' }] }).pagerduty?.[0]).toEqual({
      routingKeyEnv: 'PD_KEY',
      url: 'https://events.pagerduty.com/v2/enqueue',
      timeoutMs: 5000,
      maxAttempts: 12,
    });
    expect(createPagerDutySink({ routingKeyEnv: 'PD_KEY' }, { env }).name).toBe('pagerduty:PD_KEY');
    const cfg = notifyConfigSchema.parse({ pagerduty: [{ routingKeyEnv: 'PD_MISSING', name: 'oncall' }] });
    expect(() => createSinks(cfg, { logger: captureLogger().logger, env: {} })).toThrow(
      'notify sink "oncall": environment variable PD_MISSING (named by routingKeyEnv) is not set',
    );
  });
});
