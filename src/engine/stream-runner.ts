import { DetectorChain } from '../detect/index.ts';
import { StreamSource, type SourceStatus } from '../ingest/index.ts';
import type { IntervalEdge, Logger } from '../shared/index.ts';
import type { StreamAssignment } from './protocol.ts';

export interface StreamRunnerEvents {
  edge(edge: IntervalEdge): void;
  status(id: string, status: SourceStatus, gauges: Record<string, number>): void;
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
      onEdge: (e) => events.edge(e),
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
        ...(logger ? { logger } : {}),
      },
      {
        video: (v) => this.chain.process(v),
        audio: (a) => this.chain.process(a),
        edge: (e) => events.edge(e),
        discontinuity: (t, w) => this.chain.flush(t, w),
      },
    );
    const report = (): void => events.status(stream.id, this.source.status(), Object.fromEntries(this.chain.gauges));
    this.statusTimer = setInterval(report, 1000);
    this.statusTimer.unref();
  }

  start(): void {
    this.source.run().catch(() => {});
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.source.stop();
  }
}
