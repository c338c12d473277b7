/**
 * Damage can change what a stream's audio decodes to mid-stream. Seen in the evaluation corpus: a
 * transport-damaged MPEG-2 + MP2 file whose MP2 decoder (planar 16-bit out, so node-av resamples
 * it to planar float) suddenly decoded one mono frame. node-av's resampler refuses such a frame
 * (AVERROR_INPUT_CHANGED, "Failed to resample audio frame: Input changed"), and ingest used to let
 * that end the read: analyze() rejected the whole input and a live channel reconnected. Now the
 * audio decoder is rebuilt and the stream goes on.
 *
 * Fixture: a simulator render (MPEG-2 + MP2 in MPEG-TS) with the channel-mode bits of one MP2
 * frame header set to mono, byte-exact, the way a bit error in the header does it.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import type { Logger } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-audiofmt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DURATION = 8;

async function fixture(): Promise<{ path: string; at: number }> {
  const stream = parseScenario({
    seed: 3,
    streams: [
      {
        id: 'fmt',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 160, height: 90, fps: 25, codec: 'mpeg2' },
        audio: { codec: 'mp2', sampleRate: 48000, channels: 2, toneHz: 440 },
        cycle: DURATION,
        schedule: [],
      },
    ],
  }).streams[0]!;
  const clean = join(dir, 'clean.ts');
  await renderToFile(stream, clean, { duration: DURATION });
  const ts = await TsFile.read(clean);
  const units = ts.pesUnits();
  const audio = units.filter((u) => u.pid === ts.pidOf('audio'));
  const unit = audio[Math.floor(audio.length / 2)]!;
  const at = ts.pesPayloadAt(unit);
  // The PES payload starts with an MPEG audio frame header: the 0xFFF sync word, then (byte 3, top
  // two bits) the channel mode: 0b11 is single channel.
  expect(ts.byte(at)).toBe(0xff);
  expect(ts.byte(at + 1) & 0xf0).toBe(0xf0);
  expect(ts.byte(at + 3) >> 6).not.toBe(3);
  ts.patchByte(at + 3, (b) => b | 0xc0);
  const path = join(dir, 'mono-frame.ts');
  await ts.write(path);
  return { path, at: ts.secondsOf(unit, units) };
}

describe('audio whose format changes mid-stream', () => {
  it('is analysed to the end: the audio decoder is rebuilt, not the read abandoned', async () => {
    const { path, at } = await fixture();
    expect(at).toBeGreaterThan(2);
    const warnings: string[] = [];
    const logger = {
      warn: (_o: unknown, msg: string) => warnings.push(msg),
      error() {},
      info() {},
      debug() {},
    } as unknown as Logger;
    const r = await analyze({ input: path, logger });
    expect(warnings.filter((w) => w.includes('audio decoder failed'))).toHaveLength(1);
    // All of the input is read: the audio after the damaged frame too.
    expect(r.duration).toBeGreaterThan(DURATION - 0.5);
    expect(r.audioChunks).toBeGreaterThan((DURATION - 0.5) * (48000 / 1152));
    // One lost frame is not silence, nor a missing track.
    expect(r.incidents.filter((i) => i.type === 'silence' || i.type === 'audio_missing')).toEqual([]);
  }, 60_000);
});
