import type { NotifyEvent } from './events.ts';

/**
 * A notification destination. `deliver` resolves when the event has been handed over and
 * throws (rejects) on failure, which makes the Notifier retry it with backoff.
 * Throw a {@link PermanentDeliveryError} for failures that retrying cannot fix.
 */
export interface Sink {
  readonly name: string;
  /**
   * @param attempt 1 for the first try, 2 for the first retry, ...
   * @param signal aborted when the Notifier gives up on draining (stop()); optional to honour.
   */
  deliver(event: NotifyEvent, attempt: number, signal?: AbortSignal): Promise<void>;
  /** Attempts per event before it is dropped (default: the Notifier's maxAttempts). */
  readonly maxAttempts?: number;
  /** Filter: events for which this returns false are never queued for this sink. */
  accepts?(event: NotifyEvent): boolean;
}

/** Thrown by a sink when retrying is pointless (e.g. HTTP 400/401/404): the event is dropped. */
export class PermanentDeliveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentDeliveryError';
  }
}
