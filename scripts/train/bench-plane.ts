/** Micro-benchmark: cost of a natively area-scaled 1/4 luma plane vs Frame.data (run: npx tsx scripts/train/bench-plane.ts). */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av';
import { AV_PIX_FMT_YUV420P, AV_PIX_FMT_GRAY8, SWS_AREA, SWS_POINT, SWS_FAST_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { Frame, SoftwareScaleContext } from 'node-av/lib';

async function frames(path: string, n: number): Promise<Frame[]> {
  await using dmx = await Demuxer.open(path);
  const st = dmx.video()!;
  using dec = await Decoder.create(st);
  const out: Frame[] = [];
  for await (const f of dec.frames(dmx.packets(st.index))) {
    if (!f) continue;
    out.push(f.clone()!);
    if (out.length >= n) break;
  }
  return out;
}

for (const path of process.argv.slice(2)) {
  const fs = await frames(path, 60);
  const f0 = fs[0]!;
  console.log(path, f0.width, f0.height);
  for (const [name, flag] of [['area', SWS_AREA], ['point', SWS_POINT], ['fastbilinear', SWS_FAST_BILINEAR]] as const) {
    for (const fmt of [AV_PIX_FMT_YUV420P, AV_PIX_FMT_GRAY8]) {
      const sws = new SoftwareScaleContext();
      const w = f0.width >> 2, h = f0.height >> 2;
      sws.getContext(f0.width, f0.height, f0.format as AVPixelFormat, w, h, fmt, flag);
      const out = new Frame(); out.alloc(); out.width = w; out.height = h; out.format = fmt; out.allocBuffer();
      let t = performance.now();
      for (let r = 0; r < 3; r++) for (const f of fs) { sws.scaleFrameSync(out, f); void out.data![0]; }
      t = (performance.now() - t) / (3 * fs.length);
      console.log(`  ${name} ${fmt === AV_PIX_FMT_GRAY8 ? 'gray8' : 'yuv420p'} ${w}x${h}: ${t.toFixed(3)} ms/frame`);
    }
  }
  const t = performance.now();
  for (const f of fs) void f.data![0];
  console.log(`  Frame.data: ${((performance.now() - t) / fs.length).toFixed(3)} ms/frame`);
}
