/**
 * Shared by the pushed (push.test.ts) and pulled (pull.test.ts) input tests: the simulator as an
 * encoder publishing over RTMP or RTSP, and a StreamSource whose media goes through the black
 * detector alone, with what came out recorded.
 */
import { DetectorChain, DETECTORS } from '../../src/detect/index.ts';
import { StreamSource, setMediaLogLevel, type SourceOptions } from '../../src/ingest/index.ts';
import type { IntervalEdge, StreamInfo } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';

/** An encoder publishing 320x180 H.264 and stereo AAC to `url`, black from 5 s of its 30 s cycle. */
export function publisher(kind: 'rtmp' | 'rtsp', url: string): Promise<SimulationHandle> {
  return startSimulation(
    parseScenario({
      streams: [
        {
          id: 'cam',
          output: { type: kind, url },
          clock: false,
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
          audio: { sampleRate: 48000, channels: 2, bitrateKbps: 96 },
          cycle: 30,
          schedule: [{ at: 5, type: 'black', duration: 3 }],
        },
      ],
    }),
  );
}

export interface BlackWatch {
  readonly source: StreamSource;
  /** The black detector's edges and the source's own (signal loss). */
  readonly edges: IntervalEdge[];
  readonly infos: StreamInfo[];
  /** Video frames and audio chunks so far. */
  readonly count: { video: number; audio: number };
  readonly running: Promise<void>;
}

/** A running StreamSource over `opts` whose media feeds the black detector alone. */
export function watchBlack(opts: SourceOptions): BlackWatch {
  setMediaLogLevel('quiet');
  const off: Record<string, { enabled: boolean }> = {};
  for (const d of DETECTORS) if (d.name !== 'black') off[d.name] = { enabled: false };
  const edges: IntervalEdge[] = [];
  const chain = new DetectorChain({ streamId: opts.id, overrides: [off], onEdge: (e) => void edges.push(e) });
  const infos: StreamInfo[] = [];
  const count = { video: 0, audio: 0 };
  const source = new StreamSource(opts, {
    video: (v) => {
      count.video++;
      chain.process(v);
    },
    audio: (a) => {
      count.audio++;
      chain.process(a);
    },
    packet: (p) => chain.process(p),
    info: (i) => {
      infos.push(i);
      chain.process(i);
    },
    edge: (e) => void edges.push(e),
    discontinuity: (t, w) => chain.flush(t, w),
  });
  return { source, edges, infos, count, running: source.run().catch(() => {}) };
}

/** The black interval's length in media time, once it opened and closed. */
export function blackLength(edges: readonly IntervalEdge[]): number {
  const open = edges.find((e) => e.type === 'black' && e.phase === 'open')!;
  const close = edges.find((e) => e.type === 'black' && e.phase === 'close')!;
  return close.mediaTime - open.mediaTime;
}
