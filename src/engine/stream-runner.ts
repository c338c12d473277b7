import { DetectorChain } from '../detect/index.ts';
import { StreamSource, type EvidenceClip, type SourceStatus, type Thumbnail } from '../ingest/index.ts';
import type { IntervalEdge, Logger, PacketInfo, TsEvent } from '../shared/index.ts';
import type { StreamAssignment } from './protocol.ts';
import { tsLimitsFor } from './ts-limits.ts';

export interface StreamRunnerEvents {
  edge(edge: IntervalEdge): void;
  status(id: string, status: SourceStatus, gauges: Record<string, number>): void;
  thumbnail(id: string, thumb: Thumbnail): void;
  /** Evidence clip around an incident's onset (optional: without it no packets are buffered). */
  clip?(id: string, clip: EvidenceClip): void;
}

/** Key of an edge's evidence request; the supervisor matches thumbnails to incidents with it. */
export function evidenceKey(edge: IntervalEdge): string {
  return `${edge.type}|${edge.channel ?? ''}|${edge.phase}`;
}

/** One stream's whole pipeline inside a worker: source → detector chain → edges out. */
export class StreamRunner {
  private readonly source: StreamSource;
  private readonly chain: DetectorChain;
  private statusTimer: NodeJS.Timeout;

  constructor(
    readonly stream: StreamAssignment,
    events: StreamRunnerEvents,
    logger?: Logger,
  ) {
    this.chain = new DetectorChain({
      streamId: stream.id,
      overrides: stream.detectors,
      onEdge: (e) => {
        events.edge(e);
        // Evidence: the next frame shows the defect (open fires after minDuration of it) or the recovery.
        this.source.requestThumbnail(evidenceKey(e));
        // And the original packets around the onset (the edge's media time is where the defect began).
        if (e.phase === 'open') this.requestClip(e);
      },
      onDetectorError: (name, err) => logger?.error({ stream: stream.id, detector: name, err }, 'detector failed and was disabled'),
    });
    this.source = new StreamSource(
      {
        id: stream.id,
        url: stream.url,
        // A monitored input is a channel: files loop at real time, network inputs reconnect.
        live: true,
        signalLossAfter: stream.signalLossAfter,
        signalRecovery: stream.signalRecovery,
        reconnectDelay: { initial: 0.5, max: stream.reconnectMaxDelay },
        thumbnailInterval: stream.thumbnailInterval,
        variant: stream.variant,
        ...(stream.tsAnalysis !== undefined ? { tsAnalysis: stream.tsAnalysis } : {}),
        tsLimits: tsLimitsFor(stream.detectors),
        ...(stream.inputOptions ? { inputOptions: stream.inputOptions } : {}),
        ...(stream.program !== undefined ? { program: stream.program } : {}),
        ...(logger ? { logger } : {}),
      },
      {
        video: (v) => this.chain.process(v),
        audio: (a) => this.chain.process(a),
        // Per-packet facts and the byte-level TR 101 290 analysis only where a detector takes them.
        ...(this.chain.wants('packet') ? { packet: (p: PacketInfo) => this.chain.process(p) } : {}),
        ...(this.chain.wants('ts') ? { ts: (e: TsEvent) => this.chain.process(e) } : {}),
        info: (i) => this.chain.process(i),
        edge: (e) => {
          events.edge(e);
          // A lost signal has no next frame; its onset evidence is the last live thumbnail.
          if (e.phase === 'close') this.source.requestThumbnail(evidenceKey(e));
          // Its clip holds what came before the loss (cut after a deadline, as no packets follow).
          else this.requestClip(e);
        },
        discontinuity: (t, w) => this.chain.flush(t, w),
        thumbnail: (thumb) => events.thumbnail(stream.id, thumb),
        ...(events.clip ? { clip: (clip: EvidenceClip) => events.clip?.(stream.id, clip) } : {}),
      },
    );
    const report = (): void => events.status(stream.id, this.source.status(), Object.fromEntries(this.chain.gauges));
    this.statusTimer = setInterval(report, 1000);
    this.statusTimer.unref();
  }

  /** Wall time (ms) of the last clip asked for, per evidence key. */
  private readonly lastClip = new Map<string, number>();

  /**
   * One clip per defect, not one per flap: a defect that comes and goes every few seconds stays
   * one incident (flap window), so an open edge of the same key within 30 s of the last clip's
   * gets none (a remux costs ~0.1-0.5 s of CPU for 10 s of 720p).
   */
  private requestClip(e: IntervalEdge): void {
    const key = evidenceKey(e);
    const now = Date.now();
    if (now - (this.lastClip.get(key) ?? -Infinity) < 30_000) return;
    this.lastClip.set(key, now);
    this.source.requestClip(key, e.mediaTime);
  }

  start(): void {
    this.source.run().catch(() => {});
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.source.stop();
  }
}
