import type { IntervalEdge, MediaInput } from '../shared/index.ts';
import { DETECTORS, resolveOptions, type DetectorOverrides } from './registry.ts';
import type { Detector, DetectorSpec } from './spec.ts';

export interface DetectorChainOptions {
  readonly streamId: string;
  /** Layers of overrides applied over the defaults, later wins (global, then per stream). */
  readonly overrides?: readonly (DetectorOverrides | undefined)[];
  /** Restrict to these detector names (a fleet instance's profile). */
  readonly only?: readonly string[];
  readonly onEdge: (edge: IntervalEdge) => void;
  /** Called when a detector throws: the detector is disabled, the stream goes on. */
  readonly onDetectorError?: (detector: string, err: unknown) => void;
}

/**
 * The tee: one decoded frame, one read-only view, every detector in turn. A detector that
 * throws is switched off for this stream and reported; it never stops the frame path.
 */
export class DetectorChain {
  /** Detectors per input kind, in registry order. */
  private readonly lists: Record<MediaInput['kind'], { name: string; det: Detector }[]> = {
    video: [],
    audio: [],
    packet: [],
    info: [],
    ts: [],
  };
  /** Names of the detectors running, in registry order. */
  private readonly names: string[] = [];
  /** Latest sampled values per gauge name, for metrics and live charts. */
  readonly gauges = new Map<string, number>();

  constructor(private readonly opts: DetectorChainOptions) {
    for (const spec of DETECTORS) {
      if (opts.only && !opts.only.includes(spec.name)) continue;
      const { enabled, options } = resolveOptions(spec, ...(opts.overrides ?? []));
      if (!enabled) continue;
      this.add(spec, options);
    }
  }

  /** Whether any detector running takes this kind of input (ingest need not produce the others). */
  wants(kind: MediaInput['kind']): boolean {
    return this.lists[kind].length > 0;
  }

  get detectorNames(): string[] {
    return [...this.names];
  }

  private add(spec: DetectorSpec, options: Record<string, number | boolean>): void {
    const det = spec.create(options as never, {
      streamId: this.opts.streamId,
      report: (edge) => this.opts.onEdge(edge),
      gauge: (name, value) => this.gauges.set(name, value),
    });
    this.names.push(spec.name);
    for (const input of spec.inputs) this.lists[input.kind].push({ name: spec.name, det });
  }

  private all(): { name: string; det: Detector }[] {
    return Object.values(this.lists).flat();
  }

  process(input: MediaInput): void {
    const list = this.lists[input.kind];
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      try {
        entry.det.process(input);
      } catch (err) {
        // Switch it off for every input kind, not only this one.
        for (const l of Object.values(this.lists)) {
          const at = l.findIndex((e) => e.det === entry.det);
          if (at >= 0) l.splice(at, 1);
        }
        if (list[i] !== entry) i--;
        this.names.splice(this.names.indexOf(entry.name), 1);
        this.opts.onDetectorError?.(entry.name, err);
      }
    }
  }

  flush(mediaTime: number, wallTime: number): void {
    // A detector with several inputs sits in several lists: flush it once.
    const seen = new Set<Detector>();
    for (const { name, det } of this.all()) {
      if (seen.has(det)) continue;
      seen.add(det);
      try {
        det.flush(mediaTime, wallTime);
      } catch (err) {
        this.opts.onDetectorError?.(name, err);
      }
    }
  }
}
