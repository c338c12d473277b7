// CPU cost of replaying N streams + exit check
import { parseScenario, startSimulation } from './index.ts';
const N = Number(process.argv[2] ?? 20);
const kind = process.argv[3] ?? 'udp';
const sc = parseScenario({ startDelay: 0, streams: Array.from({ length: N }, (_, i) => ({ id: `s${i}`, output: kind === 'hls' ? { type: 'hls' } : { type: 'udp' }, video: { width: 640, height: 360, bitrateKbps: 800 }, cycle: 10, schedule: [{ at: 2, type: 'black', duration: 2 }, { at: 5, type: 'freeze', duration: 2 }, { at: 7, type: 'signal_loss', duration: 1 }] })) });
const t0 = Date.now();
const c0 = process.cpuUsage();
const sim = await startSimulation(sc);
const c1 = process.cpuUsage(c0);
console.log(`render ${N} streams: ${Date.now() - t0} ms wall, cpu ${(c1.user + c1.system) / 1000} ms, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`);
const c2 = process.cpuUsage();
const w0 = Date.now();
await new Promise((r) => setTimeout(r, 15000));
const c3 = process.cpuUsage(c2);
console.log(`replay ${kind}: ${((c3.user + c3.system) / 1000 / (Date.now() - w0) * 100).toFixed(1)}% of one core over ${(Date.now() - w0) / 1000}s, rss ${Math.round(process.memoryUsage().rss / 1e6)} MB, truth ${sim.truth().length}`);
await sim.stop();
console.log('stopped; active handles:', (process as any)._getActiveHandles().length);
