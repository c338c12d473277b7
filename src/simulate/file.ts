/**
 * renderToFile: write a stream's content with its scheduled defects to a file, as fast
 * as the encoder goes (not real time). Signal loss becomes a timestamp gap (no packets);
 * missing tracks and dropped frames likewise; transport damage is applied to the finished
 * MPEG-TS bytes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import * as damage from './damage.ts';
import { PacketMuxer } from './mux.ts';
import { renderCycle, round6, streamSeed, type DamageApi } from './render.ts';
import { CONTAINERS, containerProblem, type Container, type GroundTruthEntry, type ScenarioStream } from './scenario.ts';
import { tsDamagerFor, tsMuxOptions } from './ts-damage.ts';

/** FFmpeg's muxer for each container (by the file's extension). */
const FORMATS: Record<Container, string> = {
  ts: 'mpegts',
  mp4: 'mp4',
  mkv: 'matroska',
  mov: 'mov',
  webm: 'webm',
};

export async function renderToFile(
  stream: ScenarioStream,
  outPath: string,
  opts: {
    duration: number;
    seed?: number;
    /**
     * Damage functions in place of damage.ts's (the evaluation renders a clean twin of a damaged
     * file with functions that damage nothing, so both line up frame for frame).
     */
    damage?: DamageApi;
  },
): Promise<GroundTruthEntry[]> {
  const container = extname(outPath).toLowerCase().slice(1) as Container;
  if (!CONTAINERS.includes(container)) {
    throw new Error(`renderToFile: unsupported extension ${extname(outPath)} (use .ts, .mp4, .mkv, .mov, .webm)`);
  }
  const format = FORMATS[container];
  if (!(opts.duration > 0)) throw new Error('renderToFile: duration must be > 0');
  const problem = containerProblem(stream, container);
  if (problem) throw new Error(`renderToFile: stream ${stream.id} to ${outPath}: ${problem}`);
  const globalHeader = format !== 'mpegts';
  const enc = await renderCycle(stream, {
    seconds: opts.duration,
    globalHeader,
    // One encoder thread: with two, the same scenario rendered twice under CPU load gave different
    // bytes (3 of 4 renders of test/cli/render.test.ts's H.264 stream with two busy loops running;
    // 4 of 4 identical with one). A file render is reproducible from its scenario and seed.
    threads: 1,
    seed: opts.seed,
    damage: opts.damage ?? damage,
  });
  const tracks = enc.audio ? [enc.video, enc.audio] : [enc.video];
  const mux = new PacketMuxer(
    outPath,
    format,
    tracks,
    format === 'mp4' || format === 'mov'
      ? { movflags: '+faststart' }
      : format === 'mpegts'
        ? // As a broadcast multiplexer: PAT and PMT well within TR 101 290's 0.5 s (see live.ts).
          tsMuxOptions('muxrateKbps' in stream.output ? stream.output.muxrateKbps : undefined)
        : {},
  );
  let truthReps: GroundTruthEntry[][] = [];
  try {
    mux.open();
    for (const p of enc.packets) if (!p.drop && !p.omit) mux.write(p, 0n);
    for (let k = 0; k * stream.cycle < opts.duration; k++) truthReps.push(enc.truthFor(k));
  } finally {
    mux.close();
    enc.free();
  }
  const ts = format === 'mpegts' ? tsDamagerFor(stream, streamSeed(stream, opts.seed ?? 1)) : undefined;
  if (ts) await writeFile(outPath, ts.process(await readFile(outPath)));

  // Ground truth for every repetition of the cycle that starts inside the file.
  const out: GroundTruthEntry[] = [];
  truthReps.forEach((reps, k) => {
    for (const e of reps) {
      const start = e.start + k * stream.cycle;
      if (start >= opts.duration) continue;
      const end = Math.min(opts.duration, (e.end ?? e.start) + k * stream.cycle);
      out.push({ ...e, start: round6(start), end: round6(end) });
    }
  });
  truthReps = [];
  out.sort((a, b) => a.start - b.start);
  // A whole-stream entry (track never sent) is one interval, not one per repetition.
  const merged: GroundTruthEntry[] = [];
  for (const e of out) {
    const prev = e.whole ? merged.find((m) => m.whole && m.type === e.type) : undefined;
    if (prev) prev.end = Math.max(prev.end!, e.end!);
    else merged.push(e);
  }
  return merged;
}
