import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IncidentTracker } from '../../src/incidents/index.ts';
import type { IncidentEvent, IntervalEdge } from '../../src/shared/index.ts';

function edge(type: IntervalEdge['type'], phase: 'open' | 'close', t: number, extra: Partial<IntervalEdge> = {}): IntervalEdge {
  return { streamId: 's1', type, phase, mediaTime: t, wallTime: 1_700_000_000_000 + t * 1000, ...extra };
}

function tracker(flapWindow = 0) {
  const events: IncidentEvent[] = [];
  const t = new IncidentTracker({ onEvent: (e) => events.push(e), flapWindow });
  return { t, events, kinds: () => events.map((e) => `${e.kind}:${e.incident.type}${e.incident.channel ? `/${e.incident.channel}` : ''}`) };
}

describe('IncidentTracker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens once and closes once per interval; a second open while open is not a new incident', () => {
    const { t, kinds, events } = tracker();
    t.handle(edge('black', 'open', 1));
    t.handle(edge('black', 'open', 1.5));
    t.handle(edge('black', 'close', 4));
    t.handle(edge('black', 'close', 4.2));
    expect(kinds()).toEqual(['incident.opened:black', 'incident.closed:black']);
    expect(events[1]!.incident).toMatchObject({ start: 1, end: 4, state: 'closed', occurrences: 1 });
  });

  it('keeps channels apart', () => {
    const { t, kinds } = tracker();
    t.handle(edge('silence', 'open', 1, { channel: 'FL' }));
    t.handle(edge('silence', 'open', 1, { channel: 'FR' }));
    t.handle(edge('silence', 'close', 3, { channel: 'FL' }));
    expect(kinds()).toEqual(['incident.opened:silence/FL', 'incident.opened:silence/FR', 'incident.closed:silence/FL']);
  });

  it('a freeze during an open black is implied by it and not reported', () => {
    const { t, kinds } = tracker();
    t.handle(edge('black', 'open', 1));
    t.handle(edge('freeze', 'open', 1));
    t.handle(edge('black', 'close', 5));
    t.handle(edge('freeze', 'close', 5));
    expect(kinds()).toEqual(['incident.opened:black', 'incident.closed:black']);
  });

  it('flapping: a defect that comes and goes within the flap window is one incident with a count', () => {
    const { t, kinds, events } = tracker(10);
    for (let i = 0; i < 4; i++) {
      t.handle(edge('silence', 'open', i * 5));
      t.handle(edge('silence', 'close', i * 5 + 2));
      vi.advanceTimersByTime(3000); // back within 10 s
    }
    expect(kinds()).toEqual(['incident.opened:silence']);
    vi.advanceTimersByTime(10_000);
    expect(kinds()).toEqual(['incident.opened:silence', 'incident.closed:silence']);
    expect(events[1]!.incident).toMatchObject({ start: 0, end: 17, occurrences: 4 });
  });

  it('flapping: a defect that stays away past the window closes with its real end time, and a later one is new', () => {
    const { t, kinds, events } = tracker(10);
    t.handle(edge('black', 'open', 0));
    t.handle(edge('black', 'close', 3));
    vi.advanceTimersByTime(10_001);
    t.handle(edge('black', 'open', 20));
    expect(kinds()).toEqual(['incident.opened:black', 'incident.closed:black', 'incident.opened:black']);
    expect(events[1]!.incident.end).toBe(3);
    expect(events[2]!.incident.id).not.toBe(events[0]!.incident.id);
  });

  it('closeStream and flush emit held closes at once', () => {
    const { t, kinds } = tracker(60);
    t.handle(edge('black', 'open', 0));
    t.handle(edge('black', 'close', 3));
    t.handle(edge('silence', 'open', 0, { streamId: 's2' }));
    t.handle(edge('silence', 'close', 2, { streamId: 's2' }));
    t.closeStream('s1', 10);
    expect(kinds()).toEqual(['incident.opened:black', 'incident.opened:silence', 'incident.closed:black']);
    t.flush();
    expect(kinds()).toHaveLength(4);
  });
  it('a freeze held in its flap window is not revived by the stillness of a following black', () => {
    const { t, kinds, events } = tracker(10);
    t.handle(edge('freeze', 'open', 0));
    t.handle(edge('freeze', 'close', 4));
    t.handle(edge('black', 'open', 6));
    t.handle(edge('freeze', 'open', 6)); // a black picture is also a still one
    vi.advanceTimersByTime(10_001);
    t.handle(edge('black', 'close', 9));
    t.handle(edge('freeze', 'close', 9));
    vi.advanceTimersByTime(10_001);
    expect(kinds()).toEqual(['incident.opened:freeze', 'incident.opened:black', 'incident.closed:freeze', 'incident.closed:black']);
    expect(events[2]!.incident).toMatchObject({ end: 4, occurrences: 1 });
  });

  it('a black that has ended (its close held in the flap window) implies nothing: a freeze after it is reported', () => {
    // The demo's HLS stream: black 10-14 s, freeze from 20 s. With the default 10 s flap window
    // the black's close was still held when the freeze opened, and the freeze was dropped as
    // "implied by the open black".
    const { t, kinds, events } = tracker(10);
    t.handle(edge('black', 'open', 10));
    t.handle(edge('freeze', 'open', 10)); // a black picture is also a still one: implied
    t.handle(edge('black', 'close', 14));
    t.handle(edge('freeze', 'close', 14));
    vi.advanceTimersByTime(6000);
    t.handle(edge('freeze', 'open', 20));
    vi.advanceTimersByTime(4000);
    t.handle(edge('freeze', 'close', 24));
    vi.advanceTimersByTime(10_001);
    expect(kinds()).toEqual(['incident.opened:black', 'incident.opened:freeze', 'incident.closed:black', 'incident.closed:freeze']);
    expect(events[1]!.incident).toMatchObject({ start: 20 });
    expect(events[3]!.incident).toMatchObject({ start: 20, end: 24, occurrences: 1 });
    expect(events[2]!.incident).toMatchObject({ start: 10, end: 14 });
  });

  it('a black that comes back within its flap window implies the stillness that comes with it again', () => {
    const { t, kinds } = tracker(10);
    t.handle(edge('black', 'open', 10));
    t.handle(edge('black', 'close', 14));
    vi.advanceTimersByTime(2000);
    t.handle(edge('black', 'open', 16)); // the same black incident, one more occurrence
    t.handle(edge('freeze', 'open', 16));
    t.handle(edge('black', 'close', 19));
    t.handle(edge('freeze', 'close', 19));
    vi.advanceTimersByTime(10_001);
    expect(kinds()).toEqual(['incident.opened:black', 'incident.closed:black']);
  });
});
