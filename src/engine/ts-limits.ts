import { findDetector, resolveOptions, type DetectorOverrides } from '../detect/index.ts';
import type { TsAnalyzerOptions } from '../ingest/index.ts';

/**
 * The limits ingest's TR 101 290 analyzer judges intervals by, from the transport detector's
 * options for the stream (defaults, then each layer of overrides): a stricter `pcrInterval`
 * than TR 101 290's 40 ms, or a `ptsInterval` other than 700 ms, then applies to the raw bytes
 * as well as to the demuxed packets; `pcrAccuracy` (ns) is the 2.4 limit (off with `pcrChecks: false`).
 */
export function tsLimitsFor(overrides: readonly (DetectorOverrides | undefined)[]): TsAnalyzerOptions {
  const transport = findDetector('transport');
  if (!transport) return {};
  const { options } = resolveOptions(transport, ...overrides);
  return {
    pcrInterval: Math.min(0.04, options.pcrInterval as number),
    ptsInterval: options.ptsInterval as number,
    pcrAccuracy: options.pcrChecks === false ? 0 : (options.pcrAccuracy as number) * 1e-9,
  };
}
