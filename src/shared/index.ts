export type { VideoFrameView, AudioChunk, MediaInput, PreviewPlane } from './media.ts';
export { INCIDENT_TYPES } from './incident-types.ts';
export type { IncidentType, Severity, IntervalEdge, Incident, IncidentEvent } from './incident-types.ts';
export { ErrorCodes, VigilError, errorMessage } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export { createLogger } from './logger.ts';
export type { Logger } from './logger.ts';
export { EventBus } from './event-bus.ts';
export type { Listener } from './event-bus.ts';
