import { describe, expect, it } from 'vitest';
import { DETECTORS, detectorsSchema, findDetector, resolveOptions } from '../../src/detect/index.ts';
import { INCIDENT_TYPES } from '../../src/shared/index.ts';

function issues(input: unknown): string {
  const r = detectorsSchema().safeParse(input);
  expect(r.success).toBe(false);
  return r.success ? '' : JSON.stringify(r.error.issues);
}

describe('detector registry', () => {
  it('has a detector for every incident type but signal_loss (ingest watches that), one owner each', () => {
    const owners = new Map<string, string[]>();
    for (const d of DETECTORS) for (const t of d.types) owners.set(t, [...(owners.get(t) ?? []), d.name]);
    for (const t of INCIDENT_TYPES) {
      if (t === 'signal_loss') expect(owners.has(t), t).toBe(false);
      else expect(owners.get(t), t).toHaveLength(1);
    }
    expect(new Set(DETECTORS.map((d) => d.name)).size).toBe(DETECTORS.length);
    expect(DETECTORS.slice(0, 3).map((d) => d.name)).toEqual(['black', 'freeze', 'silence']);
    expect(findDetector('freeze')?.types).toEqual(['freeze']);
    expect(findDetector('nope')).toBeUndefined();
  });

  it('rejects unknown detector names', () => {
    expect(issues({ blackk: { enabled: false } })).toContain('blackk');
  });

  it('rejects unknown option keys', () => {
    expect(issues({ black: { minDurationn: 3 } })).toContain('minDurationn');
    expect(issues({ silence: { treshold: -50 } })).toContain('treshold');
  });

  it('rejects out-of-range values with the bound in the message', () => {
    const low = issues({ black: { minDuration: 0.001 } });
    expect(low).toContain('0.04');
    expect(low).toContain('minDuration');
    const high = issues({ freeze: { minDuration: 4000 } });
    expect(high).toContain('3600');
    expect(issues({ silence: { threshold: 6 } })).toMatch(/at most 0 dBFS/);
    expect(issues({ silence: { threshold: -200 } })).toMatch(/at least -120 dBFS/);
    expect(issues({ black: { pictureRatio: 1.5 } })).toMatch(/at most 1 ratio/);
  });

  it('rejects wrong types', () => {
    issues({ black: { minDuration: '2' } });
    issues({ silence: { perChannel: 1 } });
    issues({ freeze: { enabled: 'no' } });
  });

  it('accepts valid overrides', () => {
    const input = {
      black: { enabled: false, minDuration: 5 },
      freeze: { minDuration: 10, maxMovingArea: 0.2 },
      silence: { threshold: -50, perChannel: false },
    };
    const r = detectorsSchema().safeParse(input);
    expect(r.success).toBe(true);
    expect(detectorsSchema().safeParse({}).success).toBe(true);
    const freeze = findDetector('freeze')!;
    const resolved = resolveOptions(freeze, { freeze: { minDuration: 3 } }, { freeze: { minDuration: 10 } });
    expect(resolved.enabled).toBe(true);
    expect(resolved.options['minDuration']).toBe(10);
    expect(resolved.options['recovery']).toBe(freeze.options['recovery']!.default);
  });
});
