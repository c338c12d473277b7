import { z } from 'zod';
import { avSyncDetector } from './av-sync/av-sync-detector.ts';
import { blackDetector } from './black/black-detector.ts';
import { channelLossDetector } from './channel-loss/channel-loss-detector.ts';
import { clippingDetector } from './clipping/clipping-detector.ts';
import { corruptionDetector } from './corruption/corruption-detector.ts';
import { freezeDetector } from './freeze/freeze-detector.ts';
import { loudnessDetector } from './loudness/loudness-detector.ts';
import { silenceDetector } from './silence/silence-detector.ts';
import { trackPresenceDetector } from './track-presence/track-presence-detector.ts';
import { transportDetector } from './transport/transport-detector.ts';
import { stutterDetector } from './stutter/stutter-detector.ts';
import type { DetectorSpec, OptionSpec, OptionTable } from './spec.ts';

/** Every detector Vigil ships, in the order they run on each frame. */
export const DETECTORS: readonly DetectorSpec[] = [
  blackDetector as unknown as DetectorSpec,
  freezeDetector as unknown as DetectorSpec,
  silenceDetector as unknown as DetectorSpec,
  corruptionDetector as unknown as DetectorSpec,
  loudnessDetector as unknown as DetectorSpec,
  clippingDetector as unknown as DetectorSpec,
  channelLossDetector as unknown as DetectorSpec,
  avSyncDetector as unknown as DetectorSpec,
  trackPresenceDetector as unknown as DetectorSpec,
  transportDetector as unknown as DetectorSpec,
  stutterDetector as unknown as DetectorSpec,
];

export function findDetector(name: string): DetectorSpec | undefined {
  return DETECTORS.find((d) => d.name === name);
}

/** Options of one detector as configured: every field optional, `enabled` added. */
export type DetectorOverrides = Record<string, Record<string, number | boolean> | undefined>;

function optionSchema(spec: OptionSpec): z.ZodType {
  if (spec.type === 'boolean') return z.boolean().describe(spec.description);
  const unit = spec.unit ? ` ${spec.unit}` : '';
  return z
    .number({ error: `expected a number (${spec.unit || 'no unit'})` })
    .min(spec.min, { error: `expected at least ${spec.min}${unit}` })
    .max(spec.max, { error: `expected at most ${spec.max}${unit}` })
    .describe(spec.description);
}

function tableSchema(table: OptionTable) {
  const shape: Record<string, z.ZodType> = {
    enabled: z.boolean().describe('Run this detector').optional(),
  };
  for (const [k, spec] of Object.entries(table)) shape[k] = optionSchema(spec).optional();
  return z.strictObject(shape);
}

/**
 * The zod schema of the `detectors:` section (global or per stream), generated from the
 * detectors' option tables so validation, defaults and docs never drift apart.
 */
export function detectorsSchema() {
  const shape: Record<string, z.ZodType> = {};
  for (const d of DETECTORS) shape[d.name] = tableSchema(d.options).optional();
  return z.strictObject(shape);
}

/** Resolved options for one detector: defaults, then global config, then stream overrides. */
export function resolveOptions(
  spec: DetectorSpec,
  ...layers: (DetectorOverrides | undefined)[]
): { enabled: boolean; options: Record<string, number | boolean> } {
  const options: Record<string, number | boolean> = {};
  for (const [k, o] of Object.entries(spec.options)) options[k] = o.default;
  let enabled = true;
  for (const layer of layers) {
    const l = layer?.[spec.name];
    if (!l) continue;
    for (const [k, v] of Object.entries(l)) {
      if (k === 'enabled') enabled = Boolean(v);
      else if (v !== undefined) options[k] = v;
    }
  }
  return { enabled, options };
}
