/**
 * The three audio detectors (loudness, clipping, channel_loss) through the real pipeline: the
 * simulator renders an MPEG-TS file (H.264 + AAC, programme-like audio at about -23 LUFS) with
 * scripted audio defects, and analyze() ingests and decodes it as `vigil analyze` does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile, type GroundTruthEntry } from '../../src/simulate/index.ts';

let dir = '';
let truth: GroundTruthEntry[] = [];
let incidents: Incident[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-audio-'));
  const stream = parseScenario({
    seed: 3,
    streams: [
      {
        id: 'audio',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 160, height: 90, fps: 10 },
        audio: { sampleRate: 48000, channels: 2, signal: 'programme' },
        cycle: 60,
        schedule: [
          { at: 4, type: 'clipping', duration: 4 },
          { at: 14, type: 'loudness', duration: 14, gainDb: 12 },
          { at: 33, type: 'channel_loss', duration: 6, channel: 'FR', variant: 'phase_invert' },
          { at: 42, type: 'channel_loss', duration: 4, channel: 'FL' },
        ],
      },
    ],
  }).streams[0]!;
  const path = join(dir, 'audio.ts');
  truth = (await renderToFile(stream, path, { duration: 49 })).filter((t) => t.type !== 'clean');
  incidents = (await analyze({ input: path })).incidents;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function find(type: string, channel: string | undefined, near: number): Incident | undefined {
  return incidents.find((i) => i.type === type && (i.channel ?? undefined) === channel && Math.abs(i.start - near) < 2);
}

describe('audio detectors on a simulated broadcast file, through analyze()', () => {
  it('the file carries the scripted defects', () => {
    expect(truth.map((t) => t.type)).toEqual(['clipping', 'loudness', 'channel_loss', 'channel_loss']);
  });

  it('clipping (+30 dB into the limit, AAC-encoded) is found from onset to end', () => {
    const t = truth[0]!;
    const i = find('clipping', undefined, t.start);
    expect(i, JSON.stringify(incidents)).toBeDefined();
    expect(Math.abs(i!.start - t.start)).toBeLessThan(0.5);
    expect(Math.abs(i!.end! - t.end!)).toBeLessThan(1);
    expect(i!.measurements.channel).toBe('FL+FR');
  });

  it('+12 dB for 14 s is too loud, from when short-term loudness crossed -17 LUFS', () => {
    const t = truth[1]!;
    const i = find('loudness', 'too_loud', t.start);
    expect(i, JSON.stringify(incidents)).toBeDefined();
    // The 3 s short-term window lags: it crosses within about 1 s of the step up and falls back
    // below -17 LUFS a little after the step down.
    expect(i!.start - t.start).toBeGreaterThanOrEqual(0);
    expect(i!.start - t.start).toBeLessThan(1);
    expect(i!.end! - t.end!).toBeGreaterThanOrEqual(0);
    expect(i!.end! - t.end!).toBeLessThan(3);
    expect(i!.measurements.shortTermLufs as number).toBeGreaterThan(-17);
  });

  it('the phase-inverted leg and the dead leg are channel_loss with kind and channel', () => {
    const inv = find('channel_loss', 'FL+FR', truth[2]!.start);
    expect(inv, JSON.stringify(incidents)).toBeDefined();
    expect(Math.abs(inv!.start - truth[2]!.start)).toBeLessThan(0.5);
    expect(Math.abs(inv!.end! - truth[2]!.end!)).toBeLessThan(1);
    expect(inv!.measurements.kind).toBe('phase_inverted');
    const dead = find('channel_loss', 'FL', truth[3]!.start);
    expect(dead, JSON.stringify(incidents)).toBeDefined();
    expect(Math.abs(dead!.start - truth[3]!.start)).toBeLessThan(0.5);
    expect(Math.abs(dead!.end! - truth[3]!.end!)).toBeLessThan(1);
    expect(dead!.measurements.kind).toBe('dead');
  });

  it('nothing else from these detectors except true-peak overs inside the clipped and boosted stretches', () => {
    const audio = incidents.filter((i) => ['loudness', 'clipping', 'channel_loss', 'silence'].includes(i.type));
    const expected = new Set(
      [
        find('clipping', undefined, truth[0]!.start),
        find('loudness', 'too_loud', truth[1]!.start),
        find('channel_loss', 'FL+FR', truth[2]!.start),
        find('channel_loss', 'FL', truth[3]!.start),
      ].filter(Boolean),
    );
    const others = audio.filter((i) => !expected.has(i));
    for (const i of others) {
      expect(i.type).toBe('loudness');
      expect(i.channel).toBe('true_peak');
      const inside = truth
        .slice(0, 2)
        .some((t) => i.start >= t.start - 0.5 && (i.end ?? i.start) <= t.end! + 0.5 + 5 /* truePeakHold */);
      expect(inside, JSON.stringify(i)).toBe(true);
    }
  });
});
