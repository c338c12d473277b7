/**
 * `vigil render` as a real process: a scenario's streams written to files with their ground
 * truth, the scenario's seed honoured, bad scenarios and failed renders reported by field or by
 * stream, and the files readable by `vigil analyze`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Demuxer } from 'node-av/api';
import { AV_CODEC_ID_AAC, AV_CODEC_ID_H264, AV_CODEC_ID_OPUS, AV_CODEC_ID_VP9 } from 'node-av/constants';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/shared/polyfill.ts';
import { lines, runVigil, type VigilRun } from './run-vigil.ts';

/** A live (UDP) H.264 stream and a file-only VP9 + Opus one. */
const scenario = (seed: number, extra = ''): string => `seed: ${seed}
streams:
  - id: bars
    output: { type: udp, port: 5000 }
    content: { source: testsrc2 }
    video: { width: 320, height: 180, fps: 25 }
    cycle: 10
    schedule:
      - { at: 1, type: black, duration: 2.5 }
      - { at: 4, type: freeze, duration: 1.5, grain: 8 }
  - id: web
    output: { type: file${extra} }
    content: { source: smptebars }
    clock: false
    video: { width: 320, height: 180, fps: 25, codec: vp9 }
    audio: { codec: opus }
    cycle: 10
    schedule:
      - { at: 2, type: silence, duration: 2.5 }
`;

const md5 = async (path: string): Promise<string> => createHash('md5').update(await readFile(path)).digest('hex');

describe('vigil render', () => {
  let dir: string;
  let run: VigilRun;
  const out = (...p: string[]): string => join(dir, 'out', ...p);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-render-'));
    await writeFile(join(dir, 's.yaml'), scenario(3));
    run = await runVigil(['render', '--scenario', join(dir, 's.yaml'), '--out', out(), '--duration', '6'], { timeoutMs: 60_000 });
  }, 70_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes every stream of the scenario to <out>/<id>.<container> with its ground truth, and says so', async () => {
    expect(run.code, run.stderr).toBe(0);
    const said = lines(run.stdout);
    expect(said).toHaveLength(2);
    expect(said[0]).toBe(`bars\t${out('bars.ts')}\t6 s\t2 ground-truth entries`);
    expect(said[1]).toBe(`web\t${out('web.webm')}\t6 s\t1 ground-truth entries`);
    expect((await readdir(out())).sort()).toEqual(['bars.truth.json', 'bars.ts', 'web.truth.json', 'web.webm']);
    const bars = JSON.parse(await readFile(out('bars.truth.json'), 'utf8')) as Record<string, unknown>[];
    expect(bars.map((e) => [e.streamId, e.type, e.start])).toEqual([
      ['bars', 'black', 1],
      ['bars', 'freeze', 4],
    ]);
    // On the frame grid (25 fps).
    expect(bars[0]!.end).toBeCloseTo(3.5, 1);
    expect(bars[1]!.end).toBeCloseTo(5.5, 1);
    const web = JSON.parse(await readFile(out('web.truth.json'), 'utf8')) as Record<string, unknown>[];
    expect(web).toEqual([{ streamId: 'web', type: 'silence', start: 2, end: 4.5 }]);
  });

  it('a file-only vp9 stream becomes VP9 + Opus in WebM; a live stream becomes H.264 + AAC in MPEG-TS', async () => {
    const codecs = async (p: string): Promise<[number | undefined, number | undefined]> => {
      const d = await Demuxer.open(p);
      try {
        return [d.video()?.codecpar.codecId, d.audio()?.codecpar.codecId];
      } finally {
        await d.close();
      }
    };
    expect(await codecs(out('web.webm'))).toEqual([AV_CODEC_ID_VP9, AV_CODEC_ID_OPUS]);
    expect(await codecs(out('bars.ts'))).toEqual([AV_CODEC_ID_H264, AV_CODEC_ID_AAC]);
    const web = await readFile(out('web.webm'));
    expect(web.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])); // EBML
    expect(web.subarray(0, 64).includes(Buffer.from('webm'))).toBe(true); // DocType webm
    const ts = await readFile(out('bars.ts'));
    for (let i = 0; i < ts.length; i += 188) expect(ts[i]).toBe(0x47); // TS sync byte
  });

  it('the files carry what the ground truth says: vigil analyze finds it there', async () => {
    const incidents = async (p: string): Promise<{ type: string; start: number; end: number }[]> => {
      const r = await runVigil(['analyze', p, '--format', 'jsonl']);
      expect(r.code, r.stderr).toBe(0);
      return lines(r.stdout).map((l) => JSON.parse(l) as { type: string; start: number; end: number });
    };
    const bars = await incidents(out('bars.ts'));
    const black = bars.filter((i) => i.type === 'black');
    expect(black, JSON.stringify(bars)).toHaveLength(1);
    expect(black[0]!.start).toBeCloseTo(1, 1);
    expect(black[0]!.end).toBeCloseTo(3.5, 1);
    const web = await incidents(out('web.webm'));
    const silence = web.filter((i) => i.type === 'silence');
    expect(silence, JSON.stringify(web)).toHaveLength(1);
    expect(silence[0]!.start).toBeCloseTo(2, 1);
    expect(silence[0]!.end).toBeCloseTo(4.5, 1);
  }, 30_000);

  it("uses the scenario's seed (a stream's own seed wins), so the same scenario renders the same bytes", async () => {
    const render = async (name: string, yaml: string): Promise<string> => {
      await writeFile(join(dir, `${name}.yaml`), yaml);
      const r = await runVigil(['render', '--scenario', join(dir, `${name}.yaml`), '--out', join(dir, name), '--duration', '6', '--stream', 'bars'], {
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(await readdir(join(dir, name))).toEqual(['bars.truth.json', 'bars.ts']);
      return md5(join(dir, name, 'bars.ts'));
    };
    const first = await md5(out('bars.ts'));
    // The same scenario again: the same file. Another scenario seed: other grain on the freeze.
    expect(await render('again', scenario(3))).toBe(first);
    expect(await render('other', scenario(4))).not.toBe(first);
    // With a seed of its own, the stream ignores the scenario's.
    const own = (seed: number): string => scenario(seed).replace('  - id: bars\n', '  - id: bars\n    seed: 11\n');
    expect(await render('own3', own(3))).toBe(await render('own4', own(4)));
  }, 60_000);

  it('names the field of a container that cannot carry the stream, and writes nothing', async () => {
    await writeFile(join(dir, 'bad.yaml'), scenario(3, ', container: ts'));
    const r = await runVigil(['render', '--scenario', join(dir, 'bad.yaml'), '--out', join(dir, 'bad')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('streams[1].output.container: MPEG-TS cannot carry vp9');
    expect(existsSync(join(dir, 'bad'))).toBe(false);
  });

  it('names the stream and the clip when a render fails, and leaves no file behind', async () => {
    const missing = join(dir, 'no-such-clip.mp4');
    await writeFile(
      join(dir, 'clip.yaml'),
      `streams:\n  - id: film\n    output: { type: file, container: mp4 }\n    content: { source: clip, path: ${missing} }\n    video: { width: 320, height: 180, fps: 25 }\n    cycle: 10\n`,
    );
    const r = await runVigil(['render', '--scenario', join(dir, 'clip.yaml'), '--out', join(dir, 'clip'), '--duration', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`render of stream film to ${join(dir, 'clip', 'film.mp4')} failed`);
    expect(r.stderr).toContain(`content clip ${missing}`);
    expect(await readdir(join(dir, 'clip'))).toEqual([]);
  });

  it('rejects an unknown --stream, a bad --duration and missing options with a clear message', async () => {
    const s = join(dir, 's.yaml');
    const unknown = await runVigil(['render', '--scenario', s, '--out', join(dir, 'x'), '--stream', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--stream nope: no such stream');
    expect(unknown.stderr).toContain('(streams: bars, web)');
    const duration = await runVigil(['render', '--scenario', s, '--out', join(dir, 'x'), '--duration', 'soon']);
    expect(duration.code).toBe(1);
    expect(duration.stderr).toContain('--duration must be a number of seconds');
    const usage = await runVigil(['render', '--scenario', s]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: vigil render --scenario <file> --out <dir>');
  });

  it('vigil simulate refuses a file-only stream and points to vigil render', async () => {
    const r = await runVigil(['simulate', '--scenario', join(dir, 's.yaml'), '--duration', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stream web has output type file');
    expect(r.stderr).toContain('vigil render --scenario');
  });
});
