import type { IncidentType, PacketInfo, StreamInfo } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';

const VIDEO = 0;
const AUDIO = 1;
const TYPES: readonly IncidentType[] = ['video_missing', 'audio_missing'];

/**
 * A track that disappears, or never arrives, while the other one keeps flowing.
 *
 * A track is present while it delivers *decoded* media: pictures, audio frames. Packets that
 * arrive but never decode (garbled parameter sets, a codec signalled wrongly, a decoder that
 * cannot handle the stream) leave the viewer with no picture or sound as surely as missing
 * packets do; the incident says which (`packetsArriving`). A video track whose packets arrive but
 * has shown no picture yet is judged from its first keyframe packet on, since a decoder can only
 * start there: joining a stream with long GOPs is not a missing track.
 *
 * The clock is the other track: media time of its decoded media. A track counts as missing only
 * while the other one has been flowing without a gap of its own since the missing one was last
 * seen; if both stop, nothing arrives to advance this clock, and ingest reports signal_loss instead.
 *
 * Which tracks are expected: those the input declares (StreamInfo, per connection), any
 * track seen since, and those required by `requireAudio` / `requireVideo` even when the
 * container does not declare them. A reconnection (new StreamInfo) starts afresh.
 */
export const trackPresenceDetector = defineDetector({
  name: 'tracks',
  types: TYPES,
  description:
    'A video or audio track that stops delivering pictures or sound, or never delivers any (no packets, or packets that do not decode), while the other track keeps flowing (audio_missing, video_missing).',
  inputs: [{ kind: 'packet' }, { kind: 'info' }, { kind: 'video', plane: 'luma' }, { kind: 'audio', format: 'f32-planar' }],
  options: {
    after: {
      type: 'number',
      description: 'Seconds without decoded media (pictures or audio frames) of a track, while the other track flows, before it is reported missing',
      default: 3,
      min: 0.5,
      max: 600,
      unit: 's',
      guidance:
        'AAC audio delivers a packet every ~21 ms and video one per frame, so a healthy track is never gone for more than a fraction of a second; MPEG-TS muxers interleave the tracks within ~0.7 s. 3 s catches a dropped track quickly without reacting to interleaving. Raise it (10 s or more) for slide-show video at under 1 frame per second.',
    },
    requireAudio: {
      type: 'boolean',
      description: 'Expect an audio track even when the input does not declare one (reported as audio_missing)',
      default: false,
      guidance: 'Leave off for channels that may legitimately be video-only; turn on when every programme must carry sound.',
    },
    requireVideo: {
      type: 'boolean',
      description: 'Expect a video track even when the input does not declare one (reported as video_missing)',
      default: false,
      guidance: 'Leave off for radio-style audio-only inputs.',
    },
  },
  create(o, ctx) {
    // Per track (VIDEO, AUDIO): whether it is expected, whether decoded media of it arrived in this
    // connection, when its last decoded media and its last packet arrived (media time, NaN after a
    // reset), since when it has flowed without a gap, and its first keyframe packet since the reset.
    const expected = [o.requireVideo, o.requireAudio];
    const seen = [false, false];
    const lastArrival = new Float64Array([Number.NaN, Number.NaN]);
    const lastPacket = new Float64Array([Number.NaN, Number.NaN]);
    const firstKey = new Float64Array([Number.NaN, Number.NaN]);
    const flowSince = new Float64Array([Number.NaN, Number.NaN]);
    /** Media time of the first decoded media since the last (re)connection or discontinuity. */
    let epochStart = Number.NaN;
    /** Latest media time of decoded media of either track since then. */
    let clock = Number.NaN;
    // A witness track that pauses longer than this has stopped too (both stopping is signal loss).
    const witnessGap = Math.min(1, o.after / 2);
    const lateLimit = o.after / 2;
    const missingFor = new Float64Array(2);
    const packetsArriving = [false, false];
    // Packets per track since the reset, and that count at the track's last decoded media.
    const packets = [0, 0];
    const packetsAtMedia = [0, 0];

    const reporters = TYPES.map((type, t) => {
      const r = new EdgeReporter(ctx, type, { minDuration: o.after, recovery: 0 });
      r.measurements = () => ({
        missingForSeconds: round(missingFor[t]!),
        declared: declared[t]!,
        everArrived: seen[t]!,
        packetsArriving: packetsArriving[t]!,
      });
      return r;
    });
    const declared = [false, false];

    function reset(): void {
      lastArrival.fill(Number.NaN);
      lastPacket.fill(Number.NaN);
      firstKey.fill(Number.NaN);
      flowSince.fill(Number.NaN);
      epochStart = Number.NaN;
      clock = Number.NaN;
      packets.fill(0);
      packetsAtMedia.fill(0);
    }

    function onInfo(info: StreamInfo): void {
      for (const r of reporters) r.flush();
      declared[VIDEO] = info.video !== undefined;
      declared[AUDIO] = info.audio !== undefined;
      expected[VIDEO] = declared[VIDEO] || o.requireVideo;
      expected[AUDIO] = declared[AUDIO] || o.requireAudio;
      seen[VIDEO] = seen[AUDIO] = false;
      reset();
    }

    function onPacket(p: PacketInfo): void {
      const x = p.track === 'video' ? VIDEO : AUDIO;
      lastPacket[x] = p.mediaTime;
      packets[x]!++;
      // A keyframe before the media clock started (nothing decoded yet) counts from the start.
      if (p.keyFrame && Number.isNaN(firstKey[x]!)) firstKey[x] = Number.isFinite(p.mediaTime) ? p.mediaTime : -Infinity;
      expected[x] = true;
    }

    /**
     * Decoded media of track x at media time `t`. Media can come late: the demuxer hands out a PES
     * packet only when the next one of its track starts, so the last pictures before a hole in the
     * video arrive when the audio is already past it. Late media fills in when the track was last
     * there; only current media (less than `after`/2 behind the latest media time seen: a hole that
     * opened an incident lasted `after`, while muxers interleave tracks within about 0.7 s) shows
     * that a track is here now. Incident edges follow the latest media time, which only moves forward.
     */
    function onMedia(x: number, t: number, wallTime: number): void {
      const y = 1 - x;
      if (Number.isNaN(epochStart)) epochStart = t;
      if (!(t <= clock)) clock = t;
      const prev = lastArrival[x]!;
      if (!(t < prev)) lastArrival[x] = t;
      packetsAtMedia[x] = packets[x]!;
      seen[x] = true;
      expected[x] = true;
      if (t < clock - lateLimit) return;
      if (Number.isNaN(prev) || t - prev > witnessGap) flowSince[x] = t;
      const now = clock;
      // Track x is here: an open or pending "x missing" ends now.
      reporters[x]!.update(now, wallTime, 0, false);
      if (!expected[y]) return;
      const lastY = lastArrival[y]!;
      let since = Number.isNaN(lastY) ? epochStart : lastY;
      // More than one: the demuxer hands out the last packet before a hole at the end of it.
      packetsArriving[y] = packets[y]! - packetsAtMedia[y]! > 1;
      // Packets but no picture yet in this stretch: a video decoder starts at a keyframe.
      if (Number.isNaN(lastY) && y === VIDEO && !Number.isNaN(lastPacket[y]!)) {
        if (Number.isNaN(firstKey[y]!)) return;
        since = Math.max(since, firstKey[y]!);
      }
      missingFor[y] = now - since;
      // Missing since `since`, but only provable from when x itself has been flowing.
      reporters[y]!.update(now, wallTime, 0, true, Math.max(since, flowSince[x]!));
    }

    return {
      process(input) {
        if (input.kind === 'video') onMedia(VIDEO, input.mediaTime, input.wallTime);
        else if (input.kind === 'audio') onMedia(AUDIO, input.mediaTime, input.wallTime);
        else if (input.kind === 'packet') onPacket(input);
        else if (input.kind === 'info') onInfo(input);
      },
      flush() {
        for (const r of reporters) r.flush();
        // Media stopped (signal loss, end of input): timing restarts with the next media.
        reset();
      },
    };
  },
});
