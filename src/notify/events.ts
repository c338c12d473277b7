import type { Incident, IncidentEvent } from '../shared/index.ts';

/** Who acknowledged an incident, when, and why. */
export interface Acknowledgement {
  /** Operator name or handle, as given to `POST /api/incidents/:id/ack`. */
  readonly by: string;
  /** Wall time (ISO 8601). */
  readonly at: string;
  readonly note?: string;
}

/** An operator acknowledged an open (or closed) incident. */
export interface IncidentAckEvent {
  readonly kind: 'incident.acknowledged';
  readonly incident: Incident;
  readonly ack: Acknowledgement;
}

/**
 * Everything the notifier fans out: the incidents module's opened/closed events, plus the
 * operator's acknowledgements. Sinks that have no use for an acknowledgement filter it out
 * in `accepts` (email does; PagerDuty sends `acknowledge`; webhook, Slack and console pass it on).
 */
export type NotifyEvent = IncidentEvent | IncidentAckEvent;
export type NotifyEventKind = NotifyEvent['kind'];
