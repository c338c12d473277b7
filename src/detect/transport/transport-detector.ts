import { TS_CHECKS, type PacketInfo, type StreamInfo, type TsCheck, type TsEvent } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { EventWindow } from './event-window.ts';
import { isTransportStream, timestampStep } from './timestamps.ts';

const CC = 0;
const DISCONTINUITY = 1;
const PTS_GAP = 2;
/** Window kinds of the raw-byte checks other than cc (counted as CC): 3 + their index in TS_CHECKS. */
const TS_KIND = (check: TsCheck): number => (check === 'cc' ? CC : 3 + TS_CHECKS.indexOf(check));
const KINDS = 3 + TS_CHECKS.length;
const TABLE_CHECKS = new Set<TsCheck>(['pat', 'pmt', 'cat', 'crc', 'pid']);
/** Measurement names of the raw-byte checks (cc is ccErrors). */
const TS_NAMES: Record<Exclude<TsCheck, 'cc'>, string> = {
  sync_loss: 'syncLosses',
  sync_byte: 'syncByteErrors',
  pat: 'patErrors',
  pmt: 'pmtErrors',
  pid: 'pidErrors',
  tei: 'transportErrors',
  crc: 'crcErrors',
  pcr_repetition: 'pcrRepetitionErrors',
  pcr_discontinuity: 'pcrDiscontinuities',
  pts: 'ptsErrors',
  cat: 'catErrors',
  pcr_accuracy: 'pcrAccuracyErrors',
};
const VIDEO = 0;
const AUDIO = 1;
/** Wall-clock ms after resuming from a flush during which packets only set baselines. */
const SETTLE_MS = 1000;

/**
 * ETSI TR 101 290 checks, as far as they can be seen through libavformat's MPEG-TS demuxer
 * (docs/transport.md has the table of what is and is not covered):
 * - continuity-count errors (1.4) and transport_error_indicator (2.1): the demuxer flags a
 *   PES packet assembled across a continuity-counter break, or from a TS packet with TEI set,
 *   with AV_PKT_FLAG_CORRUPT (it does not say which; both count as `ccErrors`); each flagged
 *   packet is one event. A break signalled by discontinuity_indicator is not an error;
 * - PTS discontinuities: a track's DTS (PTS when there is none) stepping backwards (other
 *   than the 33-bit wrap), or moving ahead of the media clock by more than `jumpTolerance`
 *   (its offset from PacketInfo.mediaTime, as of its last on-time packet, changes);
 * - PTS_error (2.5): a hole of more than `ptsInterval` s (700 ms in TR 101 290) in a track's
 *   timestamps while the media clock advanced with them. Holes longer than `maxPtsGap` are a
 *   missing track, which the tracks detector reports (audio_missing / video_missing).
 * MPEG-TS files, udp:// and srt:// (caller) inputs are also read byte by byte by ingest's TsAnalyzer (StreamInfo
 * `tsAnalysis`), whose findings arrive as TsEvents: sync loss and sync byte errors (1.1, 1.2),
 * PAT and PMT missing, wrong or scrambled (1.3, 1.5), continuity errors on every PID (1.4, then
 * counted from there instead of the demuxer's flag), elementary PIDs gone (1.6; not the monitored
 * tracks, which the tracks detector reports), transport_error_indicator (2.1), section CRC errors
 * (2.2), PCR repetition and discontinuity (2.3), PCR accuracy on constant-bitrate multiplexes
 * (2.4: a PCR more than `pcrAccuracy` from the value its byte position gives at the multiplex
 * rate; VBR streams, whose byte positions are no clock, are not judged), PES packets without PTS for over `ptsInterval`
 * (2.5, `ptsErrors`; the holes above stay the demuxer-level count) and CAT errors (2.6). The
 * analyzer judges intervals by this detector's `pcrInterval` (at most TR 101 290's 40 ms) and
 * `ptsInterval`, and its `pcrAccuracy` (engine/ts-limits.ts).
 * The demuxer completes a PES only when the next one of its PID starts, so the last packet
 * before a hole arrives late, at the end of it: such late packets set no baseline.
 * Only MPEG-TS-based inputs are checked (StreamInfo.format mpegts or hls); other containers
 * have no continuity counters and their own timestamp rules. On HLS, continuity errors are
 * not counted by default: segments commonly restart their counters, and the HLS demuxer
 * does not tell a segment boundary from a loss.
 *
 * "Time" here is media time (PacketInfo.mediaTime): in a file it is derived from the
 * timestamps themselves, so a forward jump of every track at once shows up as a
 * discontinuity on the track that jumps first and a PTS gap on the others.
 */
export const transportDetector = defineDetector({
  name: 'transport',
  types: ['transport'],
  description:
    'MPEG-TS transport errors at more than a threshold rate: TR 101 290 continuity-count and transport_error_indicator errors, PTS discontinuities and PTS gaps over 700 ms on every MPEG-TS input; on inputs read byte by byte (MPEG-TS files, udp://, srt:// as caller) also sync loss, PAT/PMT/CAT errors, section CRC errors, PIDs gone, PCR repetition/discontinuity, PCR accuracy (constant-bitrate multiplexes) and PES without PTS. Coverage: docs/transport.md.',
  inputs: [{ kind: 'packet' }, { kind: 'info' }, { kind: 'ts' }],
  options: {
    window: {
      type: 'number',
      description: 'Sliding window over which error events are counted',
      default: 5,
      min: 0.5,
      max: 600,
      unit: 's',
      guidance: 'An incident closes once this long passes without errors above the threshold, so it also sets how long one isolated error stays reported.',
    },
    threshold: {
      type: 'number',
      description: 'Error events per second (over the window) above which an incident opens',
      default: 0,
      min: 0,
      max: 1000,
      unit: 'events/s',
      guidance:
        'A healthy contribution or multicast feed has no continuity or timestamp errors at all, so 0 (report any error, as TR 101 290 counts every one) is right for monitored broadcast paths. On lossy paths (UDP over the internet, Wi-Fi) where isolated losses are expected and concealed, 0.2-1 events/s reports only sustained loss.',
    },
    ptsInterval: {
      type: 'number',
      description: 'Longest normal time between two timestamped packets of a track, and on inputs read byte by byte between two PTS of a PID whose PES keep coming (TR 101 290 PTS_error: 0.7 s)',
      default: 0.7,
      min: 0.1,
      max: 60,
      unit: 's',
      guidance: 'Video has a timestamp every frame and AAC audio every ~21 ms. Raise only for streams that legitimately send under 1.5 frames per second.',
    },
    jumpTolerance: {
      type: 'number',
      description: 'How far a track\'s timestamps may move ahead of the media clock (compared with its last on-time packet) before it counts as a discontinuity',
      default: 1,
      min: 0.05,
      max: 60,
      unit: 's',
      guidance:
        'An MPEG-TS muxer interleaves audio up to 0.7 s ahead of video (max_delay), and that offset may shift when a track resumes; dropped frames move timestamps on by tens of ms (the stutter detector\'s business). Splices and encoder restarts without a discontinuity indicator jump by seconds. Jumps under this tolerance are not seen.',
    },
    maxPtsGap: {
      type: 'number',
      description: 'Longest hole in one track counted as a PTS gap; longer holes are a missing track (audio_missing / video_missing)',
      default: 3,
      min: 0.2,
      max: 600,
      unit: 's',
      guidance:
        'Keep it equal to tracks.after (3 s): a short dropout is a transport error, a long one a missing track, each reported once. The two measure slightly differently (tracks: time since the last decoded picture or audio frame; this: the hole in the packet timestamps), so a hole within about one audio packet of the limit may be reported by neither.',
    },
    tableChecks: {
      type: 'boolean',
      description: 'On inputs read byte by byte (MPEG-TS files, udp://, srt:// as caller): count PAT, PMT and CAT errors, section CRC errors and elementary PIDs gone (TR 101 290 1.3, 1.5, 1.6, 2.2, 2.6)',
      default: true,
      guidance:
        'A compliant multiplexer repeats PAT and PMT at least every 0.5 s. Some software muxers do not: FFmpeg\'s MPEG-TS muxer in VBR mode spaces them by the timestamps of the PES it writes, and audio interleaved ahead of the video leaves 0.5-0.8 s gaps (add -mpegts_flags +pat_pmt_at_frames there). Turn off for such a source if its table timing is known and accepted; sync, continuity, TEI and PCR checks go on.',
    },
    pcrInterval: {
      type: 'number',
      description: 'Longest normal time between two PCRs of a PID, on inputs read byte by byte (TR 101 290 PCR_repetition_error)',
      default: 0.1,
      min: 0.01,
      max: 1,
      unit: 's',
      guidance:
        'ISO/IEC 13818-1 requires a PCR at least every 100 ms; TR 101 290 (DVB) checks 40 ms. Many OTT packagers and software muxers send one per video frame (64-100 ms at 10-15 fps: the HLS segments and the FFmpeg-made files among the shared test clips), so 0.1 is the default; set 0.04 to hold a DVB contribution or distribution feed to TR 101 290.',
    },
    pcrAccuracy: {
      type: 'number',
      description:
        'On inputs read byte by byte: largest distance of a PCR from the value its byte position gives at the multiplex rate, on constant-bitrate multiplexes (TR 101 290 PCR_accuracy_error: 500 ns)',
      default: 500,
      min: 10,
      max: 1000000,
      unit: 'ns',
      guidance:
        'A CBR multiplexer stamps each PCR from its byte position, within a few ns; PCRs left unstamped by a remultiplexer that moved packets, or a software mux that stamps from a timer, are off by microseconds to milliseconds, and decoders recovering their 27 MHz clock from them drift and jitter. VBR streams (most OTT and software encoders) are recognised and not judged. Packets lost in transit make byte positions no clock: the check starts again after a continuity error.',
    },
    pcrChecks: {
      type: 'boolean',
      description: 'On inputs read byte by byte: count PCR repetition (over 40 ms), PCR discontinuity (a step over 100 ms or backwards without discontinuity_indicator) and PCR accuracy errors (TR 101 290 2.3, 2.4)',
      default: true,
      guidance:
        'A file or stream with a timestamp gap (an encoder restart, a splice without the discontinuity indicator) shows a PCR discontinuity; that is the error this check is for. Turn off only for sources whose PCR spacing is known to exceed 40 ms and is accepted downstream.',
    },
    hlsContinuity: {
      type: 'boolean',
      description: 'Count continuity-counter errors and backward timestamp steps on HLS inputs too',
      default: false,
      guidance:
        'Many HLS packagers (and Vigil\'s own simulator) write each segment with fresh continuity counters, and FFmpeg\'s HLS demuxer reads the segments as one stream, so every segment boundary looks like a continuity error. Likewise a playlist\'s EXT-X-DISCONTINUITY (an ad splice, an encoder restart) lets timestamps step back, and the demuxer does not say it was announced. Turn on only for packagers that keep the counters running and never splice.',
    },
  },
  create(o, ctx) {
    let enabled = false;
    /** Count continuity breaks and timestamp steps back (off on HLS unless hlsContinuity: segment boundaries and announced discontinuities look the same). */
    let strictBreaks = true;
    const window = new EventWindow(KINDS);
    const reporter = new EdgeReporter(ctx, 'transport', { minDuration: 0, recovery: 0 });
    // Per track: last timestamp (s, raw).
    const lastTs = new Float64Array(2);
    // Per track: its timestamps unwrapped (s, from the first packet), and their offset from the
    // media clock as of the last packet that arrived on time.
    const unwrapped = new Float64Array(2);
    const offset = new Float64Array(2);
    const totals = new Float64Array(KINDS);
    /** Raw-byte analysis on this connection: the monitored tracks' PIDs (their cc comes from there). */
    let tsAnalysis: StreamInfo['tsAnalysis'];
    let lastTsDetail: string | undefined;
    /** Per track: media time of its last hole in the timestamps (a PTS gap or a missing stretch). */
    const lastHole = new Float64Array(2);
    let lastRate = -1;
    reporter.measurements = () => ({
      ccErrors: window.count(CC),
      ptsDiscontinuities: window.count(DISCONTINUITY),
      ptsGaps: window.count(PTS_GAP),
      eventsPerSecond: round(window.total() / o.window),
      ccErrorsTotal: totals[CC]!,
      ptsDiscontinuitiesTotal: totals[DISCONTINUITY]!,
      ptsGapsTotal: totals[PTS_GAP]!,
      ...(tsAnalysis ? tsMeasurements() : {}),
    });

    function tsMeasurements(): Record<string, number | string> {
      const out: Record<string, number | string> = {};
      for (const check of TS_CHECKS) {
        if (check === 'cc') continue;
        const kind = TS_KIND(check);
        out[TS_NAMES[check]] = window.count(kind);
        if (totals[kind]! > 0) out[`${TS_NAMES[check]}Total`] = totals[kind]!;
      }
      if (lastTsDetail) out.lastTsError = lastTsDetail;
      return out;
    }

    /** Wall time until which packets only set baselines (after a flush); NaN until the first packet. */
    let settleUntil = 0;

    function reset(): void {
      lastHole.fill(Number.NaN);
      lastTs.fill(Number.NaN);
      unwrapped.fill(0);
      offset.fill(Number.NaN);
    }
    reset();

    function event(kind: number, now: number): void {
      window.push(now, kind);
      totals[kind]!++;
    }

    function onInfo(info: StreamInfo): void {
      // The same connection with other tracks or codecs: the transport is the same, its PIDs may not be.
      if (info.changed) {
        tsAnalysis = info.tsAnalysis;
        return;
      }
      reporter.flush();
      window.clear();
      totals.fill(0);
      reset();
      enabled = isTransportStream(info.format);
      tsAnalysis = info.tsAnalysis;
      lastTsDetail = undefined;
      if (tsAnalysis) for (const check of TS_CHECKS) ctx.gauge(`tr101290_${check}`, 0);
      strictBreaks = o.hlsContinuity || !/(^|,)hls(,|$)/.test(info.format);
    }

    function onPacket(p: PacketInfo): void {
      if (!enabled) return;
      const now = p.mediaTime;
      const x = p.track === 'video' ? VIDEO : AUDIO;
      // Resuming after a signal loss (flush), the demuxer first hands out what it held from before
      // the loss (the last PES of each track completes only when the next one starts): timestamps
      // from both sides of the gap, and a continuity break where the loss was. Ingest has reported
      // that loss already, so for a moment only baselines are taken.
      if (Number.isNaN(settleUntil)) settleUntil = p.wallTime + SETTLE_MS;
      const settling = p.wallTime < settleUntil;
      if (p.corrupt && strictBreaks && !settling && !tsAnalysis) event(CC, now);
      const ts = Number.isFinite(p.dts) ? p.dts : p.pts;
      if (Number.isFinite(ts)) {
        const prev = lastTs[x]!;
        const step = Number.isFinite(prev) ? timestampStep(prev, ts) : 0;
        const u = (unwrapped[x] = unwrapped[x]! + step);
        const off = u - now;
        const ref = offset[x]!;
        if (settling || Number.isNaN(ref)) {
          offset[x] = off;
        } else if (step < -0.001 || off - ref > o.jumpTolerance) {
          // (On HLS a step back is most likely an announced EXT-X-DISCONTINUITY: see hlsContinuity.)
          if (strictBreaks || step >= -0.001) event(DISCONTINUITY, now);
          offset[x] = off;
        } else if (step > o.ptsInterval) {
          lastHole[x] = now;
          // A hole in the timestamps that the media clock also shows (else it would have been
          // a jump above): time passed without this track. Long ones are a missing track.
          if (step <= o.maxPtsGap) event(PTS_GAP, now);
          offset[x] = off;
        } else if (off - ref >= -o.jumpTolerance) {
          // On time: follow slow drift of the interleaving. Late packets (the PES the demuxer
          // held across a hole, or media time leaping when decoding resumes) set no baseline.
          offset[x] = off;
        }
        lastTs[x] = ts;
      }
      judge(now, p.wallTime);
    }

    function judge(now: number, wallTime: number): void {
      window.expire(now - o.window);
      const rate = window.total() / o.window;
      if (rate !== lastRate) {
        ctx.gauge('transport_errors_per_second', rate);
        lastRate = rate;
      }
      const active = window.total() > 0 && rate > o.threshold;
      reporter.update(now, wallTime, 0, active, active ? window.oldest() : undefined);
    }

    function onTs(e: TsEvent): void {
      if (!enabled || !tsAnalysis) return;
      // After a signal loss the first bytes are the demuxer's leftovers and the break the loss made.
      if (Number.isNaN(settleUntil)) settleUntil = e.wallTime + SETTLE_MS;
      if (e.wallTime < settleUntil) return;
      // A monitored track that stops is a missing track (tracks detector), not a PID error here.
      if (e.check === 'pid' && (e.pid === tsAnalysis.videoPid || e.pid === tsAnalysis.audioPid)) return;
      if (!o.tableChecks && TABLE_CHECKS.has(e.check)) return;
      if (!o.pcrChecks && (e.check === 'pcr_repetition' || e.check === 'pcr_discontinuity' || e.check === 'pcr_accuracy')) return;
      if (e.check === 'pcr_repetition' && e.value !== undefined && e.value <= o.pcrInterval) return;
      // The PCR of a monitored track that was itself gone steps over the hole: that is the hole
      // (a PTS gap here, or a missing track), not a PCR fault. The hole's packet comes first.
      if (e.check === 'pcr_repetition' || e.check === 'pcr_discontinuity') {
        const x = e.pid === tsAnalysis.videoPid ? VIDEO : e.pid === tsAnalysis.audioPid ? AUDIO : -1;
        if (x >= 0 && e.mediaTime - lastHole[x]! <= 1) return;
      }
      const kind = TS_KIND(e.check);
      event(kind, e.mediaTime);
      lastTsDetail = e.detail;
      // Per-check totals since the connection, for metrics (vigil_detector_value{name="tr101290_pat"}).
      ctx.gauge(`tr101290_${e.check}`, totals[kind]!);
      judge(e.mediaTime, e.wallTime);
    }

    return {
      process(input) {
        if (input.kind === 'packet') onPacket(input);
        else if (input.kind === 'ts') onTs(input);
        else if (input.kind === 'info') onInfo(input);
      },
      flush() {
        reporter.flush();
        window.clear();
        // Signal loss or end of input: do not compare timestamps across the gap.
        reset();
        settleUntil = Number.NaN;
      },
    };
  },
});
