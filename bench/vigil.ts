/**
 * Vigil: the full pipeline (ingest → detectors → incidents) via analyze(). With a third argument
 * (`bench/vigil.ts <input> black,freeze` or `none`), only those detectors run (`--detectors` in
 * run.ts: each detector alone against its FFmpeg counterpart alone).
 */
import { measure } from './common.ts';
import { analyze } from '../src/engine/analyze.ts';
import { selectDetectors } from './select.ts';

const detectors = selectDetectors(process.argv[3]);
await measure(process.argv[3] === undefined ? 'vigil' : `vigil ${process.argv[3]}`, async (input) => {
  const r = await analyze({ input, ...(detectors ? { detectors } : {}) });
  return {
    videoFrames: r.videoFrames,
    audioChunks: r.audioChunks,
    duration: r.duration,
    incidents: r.incidents.map(
      (i) => `${i.type}${i.channel ? `(${i.channel})` : ''} ${i.start.toFixed(1)}-${i.end?.toFixed(1) ?? '?'}s`,
    ),
  };
});
