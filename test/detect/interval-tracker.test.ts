import { describe, expect, it } from 'vitest';
import { IntervalTracker } from '../../src/detect/index.ts';

type Ev = { kind: 'open'; start: number; now: number } | { kind: 'close'; start: number; end: number };

function make(minDuration = 2, recovery = 0.5) {
  const events: Ev[] = [];
  const tracker = new IntervalTracker(
    { minDuration, recovery },
    {
      onOpen: (start, now) => events.push({ kind: 'open', start, now }),
      onClose: (start, end) => events.push({ kind: 'close', start, end }),
    },
  );
  // 1/32 s observations: every boundary below is exact in binary floating point.
  const dt = 1 / 32;
  /** Feeds observations of dt seconds over [from, to), active per predicate. */
  const feed = (from: number, to: number, active: (t: number) => boolean) => {
    const first = Math.round(from / dt);
    const last = Math.round(to / dt);
    for (let i = first; i < last; i++) tracker.update(i * dt, dt, active(i * dt));
  };
  return { tracker, events, feed, dt };
}

describe('IntervalTracker', () => {
  it('opens only once the condition has held for minDuration, reporting the true start', () => {
    const { tracker, events, feed } = make(2, 0.5);
    feed(0, 1, () => false);
    feed(1, 3 - 1 / 32, () => true); // held for 2 s minus one observation: not yet
    expect(events).toEqual([]);
    expect(tracker.isOpen).toBe(false);
    feed(3 - 1 / 32, 3, () => true); // last observation ends at 3.0: 2 s held
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    expect(ev.kind).toBe('open');
    expect(ev.start).toBeCloseTo(1, 9);
    if (ev.kind === 'open') expect(ev.now).toBeCloseTo(3, 9);
    expect(tracker.isOpen).toBe(true);
    expect(tracker.start).toBeCloseTo(1, 9);
  });

  it('short dropouts (< recovery) do not split an interval', () => {
    const { events, feed } = make(2, 0.5);
    // Active 0..6 s except two 0.2 s dropouts, one before opening and one after.
    feed(0, 8, (t) => t < 6 && !(t >= 1 && t < 1.25) && !(t >= 3.5 && t < 3.75));
    expect(events.map((e) => e.kind)).toEqual(['open', 'close']);
    expect(events[0]!.start).toBeCloseTo(0, 9);
    const close = events[1]!;
    if (close.kind === 'close') {
      expect(close.start).toBeCloseTo(0, 9);
      expect(close.end).toBeCloseTo(6, 9);
    }
  });

  it('a dropout of at least recovery before opening restarts the candidate', () => {
    const { events, feed } = make(2, 0.5);
    feed(0, 6, (t) => t < 1.5 || t >= 2.125);
    expect(events).toHaveLength(1);
    expect(events[0]!.kind).toBe('open');
    expect(events[0]!.start).toBeCloseTo(2.125, 9);
  });

  it('closes only after recovery, with the true end', () => {
    const { events, feed, tracker } = make(2, 0.5);
    feed(0, 3, () => true);
    feed(3, 3.5 - 1 / 32, () => false); // inactive up to 3.46875: 0.47 s < recovery
    expect(events.map((e) => e.kind)).toEqual(['open']);
    expect(tracker.isOpen).toBe(true);
    feed(3.5 - 1 / 32, 3.5, () => false); // inactive through 3.5: recovery reached
    expect(events).toHaveLength(2);
    const close = events[1]!;
    expect(close.kind).toBe('close');
    if (close.kind === 'close') {
      expect(close.start).toBeCloseTo(0, 9);
      expect(close.end).toBeCloseTo(3, 9);
    }
    expect(tracker.isOpen).toBe(false);
  });

  it('flush closes an open interval at the last active time', () => {
    const { events, feed, tracker } = make(2, 0.5);
    feed(0, 0.5, () => false);
    feed(0.5, 3.25, () => true);
    feed(3.25, 3.5, () => false); // inactive, but shorter than recovery
    tracker.flush();
    expect(events.map((e) => e.kind)).toEqual(['open', 'close']);
    const close = events[1]!;
    if (close.kind === 'close') {
      expect(close.start).toBeCloseTo(0.5, 9);
      expect(close.end).toBeCloseTo(3.25, 9);
    }
    expect(tracker.isOpen).toBe(false);
  });

  it('flush on a candidate that has not opened yet reports nothing', () => {
    const { events, feed, tracker } = make(2, 0.5);
    feed(0, 1.5, () => true);
    tracker.flush();
    expect(events).toEqual([]);
    expect(tracker.start).toBeNaN();
    // And the candidate is forgotten: 1 s more activity after the flush does not open.
    feed(1.5, 2.5, () => true);
    expect(events).toEqual([]);
    expect(tracker.start).toBeCloseTo(1.5, 9);
    feed(2.5, 3.5, () => true);
    expect(events).toHaveLength(1);
    expect(events[0]!.start).toBeCloseTo(1.5, 9);
  });

  it('does not report the same interval twice', () => {
    const { events, feed, tracker } = make(2, 0.5);
    feed(0, 3, () => true);
    feed(3, 5, () => false);
    expect(events.map((e) => e.kind)).toEqual(['open', 'close']);
    feed(5, 10, () => false);
    tracker.flush();
    tracker.flush();
    expect(events.map((e) => e.kind)).toEqual(['open', 'close']);

    // Flush after close-by-flush emits nothing more either.
    const b = make(2, 0.5);
    b.feed(0, 3, () => true);
    b.tracker.flush();
    b.tracker.flush();
    b.feed(3, 6, () => false);
    expect(b.events.map((e) => e.kind)).toEqual(['open', 'close']);
  });

  it('a second interval after a close is reported with its own start', () => {
    const { events, feed } = make(2, 0.5);
    feed(0, 10, (t) => t < 3 || (t >= 5 && t < 8));
    expect(events.map((e) => [e.kind, Number(e.start.toFixed(6))])).toEqual([
      ['open', 0],
      ['close', 0],
      ['open', 5],
      ['close', 5],
    ]);
  });

  describe('startHint', () => {
    it('dates a new interval back to the hint and counts minDuration from it', () => {
      const { events, tracker } = make(2, 0.5);
      // The detector confirms at t=1 that the condition began at 0.2.
      tracker.update(1, 0.04, true, 0.2);
      expect(events).toEqual([]);
      expect(tracker.start).toBeCloseTo(0.2, 9);
      for (let t = 1.04; t < 2.2 - 1e-9; t += 0.04) tracker.update(t, 0.04, true, 0.2);
      // lastActiveEnd reaches 2.2 → 2.0 s since 0.2.
      expect(events).toHaveLength(1);
      expect(events[0]!.start).toBeCloseTo(0.2, 6);
    });

    it('a hint later than t is ignored (start is never later than the observation)', () => {
      const { tracker } = make(2, 0.5);
      tracker.update(1, 0.04, true, 5);
      expect(tracker.start).toBeCloseTo(1, 9);
    });

    it('a later hint on an unopened candidate restarts it (the detector reset its evidence)', () => {
      const { events, tracker } = make(2, 0.5);
      let t = 0;
      for (; t < 1.5 - 1e-9; t += 0.04) tracker.update(t, 0.04, true, 0);
      tracker.update(t, 0.04, true, t); // evidence restarted here
      expect(tracker.start).toBeCloseTo(t, 6);
      const restart = t;
      for (t += 0.04; t < restart + 1.9; t += 0.04) tracker.update(t, 0.04, true, restart);
      expect(events).toEqual([]); // 0..1.5 s of old evidence does not count
      for (; t < restart + 2.1; t += 0.04) tracker.update(t, 0.04, true, restart);
      expect(events).toHaveLength(1);
      expect(events[0]!.start).toBeCloseTo(restart, 6);
    });

    it('a later hint does not move the start of an interval already open', () => {
      const { events, tracker } = make(2, 0.5);
      let t = 0;
      for (; t < 2.5; t += 0.04) tracker.update(t, 0.04, true, 0);
      expect(events).toHaveLength(1);
      tracker.update(t, 0.04, true, t);
      expect(tracker.start).toBeCloseTo(0, 9);
      tracker.flush();
      expect(events).toHaveLength(2);
      expect(events[1]!.start).toBeCloseTo(0, 9);
    });
  });
});
