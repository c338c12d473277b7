/**
 * What the decoder reports reaches the detectors: pictures decoded from damaged packets (the
 * simulator's corruption defect, variant decoder: packets of the window cut by lost TS payloads)
 * are delivered with VideoFrameView.decodeError set, inside the damaged span, and counted in
 * status.decodeErrors. node-av's Decoder class, which ingest used before, dropped these
 * pictures silently. The same content undamaged gives no flag, and a file that starts in the
 * middle of a GOP (a live MPEG-TS joined mid-stream) gives no start-up artefacts.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-decerr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DURATION = 8;
const FPS = 25;

type Codec = 'h264' | 'mpeg2' | 'hevc';

async function render(codec: Codec, damaged: boolean): Promise<{ path: string; span?: [number, number] }> {
  const sc = parseScenario({
    streams: [
      {
        id: 's',
        output: { type: 'udp', port: 0 },
        content: { source: 'smptebars' },
        video: { width: 320, height: 192, fps: FPS, bitrateKbps: 400, codec },
        audio: { sampleRate: 48000, channels: 2, bitrateKbps: 64 },
        cycle: DURATION,
        schedule: damaged ? [{ at: 3, type: 'corruption', duration: 2, variant: 'decoder', mode: 'burst', rate: 0.3 }] : [],
      },
    ],
  });
  const path = join(dir, `${codec}-${damaged ? 'damaged' : 'intact'}.ts`);
  const truth = await renderToFile(sc.streams[0]!, path, { duration: DURATION });
  const c = truth.find((t) => t.type === 'corruption');
  return c ? { path, span: [c.start, c.end ?? DURATION] } : { path };
}

interface Seen {
  frames: { t: number; decodeError: boolean; keyFrame: boolean }[];
  audio: number;
  decodeErrors: number;
}

async function ingest(url: string): Promise<Seen> {
  setMediaLogLevel('quiet');
  const seen: Seen = { frames: [], audio: 0, decodeErrors: 0 };
  const source = new StreamSource(
    { id: 't', url },
    {
      video: (v) => void seen.frames.push({ t: v.mediaTime, decodeError: v.decodeError, keyFrame: v.keyFrame }),
      audio: () => void seen.audio++,
      edge: () => {},
      discontinuity: () => {},
    },
  );
  await source.run();
  seen.decodeErrors = source.status().decodeErrors;
  return seen;
}

/** The file from TS packet `fraction` of the way into its first second: mid-GOP, no keyframe first. */
function cutMidGop(path: string, fraction: number): string {
  const buf = readFileSync(path);
  const packets = buf.length / 188;
  const at = Math.round((packets / DURATION) * fraction) * 188;
  const out = path.replace(/\.ts$/, `-cut.ts`);
  writeFileSync(out, buf.subarray(at));
  return out;
}

describe('decoder-flagged pictures reach the detectors', () => {
  for (const codec of ['h264', 'mpeg2'] as const) {
    it(`${codec}: damaged packets give decodeError frames inside the damaged span; the intact encode gives none`, async () => {
      const damaged = await render(codec, true);
      const intact = await render(codec, false);
      expect(damaged.span).toBeDefined();
      const [start, end] = damaged.span!;
      const d = await ingest(damaged.path);
      const ok = await ingest(intact.path);

      const flagged = d.frames.filter((f) => f.decodeError);
      expect(flagged.length).toBeGreaterThan(0);
      // Inside the span (its end is the first keyframe after the last damaged packet), give or take a frame.
      for (const f of flagged) {
        expect(f.t).toBeGreaterThanOrEqual(start - 1 / FPS - 1e-6);
        expect(f.t).toBeLessThanOrEqual(end + 1 / FPS + 1e-6);
      }
      expect(d.decodeErrors).toBeGreaterThanOrEqual(flagged.length);
      // Nothing is hidden: the damaged file yields as many pictures as the intact one.
      expect(d.frames.length).toBe(ok.frames.length);
      expect(d.frames.length).toBe(DURATION * FPS);
      expect(d.audio).toBeGreaterThan(0);

      expect(ok.frames.filter((f) => f.decodeError)).toEqual([]);
      expect(ok.decodeErrors).toBe(0);
    }, 90_000);
  }

  for (const codec of ['h264', 'mpeg2', 'hevc'] as const) {
    it(`${codec}: a stream joined mid-GOP starts on a keyframe with no flagged pictures`, async () => {
      const intact = await render(codec, false);
      const cut = cutMidGop(intact.path, 0.5);
      const s = await ingest(cut);
      expect(s.frames.length).toBeGreaterThan((DURATION - 1) * FPS - 5);
      expect(s.frames[0]!.keyFrame).toBe(true);
      expect(s.frames.filter((f) => f.decodeError)).toEqual([]);
      expect(s.decodeErrors).toBe(0);
    }, 60_000);
  }
});
