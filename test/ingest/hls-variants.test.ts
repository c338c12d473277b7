/**
 * An HLS master playlist with two renditions, served over real HTTP: Vigil monitors the one
 * `variant` names and does not download the other's segments. The renditions carry black at
 * different times, so the incidents say which one was analysed; the server's request log says
 * what was fetched.
 */
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/shared/polyfill.ts';
import { analyze } from '../../src/engine/index.ts';
import { StreamSource, selectTracks, setMediaLogLevel } from '../../src/ingest/index.ts';
import type { StreamInfo } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { lines, runVigil } from '../cli/run-vigil.ts';

const SEGMENTS = 8;
const SECONDS = 12;
const RENDITIONS = [
  { id: 'lo', width: 320, height: 180, kbps: 300, bandwidth: 400_000, blackAt: 7 },
  { id: 'hi', width: 640, height: 360, kbps: 1200, bandwidth: 1_400_000, blackAt: 2 },
];

describe('HLS master playlist: one rendition monitored, the others not downloaded', () => {
  let dir: string;
  let server: Server;
  let base: string;
  const requests: string[] = [];

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-hls-variants-'));
    const sc = parseScenario({
      streams: RENDITIONS.map((r) => ({
        id: r.id,
        output: { type: 'file' },
        content: { source: 'testsrc2' },
        video: { width: r.width, height: r.height, fps: 25, bitrateKbps: r.kbps },
        cycle: SECONDS,
        schedule: [{ at: r.blackAt, type: 'black', duration: 3 }],
      })),
    });
    for (const [i, r] of RENDITIONS.entries()) {
      const ts = join(dir, `${r.id}.ts`);
      await renderToFile(sc.streams[i]!, ts, { duration: SECONDS });
      // Cut into segments on TS packet boundaries: the HLS demuxer reads a rendition's segments
      // as one continuous transport stream.
      const bytes = await readFile(ts);
      const packets = bytes.length / 188;
      const list = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${SECONDS / SEGMENTS}`, '#EXT-X-MEDIA-SEQUENCE:0'];
      for (let k = 0; k < SEGMENTS; k++) {
        const from = Math.floor((k * packets) / SEGMENTS) * 188;
        const to = Math.floor(((k + 1) * packets) / SEGMENTS) * 188;
        await writeFile(join(dir, `${r.id}-${k}.ts`), bytes.subarray(from, to));
        list.push(`#EXTINF:${(SECONDS / SEGMENTS).toFixed(1)},`, `${r.id}-${k}.ts`);
      }
      list.push('#EXT-X-ENDLIST', '');
      await writeFile(join(dir, `${r.id}.m3u8`), list.join('\n'));
    }
    // Lowest listed first: the order a player starts from is no guide to what to monitor.
    await writeFile(
      join(dir, 'master.m3u8'),
      ['#EXTM3U', ...RENDITIONS.flatMap((r) => [`#EXT-X-STREAM-INF:BANDWIDTH=${r.bandwidth},RESOLUTION=${r.width}x${r.height}`, `${r.id}.m3u8`]), ''].join('\n'),
    );
    server = createServer((req, res) => {
      const name = (req.url ?? '/').slice(1);
      requests.push(name);
      readFile(join(dir, name)).then(
        (body) => {
          res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' });
          res.end(body);
        },
        () => {
          res.writeHead(404);
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** analyze() the master playlist; the black incidents and the segments fetched per rendition. */
  async function run(variant?: 'highest' | 'lowest' | number) {
    requests.length = 0;
    const r = await analyze({ input: `${base}/master.m3u8`, ...(variant !== undefined ? { variant } : {}) });
    const fetched = (id: string): number => new Set(requests.filter((q) => q.startsWith(`${id}-`))).size;
    return { black: r.incidents.filter((i) => i.type === 'black').map((i) => Math.round(i.start)), lo: fetched('lo'), hi: fetched('hi') };
  }

  it('by default monitors the highest bandwidth, and fetches the other rendition only while probing', async () => {
    const r = await run();
    expect(r.black).toEqual([2]);
    expect(r.hi).toBe(SEGMENTS);
    // FFmpeg reads the first segments of every rendition to find its streams (2 of these 1.5 s
    // ones here), nothing after that. Before renditions were chosen, all 8 of both were fetched.
    expect(r.lo).toBeLessThanOrEqual(3);
  }, 30_000);

  it('variant lowest monitors the lowest rendition', async () => {
    const r = await run('lowest');
    expect(r.black).toEqual([7]);
    expect(r.lo).toBe(SEGMENTS);
    expect(r.hi).toBeLessThanOrEqual(3);
  }, 30_000);

  it('a bandwidth picks the highest rendition at or under it, the lowest when none fits', async () => {
    expect((await run(1_000_000)).black).toEqual([7]);
    expect((await run(1_400_000)).black).toEqual([2]);
    expect((await run(100_000)).black).toEqual([7]);
  }, 60_000);

  it('vigil analyze --variant picks the rendition; a bad value is refused by name', async () => {
    const low = await runVigil(['analyze', `${base}/master.m3u8`, '--variant', 'lowest', '--format', 'jsonl']);
    expect(low.code, low.stderr).toBe(0);
    const black = lines(low.stdout).map((l) => JSON.parse(l) as { type: string; start: number }).filter((i) => i.type === 'black');
    expect(black.map((i) => Math.round(i.start))).toEqual([7]);
    const bad = await runVigil(['analyze', `${base}/master.m3u8`, '--variant', 'best']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--variant must be highest, lowest or a bandwidth in bits/s, got "best"');
  }, 30_000);

  it('the stream info names the rendition monitored and those offered', async () => {
    const infos: StreamInfo[] = [];
    const source = new StreamSource(
      { id: 'm', url: `${base}/master.m3u8`, live: false, variant: 'lowest' },
      {
        video: () => {},
        audio: () => {},
        info: (i) => infos.push(i),
        edge: () => {},
        discontinuity: () => {},
      },
    );
    await source.run();
    expect(infos).toHaveLength(1);
    expect(infos[0]!.variant).toEqual({ bandwidth: 400_000, offered: [400_000, 1_400_000] });
    expect(infos[0]!.video).toMatchObject({ width: 320, height: 180 });
    expect(infos[0]!.audio).toBeDefined();
  }, 30_000);
});

describe('selectTracks', () => {
  const VIDEO = 0;
  const AUDIO = 1;
  const SUBTITLE = 3;
  const ATTACHED_PIC = 0x400;
  let next = 0;
  const track = (type: number, bandwidth?: number, disposition = 0) => ({
    index: next++,
    disposition,
    codecpar: { codecType: type },
    metadata: { get: (k: string) => (k === 'variant_bitrate' && bandwidth !== undefined ? String(bandwidth) : null) },
  });

  it('takes the first video and audio of an ordinary input and leaves the rest unread', () => {
    const [v, a, a2, s] = [track(VIDEO), track(AUDIO), track(AUDIO), track(SUBTITLE)];
    const t = selectTracks([v, a, a2, s]);
    expect([t.video, t.audio, t.variant]).toEqual([v, a, undefined]);
    expect(t.unused).toEqual([a2, s]);
  });

  it('does not take cover art for the video track', () => {
    const [art, a] = [track(VIDEO, undefined, ATTACHED_PIC), track(AUDIO)];
    const t = selectTracks([art, a]);
    expect(t.video).toBeUndefined();
    expect(t.audio).toBe(a);
    expect(t.unused).toEqual([art]);
  });

  it("pairs a rendition's video with its own audio, else with an audio rendition shared by all", () => {
    const [v1, a1, v2, a2] = [track(VIDEO, 800_000), track(AUDIO, 800_000), track(VIDEO, 3_000_000), track(AUDIO, 3_000_000)];
    expect(selectTracks([v1, a1, v2, a2])).toMatchObject({ video: v2, audio: a2, unused: [v1, a1], variant: { bandwidth: 3_000_000 } });
    const shared = track(AUDIO);
    expect(selectTracks([v1, v2, shared], 'lowest')).toMatchObject({ video: v1, audio: shared, unused: [v2] });
  });

  it('an audio-only rendition in a video ladder is never the one monitored', () => {
    const [audioOnly, v1, a1, v2, a2] = [track(AUDIO, 64_000), track(VIDEO, 800_000), track(AUDIO, 800_000), track(VIDEO, 3_000_000), track(AUDIO, 3_000_000)];
    const t = selectTracks([audioOnly, v1, a1, v2, a2], 'lowest');
    expect(t.video).toBe(v1);
    expect(t.audio).toBe(a1);
    expect(t.variant?.offered).toEqual([800_000, 3_000_000]);
    // An audio-only ladder (a radio stream) is chosen among its audio renditions.
    const [r1, r2] = [track(AUDIO, 64_000), track(AUDIO, 128_000)];
    expect(selectTracks([r1, r2])).toMatchObject({ video: undefined, audio: r2, unused: [r1] });
  });
});
