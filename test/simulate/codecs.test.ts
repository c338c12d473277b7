/** Codec choice: each video/audio codec renders, is what was asked for, and decodes. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { decodeFile, rms, slice } from './decode-helper.ts';

const base = {
  content: { source: 'smptebars' },
  video: { width: 160, height: 96, fps: 25, bitrateKbps: 200 },
  cycle: 2,
};

function stream(id: string, video: object, audio: object, output: object = { type: 'udp' }) {
  return parseScenario({
    streams: [{ id, output, ...base, video: { ...base.video, ...video }, audio: { channels: 2, ...audio } }],
  }).streams[0]!;
}

describe('codecs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-codecs-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const cases = [
    ['h264', 'aac', 'ts', 'h264', 'aac'],
    ['hevc', 'mp2', 'ts', 'hevc', 'mp2'],
    ['mpeg2', 'mp2', 'ts', 'mpeg2video', 'mp2'],
    ['hevc', 'opus', 'mkv', 'hevc', 'opus'],
    ['vp9', 'opus', 'webm', 'vp9', 'opus'],
    ['mpeg2', 'aac', 'mp4', 'mpeg2video', 'aac'],
  ] as const;
  for (const [v, a, ext, vName, aName] of cases) {
    it(`${v} + ${a} in .${ext}`, async () => {
      const out = join(dir, `${v}-${a}.${ext}`);
      const s = stream(`c-${v}`, { codec: v }, { codec: a }, v === 'vp9' ? { type: 'file' } : { type: 'udp' });
      await renderToFile(s, out, { duration: 2 });
      const d = await decodeFile(out);
      expect(d.videoCodec).toBe(vName);
      expect(d.audioCodec).toBe(aName);
      expect(d.frames).toHaveLength(50);
      expect(d.decodeErrors).toBe(0);
      // A keyframe on every whole second.
      const video = d.packets.filter((p) => p.kind === 'video');
      const keys = video.filter((p) => p.key).map((p) => p.pts - video[0]!.pts);
      expect(keys.map((k) => Math.round(k * 1000) / 1000)).toEqual([0, 1]);
      // The tone is there.
      expect(rms(slice(d, 0, d.audio!.t0 + 0.3, d.audio!.t0 + 1.5))).toBeGreaterThan(0.05);
    }, 30_000);
  }

  it('refuses vp9 on live outputs and impossible containers, with the reason', async () => {
    expect(() => stream('x', { codec: 'vp9' }, {})).toThrow(/vp9 cannot be carried in MPEG-TS/);
    expect(() => stream('x', {}, { codec: 'opus', sampleRate: 44100 })).toThrow(/opus needs sampleRate 48000/);
    expect(() => stream('x', { codec: 'mpeg2', fps: 15 }, {})).toThrow(/mpeg2 needs a standard frame rate/);
    const vp9 = stream('x', { codec: 'vp9' }, { codec: 'opus' }, { type: 'file' });
    await expect(renderToFile(vp9, join(dir, 'x.ts'), { duration: 1 })).rejects.toThrow(/MPEG-TS cannot carry vp9/);
    const h264 = stream('y', {}, {});
    await expect(renderToFile(h264, join(dir, 'y.webm'), { duration: 1 })).rejects.toThrow(
      /webm carries vp9 video only/,
    );
  });
});
