/**
 * Micro-benchmark of the corruption detector's CPU cost per frame on real decoded frames
 * (run: npx tsx scripts/train/bench.ts [clip...]). Reports the average over all frames with the
 * default analysisInterval (luma access included: ingest's real VideoViewBuilder), and the cost
 * of one analysed frame (analysisInterval 0).
 */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import { Frame } from 'node-av/lib';
import { defaultOptions } from '../../src/detect/index.ts';
import { corruptionDetector as spec } from '../../src/detect/corruption/corruption-detector.ts';
import { VideoViewBuilder } from '../../src/ingest/frame-views.ts';

const clips = process.argv.slice(2);
if (clips.length === 0) clips.push(new URL('../../../shared/media/bbb_720p_vp8_vorbis_0-30s.webm', import.meta.url).pathname);
for (const path of clips) {
  await using dmx = await Demuxer.open(path);
  const st = dmx.video()!;
  using dec = await Decoder.create(st);
  const frames: Frame[] = [];
  for await (const f of dec.frames(dmx.packets(st.index))) {
    if (f) frames.push(f.clone()!);
    if (frames.length >= 150) break;
  }
  const fps = 30;
  for (const interval of [spec.options.analysisInterval.default, 0]) {
    const ctx = { streamId: 'bench', report: () => {}, gauge: () => {} };
    const det = spec.create({ ...defaultOptions(spec.options), analysisInterval: interval }, ctx);
    const views = new VideoViewBuilder(() => false);
    const times: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const t0 = performance.now();
      frames.forEach((f, i) => {
        const v = views.build(f, rep * 10 + i / fps, Date.now(), 1 / fps)!;
        det.process(v);
        views.release();
      });
      times.push((performance.now() - t0) / frames.length);
    }
    views.close();
    times.sort((a, b) => a - b);
    console.log(`${path.split('/').pop()} ${frames[0]!.width}x${frames[0]!.height} analysisInterval ${interval}s: ${times[1]!.toFixed(3)} ms/frame (median of 3 passes over ${frames.length} frames)`);
  }
  for (const f of frames) f.free();
}
