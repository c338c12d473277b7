import type { IncidentType, IntervalEdge, MediaInput } from '../shared/index.ts';

/**
 * One row of a detector's options table (libavfilter's AVOption, GStreamer's GParamSpec):
 * config validation, defaults and the generated reference all come from these rows.
 */
export interface NumberOption {
  readonly type: 'number';
  readonly description: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Unit shown in docs and errors, e.g. 's', 'dB', 'ratio', 'luma levels'. */
  readonly unit: string;
  /** What a normal value looks like and when to change it. */
  readonly guidance?: string;
}
export interface BooleanOption {
  readonly type: 'boolean';
  readonly description: string;
  readonly default: boolean;
  readonly guidance?: string;
}
export type OptionSpec = NumberOption | BooleanOption;

export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends NumberOption ? number : boolean;
};
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** What a detector needs from ingest. Ingest converts once and shares one view with every detector. */
export type InputSpec =
  | { readonly kind: 'video'; readonly plane: 'luma' }
  | { readonly kind: 'audio'; readonly format: 'f32-planar' }
  /** Per-packet facts before decoding (timestamps, sizes, demuxer damage flags). */
  | { readonly kind: 'packet' }
  /** The tracks the input declares, once per (re)connection. */
  | { readonly kind: 'info' }
  /** TR 101 290 checks that failed on the raw MPEG-TS bytes (only inputs ingest reads that way). */
  | { readonly kind: 'ts' };

/** Handed to a detector at creation: where to report. Reporting never blocks the frame path. */
export interface DetectorContext {
  readonly streamId: string;
  /** Report an interval edge (open or close). */
  report(edge: IntervalEdge): void;
  /** Publish a sampled measurement for metrics and live charts (cheap; latest value wins). */
  gauge(name: string, value: number): void;
}

export interface Detector {
  /** Called with every input whose kind the spec's `inputs` name. */
  process(input: MediaInput): void;
  /** End of input or discontinuity: close open intervals at `mediaTime`. */
  flush(mediaTime: number, wallTime: number): void;
}

export interface DetectorSpec<T extends OptionTable = OptionTable> {
  readonly name: string;
  /** Incident type(s) this detector reports. */
  readonly types: readonly IncidentType[];
  readonly description: string;
  readonly inputs: readonly InputSpec[];
  readonly options: T;
  create(options: OptionValues<T>, ctx: DetectorContext): Detector;
}

/** Identity helper that keeps the literal option table type. */
export function defineDetector<T extends OptionTable>(spec: DetectorSpec<T>): DetectorSpec<T> {
  return spec;
}

export function defaultOptions<T extends OptionTable>(table: T): OptionValues<T> {
  const out: Record<string, number | boolean> = {};
  for (const [k, spec] of Object.entries(table)) out[k] = spec.default;
  return out as OptionValues<T>;
}
