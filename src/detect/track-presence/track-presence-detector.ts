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
 * The clock is the other track: media time (PacketInfo.mediaTime, which advances as the
 * flowing track decodes) of its packets. A track counts as missing only while the other
 * one has been flowing without a gap of its own since the missing one was last seen; if
 * both stop, nothing arrives to advance this clock, and ingest reports signal_loss instead.
 *
 * Which tracks are expected: those the input declares (StreamInfo, per connection), any
 * track seen since, and those required by `requireAudio` / `requireVideo` even when the
 * container does not declare them. A reconnection (new StreamInfo) starts afresh.
 */
export const trackPresenceDetector = defineDetector({
  name: 'tracks',
  types: TYPES,
  description:
    'A video or audio track that stops delivering packets, or never delivers any, while the other track keeps flowing (audio_missing, video_missing).',
  inputs: [{ kind: 'packet' }, { kind: 'info' }],
  options: {
    after: {
      type: 'number',
      description: 'Seconds without packets of a track, while the other track flows, before it is reported missing',
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
    // Per track (VIDEO, AUDIO): whether it is expected, seen in this connection, when its last
    // packet arrived (media time, NaN after a reset) and since when it has flowed without a gap.
    const expected = [o.requireVideo, o.requireAudio];
    const seen = [false, false];
    const lastArrival = new Float64Array([Number.NaN, Number.NaN]);
    const flowSince = new Float64Array([Number.NaN, Number.NaN]);
    /** Media time of the first packet since the last (re)connection or discontinuity. */
    let epochStart = Number.NaN;
    // A witness track that pauses longer than this has stopped too (both stopping is signal loss).
    const witnessGap = Math.min(1, o.after / 2);
    const missingFor = new Float64Array(2);

    const reporters = TYPES.map((type, t) => {
      const r = new EdgeReporter(ctx, type, { minDuration: o.after, recovery: 0 });
      r.measurements = () => ({
        missingForSeconds: round(missingFor[t]!),
        declared: declared[t]!,
        everArrived: seen[t]!,
      });
      return r;
    });
    const declared = [false, false];

    function onInfo(info: StreamInfo): void {
      for (const r of reporters) r.flush();
      declared[VIDEO] = info.video !== undefined;
      declared[AUDIO] = info.audio !== undefined;
      expected[VIDEO] = declared[VIDEO] || o.requireVideo;
      expected[AUDIO] = declared[AUDIO] || o.requireAudio;
      seen[VIDEO] = seen[AUDIO] = false;
      lastArrival.fill(Number.NaN);
      flowSince.fill(Number.NaN);
      epochStart = Number.NaN;
    }

    function onPacket(p: PacketInfo): void {
      const x = p.track === 'video' ? VIDEO : AUDIO;
      const y = 1 - x;
      const now = p.mediaTime;
      if (Number.isNaN(epochStart)) epochStart = now;
      const prev = lastArrival[x]!;
      if (Number.isNaN(prev) || now - prev > witnessGap) flowSince[x] = now;
      lastArrival[x] = now;
      seen[x] = true;
      expected[x] = true;
      // Track x is here: an open or pending "x missing" ends now.
      reporters[x]!.update(now, p.wallTime, 0, false);
      if (!expected[y]) return;
      const lastY = lastArrival[y]!;
      const since = Number.isNaN(lastY) ? epochStart : lastY;
      missingFor[y] = now - since;
      // Missing since `since`, but only provable from when x itself has been flowing.
      reporters[y]!.update(now, p.wallTime, 0, true, Math.max(since, flowSince[x]!));
    }

    return {
      process(input) {
        if (input.kind === 'packet') onPacket(input);
        else if (input.kind === 'info') onInfo(input);
      },
      flush() {
        for (const r of reporters) r.flush();
        // Media stopped (signal loss, end of input): timing restarts with the next packet.
        lastArrival.fill(Number.NaN);
        flowSince.fill(Number.NaN);
        epochStart = Number.NaN;
      },
    };
  },
});
