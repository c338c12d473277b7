/** New defects on the live outputs: transport damage through the UDP relay, video_missing on HLS. */
import '../../src/shared/polyfill.ts';
import { Demuxer } from 'node-av';
import { AV_PKT_FLAG_CORRUPT } from 'node-av/constants';
import { describe, expect, it } from 'vitest';
import { parseScenario, startSimulation } from '../../src/simulate/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Continuity-counter errors in a buffer of TS packets. */
function ccErrors(buf: Buffer): number {
  const last = new Map<number, number>();
  let errors = 0;
  for (let off = 0; off + 188 <= buf.length; off += 188) {
    const pid = ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
    if (pid === 0x1fff || !(buf[off + 3]! & 0x10)) continue;
    const cc = buf[off + 3]! & 0x0f;
    const prev = last.get(pid);
    if (prev !== undefined && cc !== ((prev + 1) & 0x0f)) errors++;
    last.set(pid, cc);
  }
  return errors;
}

describe('live defects', () => {
  it('UDP: TS packets dropped inside the transport window reach the receiver as corrupt PES', async () => {
    const sc = parseScenario({
      startDelay: 1,
      streams: [
        {
          id: 'u-tr',
          output: { type: 'udp' },
          video: { width: 160, height: 96, fps: 25, bitrateKbps: 300 },
          cycle: 3,
          schedule: [{ at: 0.6, type: 'transport', duration: 0.8, mode: 'drop', rate: 0.2 }],
        },
      ],
    });
    const sim = await startSimulation(sc);
    try {
      const dmx = await Demuxer.open(sim.streams[0]!.url, { options: { timeout: '5000000' } } as never);
      const vs = dmx.video()!;
      const seen: { t: number; corrupt: boolean }[] = [];
      let first: number | undefined;
      try {
        for await (const p of dmx.packets()) {
          if (!p) break;
          if (p.streamIndex === vs.index) {
            const t = (Number(p.pts) * vs.timeBase.num) / vs.timeBase.den;
            first ??= t;
            seen.push({ t: t - first, corrupt: (p.flags & AV_PKT_FLAG_CORRUPT) !== 0 });
          }
          p.free();
          if (seen.length && seen.at(-1)!.t > 2.5) break;
        }
      } finally {
        await dmx.close();
      }
      const corrupt = seen.filter((s) => s.corrupt).map((s) => s.t);
      expect(corrupt.length).toBeGreaterThan(2);
      expect(corrupt.every((t) => t > 0.5 && t < 1.5)).toBe(true);
      expect(seen.filter((s) => s.t < 0.5).length).toBeGreaterThan(10);
      expect(sim.truth().find((e) => e.type === 'transport')).toMatchObject({
        start: 0.6,
        end: 2,
        mode: 'drop',
        rate: 0.2,
      });
    } finally {
      await sim.stop();
    }
  }, 40_000);

  it('HLS: while video is missing the playlist keeps advancing with audio-only segments; TS damage in segments', async () => {
    const sc = parseScenario({
      startDelay: 0,
      streams: [
        {
          id: 'h-vm',
          output: { type: 'hls', segmentSeconds: 1, windowSize: 4 },
          content: { source: 'smptebars' },
          video: { width: 160, height: 96, fps: 25, bitrateKbps: 200 },
          cycle: 8,
          schedule: [
            { at: 2, type: 'video_missing', duration: 2.5 },
            { at: 5, type: 'transport', duration: 1, mode: 'drop', rate: 0.3 },
          ],
        },
      ],
    });
    const sim = await startSimulation(sc);
    const url = sim.streams[0]!.url;
    const segs = new Set<string>();
    const t0 = Date.now();
    let longest = 0;
    let lastNew = Date.now();
    const ccPerSegment: number[] = [];
    try {
      while (Date.now() - t0 < 7500) {
        const text = await (await fetch(url)).text();
        for (const l of text.split('\n').filter((x) => x.endsWith('.ts'))) {
          if (!segs.has(l)) {
            segs.add(l);
            const res = await fetch(new URL(l, url));
            if (res.ok) ccPerSegment.push(ccErrors(Buffer.from(await res.arrayBuffer())));
            longest = Math.max(longest, Date.now() - lastNew);
            lastNew = Date.now();
          }
        }
        await sleep(150);
      }
      expect(segs.size).toBeGreaterThanOrEqual(5);
      expect(longest).toBeLessThan(2200);
      expect(sim.truth().find((e) => e.type === 'video_missing')).toMatchObject({ start: 2, end: 5 });
      // Segments before the transport window are intact; at least one inside it is not.
      expect(ccPerSegment.slice(0, 3).every((n) => n === 0)).toBe(true);
      expect(ccPerSegment.some((n) => n > 0)).toBe(true);
    } finally {
      await sim.stop();
    }
  }, 40_000);
});
