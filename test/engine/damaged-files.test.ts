/**
 * A monitor must never fall over on a broken input. Real clips and a simulator render are damaged
 * at the byte level, the way a bad disk, a cut-off download or a garbled transfer damages them
 * (seeded, so every run sees the same bytes), and each damaged file goes through analyze(): it
 * must end, either with a result or with an error that names the file, never with a crash, a hang
 * or an unnamed exception. (A byte-level fuzz of the shared clips found no crash; it found a
 * stream with sound and undecodable video that gave no incident, now video_missing: the last case.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { prng } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

type Damage = (b: Buffer, rand: () => number) => Buffer;

const DAMAGES: Record<string, Damage> = {
  'bit flips (1 in 10 000 bytes)': (b, rand) => flip(b, rand, 1e-4),
  'bit flips (1 in 100 bytes)': (b, rand) => flip(b, rand, 1e-2),
  'a zeroed run of 64 KiB in the middle': (b) => {
    const o = Math.floor(b.length / 2);
    b.fill(0, o, Math.min(b.length, o + 65536));
    return b;
  },
  'cut off at 60%': (b) => b.subarray(0, Math.floor(b.length * 0.6)),
  'garbled first 4 KiB': (b, rand) => {
    for (let i = 0; i < Math.min(4096, b.length); i++) if (rand() < 0.05) b[i] = Math.floor(rand() * 256);
    return b;
  },
  'a chunk of the file copied over another': (b) => {
    const len = Math.min(100_000, Math.floor(b.length / 4));
    b.copy(b, Math.floor(b.length / 3), Math.floor(b.length / 8), Math.floor(b.length / 8) + len);
    return b;
  },
};

function flip(b: Buffer, rand: () => number, rate: number): Buffer {
  const n = Math.max(1, Math.round(b.length * rate));
  for (let k = 0; k < n; k++) {
    const i = Math.floor(rand() * b.length);
    b[i] = b[i]! ^ (1 << Math.floor(rand() * 8));
  }
  return b;
}

let dir = '';
let rendered = '';
beforeAll(async () => {
  setMediaLogLevel('quiet');
  dir = await mkdtemp(join(tmpdir(), 'vigil-damaged-'));
  rendered = join(dir, 'render.ts');
  const sc = parseScenario({
    seed: 4,
    streams: [
      {
        id: 'd',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 320, height: 180, fps: 25 },
        audio: { sampleRate: 48000, channels: 2 },
        cycle: 8,
      },
    ],
  });
  await renderToFile(sc.streams[0]!, rendered, { duration: 8 });
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs analyze() on the file: a result, or an Error whose message names the file. */
async function survive(path: string): Promise<Awaited<ReturnType<typeof analyze>> | undefined> {
  try {
    return await analyze({ input: path, decoderThreads: 1 });
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(path);
    return undefined;
  }
}

describe('analyze() on damaged files', () => {
  const sources = (): [string, string][] => [
    ['simulator MPEG-TS (H.264 + AAC)', rendered],
    ...(HAVE_MEDIA
      ? ([
          ['WebM (VP9 + Opus)', join(MEDIA, 'bbb_180p_vp9_opus.webm')],
          ['MP4 (H.264 + AAC)', join(MEDIA, 'sintel_256x110_lowbitrate_blocky.mp4')],
        ] as [string, string][])
      : []),
  ];
  let seed = 1;
  for (const [name, damage] of Object.entries(DAMAGES)) {
    const s = seed++;
    it(`${name}: every source ends with a result or a named error`, async () => {
      for (const [label, src] of sources()) {
        const path = join(dir, `${s}-${label.replace(/\W+/g, '_')}`) + src.slice(src.lastIndexOf('.'));
        writeFileSync(path, damage(Buffer.from(readFileSync(src)), prng(s)));
        const r = await survive(path);
        if (r) {
          expect(r.duration, `${label}`).toBeGreaterThanOrEqual(0);
          for (const i of r.incidents) expect(i.end ?? i.start, `${label} ${i.type}`).toBeGreaterThanOrEqual(i.start);
        }
      }
    }, 60_000);
  }

  it('video packets that arrive but never decode, with the sound fine: one video_missing over the whole file', async () => {
    const ts = await TsFile.read(rendered);
    expect(ts.garblePayloadStarts(ts.pidOf('video'), 24)).toBeGreaterThan(0);
    const path = join(dir, 'undecodable.ts');
    await ts.write(path);
    const r = (await survive(path))!;
    expect(r.videoFrames).toBe(0);
    expect(r.audioChunks).toBeGreaterThan(0);
    const missing = r.incidents.filter((i) => i.type === 'video_missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.measurements?.packetsArriving).toBe(true);
  }, 60_000);
});
