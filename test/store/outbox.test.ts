import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { IncidentEvent } from '../../src/shared/index.ts';
import { MIGRATIONS } from '../../src/store/index.ts';
import { storeFixture } from '../helpers/store.ts';

let seq = 0;
function event(kind: IncidentEvent['kind'] = 'incident.opened', id = `inc-${++seq}`): IncidentEvent {
  return {
    kind,
    incident: {
      id,
      streamId: 's1',
      streamName: 'S1',
      tags: ['news'],
      type: 'black',
      severity: 'critical',
      state: kind === 'incident.closed' ? 'closed' : 'open',
      start: 12.5,
      openedAt: '2026-11-01T10:00:00.000Z',
      occurrences: 1,
      measurements: { meanLuma: 16.1 },
    },
  };
}
const key = (e: IncidentEvent): string => `${e.incident.id}:${e.kind}`;

const { tmpDb, open } = storeFixture('vigil-outbox-');

describe('SQLite outbox', () => {
  it('is a migration of its own (version 3)', () => {
    const m = MIGRATIONS.find((x) => x.version === 3)!;
    expect(m.name).toMatch(/outbox/);
  });

  it('persists pending rows across close and reopen, in enqueue order, per sink', () => {
    const path = tmpDb();
    const s1 = open(path);
    const evs = [event(), event(), event('incident.closed', 'inc-x'), event()];
    const ids = evs.map((e) => s1.outbox.enqueue('hook', key(e), e));
    s1.outbox.enqueue('slack', key(evs[0]!), evs[0]!);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    s1.outbox.delivered(ids[1]!);
    s1.close();

    const s2 = open(path);
    const pending = s2.outbox.pending('hook');
    expect(pending.map((p) => p.id)).toEqual([ids[0], ids[2], ids[3]]);
    expect(pending.map((p) => p.event)).toEqual([evs[0], evs[2], evs[3]]);
    expect(s2.outbox.pending('slack').map((p) => p.event)).toEqual([evs[0]]);
    expect(s2.outbox.pending('nobody')).toEqual([]);
    // New rows after a reopen come after the old ones.
    const later = event();
    expect(s2.outbox.enqueue('hook', key(later), later)).toBeGreaterThan(Math.max(...ids));
    expect(s2.outbox.pending('hook').at(-1)?.event).toEqual(later);
  });

  it('dedupes (sink, key): the existing id, the first event kept, pending or done', () => {
    const s = open();
    const e = event();
    const id = s.outbox.enqueue('hook', key(e), e);
    const changed: IncidentEvent = { ...e, incident: { ...e.incident, severity: 'minor' } };
    expect(s.outbox.enqueue('hook', key(e), changed)).toBe(id);
    expect(s.outbox.pending('hook')).toEqual([{ id, event: e }]);
    s.outbox.delivered(id);
    expect(s.outbox.enqueue('hook', key(e), e)).toBe(id);
    expect(s.outbox.pending('hook')).toEqual([]);
    // Another sink is another row.
    expect(s.outbox.enqueue('pagerduty', key(e), e)).not.toBe(id);
  });

  it('records dropped rows with a reason and counts failed attempts; a finished row stays finished', () => {
    const path = tmpDb();
    const s = open(path);
    const [a, b] = [event(), event()];
    const ia = s.outbox.enqueue('hook', key(a), a);
    const ib = s.outbox.enqueue('hook', key(b), b);
    s.outbox.failedAttempt(ia);
    s.outbox.failedAttempt(ia);
    s.outbox.dropped(ia, 'attempts exhausted: HTTP 500');
    s.outbox.delivered(ia); // too late: it stays dropped
    s.outbox.delivered(ib);
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.prepare('SELECT id, state, attempts, reason FROM outbox ORDER BY id').all()).toEqual([
        { id: ia, state: 'dropped', attempts: 2, reason: 'attempts exhausted: HTTP 500' },
        { id: ib, state: 'delivered', attempts: 0, reason: null },
      ]);
    } finally {
      raw.close();
    }
  });

  it('prunes delivered and dropped rows beyond the row cap or older than the retention; never pending ones', () => {
    const path = tmpDb();
    const s = open(path, { outboxRetentionRows: 3, outboxRetentionDays: 7 });
    const evs = Array.from({ length: 8 }, () => event());
    const ids = evs.map((e) => s.outbox.enqueue('hook', key(e), e));
    for (const id of ids.slice(0, 6)) s.outbox.delivered(id);
    expect(s.outbox.prune()).toBe(3); // 6 done, keep the newest 3
    const raw = new Database(path);
    try {
      const rows = () =>
        raw.prepare('SELECT id, state FROM outbox ORDER BY id').all() as { id: number; state: string }[];
      expect(rows().map((r) => r.id)).toEqual(ids.slice(3));
      // Age: one done row and one pending row from long ago.
      raw.prepare(`UPDATE outbox SET updated_at = '2020-01-01T00:00:00.000Z' WHERE id IN (?, ?)`).run(ids[3], ids[7]);
      expect(s.outbox.prune()).toBe(1);
      expect(rows()).toEqual([
        { id: ids[4], state: 'delivered' },
        { id: ids[5], state: 'delivered' },
        { id: ids[6], state: 'pending' },
        { id: ids[7], state: 'pending' },
      ]);
    } finally {
      raw.close();
    }
    expect(s.outbox.pending('hook').map((p) => p.id)).toEqual([ids[6], ids[7]]);
  });
});
