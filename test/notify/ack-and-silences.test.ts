import { describe, expect, it } from 'vitest';
import {
  Silences,
  createConsoleSink,
  createPagerDutySink,
  createSlackSink,
  createWebhookSink,
  formatIncidentLine,
  silenceConfigSchema,
  silenceInputSchema,
  silenceMatches,
  silenceState,
  type NotifyEvent,
  type Silence,
  type SilenceStore,
  type SlackMessage,
  type WebhookPayload,
} from '../../src/notify/index.ts';
import { TextSink, harness, makeEvent, waitFor } from './helpers.ts';

const { receiver, notifier } = harness();

function ackOf(over = {}): NotifyEvent {
  const opened = makeEvent('incident.opened', { streamId: 'news-hd', streamName: 'News HD', ...over });
  return { kind: 'incident.acknowledged', incident: opened.incident, ack: { by: 'ann', at: '2026-11-26T10:02:00.000Z', note: 'on it' } };
}

describe('acknowledgements in the sinks', () => {
  it('PagerDuty: open triggers, ack acknowledges, all with the incident id as dedup_key', async () => {
    const r = await receiver(() => 202);
    const n = notifier([createPagerDutySink({ routingKeyEnv: 'PD', url: r.url, name: 'pd' }, { env: { PD: 'K' } })]);
    const ack = ackOf();
    n.publish({ kind: 'incident.opened', incident: ack.incident });
    n.publish(ack);
    await waitFor(() => n.stats().pd?.delivered === 2);
    expect(r.requests.map((q) => q.body as { event_action: string; dedup_key: string })).toEqual([
      expect.objectContaining({ event_action: 'trigger', dedup_key: ack.incident.id }),
      { routing_key: 'K', event_action: 'acknowledge', dedup_key: ack.incident.id },
    ]);
  });

  it('webhook: event incident.acknowledged with the ack, idempotency key <id>:incident.acknowledged', async () => {
    const r = await receiver();
    const n = notifier([createWebhookSink({ url: r.url, name: 'hook' })]);
    const ack = ackOf();
    n.publish(ack);
    await waitFor(() => n.stats().hook?.delivered === 1);
    const body = r.requests[0]!.body as WebhookPayload;
    expect(body.event).toBe('incident.acknowledged');
    expect(body.ack).toEqual({ by: 'ann', at: '2026-11-26T10:02:00.000Z', note: 'on it' });
    expect(r.requests[0]!.headers['idempotency-key']).toBe(`${ack.incident.id}:incident.acknowledged`);
  });

  it('Slack and console say who acknowledged', async () => {
    const r = await receiver();
    const n = notifier([createSlackSink({ url: r.url, name: 'slack' })]);
    n.publish(ackOf());
    await waitFor(() => n.stats().slack?.delivered === 1);
    const msg = r.requests[0]!.body as SlackMessage;
    expect(msg.text).toBe('👀 acknowledged: black on News HD by ann');
    expect(JSON.stringify(msg.blocks)).toContain('*Acknowledged by*\\nann');
    expect(formatIncidentLine(ackOf(), { utc: true })).toMatch(/^2026-11-26 10:02:00 {2}ACK {4}black {8}\[news-hd\] {2}by ann: on it$/);
    const out = new TextSink();
    await createConsoleSink({ stream: out }).deliver(ackOf(), 1);
    expect(out.text).toContain('ACK');
  });
});

describe('silence rules', () => {
  const rule = (over: Partial<Silence> = {}): Silence => ({
    id: 'r',
    startsAt: '2026-01-01T10:00:00.000Z',
    endsAt: '2026-01-01T11:00:00.000Z',
    createdAt: '2026-01-01T09:00:00.000Z',
    source: 'api',
    ...over,
  });
  const inc = { streamId: 'cam1', tags: ['studio', 'news'], type: 'black' as const };

  it('matches every matcher that is set; time decides the state', () => {
    expect(silenceMatches(rule({ stream: 'cam1' }), inc)).toBe(true);
    expect(silenceMatches(rule({ stream: 'cam2' }), inc)).toBe(false);
    expect(silenceMatches(rule({ tag: 'news' }), inc)).toBe(true);
    expect(silenceMatches(rule({ tag: 'sport' }), inc)).toBe(false);
    expect(silenceMatches(rule({ stream: 'cam1', type: 'freeze' }), inc)).toBe(false);
    expect(silenceMatches(rule({ tag: 'studio', type: 'black' }), inc)).toBe(true);
    expect(silenceState(rule(), Date.parse('2026-01-01T09:59:59Z'))).toBe('pending');
    expect(silenceState(rule(), Date.parse('2026-01-01T10:00:00Z'))).toBe('active');
    expect(silenceState(rule(), Date.parse('2026-01-01T11:00:00Z'))).toBe('expired');
  });

  it('a maintenance window applies only between its start and end; deleted rules stop applying; stored rules come back', () => {
    let now = Date.parse('2026-01-01T09:00:00Z');
    const rows = new Map<string, Silence>();
    const store: SilenceStore = {
      saveSilence: (s) => void rows.set(s.id, s),
      deleteSilence: (id) => rows.delete(id),
      listSilences: (after) => [...rows.values()].filter((s) => after === undefined || s.endsAt > after),
    };
    const silences = new Silences(store, [], { now: () => now });
    // (The config schema: the API one would refuse an end that is past on the real clock.)
    const window = silences.add(silenceConfigSchema.parse({ tag: 'studio', startsAt: '2026-01-01T10:00:00Z', duration: 3600 }));
    expect(window.endsAt).toBe('2026-01-01T11:00:00.000Z');
    expect(silences.matching(inc)).toEqual([]);
    now = Date.parse('2026-01-01T10:30:00Z');
    expect(silences.matching(inc).map((s) => s.id)).toEqual([window.id]);
    expect(silences.activeCount()).toBe(1);
    // Another process (a restart) reads it back from the store.
    const again = new Silences(store, [], { now: () => now });
    expect(again.matching(inc).map((s) => s.id)).toEqual([window.id]);
    expect(silences.remove(window.id)).toBe('removed');
    expect(silences.matching(inc)).toEqual([]);
    expect(rows.size).toBe(0);
    expect(silences.remove(window.id)).toBe('unknown');
  });

  it('a config entry may have expired already (a stale window must not stop Vigil); an API body may not', () => {
    const stale = { stream: 'cam1', startsAt: '2020-01-01T00:00:00Z', endsAt: '2020-01-01T01:00:00Z' };
    expect(silenceConfigSchema.safeParse(stale).success).toBe(true);
    expect(silenceInputSchema.safeParse(stale).success).toBe(false);
    const silences = new Silences(undefined, [silenceConfigSchema.parse(stale)]);
    expect(silences.list(['expired']).map((s) => s.id)).toEqual(['config-1']);
    expect(silences.matching({ streamId: 'cam1', tags: [], type: 'black' })).toEqual([]);
  });

  it('config rules are read-only and named config-N', () => {
    const silences = new Silences(undefined, [silenceInputSchema.parse({ type: 'loudness', duration: 60 })]);
    expect(silences.list().map((s) => [s.id, s.source])).toEqual([['config-1', 'config']]);
    expect(silences.remove('config-1')).toBe('read-only');
    expect(silences.matching({ streamId: 'x', tags: [], type: 'loudness' })).toHaveLength(1);
  });
});
