/** Incidents: turns detector interval edges into incidents that open once and close once. */
export { IncidentTracker } from './incident-tracker.ts';
export type { IncidentTrackerOptions, StreamInfo } from './incident-tracker.ts';
