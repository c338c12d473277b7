/** Debug view: clean | damaged | labels | model map, as a grey PNG (npx tsx scripts/train/viz.ts OUT.png source codec mode frame). */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { AV_LOG_QUIET } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { BlockFeatures, MB } from '../../src/detect/corruption/features.ts';
import { CorruptionModel } from '../../src/detect/corruption/model.ts';
import { damageFrames, type DamageCodec, type DamageMode } from '../../src/simulate/damage.ts';
import { readSource } from './data.ts';

function png(path: string, w: number, h: number, px: Uint8Array): void {
  const raw = Buffer.alloc((w + 1) * h);
  for (let y = 0; y < h; y++) px.subarray(y * w, y * w + w).forEach((v, x) => (raw[y * (w + 1) + 1 + x] = v));
  const crcT = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (b: Buffer): number => { let c = 0xffffffff; for (const x of b) c = crcT[(c ^ x) & 0xff]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (t: string, d: Buffer): Buffer => { const l = Buffer.alloc(4); l.writeUInt32BE(d.length); const td = Buffer.concat([Buffer.from(t), d]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([l, td, c]); };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 0;
  writeFileSync(path, Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]));
}

Log.setLevel(AV_LOG_QUIET);
const [out, name, codec, mode, frameArg] = process.argv.slice(2);
const MEDIA = new URL('../../../shared/media/', import.meta.url).pathname;
const clips: Record<string, string> = { handheld: 'handheld_crystal_toy_480p.mp4', water: 'static_water_stream_480x360.mp4', bbb: 'bbb_720p_vp8_vorbis_0-30s.webm', sintel: 'sintel_256x110_lowbitrate_blocky.mp4', bear: 'bear_vp9_320x240_noaudio.webm' };
const W = 320, H = 192;
const src = await readSource(clips[name!] ? { name: name!, clip: MEDIA + clips[name!]! } : { name: name!, lavfi: `${name}=s={S}:r={R}` }, W, H, 50, 25);
const base = { codec: codec as DamageCodec, width: W, height: H, fps: 25, gop: 50 };
const clean = await damageFrames(src, { ...base, mode: 'drop', rate: 1, seed: 0, window: [0, 0] });
const dmg = mode === 'none' ? clean : await damageFrames(src, { ...base, mode: mode as DamageMode, rate: 0.5, seed: 4242, window: [10, 50] });
const fi = Number(frameArg ?? 30);
const m = new CorruptionModel();
const bf = new BlockFeatures();
const lum = (f: (typeof src)[0]) => ({ y: f.data![0]!, s: f.linesize[0]! });
bf.compute(lum(dmg[fi - 5]!).y, lum(dmg[fi - 5]!).s, W, H, false);
m.score(bf.out, bf.cols, bf.rows, false);
const n = bf.compute(lum(dmg[fi]!).y, lum(dmg[fi]!).s, W, H, dmg[fi]!.decodeErrorFlags !== 0);
const ratio = m.score(bf.out, bf.cols, bf.rows, false);
const img = new Uint8Array(W * 4 * H);
const c = lum(clean[fi]!), d = lum(dmg[fi]!);
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
  img[y * 4 * W + x] = c.y[y * c.s + x]!;
  img[y * 4 * W + W + x] = d.y[y * d.s + x]!;
  let best = 255;
  for (let j = fi; j >= fi - 6; j--) {
    const cj = lum(clean[j]!);
    let s = 0;
    const bx0 = Math.floor(x / MB) * MB, by0 = Math.floor(y / MB) * MB;
    for (let yy = by0; yy < by0 + MB; yy += 2) for (let xx = bx0; xx < bx0 + MB; xx += 2) s += Math.abs(cj.y[yy * cj.s + xx]! - d.y[yy * d.s + xx]!);
    best = Math.min(best, s / 64);
  }
  img[y * 4 * W + 2 * W + x] = Math.min(255, 8 * best);
  const b = Math.floor(y / MB) * Math.floor(W / MB) + Math.floor(x / MB);
  img[y * 4 * W + 3 * W + x] = b < n ? Math.round(255 * m.map[b]!) : 0;
}
png(out!, 4 * W, H, img);
console.log(`frame ${fi} decodeError ${dmg[fi]!.decodeErrorFlags} ratio ${ratio.toFixed(3)}`);
