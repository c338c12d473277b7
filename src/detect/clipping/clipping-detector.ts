import type { AudioChunk } from '../../shared/index.ts';
import { chunkStats } from '../audio-stats.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';

/** Sliding-window resolution: clip events are counted in 100 ms bins. */
const BIN_SECONDS = 0.1;
/**
 * Once a run has started at the threshold it continues while samples stay within 0.26 dB of it:
 * a lossy decoder leaves ripple on a clipped plateau that would otherwise split it into short runs.
 */
const RIPPLE = 0.97;

/**
 * Clipping: runs of at least `minRun` consecutive samples at or above `threshold` of full scale
 * (flat tops). One run is one clip event; an incident opens once some channel has had at least
 * `minRate` events per second over the last `window` seconds for `minDuration`. A single stray
 * full-scale peak, or a loud master that touches 0 dBFS without flat tops, never gets there.
 *
 * Lossy codecs (AAC, MP3, Opus) do not keep flat tops flat: decoding a hard-clipped master
 * overshoots past full scale with ripple on the plateau. Samples above full scale count as at the
 * threshold, and a run that has started continues while samples stay within 0.26 dB under the
 * threshold, so the ripple does not split a plateau into short runs. Mild clipping (about 1 dB)
 * that went through AAC at 64-128 kbit/s is smoothed away entirely and is not detected.
 *
 * One incident for the stream (no `channel`); measurements name the clipping channels
 * (`channel`, e.g. 'FL+FR') and the highest rate (`clipsPerSecond`).
 */
export const clippingDetector = defineDetector({
  name: 'clipping',
  types: ['clipping'],
  description:
    'Clipped audio: frequent runs of consecutive full-scale samples (flat-topped waveforms). One incident per stream; measurements.channel names the clipping channels (e.g. FL+FR).',
  inputs: [{ kind: 'audio', format: 'f32-planar' }],
  options: {
    threshold: {
      type: 'number',
      description: 'Absolute sample value (1 = full scale) at or above which a sample counts as clipped',
      default: 0.99,
      min: 0.5,
      max: 1,
      unit: 'ratio of full scale',
      guidance:
        '0.99 is -0.09 dBFS. Masters limited to -1 dBTP stay below 0.9; lower it to catch clipping that a later gain stage pulled down (e.g. 0.89 for clipping followed by -1 dB).',
    },
    minRun: {
      type: 'number',
      description: 'Consecutive samples at or above the threshold that make one clip event',
      default: 3,
      min: 1,
      max: 1000,
      unit: 'samples',
      guidance: 'A clean peak touches full scale for one or two samples; a clipped one stays there for 3 or more.',
    },
    minRate: {
      type: 'number',
      description: 'Clip events per second (over the window) on one channel that count as clipping',
      default: 3,
      min: 0.1,
      max: 10000,
      unit: 'events/s',
      guidance: 'Clean audio has none; a clipped mix has tens to hundreds per second on loud passages.',
    },
    window: {
      type: 'number',
      description: 'Seconds over which the clip-event rate is measured',
      default: 1,
      min: 0.1,
      max: 60,
      unit: 's',
    },
    minDuration: {
      type: 'number',
      description: 'Seconds the rate must stay at or above minRate before an incident opens',
      default: 1,
      min: 0.05,
      max: 3600,
      unit: 's',
      guidance: 'Raise for music with deliberate, brief distortion.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds below the rate before an open incident closes',
      default: 3,
      min: 0,
      max: 600,
      unit: 's',
    },
  },
  create(o, ctx) {
    const reporter = new EdgeReporter(ctx, 'clipping', { minDuration: o.minDuration, recovery: o.recovery });
    const nBins = Math.max(1, Math.round(o.window / BIN_SECONDS));
    let names: readonly string[] = [];
    /** Per channel: length of the current run of clipped samples (carried across chunks). */
    let runs = new Int32Array(0);
    /** Per channel and bin: clip events; `bins[c * nBins + b]`. */
    let bins = new Float64Array(0);
    let bin = 0;
    let binFill = 0;
    let rates = new Float64Array(0);
    let totalSeconds = 0;
    let firstEvent = 0;
    let lastEventEnd = Number.NEGATIVE_INFINITY;
    reporter.measurements = () => {
      let best = 0;
      const hit: string[] = [];
      for (let c = 0; c < rates.length; c++) {
        if (rates[c]! >= o.minRate) hit.push(names[c] ?? `ch${c}`);
        if (rates[c]! > best) best = rates[c]!;
      }
      return { clipsPerSecond: round(best, 1), channel: hit.join('+') };
    };

    const reset = (a: AudioChunk) => {
      names = a.channelNames;
      runs = new Int32Array(a.channels.length);
      bins = new Float64Array(a.channels.length * nBins);
      rates = new Float64Array(a.channels.length);
      bin = 0;
      binFill = 0;
      totalSeconds = 0;
    };

    return {
      process(input) {
        if (input.kind !== 'audio') return;
        const a: AudioChunk = input;
        const n = a.nbSamples;
        if (n === 0) return;
        if (!sameNames(a.channelNames, names) || a.channels.length !== runs.length) reset(a);
        const binSamples = Math.max(1, Math.round(a.sampleRate * BIN_SECONDS));
        const thr = o.threshold;
        const low = thr * RIPPLE;
        const minRun = o.minRun;
        // Walk the chunk bin by bin so events land in the bin where their run reached minRun.
        let chunkEvents = 0;
        let off = 0;
        // A channel whose loudest sample is under the threshold can neither start a run nor, under
        // the ripple band, continue one: its samples need no look (most audio, most of the time).
        const { peak } = chunkStats(a);
        while (off < n) {
          const take = Math.min(n - off, binSamples - binFill);
          for (let c = 0; c < a.channels.length; c++) {
            const x = a.channels[c]!;
            let run = runs[c]!;
            const chanPeak = peak[c]!;
            if (chanPeak < thr && (run === 0 || chanPeak < low)) {
              runs[c] = 0;
              continue;
            }
            let events = 0;
            for (let i = off; i < off + take; i++) {
              const v = x[i]! < 0 ? -x[i]! : x[i]!;
              if (v >= thr || (run > 0 && v >= low)) {
                run++;
                if (run === minRun) events++;
              } else run = 0;
            }
            runs[c] = run;
            bins[c * nBins + bin]! += events;
            chunkEvents += events;
          }
          off += take;
          binFill += take;
          if (binFill === binSamples) {
            binFill = 0;
            bin = (bin + 1) % nBins;
            for (let c = 0; c < a.channels.length; c++) bins[c * nBins + bin] = 0;
          }
        }
        const dur = n / a.sampleRate;
        totalSeconds += dur;

        const span = Math.min(o.window, Math.max(totalSeconds, BIN_SECONDS));
        let active = false;
        let best = 0;
        for (let c = 0; c < a.channels.length; c++) {
          let sum = 0;
          for (let b = 0; b < nBins; b++) sum += bins[c * nBins + b]!;
          rates[c] = sum / span;
          if (rates[c]! > best) best = rates[c]!;
          if (rates[c]! >= o.minRate) active = true;
        }
        ctx.gauge('clips_per_second', round(best, 1));
        if (chunkEvents > 0) {
          // The first event after a clean window is where a burst of clipping began.
          if (!(a.mediaTime - lastEventEnd < o.window)) firstEvent = a.mediaTime;
          lastEventEnd = a.mediaTime + dur;
        }
        // Chunks with events while the rate is high are the clipped ones: the interval runs from the
        // first event of the burst to the last, and gaps shorter than `recovery` do not split it.
        reporter.update(a.mediaTime, a.wallTime, dur, active && chunkEvents > 0, active ? firstEvent : undefined);
      },
      flush() {
        reporter.flush();
        runs.fill(0);
        bins.fill(0);
        totalSeconds = 0;
        lastEventEnd = Number.NEGATIVE_INFINITY;
      },
    };
  },
});

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
