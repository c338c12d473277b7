import type { IncidentType, IntervalEdge } from '../shared/index.ts';
import { IntervalTracker, type IntervalCallbacks, type IntervalTrackerOptions } from './interval-tracker.ts';
import type { DetectorContext } from './spec.ts';

type Measurements = Record<string, number | string | boolean>;

/**
 * An IntervalTracker wired to a detector context: converts tracker edges into
 * IntervalEdge reports with wall times derived from the latest observation.
 */
export class EdgeReporter implements IntervalCallbacks {
  private readonly tracker: IntervalTracker;
  private lastMedia = 0;
  private lastWall = 0;
  /** Filled by the detector just before update(); read when an edge fires. */
  measurements: () => Measurements = () => ({});

  constructor(
    private readonly ctx: DetectorContext,
    private readonly type: IncidentType,
    opts: IntervalTrackerOptions,
    private readonly channel?: string,
  ) {
    // The reporter is the tracker's callbacks object: one call target for every reporter (closures
    // per instance made the tracker's calls polymorphic and deoptimised it as each new one fired).
    this.tracker = new IntervalTracker(opts, this);
  }

  /** IntervalCallbacks (called by the tracker). */
  onOpen(start: number): void {
    this.emit('open', start);
  }

  /** IntervalCallbacks (called by the tracker). */
  onClose(_start: number, end: number): void {
    this.emit('close', end);
  }

  get isOpen(): boolean {
    return this.tracker.isOpen;
  }

  update(mediaTime: number, wallTime: number, duration: number, active: boolean, startHint?: number): void {
    this.lastMedia = mediaTime + duration;
    this.lastWall = wallTime + duration * 1000;
    this.tracker.update(mediaTime, duration, active, startHint);
  }

  flush(): void {
    this.tracker.flush();
  }

  private emit(phase: 'open' | 'close', mediaTime: number): void {
    const wallTime = this.lastWall - (this.lastMedia - mediaTime) * 1000;
    const edge: IntervalEdge = {
      streamId: this.ctx.streamId,
      type: this.type,
      phase,
      mediaTime,
      wallTime,
      ...(this.channel !== undefined ? { channel: this.channel } : {}),
      // What the detector saw when it decided; at close the defect is gone, so nothing to add.
      ...(phase === 'open' ? { measurements: this.measurements() } : {}),
    };
    this.ctx.report(edge);
  }
}
