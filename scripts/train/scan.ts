/** The 27-case damage scan of the ADR: held-out content x codec x mode, decoded and re-encoded; incidents opened, peak and mean corruption_score (npx tsx scripts/train/scan.ts). */
import { AV_LOG_QUIET } from 'node-av/constants';
import { Log, type Frame } from 'node-av/lib';
import { defaultOptions } from '../../src/detect/index.ts';
import { corruptionDetector as spec } from '../../src/detect/corruption/corruption-detector.ts';
import { VideoViewBuilder } from '../../src/ingest/frame-views.ts';
import { damageFrames, type DamageCodec, type DamageMode } from '../../src/simulate/damage.ts';
import { readSource } from './data.ts';
Log.setLevel(AV_LOG_QUIET);
const M = '/work/shared/media/';
function run(frames: Frame[]) {
  let opens = 0; const sc: number[] = [];
  const det = spec.create(defaultOptions(spec.options), { streamId: 's', report: (e) => { if (e.phase === 'open') opens++; }, gauge: (n, v) => { if (n === 'corruption_score') sc.push(v); } });
  const vb = new VideoViewBuilder(() => false);
  frames.forEach((f, i) => { const v = vb.build(f, i / 25, i * 40, 0.04)!; det.process(v); vb.release(); });
  det.flush(frames.length / 25, 0);
  return { opens, max: Math.max(...sc), mean: sc.reduce((a, b) => a + b, 0) / sc.length };
}
for (const [name, s] of [['handheld', { name: 'h', clip: M + 'handheld_crystal_toy_480p.mp4', skip: 1 }], ['mandel', { name: 'm', lavfi: 'mandelbrot=s={S}:r={R}' }], ['water', { name: 'w', clip: M + 'static_water_stream_480x360.mp4' }]] as const) {
  const src = await readSource(s, 320, 192, 75, 25);
  for (const codec of ['h264', 'mpeg2video', 'hevc'] as DamageCodec[]) for (const mode of ['burst', 'drop', 'bitflip'] as DamageMode[]) {
    const d = await damageFrames(src, { codec, width: 320, height: 192, fps: 25, gop: 75, mode, rate: 0.6, seed: 5003, window: [20, 75] });
    const r = await damageFrames(d, { codec: 'h264', width: 320, height: 192, fps: 25, mode: 'drop', rate: 1, seed: 0, window: [0, 0] });
    const a = run(d), b = run(r);
    console.log(name, codec, mode, 'decoded', a.opens, a.max.toFixed(2), a.mean.toFixed(3), 'reenc', b.opens, b.max.toFixed(2), b.mean.toFixed(3));
    for (const f of [...d, ...r]) f.free();
  }
}
