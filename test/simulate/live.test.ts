import '../../src/shared/polyfill.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder, Demuxer } from 'node-av';
import { describe, expect, it } from 'vitest';
import { parseScenario, startSimulation, type GroundTruthEntry } from '../../src/simulate/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live UDP', () => {
  it('can be received with node-av from the first frame, and records ground truth as it plays', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-live-'));
    const truthPath = join(dir, 'truth.json');
    const sc = parseScenario({
      startDelay: 1,
      streams: [
        {
          id: 'u1',
          output: { type: 'udp', port: 0 },
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
          cycle: 3,
          schedule: [
            { at: 0.4, type: 'black', duration: 0.6 },
            { at: 1.2, type: 'silence', duration: 0.5 },
          ],
        },
      ],
    });
    const sim = await startSimulation(sc, { truthPath });
    try {
      expect(sim.streams).toHaveLength(1);
      const { url, output, id } = sim.streams[0]!;
      expect(output).toBe('udp');
      expect(id).toBe('u1');
      expect(url).toMatch(/^udp:\/\/127\.0\.0\.1:\d+$/);

      const dmx = await Demuxer.open(url, { options: { timeout: '5000000' } } as never);
      try {
        const vs = dmx.video();
        expect(vs).toBeDefined();
        expect(dmx.audio()).toBeDefined();
        const dec = await Decoder.create(vs!);
        const means: number[] = [];
        const pts: number[] = [];
        for await (const p of dmx.packets(vs!.index)) {
          if (!p) break;
          for (const f of await dec.decodeAll(p)) {
            const y = f.data![0]!;
            let s = 0;
            for (let r = 0; r < f.height; r++) for (let c = 0; c < f.width; c++) s += y[r * f.linesize[0]! + c]!;
            means.push(s / (f.width * f.height));
            pts.push((Number(f.pts) * vs!.timeBase.num) / vs!.timeBase.den);
            f.free();
          }
          p.free();
          if (means.length >= 30) break;
        }
        dec.close();
        expect(means.length).toBe(30);
        // Connected before the first frame: frames 0..9 normal, 10..24 black (0.4 s .. 1.0 s at 25 fps).
        const t0 = pts[0]!;
        const rel = pts.map((t) => Math.round((t - t0) * 25));
        expect(rel.slice(0, 30)).toEqual(Array.from({ length: 30 }, (_, i) => i));
        for (let i = 0; i < 10; i++) expect(means[i]).toBeGreaterThan(40);
        for (let i = 10; i < 25; i++) expect(means[i]).toBeLessThan(20);
        for (let i = 25; i < 30; i++) expect(means[i]).toBeGreaterThan(40);
      } finally {
        await dmx.close();
      }
      await sleep(2700); // into the second loop
      const truth = sim.truth();
      const black = truth.filter((e) => e.type === 'black');
      expect(black[0]).toMatchObject({ streamId: 'u1', start: 0.4, end: 1, loop: 0 });
      expect(Date.parse(black[0]!.wallEnd!) - Date.parse(black[0]!.wallStart!)).toBeGreaterThan(450);
      expect(black[1]).toMatchObject({ start: 3.4, loop: 1 });
      expect(truth.find((e) => e.type === 'silence')).toMatchObject({ start: 1.2, end: 1.7 });
      await sleep(1100);
      const onDisk = JSON.parse(await readFile(truthPath, 'utf8')) as GroundTruthEntry[];
      expect(onDisk.length).toBeGreaterThanOrEqual(3);
    } finally {
      await sim.stop();
      await rm(dir, { recursive: true, force: true });
    }
    await sim.stop(); // idempotent
  }, 30_000);
});

interface Poll {
  at: number;
  seq: number;
  segs: string[];
}

describe('live HLS', () => {
  it('serves a sliding-window playlist that advances, and stalls during signal loss', async () => {
    const sc = parseScenario({
      startDelay: 0,
      streams: [
        {
          id: 'h1',
          output: { type: 'hls', segmentSeconds: 1, windowSize: 3 },
          content: { source: 'smptebars' },
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
          cycle: 10,
          schedule: [{ at: 4, type: 'signal_loss', duration: 3 }],
        },
      ],
    });
    const sim = await startSimulation(sc);
    const url = sim.streams[0]!.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/h1\/index\.m3u8$/);
    const polls: Poll[] = [];
    const t0 = Date.now();
    try {
      while (Date.now() - t0 < 9500) {
        const text = await (await fetch(url)).text();
        expect(text.startsWith('#EXTM3U')).toBe(true);
        const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1]);
        const segs = text.split('\n').filter((l) => l.endsWith('.ts'));
        polls.push({ at: (Date.now() - t0) / 1000, seq, segs });
        await sleep(200);
      }
      const last = polls.at(-1)!;
      expect(last.seq).toBeGreaterThan(0);
      expect(last.segs.length).toBe(3);
      // A listed segment is MPEG-TS and can be fetched.
      const seg = Buffer.from(await (await fetch(new URL(last.segs.at(-1)!, url))).arrayBuffer());
      expect(seg.length).toBeGreaterThan(188);
      expect(seg[0]).toBe(0x47);
      expect(seg[188]).toBe(0x47);
      // Old segments are deleted.
      expect((await fetch(new URL('seg0.ts', url))).status).toBe(404);
      // Signal loss 4..7 s: no new segment for ~3 s.
      let longest = 0;
      let prev = polls[0]!;
      for (const p of polls) {
        if (p.segs.at(-1) !== prev.segs.at(-1)) {
          longest = Math.max(longest, p.at - prev.at);
          prev = p;
        }
      }
      expect(longest).toBeGreaterThan(2.5);
      const loss = sim.truth().find((e) => e.type === 'signal_loss');
      expect(loss).toMatchObject({ start: 4, end: 7 });
    } finally {
      await sim.stop();
    }
    await expect(fetch(url)).rejects.toThrow();
  }, 30_000);
});
