import '../shared/polyfill.ts';
import { Demuxer, Decoder } from 'node-av';
import { parseScenario, startSimulation } from './index.ts';
const sc = parseScenario({ streams: [
  { id: 'u1', output: { type: 'udp' }, video: { width: 320, height: 180 }, cycle: 6, schedule: [{ at: 2, type: 'black', duration: 1 }, { at: 4, type: 'signal_loss', duration: 1 }] },
  { id: 'h1', output: { type: 'hls', segmentSeconds: 1 }, video: { width: 320, height: 180 }, cycle: 6, schedule: [{ at: 1, type: 'freeze', duration: 1 }] },
] });
const t0 = Date.now();
const h = await startSimulation(sc, { truthPath: '/tmp/simproto/truth.json' });
console.log('started', Date.now() - t0, h.streams);
const dmx = await Demuxer.open(h.streams[0]!.url, { options: { timeout: '3000000' } } as never);
console.log('udp opened', dmx.streams.map((s) => s.codecpar.codecId), Date.now() - t0);
const dec = await Decoder.create(dmx.video()!);
let n = 0;
for await (const p of dmx.packets(dmx.video()!.index)) { if (!p) break; const fs = await dec.decodeAll(p); n += fs.length; for (const f of fs) f.free(); p.free(); if (n >= 50) break; }
console.log('decoded', n, Date.now() - t0);
await dmx.close();
for (let i = 0; i < 4; i++) { const r = await fetch(h.streams[1]!.url); console.log((await r.text()).split('\n').filter(l => l.startsWith('#EXT-X-MEDIA') || l.startsWith('seg')).join(' ')); await new Promise(r => setTimeout(r, 1000)); }
console.log(JSON.stringify(h.truth()));
await h.stop();
console.log('stopped', Date.now() - t0);
