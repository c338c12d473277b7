/**
 * A programme that changes what it carries mid-stream: a splice to an encoder with another codec
 * on the same PIDs (the PMT changes a PID's stream_type), or a new PMT that moves the programme to
 * other PIDs (a re-plumbed multiplex). Viewers' players follow the PMT; so must ingest, or the old
 * tracks fall silent for it and every later minute is a missing track (or a signal loss) while the
 * programme plays on. Real encodes from the simulator, cut and re-stamped at the packet level.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { StreamSource, type EvidenceClip } from '../../src/ingest/index.ts';
import { TsAnalyzer, type TsFinding } from '../../src/ingest/ts-analyzer.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { remapPids, sendPaced } from '../helpers/ts-splice.ts';
import { sleep, waitFor, watchSource } from './source-harness.ts';
import { freeUdpPort } from './udp-relay.ts';

const SECONDS = 6;

let dir = '';
/** H.264 640x360 25 fps with stereo AAC; HEVC 320x180 30 fps with mono AAC; H.264 with MP2 audio. All on libavformat's default PIDs (256 video, 257 audio). */
let h264: Buffer = Buffer.alloc(0);
let hevc: Buffer = Buffer.alloc(0);
let mp2: Buffer = Buffer.alloc(0);
/** H.264 640x360 with no audio track at all. */
let silentVideo: Buffer = Buffer.alloc(0);

async function render(id: string, video: object, audio: object | false): Promise<Buffer> {
  const sc = parseScenario({
    seed: 11,
    streams: [
      { id, output: { type: 'udp' }, content: { source: 'testsrc2' }, video, audio, cycle: SECONDS, schedule: [] },
    ],
  });
  const file = join(dir, `${id}.ts`);
  await renderToFile(sc.streams[0]!, file, { duration: SECONDS });
  return readFile(file);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-programme-change-'));
  h264 = await render('h264', { width: 640, height: 360, fps: 25, codec: 'h264' }, { channels: 2, codec: 'aac' });
  hevc = await render('hevc', { width: 320, height: 180, fps: 30, codec: 'hevc' }, { channels: 1, codec: 'aac' });
  mp2 = await render('mp2', { width: 640, height: 360, fps: 25, codec: 'h264' }, { channels: 2, codec: 'mp2' });
  silentVideo = await render('novideo', { width: 640, height: 360, fps: 25, codec: 'h264' }, false);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function file(name: string, ...parts: Buffer[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

async function incidentsOf(path: string): Promise<string[]> {
  const { incidents } = await analyze({ input: path });
  return incidents.map((i) => i.type);
}

describe('a programme that changes what it carries mid-stream', () => {
  it('a codec change on the same PIDs (H.264, then HEVC, then H.264 again): every part is decoded, and the detectors are told', async () => {
    const path = await file('codec.ts', h264, hevc, h264);
    const w = watchSource({ id: 'codec', url: path, live: false });
    await w.done;
    expect(w.source.status().state).toBe('ended');
    const frames = w.log.filter((e) => e.kind === 'video');
    // Both sizes arrive: the HEVC part is decoded (before the decoder followed the codec, none of it was).
    expect(frames.length).toBeGreaterThan(2 * SECONDS * 25 + SECONDS * 30 - 2 * 30 - 10);
    expect(w.infos.map((i) => i.video?.codec)).toEqual(['h264', 'hevc', 'h264']);
    expect(w.infos.map((i) => i.changed ?? false)).toEqual([false, true, true]);
    // The media clock goes on through both splices: no hole longer than a GOP (the first GOP after
    // a codec change can be lost: libavformat's parser restarts on the new codec).
    const times = frames.map((v) => v.media);
    let widest = 0;
    for (let i = 1; i < times.length; i++) widest = Math.max(widest, times[i]! - times[i - 1]!);
    expect(widest).toBeLessThan(1.5);
    // (Media time bridges what was lost: this file is read faster than real time.)
    expect(times.at(-1)!).toBeGreaterThan(3 * SECONDS - 1.5);
    const types = await incidentsOf(path);
    expect(types).not.toContain('video_missing');
    expect(types).not.toContain('audio_missing');
    expect(types).not.toContain('freeze');
  }, 60_000);

  it('an audio codec change on the same PID (AAC, then MP2, then AAC): the sound goes on', async () => {
    const path = await file('audio-codec.ts', h264, mp2, h264);
    const w = watchSource({ id: 'audio-codec', url: path, live: false });
    await w.done;
    const chunks = w.log.filter((e) => e.kind === 'audio').map((e) => e.media);
    expect(chunks.at(-1)!).toBeGreaterThan(3 * SECONDS - 0.5);
    const middle = chunks.filter((t) => t > SECONDS + 0.5 && t < 2 * SECONDS - 0.5);
    // MP2 frames are 1152 samples at 48 kHz: about 41 a second.
    expect(middle.length).toBeGreaterThan((SECONDS - 1) * 40);
    expect(w.infos.at(-1)?.audio?.codec).toBe('aac');
    expect(w.infos.some((i) => i.audio?.codec === 'mp2')).toBe(true);
    expect(await incidentsOf(path)).not.toContain('audio_missing');
  }, 60_000);

  it('HLS: ad breaks between discontinuities of another codec, or packaged on other PIDs, are monitored and end cleanly', async () => {
    await file('main.ts', h264);
    await file('ad-hevc.ts', hevc);
    await file('ad-pids.ts', remapPids(h264, { 256: 0x1e1, 257: 0x1e2 }));
    const entry = (name: string) => `#EXTINF:${SECONDS}.0,\n${name}\n`;
    const playlist = async (ad: string): Promise<string> => {
      const path = join(dir, `break-${ad}.m3u8`);
      await writeFile(
        path,
        `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${SECONDS}\n#EXT-X-MEDIA-SEQUENCE:0\n` +
          `${entry('main.ts')}#EXT-X-DISCONTINUITY\n${entry(ad)}#EXT-X-DISCONTINUITY\n${entry('main.ts')}#EXT-X-ENDLIST\n`,
      );
      return path;
    };
    // Another codec on the same PIDs: FFmpeg's HLS demuxer passes the codec change on.
    const codec = await playlist('ad-hevc.ts');
    const w = watchSource({ id: 'hls-ad', url: codec, live: false });
    await w.done;
    expect(w.infos.map((i) => i.video?.codec)).toEqual(['h264', 'hevc', 'h264']);
    expect(w.log.filter((e) => e.kind === 'video').length).toBeGreaterThan(
      2 * SECONDS * 25 + SECONDS * 30 - 2 * 30 - 10,
    );
    // Before: the HEVC segment fed to the H.264 decoder, a corruption incident, then video missing to the end.
    expect(await incidentsOf(codec)).toEqual([]);
    // Other PIDs: no PMT is read here (the HLS demuxer reads the segments), so the silent
    // monitored tracks give way to the streams that carry on, and back after the break. The
    // packets waited for are decoded too: nothing of the break is lost.
    const pids = await playlist('ad-pids.ts');
    const p = watchSource({ id: 'hls-ad-pids', url: pids, live: false });
    await p.done;
    // Before: the break was not seen at all (16 s of media, 400 pictures).
    expect(p.log.filter((e) => e.kind === 'video').length).toBeGreaterThan(3 * SECONDS * 25 - 10);
    // On one media clock: the break's pictures where it was (not bunched, nor pushed on by the wait).
    const media = p.log.filter((e) => e.kind === 'video').map((e) => e.media);
    expect(media.at(-1)!).toBeGreaterThan(3 * SECONDS - 0.5);
    expect(media.at(-1)!).toBeLessThan(3 * SECONDS + 0.2);
    for (let i = 1; i < media.length; i++) expect(media[i]! - media[i - 1]!).toBeLessThan(0.1);
    expect(p.infos.filter((i) => i.changed).length).toBeGreaterThanOrEqual(2);
    expect(await incidentsOf(pids)).toEqual([]);
  }, 60_000);

  it('a new PMT moves the programme to other PIDs and a later one back: ingest follows both, and the PIDs left are not reported missing', async () => {
    const path = await file('pids.ts', h264, remapPids(h264, { 256: 512, 257: 513 }), h264);
    const w = watchSource({ id: 'pids', url: path, live: false });
    await w.done;
    const frames = w.log.filter((e) => e.kind === 'video');
    // Before ingest followed the PMT: the first part only (and, following only the first change, two parts).
    expect(frames.length).toBeGreaterThan(3 * SECONDS * 25 - 15);
    expect(w.log.filter((e) => e.kind === 'audio').at(-1)!.media).toBeGreaterThan(3 * SECONDS - 0.5);
    expect(w.infos.map((i) => [i.changed ?? false, i.tsAnalysis?.videoPid, i.tsAnalysis?.audioPid])).toEqual([
      [false, 256, 257],
      [true, 512, 513],
      [true, 256, 257],
    ]);
    // TR 101 290 1.6 is about the PIDs the current PMT lists: the PIDs left are not among them.
    expect(w.ts.filter((e) => e.check === 'pid')).toEqual([]);
    const types = await incidentsOf(path);
    expect(types).not.toContain('video_missing');
    expect(types).not.toContain('audio_missing');
  }, 60_000);

  it("another encoder's service takes the programme's place (new programme number, PMT PID and PIDs): ingest follows it", async () => {
    const other = remapPids(h264, { 256: 0x1e1, 257: 0x1e2, 4096: 0x1100 }, 7);
    const path = await file('service.ts', h264, other);
    const w = watchSource({ id: 'service', url: path, live: false });
    await w.done;
    // Before: the first part only (the PAT's new programme was not taken as a change).
    expect(w.log.filter((e) => e.kind === 'video').length).toBeGreaterThan(2 * SECONDS * 25 - 10);
    expect(w.infos.at(-1)!.tsAnalysis).toMatchObject({ videoPid: 0x1e1, audioPid: 0x1e2, programs: [7] });
    expect(w.ts.filter((e) => e.check === 'pid' || e.check === 'pmt')).toEqual([]);
    const types = await incidentsOf(path);
    expect(types).not.toContain('video_missing');
    expect(types).not.toContain('audio_missing');
  }, 60_000);

  it('an evidence clip of tracks taken mid-stream is cut and plays (their parameters come from their first frames)', async () => {
    const path = await file('clip.ts', h264, remapPids(h264, { 256: 512, 257: 513 }));
    const clips: EvidenceClip[] = [];
    let asked = false;
    const source: StreamSource = new StreamSource(
      { id: 'clip', url: path, live: false },
      {
        video: (v) => {
          if (!asked && v.mediaTime > SECONDS + 3) {
            asked = true;
            source.requestClip('test', v.mediaTime);
          }
        },
        audio: () => {},
        edge: () => {},
        discontinuity: () => {},
        ts: () => {},
        clip: (c) => void clips.push(c),
      },
    );
    await source.run();
    await waitFor('the clip', () => clips.length > 0, 5000);
    // Before: the muxer refused the unprobed streams ("Failed to write header"), and no clip came.
    const out = join(dir, 'clip-out.ts');
    await writeFile(out, clips[0]!.data);
    const w = watchSource({ id: 'clip-out', url: out, live: false });
    await w.done;
    expect(w.log.filter((e) => e.kind === 'video').length).toBeGreaterThan(SECONDS * 25 - 60);
    expect(w.log.filter((e) => e.kind === 'audio').length).toBeGreaterThan(100);
  }, 60_000);

  it('the TR 101 290 clock follows the PCR to its new PID: a PAT that stops after the change is still reported', () => {
    const moved = remapPids(h264, { 256: 512, 257: 513 });
    // The moved half without its PAT packets (the PMT goes on: its PID is the one the first PAT gave).
    const kept: Buffer[] = [];
    for (let o = 0; o + 188 <= moved.length; o += 188)
      if ((((moved[o + 1]! & 0x1f) << 8) | moved[o + 2]!) !== 0) kept.push(moved.subarray(o, o + 188));
    const findings: TsFinding[] = [];
    const analyzer = new TsAnalyzer((f) => void findings.push(f));
    analyzer.push(Buffer.concat([h264, ...kept]));
    expect(analyzer.pmtChangeCount).toBe(1);
    expect(analyzer.pmtChangeOffset).toBeGreaterThanOrEqual(h264.length);
    const pat = findings.filter((f) => f.check === 'pat');
    // One finding, about half a second (the PAT interval) after the last PAT, not when the input ends.
    expect(pat).toHaveLength(1);
    expect(pat[0]!.offset).toBeLessThan(h264.length + moved.length / 4);
    expect(findings.filter((f) => f.check === 'pid')).toEqual([]);
  });

  it('live over UDP: the PMT change arrives after the input was opened, and the channel stays live through it', async () => {
    const port = await freeUdpPort();
    const moved = remapPids(h264, { 256: 512, 257: 513 });
    const w = watchSource({
      id: 'udp-pids',
      url: `udp://127.0.0.1:${port}`,
      live: true,
      signalLossAfter: 2,
      reconnectDelay: { initial: 0.2, max: 1 },
    });
    const sender = sendPaced(Buffer.concat([h264, moved, moved]), port, 3 * SECONDS);
    try {
      await waitFor('the new PIDs announced', () => w.infos.some((i) => i.changed), 3 * SECONDS * 1000);
      const changedAt = Date.now();
      await sleep(3000);
      // Pictures keep coming after the change, and no signal loss opened.
      expect(w.log.filter((e) => e.kind === 'video' && e.wall > changedAt + 1000).length).toBeGreaterThan(30);
      expect(w.edges.filter((e) => e.type === 'signal_loss')).toEqual([]);
      expect(w.infos.at(-1)!.tsAnalysis).toMatchObject({ videoPid: 512, audioPid: 513 });
      expect(w.source.status().state).toBe('live');
    } finally {
      sender.stop();
      await sender.done;
      await w.source.stop();
    }
  }, 60_000);
  it('live over UDP without the byte-level analysis: audio that starts after the input was opened is monitored from then on', async () => {
    const port = await freeUdpPort();
    const w = watchSource({
      id: 'udp-late-audio',
      url: `udp://127.0.0.1:${port}`,
      live: true,
      tsAnalysis: false,
      reconnectDelay: { initial: 0.2, max: 1 },
    });
    const sender = sendPaced(Buffer.concat([silentVideo, h264, h264]), port, 3 * SECONDS);
    try {
      await waitFor('the audio track announced', () => w.infos.some((i) => i.changed), 3 * SECONDS * 1000);
      expect(w.infos[0]!.audio).toBeUndefined();
      expect(w.infos.at(-1)!.audio?.codec).toBe('aac');
      const changedAt = Date.now();
      await sleep(2000);
      expect(w.log.filter((e) => e.kind === 'audio' && e.wall > changedAt + 500).length).toBeGreaterThan(40);
      expect(w.edges.filter((e) => e.type === 'signal_loss')).toEqual([]);
    } finally {
      sender.stop();
      await sender.done;
      await w.source.stop();
    }
  }, 60_000);
});
