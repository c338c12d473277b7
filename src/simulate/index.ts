/**
 * Simulator: live test streams with scripted defects and ground truth.
 *
 * - parseScenario / loadScenarioFile / scenarioSchema: the scenario format (YAML or JSON).
 * - startSimulation: encode each stream's cycle once, then replay it live and looping
 *   (MPEG-TS over UDP or HLS over HTTP on 127.0.0.1), recording ground truth as it plays.
 * - renderToFile: the same content and defects written to a file as fast as possible
 *   (`vigil render` does it for every stream of a scenario; containerFor picks the container).
 * - demoScenario: the embedded three-stream demo.
 *
 * Timestamps and ground truth
 * ---------------------------
 * Each stream's cycle is encoded once (video h264/hevc/mpeg2/vp9 with a keyframe on every
 * whole second of media time exactly: GOP = fps, and an I-frame forced on the first picture
 * of each second; audio aac/mp2/opus); the replay sends loop k's packets with timestamps
 * shifted by k * cycle (plus any transport timestamp jump), paced by DTS against one wall
 * clock shared by all streams. Frame 0 of loop 0 has media time 0.
 * Ground truth `start`/`end` are media seconds since that first frame (k * cycle + the
 * scheduled offset, snapped to the frame grid for video defects), so they equal the
 * monitor's "media time since the first decoded frame" provided the monitor receives the
 * stream from its first frame: connect within `startDelay` (default 1 s) after
 * startSimulation() resolves. A monitor that joins later (or HLS, where players start
 * near the live edge) should align by `wallStart`/`wallEnd`: ISO times at which the
 * replay actually sent the first packet at/after the interval's start/end (20 ms tick).
 * Entries appear when playback reaches their start; `end`/`wallEnd` are filled when it
 * reaches their end (an entry still open at stop() keeps no end). Ground-truth times are
 * content time: after a transport `discontinuityMs` jump the stream's PTS run ahead of them.
 * Ground-truth `type` is the incident type name (src/shared/incident-types.ts) or `clean`.
 *
 * Defects (schedule items; ground truth in brackets)
 * - black = Y 16 / UV 128 (the clock still runs) [black]; freeze = the onset frame repeated
 *   (+ optional per-frame grain; the clock keeps running) [freeze]; clean variants: normal,
 *   dark (luma scaled to `level`, default 15%, around black level 16), static (onset frame
 *   held with a small pointer sweeping across it) [clean + variant].
 * - silence = digital zero on all channels [silence]; with `channel` it is an alias of
 *   channel_loss dead. channel_loss: one channel digital zero (variant dead) or multiplied by
 *   -1 (variant phase_invert) [channel_loss + channel FL/FR/FC + variant].
 * - loudness: `gainDb` on every channel, not clamped [loudness + gainDb]; clipping: `gainDb`
 *   (default +30) then hard clip at +-1.0 [clipping + gainDb]. Levels: the default tone is a
 *   sine at -21 dBFS peak (about -22 LUFS stereo); `audio.signal: programme` is correlated pink
 *   noise under a +-6 dB envelope calibrated to -23 LUFS (FFmpeg ebur128, within 1 LU).
 * - av_offset: output audio at time t is the source audio of t - offsetMs inside the window
 *   (positive = audio late; sound repeats or skips at the window edges) [av_sync, kind
 *   content, offsetMs]. timestamp_drift: audio PTS/DTS += (t - at) * rate inside the window
 *   (`ppm`, or `driftMs` reached at its end) while the samples stay where they are; after the
 *   window, audio packets that the drifted ones already cover are not sent (a positive drift),
 *   so timestamps stay monotonic [av_sync, kind timestamps, driftMs, ppm].
 * - audio_missing: audio packets starting inside the window are not sent; video_missing:
 *   video packets not sent from `at` until the first keyframe at/after the window's end (the
 *   ground-truth end). HLS cuts audio-only segments on time meanwhile. `audio.missing` /
 *   `video.missing`: the track is declared (PMT / container header) and never sent: one entry
 *   with `whole: true` per file (per loop live).
 * - stutter: frame k of the window (k = 0, 1, ...) is hit when floor((k+1)*rate) >
 *   floor(k*rate); mode drop: not encoded (a timestamp gap, content moves on); duplicate: the
 *   previous picture again with this frame's timestamp [stutter + mode, rate; frame grid].
 * - corruption decoder: encoded video packets of frames in the window go through
 *   damagePacket() (damage.ts; null = not sent); ground truth runs from the first frame whose
 *   packet was changed to the first keyframe after the last changed one (no packet hit: a
 *   zero-length entry). corruption reencoded: the source pictures of the window are encoded
 *   with `upstreamCodec`, damaged and decoded by damageFrames(), and the damaged pictures are
 *   encoded cleanly [corruption + variant, mode, rate; the window on the frame grid].
 * - transport (MPEG-TS only: UDP via a loopback relay, HLS segments, .ts files): TS packets of
 *   the audio/video PIDs whose current PES started inside the window are dropped (continuity
 *   errors) or garbled with transport_error_indicator set, each with probability `rate`;
 *   `discontinuityMs` jumps every later PTS/DTS/PCR forward by that much (whole frames)
 *   [transport, to the next keyframe after the window when rate > 0].
 * - signal_loss = packets not sent from `at` until the first keyframe at/after `at + duration`
 *   (a whole second, which is the ground-truth end); timestamps jump over the gap, and HLS
 *   closes the open segment at loss onset, then publishes nothing until it resumes.
 *
 * Content: lavfi sources, clips, or `syncpattern`: dim bars with a sweeping marker, a white
 * frame on every whole second and a 1 kHz beep (-6 dBFS, one frame or `beepMs` long) starting
 * on the same sample, over a -50 dBFS noise floor. Every stream's randomness comes from its
 * `seed` (default: the scenario seed mixed with the stream id).
 */
import { renderToFile as renderToFileImpl } from './file.ts';
import { quietFfmpegLogs } from './live.ts';
import type { GroundTruthEntry, ScenarioStream } from './scenario.ts';
import type { DamageApi } from './render.ts';

export { scenarioSchema, parseScenario, loadScenarioFile, demoScenario, containerFor, CONTAINERS } from './scenario.ts';
export type {
  Container,
  Scenario,
  ScenarioStream,
  GroundTruthEntry,
  GroundTruthType,
  ScheduleItem,
  ScenarioInput,
} from './scenario.ts';
export type { DamageApi } from './render.ts';
export { startSimulation } from './live.ts';
export type { SimulationHandle, SimulationOptions } from './live.ts';

/**
 * Write `duration` seconds of the stream's content with its scheduled defects to `outPath`
 * (container by extension: .ts, .mp4, .mkv, .mov, .webm; vp9 not in .ts, webm only vp9+opus,
 * transport damage only .ts). Signal loss becomes a gap in the timestamps.
 * Returns the ground truth for the file (media seconds from the first frame; no wall fields).
 */
export function renderToFile(
  stream: ScenarioStream,
  outPath: string,
  opts: {
    duration: number;
    /**
     * The scenario's seed (`Scenario.seed`), mixed with the stream id as a live simulation does;
     * a stream's own `seed` wins. Default 1 (whatever the scenario said: pass it to render a
     * file with the same randomness as the scenario played live).
     */
    seed?: number;
    /** Damage functions in place of the simulator's own (a clean twin: functions that damage nothing). */
    damage?: DamageApi;
  },
): Promise<GroundTruthEntry[]> {
  quietFfmpegLogs();
  return renderToFileImpl(stream, outPath, opts);
}
