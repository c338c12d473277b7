/**
 * renderToFile: write a stream's content with its scheduled defects to a file, as fast
 * as the encoder goes (not real time). Signal loss becomes a timestamp gap (no packets).
 */
import { extname } from 'node:path';
import { PacketMuxer } from './mux.ts';
import { renderCycle, round6 } from './render.ts';
import type { GroundTruthEntry, ScenarioStream } from './scenario.ts';

const FORMATS: Record<string, string> = { '.ts': 'mpegts', '.mp4': 'mp4', '.mkv': 'matroska', '.mov': 'mov' };

export async function renderToFile(
  stream: ScenarioStream,
  outPath: string,
  opts: { duration: number; seed?: number },
): Promise<GroundTruthEntry[]> {
  const format = FORMATS[extname(outPath).toLowerCase()];
  if (!format) throw new Error(`renderToFile: unsupported extension ${extname(outPath)} (use .ts, .mp4, .mkv)`);
  if (!(opts.duration > 0)) throw new Error('renderToFile: duration must be > 0');
  const globalHeader = format !== 'mpegts';
  const enc = await renderCycle(stream, { seconds: opts.duration, globalHeader, threads: 2, seed: opts.seed });
  const tracks = enc.audio ? [enc.video, enc.audio] : [enc.video];
  const mux = new PacketMuxer(
    outPath,
    format,
    tracks,
    format === 'mp4' || format === 'mov' ? { movflags: '+faststart' } : {},
  );
  try {
    mux.open();
    for (const p of enc.packets) if (!p.drop) mux.write(p, 0n);
  } finally {
    mux.close();
    enc.free();
  }
  // Ground truth for every repetition of the cycle that starts inside the file.
  const out: GroundTruthEntry[] = [];
  for (let k = 0; k * stream.cycle < opts.duration; k++) {
    for (const e of enc.truth) {
      const start = e.start + k * stream.cycle;
      if (start >= opts.duration) continue;
      const end = Math.min(opts.duration, (e.end ?? e.start) + k * stream.cycle);
      out.push({ ...e, start: round6(start), end: round6(end) });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
