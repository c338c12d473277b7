import { renderToFile } from './file.ts';
import { parseScenario } from './scenario.ts';
const sc = parseScenario({ streams: [{ id: 's1', output: { type: 'udp' }, video: { width: 320, height: 180 }, cycle: 10,
  schedule: [{ at: 2, type: 'black', duration: 2 }, { at: 5, type: 'silence', duration: 2 }, { at: 7, type: 'signal_loss', duration: 1.5 }, { at: 5, type: 'freeze', duration: 1, grain: 4 }] }] });
for (const ext of ['ts', 'mp4', 'mkv']) {
  const t0 = Date.now();
  const truth = await renderToFile(sc.streams[0]!, `/tmp/simproto/o.${ext}`, { duration: 12 });
  console.log(ext, Date.now() - t0, 'ms', JSON.stringify(truth));
}
