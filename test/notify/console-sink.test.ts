import { describe, expect, it } from 'vitest';
import { Notifier, createConsoleSink, formatIncidentLine } from '../../src/notify/index.ts';
import { TextSink, captureLogger, makeEvent, waitFor } from './helpers.ts';

const ANSI = new RegExp(String.fromCharCode(27) + '\\[');

describe('console sink', () => {
  it('prints one readable line per event, without ANSI codes when color is false', async () => {
    const out = new TextSink();
    const n = new Notifier({
      sinks: [createConsoleSink({ stream: out, color: false, utc: true })],
      logger: captureLogger().logger,
    });
    n.publish(makeEvent('incident.opened'));
    n.publish(makeEvent('incident.closed'));
    await waitFor(() => n.stats().console?.delivered === 2);
    await n.stop();

    expect(ANSI.test(out.text)).toBe(false);
    const lines = out.text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines[0]).toBe(
      '2026-11-26 10:01:02  OPEN   black        [udp-bars] UDP test pattern  at 12.04s  meanLuma=16.1',
    );
    expect(lines[1]).toBe(
      '2026-11-26 10:01:06  CLOSE  black        [udp-bars] UDP test pattern  12.04s→16.02s (3.98s)  meanLuma=16.1',
    );
  });

  it('colours OPEN red and CLOSE green when color is true', () => {
    const out = new TextSink();
    const sink = createConsoleSink({ stream: out, color: true, utc: true });
    void sink.deliver(makeEvent('incident.opened'), 1);
    void sink.deliver(makeEvent('incident.closed'), 1);
    const [open, close] = out.text.split('\n');
    expect(open).toContain('\u001b[31m');
    expect(close).toContain('\u001b[32m');
  });

  it('defaults colour to the stream being a TTY', () => {
    const out = new TextSink();
    out.isTTY = false;
    void createConsoleSink({ stream: out }).deliver(makeEvent(), 1);
    expect(ANSI.test(out.text)).toBe(false);
  });

  it('shows channel and flapping count', () => {
    const line = formatIncidentLine(
      makeEvent('incident.opened', {
        type: 'silence',
        channel: 'FL',
        occurrences: 3,
        measurements: { rmsDb: -71.234 },
      }),
      { utc: true },
    );
    expect(line).toBe(
      '2026-11-26 10:01:02  OPEN   silence/FL   [udp-bars] UDP test pattern  at 12.04s  (3×)  rmsDb=-71.23',
    );
  });
});
