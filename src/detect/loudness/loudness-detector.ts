import type { AudioChunk } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';
import { chunkStats } from '../audio-stats.ts';
import { R128Meter } from './r128.ts';

/**
 * Loudness per EBU R128 (ITU-R BS.1770-4), measured in process on every audio chunk:
 * - `channel: 'too_loud'`: short-term loudness (3 s) above `tooLoud` for `loudMinDuration`;
 * - `channel: 'too_quiet'`: short-term loudness below `tooQuiet` but above `silenceGate` for
 *   `quietMinDuration`, in chunks where some channel's RMS is at or above `silenceGate` too. Below
 *   the gate the audio is silent, which is the silence detector's business (its own test is the
 *   RMS of each channel per chunk), so a silent stretch never counts as too quiet;
 * - `channel: 'true_peak'`: true peak above `truePeakLimit`; it opens at the first over and closes
 *   once no over has been seen for `truePeakHold`.
 * `channel` here names the kind of loudness fault (the same value is in measurements.kind), so the
 * three can be open at once and are told apart. Gauges: loudness_momentary, loudness_short_term
 * (LUFS) and true_peak_dbtp (highest true peak of each chunk).
 */
export const loudnessDetector = defineDetector({
  name: 'loudness',
  types: ['loudness'],
  description:
    'EBU R128 loudness: short-term loudness too loud or too quiet (silence excluded) for too long, true peak over the limit. The incident channel (and measurements.kind) is too_loud, too_quiet or true_peak.',
  inputs: [{ kind: 'audio', format: 'f32-planar' }],
  options: {
    tooLoud: {
      type: 'number',
      description: 'Short-term loudness (3 s window) above which the audio counts as too loud',
      default: -17,
      min: -60,
      max: 0,
      unit: 'LUFS',
      guidance:
        'R128 programmes sit around -23 LUFS. -17 (+6 LU) leaves room for loud scenes and for a -18 dBFS line-up tone (about -18 LUFS on a stereo pair); feeds normalised for streaming (-14) or not at all (-9 and up) sit far above. EBU R128 s1 caps adverts at -18.',
    },
    loudMinDuration: {
      type: 'number',
      description: 'Seconds the short-term loudness must stay above tooLoud before an incident opens',
      default: 10,
      min: 0.1,
      max: 3600,
      unit: 's',
      guidance:
        'Short loud moments (a shout, an explosion) last a few seconds; a wrong gain or an unnormalised feed lasts.',
    },
    tooQuiet: {
      type: 'number',
      description: 'Short-term loudness below which the (non-silent) audio counts as too quiet',
      default: -36,
      min: -70,
      max: 0,
      unit: 'LUFS',
      guidance:
        'Quiet drama passages reach -30 to -35 LUFS; a programme that stays below -36 (13 LU under target) is usually a wrong gain, a missing mix stem or a downmix fault.',
    },
    quietMinDuration: {
      type: 'number',
      description:
        'Seconds the short-term loudness must stay between silenceGate and tooQuiet before an incident opens',
      default: 30,
      min: 0.1,
      max: 3600,
      unit: 's',
      guidance: 'Quiet scenes last tens of seconds; raise for content with long deliberate quiet stretches.',
    },
    silenceGate: {
      type: 'number',
      description:
        'Level under which the audio is silence and never too quiet: short-term loudness (LUFS), or every channel of a chunk under it in RMS (dBFS)',
      default: -60,
      min: -120,
      max: -20,
      unit: 'LUFS / dBFS',
      guidance:
        'Keep it equal to silence.threshold (-60 dBFS by default), so that a stretch is either silence or too quiet, never both.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds back inside the range before a too-loud or too-quiet incident closes',
      default: 3,
      min: 0,
      max: 600,
      unit: 's',
    },
    truePeakLimit: {
      type: 'number',
      description: 'True peak (4x oversampled) above which a true-peak incident opens',
      default: -1,
      min: -30,
      max: 6,
      unit: 'dBTP',
      guidance:
        'EBU R128 allows at most -1 dBTP (ATSC A/85 -2 dBTP). Clean broadcast masters stay at -1 or below; lossy encoding adds up to about 0.5 dB of overshoot.',
    },
    truePeakHold: {
      type: 'number',
      description: 'Seconds without an over before a true-peak incident closes',
      default: 5,
      min: 0,
      max: 600,
      unit: 's',
      guidance: 'Overs come in bursts on loud passages; a hold of a few seconds keeps one burst in one incident.',
    },
  },
  create(o, ctx) {
    let meter: R128Meter | undefined;
    let layout = '';
    let names: readonly string[] | undefined;
    let chunkPeak = Number.NEGATIVE_INFINITY;
    const loud = new EdgeReporter(
      ctx,
      'loudness',
      { minDuration: o.loudMinDuration, recovery: o.recovery },
      'too_loud',
    );
    const quiet = new EdgeReporter(
      ctx,
      'loudness',
      { minDuration: o.quietMinDuration, recovery: o.recovery },
      'too_quiet',
    );
    const peak = new EdgeReporter(ctx, 'loudness', { minDuration: 0, recovery: o.truePeakHold }, 'true_peak');
    const values = (kind: string, limit: number) => () => {
      const m = meter!;
      return {
        kind,
        limit,
        shortTermLufs: lufs(m.shortTerm),
        momentaryLufs: lufs(m.momentary),
        integratedLufs: lufs(m.integrated()),
        truePeakDbtp: lufs(kind === 'true_peak' ? chunkPeak : m.maxTruePeak),
      };
    };
    loud.measurements = values('too_loud', o.tooLoud);
    quiet.measurements = values('too_quiet', o.tooQuiet);
    peak.measurements = values('true_peak', o.truePeakLimit);

    const flushAll = () => {
      loud.flush();
      quiet.flush();
      peak.flush();
    };

    return {
      process(input) {
        if (input.kind !== 'audio') return;
        const a: AudioChunk = input;
        const n = a.nbSamples;
        if (n === 0 || a.channels.length === 0) return;
        // Ingest hands out the same names array until the layout changes: compare names only then.
        if (!meter || a.channelNames !== names || a.sampleRate !== meter.sampleRate) {
          const key = `${a.sampleRate}/${a.channelNames.join(',')}`;
          names = a.channelNames;
          if (!meter || key !== layout) {
            // A new format is a new programme: start the measurement afresh.
            if (meter) flushAll();
            meter = new R128Meter(a.sampleRate, a.channelNames);
            layout = key;
          }
        }
        meter.process(a.channels, n, chunkStats(a));
        chunkPeak = meter.takeChunkPeak();
        const dur = n / a.sampleRate;
        if (meter.updates >= 4) ctx.gauge('loudness_momentary', lufs(meter.momentary));
        ctx.gauge('true_peak_dbtp', lufs(chunkPeak));
        peak.update(a.mediaTime, a.wallTime, dur, chunkPeak > o.truePeakLimit);
        // Short-term loudness exists once its 3 s window has filled.
        if (meter.updates < 30) return;
        const s = meter.shortTerm;
        ctx.gauge('loudness_short_term', lufs(s));
        loud.update(a.mediaTime, a.wallTime, dur, s > o.tooLoud);
        // A chunk the silence detector would call silent (every channel's RMS under the gate) is
        // never too quiet, even while the 3 s window still holds some sound.
        const audible = meter.lastRmsDb >= o.silenceGate;
        quiet.update(a.mediaTime, a.wallTime, dur, s < o.tooQuiet && s >= o.silenceGate && audible);
      },
      flush() {
        flushAll();
        // End of input or a discontinuity: the filters' state and the gated history no longer apply.
        meter?.reset();
      },
    };
  },
});

/** A level for reports and gauges: rounded, with silence as -120 rather than -Infinity. */
function lufs(v: number): number {
  return Number.isFinite(v) ? round(Math.max(-120, v)) : -120;
}
