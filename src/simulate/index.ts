/**
 * Simulator: live test streams with scripted defects and ground truth.
 *
 * - parseScenario / loadScenarioFile / scenarioSchema: the scenario format (YAML or JSON).
 * - startSimulation: encode each stream's cycle once, then replay it live and looping
 *   (MPEG-TS over UDP or HLS over HTTP on 127.0.0.1), recording ground truth as it plays.
 * - renderToFile: the same content and defects written to a file as fast as possible.
 * - demoScenario: the embedded three-stream demo.
 */
import { renderToFile as renderToFileImpl } from './file.ts';
import { quietFfmpegLogs } from './live.ts';
import type { GroundTruthEntry, ScenarioStream } from './scenario.ts';

export { scenarioSchema, parseScenario, loadScenarioFile, demoScenario } from './scenario.ts';
export type { Scenario, ScenarioStream, GroundTruthEntry, ScheduleItem, ScenarioInput } from './scenario.ts';
export { startSimulation } from './live.ts';
export type { SimulationHandle, SimulationOptions } from './live.ts';

/**
 * Write `duration` seconds of the stream's content with its scheduled defects to `outPath`
 * (container by extension: .ts, .mp4, .mkv). Signal loss becomes a gap in the timestamps.
 * Returns the ground truth for the file (media seconds from the first frame; no wall fields).
 */
export function renderToFile(stream: ScenarioStream, outPath: string, opts: { duration: number }): Promise<GroundTruthEntry[]> {
  quietFfmpegLogs();
  return renderToFileImpl(stream, outPath, opts);
}
