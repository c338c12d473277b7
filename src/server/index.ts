/**
 * Server: the operator's HTTP API (streams, incidents, SSE events, health, Prometheus
 * metrics, OpenAPI document). It reads and changes the monitor only through ServerDeps,
 * which the composition root provides; it never imports the app.
 */
export { createServer, startServer } from './server.ts';
export type { ServerOptions, StartServerOptions, RunningServer } from './server.ts';
export type { ServerDeps, ServerStreamState, ServerEvents, IncidentQueryFilter, MaybePromise } from './deps.ts';
export { ServerErrorCodes, ApiError } from './errors.ts';
export type { ServerErrorCode, ErrorBody } from './errors.ts';
export { createMetricsRegistry } from './metrics.ts';
