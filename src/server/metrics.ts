import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { INCIDENT_TYPES } from '../shared/index.ts';
import type { ServerDeps } from './deps.ts';

/** Prefix of the transport detector's per-check total gauges. */
const TR101290 = 'tr101290_';

/**
 * A Prometheus registry of the server's own (never the global one, so two servers in one
 * process do not collide). Per-stream series are read from deps at scrape time: no timers,
 * and a removed stream's series disappear on the next scrape.
 */
export function createMetricsRegistry(deps: Pick<ServerDeps, 'streams'> & Partial<Pick<ServerDeps, 'silencedCount' | 'listSilences'>>): Registry {
  const registers = [new Registry()];
  const register = registers[0]!;
  collectDefaultMetrics({ register });

  type Labels = Record<string, string>;
  type Sample = [Labels, number];
  function gauge(name: string, help: string, labelNames: string[], samples: () => Iterable<Sample>): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of samples()) if (Number.isFinite(value)) this.set(labels, value);
      },
    });
  }
  // Monotonic per source; a worker restart starts them over, which Prometheus reads as a counter reset.
  function counter(name: string, help: string, samples: () => Iterable<Sample>): void {
    new Counter({
      name,
      help,
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of samples()) if (Number.isFinite(value) && value >= 0) this.inc(labels, value);
      },
    });
  }
  function* perStatus(
    pick: (s: NonNullable<ReturnType<ServerDeps['streams']>[number]['status']>) => number,
  ): Iterable<Sample> {
    for (const s of deps.streams()) if (s.status) yield [{ stream: s.id }, pick(s.status)];
  }

  gauge('vigil_stream_fps', 'Decoded frames per second.', ['stream'], () => perStatus((st) => st.fps));
  gauge('vigil_stream_bitrate_bits', 'Input bitrate over the last second, bits per second.', ['stream'], () =>
    perStatus((st) => st.bitrate),
  );
  gauge(
    'vigil_stream_decode_lag_seconds',
    'Seconds the latest frame lags where pacing says it should be.',
    ['stream'],
    () => perStatus((st) => st.decodeLag),
  );
  gauge('vigil_stream_up', '1 when the stream is live, else 0.', ['stream'], function* () {
    for (const s of deps.streams()) yield [{ stream: s.id }, s.status?.state === 'live' ? 1 : 0];
  });
  counter('vigil_stream_reconnects_total', 'Reconnects of the stream source.', () => perStatus((st) => st.reconnects));
  counter('vigil_stream_decode_errors_total', 'Decode errors of the stream source.', () =>
    perStatus((st) => st.decodeErrors),
  );
  gauge(
    'vigil_detector_value',
    'Latest detector measurement, by stream and measurement name.',
    ['stream', 'name'],
    function* () {
      for (const s of deps.streams())
        for (const [name, value] of Object.entries(s.gauges)) yield [{ stream: s.id, name }, value];
    },
  );
  // The transport detector's per-check totals (gauges tr101290_<check>) as one counter family, so
  // rate() and increase() work: totals since the connection, which Prometheus reads as a counter
  // reset when a reconnect or a worker restart starts them over.
  new Counter({
    name: 'vigil_tr101290_errors_total',
    help: 'ETSI TR 101 290 errors found by ingest on inputs read byte by byte (MPEG-TS files, udp://, srt://), by stream and check (sync_loss, sync_byte, pat, cc, pmt, pid, tei, crc, pcr_repetition, pcr_discontinuity, pcr_accuracy, pts, cat).',
    labelNames: ['stream', 'check'],
    registers,
    collect() {
      this.reset();
      for (const s of deps.streams())
        for (const [name, value] of Object.entries(s.gauges))
          if (name.startsWith(TR101290) && Number.isFinite(value) && value >= 0) this.inc({ stream: s.id, check: name.slice(TR101290.length) }, value);
    },
  });
  gauge('vigil_open_incidents', 'Open incidents by stream and type.', ['stream', 'type'], function* () {
    for (const s of deps.streams()) {
      const counts = new Map<string, number>(INCIDENT_TYPES.map((t) => [t, 0]));
      for (const i of s.openIncidents) counts.set(i.type, (counts.get(i.type) ?? 0) + 1);
      for (const [type, n] of counts) yield [{ stream: s.id, type }, n];
    }
  });
  const silencedCount = deps.silencedCount?.bind(deps);
  if (silencedCount) {
    new Counter({
      name: 'vigil_incidents_silenced_total',
      help: 'Incidents recorded but not notified because a silence or maintenance window matched when they opened.',
      registers,
      collect() {
        this.reset();
        this.inc(silencedCount());
      },
    });
  }
  const listSilences = deps.listSilences?.bind(deps);
  if (listSilences) {
    gauge('vigil_silences_active', 'Silences and maintenance windows in force now.', [], () => [
      [{}, listSilences(['active']).length],
    ]);
  }
  return register;
}
