import { DetectorChain, type DetectorOverrides } from '../detect/index.ts';
import { IncidentTracker } from '../incidents/index.ts';
import { StreamSource, type VariantChoice } from '../ingest/index.ts';
import type { Incident, Logger, PacketInfo, TsEvent } from '../shared/index.ts';
import { tsLimitsFor } from './ts-limits.ts';

export interface AnalyzeOptions {
  readonly input: string;
  readonly detectors?: DetectorOverrides;
  readonly logger?: Logger;
  /** Called for each incident as it closes (incidents open at end of input close there). */
  readonly onIncident?: (incident: Incident) => void;
  /** Called about once a second with media time decoded so far. */
  readonly onProgress?: (mediaTime: number, duration: number | undefined) => void;
  readonly decoderThreads?: number;
  /** Which rendition of an HLS master playlist to read (default: the highest bandwidth). */
  readonly variant?: VariantChoice;
  /** Read MPEG-TS files byte by byte through the TR 101 290 analyzer (default true; SourceOptions.tsAnalysis). */
  readonly tsAnalysis?: boolean;
  /** The programme of a multi-programme transport stream to analyse (SourceOptions.program). */
  readonly program?: number;
}

export interface AnalyzeResult {
  readonly incidents: Incident[];
  /** Media seconds decoded. */
  readonly duration: number;
  readonly videoFrames: number;
  readonly audioChunks: number;
}

/**
 * The same pipeline as the monitor (ingest → detect → incidents) over one input, read as
 * fast as it decodes, in this process. Rejects with VIGIL_ERR_INPUT_UNREADABLE when the
 * input cannot be opened.
 */
export async function analyze(opts: AnalyzeOptions): Promise<AnalyzeResult> {
  const id = 'input';
  const incidents: Incident[] = [];
  const tracker = new IncidentTracker({
    onEvent: (e) => {
      if (e.kind !== 'incident.closed') return;
      incidents.push(e.incident);
      opts.onIncident?.(e.incident);
    },
  });
  const chain = new DetectorChain({
    streamId: id,
    overrides: [opts.detectors],
    onEdge: (edge) => tracker.handle(edge),
    onDetectorError: (name, err) => opts.logger?.error({ detector: name, err }, 'detector failed and was disabled'),
  });
  let inputDuration: number | undefined;
  let videoFrames = 0;
  let audioChunks = 0;
  let end = 0;
  let lastProgress = 0;
  const source = new StreamSource(
    {
      id,
      url: opts.input,
      live: false,
      onOpen: (info: { duration: number | undefined }) => {
        inputDuration = info.duration;
      },
      decoderThreads: opts.decoderThreads ?? 1,
      ...(opts.variant !== undefined ? { variant: opts.variant } : {}),
      ...(opts.tsAnalysis !== undefined ? { tsAnalysis: opts.tsAnalysis } : {}),
      tsLimits: tsLimitsFor([opts.detectors]),
      ...(opts.program !== undefined ? { program: opts.program } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    },
    {
      video: (v) => {
        videoFrames++;
        end = Math.max(end, v.mediaTime + v.frameDuration);
        chain.process(v);
        if (opts.onProgress && v.wallTime - lastProgress > 500) {
          lastProgress = v.wallTime;
          opts.onProgress(v.mediaTime, inputDuration);
        }
      },
      audio: (a) => {
        audioChunks++;
        end = Math.max(end, a.mediaTime + a.nbSamples / a.sampleRate);
        chain.process(a);
      },
      // Per-packet facts and the byte-level TR 101 290 analysis only where a detector takes them.
      ...(chain.wants('packet') ? { packet: (p: PacketInfo) => chain.process(p) } : {}),
      ...(chain.wants('ts') ? { ts: (e: TsEvent) => chain.process(e) } : {}),
      info: (i) => chain.process(i),
      edge: (e) => tracker.handle(e),
      discontinuity: (t, w) => chain.flush(t, w),
    },
  );
  await source.run();
  chain.flush(end, Date.now());
  tracker.closeStream(id, end);
  return { incidents, duration: end, videoFrames, audioChunks };
}
