/**
 * Ingest reads packets with av_read_frame straight from the format context (PacketReader), not
 * through node-av's Demuxer.packets(), whose per-packet queueing cost more than demuxing. That
 * generator also undid the 33-bit MPEG-TS timestamp wrap (about every 26.5 h of a live feed); the
 * reader does it itself: a file whose PTS/DTS wrap mid-way reads as one continuous timeline, with
 * the same media time and no incident, as the same file without the wrap.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Demuxer } from 'node-av/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/index.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { PacketReader, TimestampUnwrapper, readPackets } from '../../src/ingest/packet-reader.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TsFile } from '../helpers/ts-damage.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-pktreader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DURATION = 12;
const WRAP = 2 ** 33;
const clean = join(dir, 'clean.ts');
const wrapped = join(dir, 'wrapped.ts');

beforeAll(async () => {
  setMediaLogLevel('quiet');
  const sc = parseScenario({
    seed: 3,
    streams: [
      {
        id: 's',
        output: { type: 'udp' },
        content: { source: 'testsrc2' },
        video: { width: 320, height: 180, fps: 25, codec: 'h264' },
        audio: { sampleRate: 48000, channels: 2, signal: 'programme' },
        cycle: DURATION,
        schedule: [],
      },
    ],
  });
  await renderToFile(sc.streams[0]!, clean, { duration: DURATION });
  // The same bytes with every PES timestamp moved so that the 33-bit counter wraps 5 s in.
  const ts = await TsFile.read(clean);
  const units = ts.pesUnits();
  const first = Math.min(...units.filter((u) => Number.isFinite(u.dts) || Number.isFinite(u.pts)).map((u) => (Number.isFinite(u.dts) ? u.dts : u.pts)));
  const shift = WRAP - 5 * 90000 - first;
  for (const u of units) {
    if (!Number.isFinite(u.pts)) continue;
    const pts = (u.pts + shift) % WRAP;
    ts.setTimestamps(u, pts, Number.isFinite(u.dts) ? (u.dts + shift) % WRAP : pts);
  }
  await ts.write(wrapped);
}, 60_000);

/** Each track's packet timestamps in seconds, as ingest reads them. */
async function timestamps(path: string): Promise<Map<number, number[]>> {
  const demuxer = await Demuxer.open(path);
  const out = new Map<number, number[]>();
  try {
    for await (const pkt of readPackets(demuxer, path)) {
      const s = demuxer.streams[pkt.streamIndex]!;
      const t = pkt.dts !== -0x8000000000000000n ? pkt.dts : pkt.pts;
      (out.get(s.index) ?? out.set(s.index, []).get(s.index)!).push((Number(t) * s.timeBase.num) / s.timeBase.den);
      pkt.free();
    }
  } finally {
    await demuxer.close();
  }
  return out;
}

const NOPTS = -0x8000000000000000n;
const R = 2n ** 33n;

/** Feed (dts, pts) pairs through one unwrapper; the unwrapped pairs. */
function unwrapped(pairs: readonly (readonly [bigint, bigint])[]): [bigint, bigint][] {
  const u = new TimestampUnwrapper(33, 60n * 90000n);
  return pairs.map(([d, p]) => {
    u.unwrap(d, p);
    return [u.dts, u.pts];
  });
}

describe('TimestampUnwrapper (every wrap after the first, which libavformat undoes)', () => {
  it('a step back by the whole range adds the range, every time it comes', () => {
    const out = unwrapped([
      [R - 7200n, R - 3600n],
      [R - 3600n, R],
      [0n, 3600n],
      [3600n, 7200n],
      // 26.5 hours on (in steps under half the range), the counter comes round again.
      [R / 4n, R / 4n],
      [R / 2n, R / 2n],
      [(3n * R) / 4n, (3n * R) / 4n],
      [R - 3600n, R - 3600n],
      [0n, 0n],
    ]);
    expect(out.slice(0, 4)).toEqual([
      [R - 7200n, R - 3600n],
      [R - 3600n, R],
      [R, R + 3600n],
      [R + 3600n, R + 7200n],
    ]);
    expect(out.slice(4).map(([d]) => d)).toEqual([R + R / 4n, R + R / 2n, R + (3n * R) / 4n, 2n * R - 3600n, 2n * R]);
  });

  it('a garbled timestamp (anywhere in the range) is not a wrap: the packets after it keep their timestamps', () => {
    // Before 2026-11-28's fix any step back by more than half the range counted: a damaged MPEG-2
    // file of the evaluation read 28 580 s long from one garbled PES timestamp on.
    const out = unwrapped([
      [90000n, 90000n],
      [93600n, 93600n],
      [6_000_000_000n, 6_000_000_000n],
      [97200n, 97200n],
      [100800n, 100800n],
      [3_000_000_000n, 3_000_000_000n],
      [104400n, 104400n],
    ]);
    expect(out.map(([d]) => d)).toEqual([90000n, 93600n, 6_000_000_000n, 97200n, 100800n, 3_000_000_000n, 104400n]);
  });

  it('a presentation timestamp past the wrap while its decode timestamp is not, and a late packet from before it', () => {
    const out = unwrapped([
      [R - 3600n, 1800n],
      [0n, 3600n],
      [R - 1800n, R - 1800n],
      [3600n, NOPTS],
      [NOPTS, 7200n],
    ]);
    expect(out).toEqual([
      [R - 3600n, R + 1800n],
      [R, R + 3600n],
      [R - 1800n, R - 1800n],
      [R + 3600n, NOPTS],
      [NOPTS, R + 7200n],
    ]);
  });
});

describe('PacketReader', { timeout: 60_000 }, () => {
  it('a file whose 33-bit MPEG-TS timestamps wrap 5 s in: each track keeps increasing, by the same steps as without it', async () => {
    const a = await timestamps(clean);
    const b = await timestamps(wrapped);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [index, times] of b) {
      const ref = a.get(index)!;
      expect(times.length).toBe(ref.length);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(ref[i]! - ref[i - 1]!, 6);
    }
  });

  it('a file across the wrap analyses like the same file without it: same duration, no incident', async () => {
    const a = await analyze({ input: clean });
    const b = await analyze({ input: wrapped });
    expect(a.incidents.map((i) => i.type)).toEqual([]);
    expect(b.incidents.map((i) => `${i.type} ${i.start.toFixed(1)}`)).toEqual([]);
    expect(b.videoFrames).toBe(a.videoFrames);
    expect(b.audioChunks).toBe(a.audioChunks);
    expect(b.duration).toBeCloseTo(a.duration, 2);
  });

  it('stops at once when aborted, and reads nothing after', async () => {
    const demuxer = await Demuxer.open(clean);
    const ac = new AbortController();
    const reader = new PacketReader(demuxer, { sync: false, signal: ac.signal });
    try {
      const pkt = await reader.next();
      expect(pkt).toBeDefined();
      pkt?.free();
      ac.abort();
      expect(await reader.next()).toBeUndefined();
    } finally {
      reader.close();
      await demuxer.close();
    }
  });
});
