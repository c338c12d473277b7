import type { NotifyEvent } from './events.ts';

/**
 * Durable per-sink outbox for the Notifier. Synchronous on purpose: publish() writes the row
 * before it returns, so an event accepted by the notifier survives a crash (kill -9, power cut)
 * and is delivered by the next process. Delivery is at least once: an event whose delivery
 * succeeded but was not yet marked when the process died is sent again after the restart;
 * receivers deduplicate on the idempotency key (`<incident id>:<kind>`).
 */
export interface OutboxStore {
  /**
   * Records a pending event for `sink` and returns its row id. Ids increase with each new row.
   * Enqueueing an existing (sink, key) is a no-op that returns the existing row's id.
   */
  enqueue(sink: string, key: string, event: NotifyEvent): number;
  /** The event was delivered. */
  delivered(id: number): void;
  /** The event was given up: permanent failure, attempts exhausted, or outbox overflow. */
  dropped(id: number, reason: string): void;
  /** Pending events of `sink`, in enqueue order. */
  pending(sink: string): { id: number; event: NotifyEvent }[];
  /** Optional: counts a failed delivery attempt (for inspection only). */
  failedAttempt?(id: number): void;
}

/** The idempotency key of an event: `<incident id>:<kind>`. */
export function outboxKey(event: NotifyEvent): string {
  return `${event.incident.id}:${event.kind}`;
}
