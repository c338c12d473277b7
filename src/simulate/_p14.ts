import { AV_PIX_FMT_YUV420P, AV_OPT_SEARCH_CHILDREN } from 'node-av/constants';
import { Codec, CodecContext, Frame, Packet, Option } from 'node-av/lib';
const codec = Codec.findEncoderByName('libx264')!;
const ctx = new CodecContext(); ctx.allocContext3(codec);
ctx.width = 640; ctx.height = 360; ctx.pixelFormat = AV_PIX_FMT_YUV420P; ctx.timeBase = { num: 1, den: 25 }; ctx.gopSize = 25; ctx.maxBFrames = 0; ctx.bitRate = 800000n; ctx.threadCount = Number(process.argv[2] ?? 1);
Option.set(ctx.getNative() as any, 'preset', 'ultrafast', AV_OPT_SEARCH_CHILDREN);
ctx.open2Sync(codec, null);
const buf = Buffer.alloc(640*360*3/2); for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 255;
const t0 = Date.now(); const c0 = process.cpuUsage();
for (let i = 0; i < 500; i++) {
  buf[i * 100] = i & 255;
  const f = Frame.fromVideoBuffer(buf, { width: 640, height: 360, format: AV_PIX_FMT_YUV420P, timeBase: { num: 1, den: 25 } }); f.pts = BigInt(i);
  if (process.argv[3] === 'async') await ctx.sendFrame(f); else ctx.sendFrameSync(f);
  for (;;) { const p = new Packet(); p.alloc(); const r = process.argv[3] === 'async' ? await ctx.receivePacket(p) : ctx.receivePacketSync(p); if (r < 0) { p.free(); break; } p.free(); }
  f.free();
}
const c = process.cpuUsage(c0);
console.log(process.argv.slice(2).join(' '), 'wall', Date.now() - t0, 'cpu', (c.user + c.system) / 1000);
process.exit(0);
