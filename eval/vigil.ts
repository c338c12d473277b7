/**
 * Vigil's side: analyze() from src/engine/analyze.ts over one file, in this process, with
 * default detector options (or only one detector on, for its CPU share), and the CPU it
 * took (process.cpuUsage, user + system, all threads).
 */
import '../src/shared/polyfill.ts';
import { DETECTORS, DetectorChain, type DetectorOverrides } from '../src/detect/index.ts';
import { analyze } from '../src/engine/index.ts';
import { IncidentTracker } from '../src/incidents/index.ts';
import { StreamSource } from '../src/ingest/index.ts';
import type { Incident } from '../src/shared/index.ts';

export interface VigilRun {
  readonly incidents: Incident[];
  readonly duration: number;
  readonly cpu: number;
}

/** Overrides that leave only `name` on (none at all for `name` = 'none'). */
export function onlyDetector(name: string): DetectorOverrides {
  const o: DetectorOverrides = {};
  for (const d of DETECTORS) if (d.name !== name) o[d.name] = { enabled: false };
  return o;
}

export async function runVigil(input: string, detectors?: DetectorOverrides): Promise<VigilRun> {
  const c0 = process.cpuUsage();
  const r = await analyze({ input, decoderThreads: 1, ...(detectors ? { detectors } : {}) });
  const c = process.cpuUsage(c0);
  return { incidents: r.incidents, duration: r.duration, cpu: (c.user + c.system) / 1e6 };
}

/**
 * The same pipeline as analyze(), but the file is read as a live channel paced at 1x media
 * time (StreamSource live + realtime), so that a timestamp gap is wall-clock silence and
 * ingest's signal-loss watch sees it as it would on a real feed. Takes the file's duration
 * in wall time. Stops when the file has played to its end (before the source reconnects).
 */
export async function runVigilLive(input: string, duration: number, detectors?: DetectorOverrides): Promise<VigilRun> {
  const id = 'input';
  const incidents: Incident[] = [];
  const c0 = process.cpuUsage();
  const tracker = new IncidentTracker({
    onEvent: (e) => {
      if (e.kind === 'incident.closed') incidents.push(e.incident);
    },
  });
  const chain = new DetectorChain({ streamId: id, overrides: [detectors], onEdge: (edge) => tracker.handle(edge), onDetectorError: () => {} });
  let end = 0;
  let wasLive = false;
  let stopping = false;
  // eslint-disable-next-line prefer-const
  let source: StreamSource;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void source.stop();
  };
  source = new StreamSource(
    { id, url: input, live: true, realtime: true, decoderThreads: 1, thumbnailInterval: 0 },
    {
      video: (v) => {
        if (stopping) return;
        end = Math.max(end, v.mediaTime + v.frameDuration);
        chain.process(v);
        if (end >= duration - 0.05) stop();
      },
      audio: (a) => {
        if (stopping) return;
        end = Math.max(end, a.mediaTime + a.nbSamples / a.sampleRate);
        chain.process(a);
      },
      packet: (p) => {
        if (!stopping) chain.process(p);
      },
      info: (i) => {
        if (!stopping) chain.process(i);
      },
      edge: (e) => {
        if (!stopping) tracker.handle(e);
      },
      discontinuity: (t, w) => {
        if (!stopping) chain.flush(t, w);
      },
      status: (s) => {
        if (s.state === 'live') wasLive = true;
        else if (wasLive && s.state !== 'lost') stop();
      },
    },
  );
  const guard = setTimeout(stop, (duration + 30) * 1000);
  try {
    await source.run();
  } finally {
    clearTimeout(guard);
  }
  chain.flush(end, Date.now());
  tracker.closeStream(id, end);
  const c = process.cpuUsage(c0);
  return { incidents, duration: end, cpu: (c.user + c.system) / 1e6 };
}
