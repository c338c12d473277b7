import '../shared/polyfill.ts';
import { renderCycle } from './render.ts';
import { parseScenario } from './scenario.ts';
const sc = parseScenario({ streams: [{ id: 's1', output: { type: 'udp' }, video: { width: 320, height: 180 }, cycle: 4, schedule: [] }] });
console.log('start');
const enc = await renderCycle(sc.streams[0]!, { seconds: 4 });
console.log('rendered', enc.packets.length);
