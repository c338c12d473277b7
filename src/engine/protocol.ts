import type { DetectorOverrides } from '../detect/index.ts';
import type { SourceStatus, VariantChoice } from '../ingest/index.ts';
import type { IntervalEdge } from '../shared/index.ts';

/** What a worker needs to run one stream. Plain data: it crosses the process boundary. */
export interface StreamAssignment {
  readonly id: string;
  readonly url: string;
  /** Override layers, later wins: global config, then the stream's own. */
  readonly detectors: readonly (DetectorOverrides | undefined)[];
  readonly signalLossAfter: number;
  readonly signalRecovery: number;
  readonly reconnectMaxDelay: number;
  /** Seconds between live thumbnails. */
  readonly thumbnailInterval: number;
  /** Which rendition of an HLS master playlist to monitor. */
  readonly variant: VariantChoice;
  /** Read MPEG-TS files and udp:// through the TR 101 290 analyzer (default true). */
  readonly tsAnalysis?: boolean;
  /** The programme of a multi-programme transport stream to monitor (SourceOptions.program). */
  readonly program?: number;
  /** FFmpeg options for opening the input, over Vigil's defaults (SourceOptions.inputOptions). */
  readonly inputOptions?: Readonly<Record<string, string>>;
}

/** Supervisor → worker. */
export type ToWorker =
  | { readonly type: 'add'; readonly stream: StreamAssignment }
  | { readonly type: 'remove'; readonly id: string }
  | { readonly type: 'shutdown' };

/**
 * Worker → supervisor. Only small reports cross: interval edges and status, never frames
 * (frames stay in the worker that decoded them).
 */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'edge'; readonly edge: IntervalEdge }
  | { readonly type: 'status'; readonly id: string; readonly status: SourceStatus; readonly gauges: Record<string, number> }
  | {
      readonly type: 'thumbnail';
      readonly id: string;
      readonly jpeg: Uint8Array;
      readonly mediaTime: number;
      readonly wallTime: number;
      /** 'live', or `<type>|<channel>|<phase>` for incident evidence. */
      readonly reasons: readonly string[];
    }
  | {
      readonly type: 'clip';
      readonly id: string;
      /** `<type>|<channel>|open`, like a thumbnail's evidence reason. */
      readonly reason: string;
      readonly mime: string;
      /** MPEG-TS bytes (structured clone: they cross as bytes). */
      readonly data: Uint8Array;
      /** Media time (s) of the first packet. */
      readonly start: number;
      readonly duration: number;
      readonly onset: number;
    }
  | { readonly type: 'removed'; readonly id: string }
  | { readonly type: 'error'; readonly id: string; readonly message: string };
