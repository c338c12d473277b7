import { describe, expect, it } from 'vitest';
import {
  createPagerDutySink,
  createSinks,
  createSlackSink,
  createWebhookSink,
  matchesRoute,
  notifyConfigSchema,
  type PagerDutyEvent,
  type Route,
  type Sink,
  type SlackMessage,
  type WebhookPayload,
} from '../../src/notify/index.ts';
import type { Incident, IncidentEvent } from '../../src/shared/index.ts';
import { TextSink, captureLogger, harness, makeEvent, waitFor, type ReceivedRequest } from './helpers.ts';

const { receiver, notifier } = harness();

const inc = (over: Partial<Incident>): Incident => makeEvent('incident.opened', over).incident;

describe('matchesRoute', () => {
  const black = inc({ type: 'black', severity: 'critical', tags: ['news', 'tier1'] });
  const silence = inc({ type: 'silence', severity: 'minor', tags: [] });
  const loud = inc({ type: 'loudness', severity: 'major', tags: ['sports'] });

  it.each<[string, Route, [boolean, boolean, boolean]]>([
    ['empty route', {}, [true, true, true]],
    ['types (any of)', { types: ['black', 'loudness'] }, [true, false, true]],
    ['tags (at least one)', { tags: ['sports', 'tier1'] }, [true, false, true]],
    ['tags never match an untagged incident', { tags: ['news'] }, [true, false, false]],
    ['minSeverity major', { minSeverity: 'major' }, [true, false, true]],
    ['minSeverity critical', { minSeverity: 'critical' }, [true, false, false]],
    ['minSeverity minor', { minSeverity: 'minor' }, [true, true, true]],
    [
      'all filters must match',
      { types: ['loudness', 'silence'], tags: ['sports'], minSeverity: 'major' },
      [false, false, true],
    ],
    ['empty types list matches nothing', { types: [] }, [false, false, false]],
  ])('%s', (_what, route, expected) => {
    expect([black, silence, loud].map((i) => matchesRoute(route, i))).toEqual(expected);
  });
});

/** A Route as the (mutable) config shape. */
const cfg = (route: Route): { types?: Incident['type'][]; tags?: string[]; minSeverity?: Incident['severity'] } => ({
  ...(route.types ? { types: [...route.types] } : {}),
  ...(route.tags ? { tags: [...route.tags] } : {}),
  ...(route.minSeverity ? { minSeverity: route.minSeverity } : {}),
});

type Kind = {
  kind: string;
  make: (url: string, route: Route) => Sink;
  /** The incident id a request carried. */
  idOf: (req: ReceivedRequest) => string | undefined;
};

const kinds: Kind[] = [
  {
    kind: 'webhook',
    make: (url, route) => createWebhookSink({ url, name: 'sink', ...cfg(route) }),
    idOf: (req) => (req.body as WebhookPayload).incident.id,
  },
  {
    kind: 'slack',
    make: (url, route) =>
      createSlackSink({ urlEnv: 'SLACK_URL', name: 'sink', ...cfg(route) }, { env: { SLACK_URL: url } }),
    idOf: (req) => {
      const ctx = (req.body as SlackMessage).blocks.find((b) => b.type === 'context');
      return ctx?.type === 'context' ? /incident `([^`]+)`/.exec(ctx.elements[0]?.text ?? '')?.[1] : undefined;
    },
  },
  {
    kind: 'pagerduty',
    make: (url, route) =>
      createPagerDutySink({ routingKeyEnv: 'PD', url, name: 'sink', ...cfg(route) }, { env: { PD: 'k' } }),
    idOf: (req) => (req.body as PagerDutyEvent).dedup_key,
  },
];

describe.each(kinds)('routing: $kind sink', ({ make, idOf }) => {
  const events: IncidentEvent[] = [
    makeEvent('incident.opened', { type: 'black', severity: 'critical', tags: ['news'] }), // 0
    makeEvent('incident.opened', { type: 'black', severity: 'critical', tags: ['sports'] }), // 1
    makeEvent('incident.opened', { type: 'silence', severity: 'minor', tags: ['news'] }), // 2
    makeEvent('incident.opened', { type: 'loudness', severity: 'major', tags: ['news', 'tier1'] }), // 3
    makeEvent('incident.opened', { type: 'freeze', severity: 'critical', tags: [] }), // 4
  ];

  async function delivered(route: Route, expected: number): Promise<string[]> {
    const r = await receiver(() => 202);
    const n = notifier([make(r.url, route)]);
    for (const ev of events) n.publish(ev);
    await waitFor(() => n.stats().sink?.delivered === expected, 2000, `${expected} deliveries`);
    // Give anything wrongly queued a chance to arrive.
    await new Promise((res) => setTimeout(res, 30));
    return r.requests.map(idOf).filter((id): id is string => id !== undefined);
  }
  const ids = (...i: number[]): string[] => i.map((k) => events[k]!.incident.id);

  it('by tags', async () => {
    expect(await delivered({ tags: ['news'] }, 3)).toEqual(ids(0, 2, 3));
  });
  it('by types', async () => {
    expect(await delivered({ types: ['black', 'freeze'] }, 3)).toEqual(ids(0, 1, 4));
  });
  it('by minSeverity', async () => {
    expect(await delivered({ minSeverity: 'major' }, 4)).toEqual(ids(0, 1, 3, 4));
  });
  it('by all three together', async () => {
    expect(
      await delivered({ tags: ['news', 'tier1'], types: ['black', 'loudness', 'silence'], minSeverity: 'major' }, 2),
    ).toEqual(ids(0, 3));
  });
});

describe('routing from config', () => {
  it('filters each remote sink while console stays unfiltered', async () => {
    const r = await receiver(() => 202);
    const cfg = notifyConfigSchema.parse({
      webhooks: [{ url: r.url, name: 'hook', tags: ['news'] }],
      slack: [{ urlEnv: 'SLACK_URL', name: 'slack', minSeverity: 'critical' }],
      pagerduty: [{ routingKeyEnv: 'PD', url: r.url, name: 'pd', types: ['freeze'] }],
    });
    const out = new TextSink();
    const sinks = createSinks(cfg, {
      logger: captureLogger().logger,
      consoleStream: out,
      env: { SLACK_URL: r.url, PD: 'k' },
    });
    const n = notifier(sinks);
    n.publish(makeEvent('incident.opened', { type: 'black', severity: 'minor', tags: ['news'] }));
    n.publish(makeEvent('incident.opened', { type: 'freeze', severity: 'critical', tags: [] }));
    n.publish(makeEvent('incident.opened', { type: 'silence', severity: 'major', tags: ['sports'] }));
    await waitFor(() => n.stats().console?.delivered === 3 && n.stats().hook?.delivered === 1);
    await waitFor(() => n.stats().slack?.delivered === 1 && n.stats().pd?.delivered === 1);
    expect(out.text.trim().split('\n')).toHaveLength(3);
    expect(r.requests).toHaveLength(3);
  });
});
