/**
 * Engine: runs the frame path. `analyze()` runs one input in process; the WorkerPool
 * runs live streams in supervised worker processes, one per core.
 */
export { analyze } from './analyze.ts';
export type { AnalyzeOptions, AnalyzeResult } from './analyze.ts';
export { WorkerPool } from './worker-pool.ts';
export type { WorkerPoolOptions } from './worker-pool.ts';
export type { StreamAssignment, ToWorker, FromWorker } from './protocol.ts';
