import { parseScenario, demoScenario } from './scenario.ts';
const d = demoScenario(); console.log(JSON.stringify(d.streams[0]).slice(0, 400));
try { parseScenario({ streams: [{ id: 'a', output: { type: 'udp', port: 'x' }, bogus: 1, schedule: [{ at: 1, type: 'bk', duration: 2 }, { at: 1, type: 'black', duration: 200 }, {at:1,type:'freeze', duration: 1, grainz: 2}] }] }); } catch (e: any) { console.log(e.message, e.details); }
try { parseScenario({ streams: [{ id: 'a', output: { type: 'rtmp' } }], x: 1 }); } catch (e: any) { console.log(e.message, e.details); }
try { parseScenario(5); } catch (e: any) { console.log(e.message, e.details); }
