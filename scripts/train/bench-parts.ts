/**
 * Cost breakdown of one analysed frame of the corruption detector (run: npx tsx scripts/train/bench-parts.ts [clip]):
 * the luma plane as ingest hands it over (VideoViewBuilder's view.luma), features.compute and
 * model.score, each the median of 5 passes over
 * the same decoded frames, in one run (this machine is shared: compare only numbers from one run).
 */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import type { Frame } from 'node-av/lib';
import { BlockFeatures } from '../../src/detect/corruption/features.ts';
import { CorruptionModel } from '../../src/detect/corruption/model.ts';
import { VideoViewBuilder } from '../../src/ingest/frame-views.ts';

const path = process.argv[2] ?? new URL('../../../shared/media/bbb_720p_vp8_vorbis_0-30s.webm', import.meta.url).pathname;
const N = Number(process.env.FRAMES ?? 60);
await using dmx = await Demuxer.open(path);
const st = dmx.video()!;
using dec = await Decoder.create(st);
const frames: Frame[] = [];
let i = 0;
for await (const f of dec.frames(dmx.packets(st.index))) {
  // every 5th frame: the spacing the detector analyses at
  if (f && i++ % 5 === 0) frames.push(f.clone()!);
  if (frames.length >= N) break;
}
const w = frames[0]!.width;
const h = frames[0]!.height;
const stride = frames[0]!.linesize[0]!;
const median = (a: number[]): number => a.sort((x, y) => x - y)[a.length >> 1]!;
const lumaMs: number[] = [];
const views = new VideoViewBuilder(() => false);
for (let r = 0; r < 5; r++) {
  let t = 0;
  for (const f of frames) {
    const v = views.build(f, 0, 0, 0.04)!;
    const t0 = performance.now();
    void v.luma[0];
    t += performance.now() - t0;
    views.release();
  }
  lumaMs.push(t / frames.length);
}
views.close();
const lumas = frames.map((f) => Uint8Array.from(f.data![0]!));
const featMs: number[] = [];
const modelMs: number[] = [];
const totalMs: number[] = [];
let ratioSum = 0;
for (let r = 0; r < 5; r++) {
  const bf = new BlockFeatures();
  const m = new CorruptionModel();
  let tf = 0;
  let tm = 0;
  for (const y of lumas) {
    const t0 = performance.now();
    const n = bf.compute(y, stride, w, h, false);
    const t1 = performance.now();
    ratioSum += m.score(bf.out, bf.cols, bf.rows, false);
    tm += performance.now() - t1;
    tf += t1 - t0;
    void n;
  }
  featMs.push(tf / lumas.length);
  modelMs.push(tm / lumas.length);
  totalMs.push((tf + tm) / lumas.length);
}
console.log(`${path.split('/').pop()} ${w}x${h}, ${frames.length} frames 0.2 s apart: view.luma ${median(lumaMs).toFixed(3)} ms, features ${median(featMs).toFixed(3)} ms, model ${median(modelMs).toFixed(3)} ms, features+model ${median(totalMs).toFixed(3)} ms per analysed frame (median of 5 passes); mean ratio ${(ratioSum / 5 / lumas.length).toFixed(4)}`);
for (const f of frames) f.free();
