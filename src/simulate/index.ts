/**
 * Simulator: live test streams with scripted defects and ground truth.
 *
 * - parseScenario / loadScenarioFile / scenarioSchema: the scenario format (YAML or JSON).
 * - startSimulation: encode each stream's cycle once, then replay it live and looping
 *   (MPEG-TS over UDP or HLS over HTTP on 127.0.0.1), recording ground truth as it plays.
 * - renderToFile: the same content and defects written to a file as fast as possible.
 * - demoScenario: the embedded three-stream demo.
 *
 * Timestamps and ground truth
 * ---------------------------
 * Each stream's cycle is encoded once (x264 with a keyframe every second exactly, AAC);
 * the replay sends loop k's packets with timestamps shifted by k * cycle, paced by DTS
 * against one wall clock shared by all streams. Frame 0 of loop 0 has media time 0.
 * Ground truth `start`/`end` are media seconds since that first frame (k * cycle + the
 * scheduled offset, snapped to the frame grid for video defects), so they equal the
 * monitor's "media time since the first decoded frame" provided the monitor receives the
 * stream from its first frame: connect within `startDelay` (default 1 s) after
 * startSimulation() resolves. A monitor that joins later (or HLS, where players start
 * near the live edge) should align by `wallStart`/`wallEnd`: ISO times at which the
 * replay actually sent the first packet at/after the interval's start/end (20 ms tick).
 * Entries appear when playback reaches their start; `end`/`wallEnd` are filled when it
 * reaches their end (an entry still open at stop() keeps no end).
 *
 * Defects: black = Y 16 / UV 128 (the clock still runs); freeze = the onset frame repeated
 * (+ optional per-frame grain; the clock keeps running); silence = digital zero on all
 * channels or one (`channel`, ground truth carries its name FL/FR/FC); signal_loss = packets
 * not sent from `at` until the first keyframe at/after `at + duration` (a whole second,
 * which is the ground-truth end); timestamps jump over the gap, and HLS closes the open
 * segment at loss onset, then publishes nothing until it resumes. Clean variants: normal,
 * dark (luma scaled to `level`, default 15%, around black level 16), static (onset frame
 * held with a small pointer sweeping across it).
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
export function renderToFile(
  stream: ScenarioStream,
  outPath: string,
  opts: { duration: number },
): Promise<GroundTruthEntry[]> {
  quietFfmpegLogs();
  return renderToFileImpl(stream, outPath, opts);
}
