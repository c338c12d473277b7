/**
 * The detect stage: detectors, their option tables and the tee that runs them.
 * Detectors see read-only frame views and report interval edges; they never block.
 */
export { DetectorChain } from './detector-chain.ts';
export type { DetectorChainOptions } from './detector-chain.ts';
export { DETECTORS, findDetector, detectorsSchema, resolveOptions } from './registry.ts';
export type { DetectorOverrides } from './registry.ts';
export { IntervalTracker } from './interval-tracker.ts';
export type { IntervalTrackerOptions, IntervalCallbacks } from './interval-tracker.ts';
export { defaultOptions } from './spec.ts';
export type { Detector, DetectorContext, DetectorSpec, OptionSpec, OptionTable, InputSpec } from './spec.ts';
