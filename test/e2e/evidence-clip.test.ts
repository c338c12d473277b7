/**
 * The evidence-clip ring buffer (src/ingest/evidence-clip.ts) with real parts: the simulator
 * encodes a short MPEG-TS file (H.264 + AAC, keyframe every second), node-av demuxes it into
 * the recorder, and node-av opens the clip it cuts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/shared/polyfill.ts';
import { Demuxer } from 'node-av/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceClipRecorder, type EvidenceClip } from '../../src/ingest/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const stream = parseScenario({
  seed: 2,
  streams: [
    {
      id: 'clipsrc',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      video: { width: 160, height: 90, fps: 25, bitrateKbps: 200 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      schedule: [],
    },
  ],
}).streams[0]!;

const dir = mkdtempSync(join(tmpdir(), 'vigil-clip-'));
const source = join(dir, 'source.ts');

/** Demuxes `path` into the recorder, media time = the packet's pts in seconds; `at(t)` runs once past t. */
async function feed(recorder: EvidenceClipRecorder, at: [number, () => void][] = []): Promise<void> {
  const demuxer = await Demuxer.open(source);
  try {
    recorder.setStreams(demuxer.video(), demuxer.audio());
    const pending = [...at];
    for await (const pkt of demuxer.packets()) {
      if (!pkt) break;
      const s = pkt.streamIndex === demuxer.video()!.index ? demuxer.video()! : demuxer.audio()!;
      const media = (Number(pkt.pts) * s.timeBase.num) / s.timeBase.den;
      while (pending.length && media >= pending[0]![0]) pending.shift()![1]();
      recorder.push(pkt, media);
      pkt.free();
    }
    recorder.endConnection();
  } finally {
    await demuxer.close();
  }
}

async function probe(clip: EvidenceClip): Promise<{ first: number; last: number; key: boolean; video: number; audio: number }> {
  const file = join(dir, `clip-${Math.random().toString(36).slice(2)}.ts`);
  writeFileSync(file, clip.data);
  const d = await Demuxer.open(file);
  try {
    const v = d.video()!;
    const tb = v.timeBase;
    let first: number | undefined;
    let last = 0;
    let key = false;
    let video = 0;
    let audio = 0;
    for await (const pkt of d.packets()) {
      if (!pkt) break;
      if (pkt.streamIndex === v.index) {
        const t = (Number(pkt.pts) * tb.num) / tb.den;
        if (first === undefined) {
          first = t;
          key = pkt.isKeyframe;
        }
        last = Math.max(last, t);
        video++;
      } else audio++;
      pkt.free();
    }
    return { first: first ?? NaN, last, key, video, audio };
  } finally {
    await d.close();
  }
}

describe('evidence clip recorder', () => {
  let start = 0;
  beforeAll(async () => {
    await renderToFile(stream, source, { duration: 14 });
    const d = await Demuxer.open(source);
    for await (const pkt of d.packets()) {
      if (!pkt) break;
      const s = d.video()!;
      if (pkt.streamIndex === s.index) {
        start = (Number(pkt.pts) * s.timeBase.num) / s.timeBase.den;
        pkt.free();
        break;
      }
      pkt.free();
    }
    await d.close();
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cuts 5 s before to 5 s after the onset, from a keyframe, without re-encoding', async () => {
    const clips: EvidenceClip[] = [];
    const recorder = new EvidenceClipRecorder((c) => clips.push(c));
    const onset = start + 6.3;
    // Requested when the incident opens, i.e. after the defect lasted a while (here 1.5 s).
    await feed(recorder, [[onset + 1.5, () => recorder.request('black||open', onset)]]);
    await recorder.idle();
    recorder.close();
    expect(clips).toHaveLength(1);
    const clip = clips[0]!;
    expect(clip.reason).toBe('black||open');
    expect(clip.mime).toBe('video/mp2t');
    // The keyframe at or before onset - 5 (keyframes every second), and through onset + 5.
    expect(clip.start).toBeLessThanOrEqual(onset - 5);
    expect(clip.start).toBeGreaterThan(onset - 6.1);
    expect(clip.start + clip.duration).toBeGreaterThanOrEqual(onset + 4.9);
    expect(clip.start + clip.duration).toBeLessThan(onset + 5.2);
    const p = await probe(clip);
    expect(p.key, 'first video packet is a keyframe').toBe(true);
    // Original timestamps kept (mpegts may add its own offset: compare spans, not values).
    expect(p.last - p.first).toBeGreaterThan(clip.duration - 0.2);
    expect(p.video).toBeGreaterThanOrEqual(Math.floor(clip.duration * 25 * 0.95));
    expect(p.audio).toBeGreaterThan(0);
  }, 30_000);

  it('holds at most maxBytes, oldest first; a clip then starts where the buffer does', async () => {
    const clips: EvidenceClip[] = [];
    const maxBytes = 60_000;
    const recorder = new EvidenceClipRecorder((c) => clips.push(c), { maxBytes });
    let peak = 0;
    const demuxer = await Demuxer.open(source);
    recorder.setStreams(demuxer.video(), demuxer.audio());
    let total = 0;
    for await (const pkt of demuxer.packets()) {
      if (!pkt) break;
      const s = pkt.streamIndex === demuxer.video()!.index ? demuxer.video()! : demuxer.audio()!;
      total += pkt.size;
      recorder.push(pkt, (Number(pkt.pts) * s.timeBase.num) / s.timeBase.den);
      peak = Math.max(peak, recorder.heldBytes);
      pkt.free();
    }
    expect(total).toBeGreaterThan(maxBytes * 2);
    expect(peak).toBeLessThanOrEqual(maxBytes);
    // Asked at the end for an onset the buffer no longer reaches back to: cut at the connection's end.
    recorder.request('freeze||open', start + 12);
    recorder.endConnection();
    await demuxer.close();
    await recorder.idle();
    recorder.close();
    expect(clips).toHaveLength(1);
    expect(clips[0]!.start).toBeGreaterThan(start + 7 - 5);
    expect((await probe(clips[0]!)).key).toBe(true);
    expect(recorder.heldBytes).toBe(0);
  }, 30_000);
});
