/** Vigil: the full pipeline (ingest → detectors → incidents) via analyze(). */
import { measure } from './common.ts';
import { analyze } from '../src/engine/analyze.ts';

await measure('vigil', async (input) => {
  const r = await analyze({ input });
  return {
    videoFrames: r.videoFrames,
    audioChunks: r.audioChunks,
    duration: r.duration,
    incidents: r.incidents.map((i) => `${i.type}${i.channel ? `(${i.channel})` : ''} ${i.start.toFixed(1)}-${i.end?.toFixed(1) ?? '?'}s`),
  };
});
