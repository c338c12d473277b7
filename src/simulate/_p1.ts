import '../shared/polyfill.ts';
import { Demuxer, Decoder, FilterAPI } from 'node-av';
const t0 = Date.now();
try {
  const d = await Demuxer.open('testsrc2=size=320x180:rate=25', { format: 'lavfi' });
  console.log('lavfi ok', d.streams.length, d.video()?.codecpar.codecId);
  const dec = await Decoder.create(d.video()!);
  let n = 0;
  for await (const p of d.packets()) { if (!p) break; const fs = await dec.decodeAll(p); for (const f of fs) { if (n===0) console.log(f.format, f.width, f.height, f.linesize, f.pts, f.timeBase, f.data?.length); f.free(); n++; } p.free(); if (n>=50) break; }
  console.log('frames', n, Date.now()-t0);
  await d.close();
} catch (e) { console.log('lavfi demux failed', e); }
