import type { AudioChunk } from '../../shared/index.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';

/**
 * Channel faults that silencedetect and a loudness meter miss:
 * - `dead`: one channel silent (under `threshold`) while another carries sound at least `margin` dB
 *   louder, reported with its name (FL, FR, ...). The margin keeps a quiet programme whose channels
 *   hover around the threshold (one just under, the other just over) from reading as a lost leg.
 *   In layouts of more than two channels only the front channels (FL, FR, FC) are checked one by
 *   one: LFE and surrounds are often legitimately silent. All channels silent is `silence`.
 * - `phase_inverted`: the front pair (FL/FR, or the first two channels) anti-correlated at or below
 *   `correlation` over `window` seconds, for `inversionMinDuration`, while both carry sound: one leg
 *   of the pair is polarity-inverted (or the mix is out of phase), which cancels in a mono downmix.
 *   Reported with channel 'FL+FR'. A correlation below 0 is side energy above mid energy, what a
 *   broadcast phase meter shows in the red; inverting one leg turns a pair's correlation c into -c.
 *   Measured on the real programme clips in ../shared/media (2 s windows, 0.1 s apart): genuine
 *   stereo never went below -0.27 (Big Buck Bunny's wide score, under -0.2 for 1.1 s at most), and
 *   music and film mixes sit at +0.1..+0.9, so the default -0.5 catches an inverted leg of stereo
 *   whose own correlation is above +0.5 (near-mono speech, most film and music passages) and cannot
 *   catch one whose own correlation is under about +0.3 (very wide or decorrelated stereo: inverted,
 *   it looks like genuine wide stereo; its mono downmix loses little, either).
 * measurements.kind says which ('dead' | 'phase_inverted').
 */
const INDIVIDUALLY_CHECKED = new Set(['FL', 'FR', 'FC', 'ch0', 'ch1']);

/** Correlation sums are kept in 100 ms bins over the window. */
const BIN_SECONDS = 0.1;

export const channelLossDetector = defineDetector({
  name: 'channel_loss',
  types: ['channel_loss'],
  description:
    'One channel dead while the others carry sound (channel: its name, kind dead; front channels only in multichannel layouts), or the FL/FR pair phase-inverted (channel FL+FR, kind phase_inverted).',
  inputs: [{ kind: 'audio', format: 'f32-planar' }],
  options: {
    threshold: {
      type: 'number',
      description: 'RMS level below which a channel counts as dead (and above which it carries sound)',
      default: -60,
      min: -120,
      max: 0,
      unit: 'dBFS',
      guidance: 'The same level as the silence detector: room tone and music beds sit above -50 dBFS.',
    },
    margin: {
      type: 'number',
      description: 'How far below the loudest channel a channel under the threshold must be to count as dead',
      default: 20,
      min: 0,
      max: 100,
      unit: 'dB',
      guidance:
        'A lost leg is digital zero or codec leakage (under -90 dBFS) next to a live one; a quiet programme (or quiet passage) has both channels within a few dB of each other (stereo balance rarely over 6 dB), so one can dip under the threshold without being dead.',
    },
    minDuration: {
      type: 'number',
      description: 'Seconds a channel must stay dead before an incident opens',
      default: 2,
      min: 0.05,
      max: 3600,
      unit: 's',
      guidance: 'Hard-panned effects leave one side silent for a moment; a lost leg stays silent.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds of sound before an open dead-channel or inversion incident closes',
      default: 0.5,
      min: 0,
      max: 600,
      unit: 's',
    },
    correlation: {
      type: 'number',
      description: 'Correlation of the front pair at or below which it counts as phase-inverted',
      default: -0.5,
      min: -1,
      max: 0,
      unit: 'ratio',
      guidance:
        'Programme stereo sits between 0 and +1 (near-mono speech 0.9-1, film and music mixes mostly 0.1-0.9); genuine wide mixes dip below 0 but stayed above -0.3 on the real clips measured. An inverted leg turns c into -c, so -0.5 catches it on stereo whose own correlation is above +0.5; very wide stereo (own correlation under about +0.3) inverted is not told from genuine. Lower it (towards -0.8) for sources with deliberately out-of-phase content.',
    },
    window: {
      type: 'number',
      description: 'Seconds over which the pair correlation is measured',
      default: 2,
      min: 0.2,
      max: 30,
      unit: 's',
    },
    inversionMinDuration: {
      type: 'number',
      description: 'Seconds the correlation must stay at or below the limit before an incident opens',
      default: 3,
      min: 0.1,
      max: 3600,
      unit: 's',
    },
  },
  create(o, ctx) {
    const dead = new Map<string, EdgeReporter>();
    const limit = 10 ** (o.threshold / 20);
    const limitSq = limit * limit;
    const marginRatio = 10 ** (o.margin / 20);
    const nBins = Math.max(1, Math.round(o.window / BIN_SECONDS));
    let levels: number[] = [];
    // Front-pair correlation: Σxy, Σx², Σy² per bin.
    const sxy = new Float64Array(nBins);
    const sxx = new Float64Array(nBins);
    const syy = new Float64Array(nBins);
    let bin = 0;
    let binFill = 0;
    let binsFilled = 0;
    let corr = 0;
    let pairLevelDb = -120;
    let wasInverted = false;
    let pairName = '';
    let pairKey = '';
    let inversion: EdgeReporter | undefined;

    function deadReporter(name: string, index: number): EdgeReporter {
      let r = dead.get(name);
      if (!r) {
        r = new EdgeReporter(ctx, 'channel_loss', { minDuration: o.minDuration, recovery: o.recovery }, name);
        r.measurements = () => ({ kind: 'dead', levelDb: round(toDb(levels[index] ?? 0)) });
        dead.set(name, r);
      }
      return r;
    }

    /** Samples at the end of the window whose 100 ms bins are anti-correlated (Σxy < 0), back to the first that is not. */
    const invertedTail = (binSamples: number): number => {
      if (binFill > 0 && !(sxy[bin]! < 0)) return 0;
      let samples = binFill;
      for (let k = 1; k < nBins; k++) {
        const b = (bin - k + nBins) % nBins;
        if (!(sxy[b]! < 0)) break;
        samples += binSamples;
      }
      return samples;
    };

    const resetPair = () => {
      sxy.fill(0);
      sxx.fill(0);
      syy.fill(0);
      bin = 0;
      binFill = 0;
      binsFilled = 0;
      wasInverted = false;
    };

    return {
      process(input) {
        if (input.kind !== 'audio') return;
        const a: AudioChunk = input;
        const n = a.nbSamples;
        const count = a.channels.length;
        if (n === 0 || count < 2) return;
        if (levels.length !== count) levels = new Array<number>(count).fill(0);
        let silentCount = 0;
        let loudest = 0;
        for (let c = 0; c < count; c++) {
          const pcm = a.channels[c]!;
          let sq = 0;
          for (let i = 0; i < n; i++) sq += pcm[i]! * pcm[i]!;
          levels[c] = Math.sqrt(sq / n);
          if (levels[c]! > loudest) loudest = levels[c]!;
          if (sq / n < limitSq) silentCount++;
        }
        const dur = n / a.sampleRate;
        const allSilent = silentCount === count;
        for (let c = 0; c < count; c++) {
          const name = a.channelNames[c] ?? `ch${c}`;
          if (count > 2 && !INDIVIDUALLY_CHECKED.has(name)) continue;
          const silent = !allSilent && levels[c]! < limit && levels[c]! * marginRatio <= loudest;
          // Only track channels that have been dead at least once: most never are.
          if (!silent && !dead.has(name)) continue;
          deadReporter(name, c).update(a.mediaTime, a.wallTime, dur, silent);
        }

        // Phase inversion of the front pair.
        const li = pairIndex(a.channelNames, 'FL', 0);
        const ri = pairIndex(a.channelNames, 'FR', 1);
        const key = `${a.channelNames[li] ?? `ch${li}`}+${a.channelNames[ri] ?? `ch${ri}`}`;
        if (key !== pairKey) {
          inversion?.flush();
          pairKey = key;
          pairName = key;
          inversion = new EdgeReporter(
            ctx,
            'channel_loss',
            { minDuration: o.inversionMinDuration, recovery: o.recovery },
            pairName,
          );
          inversion.measurements = () => ({
            kind: 'phase_inverted',
            correlation: round(corr),
            levelDb: round(pairLevelDb),
          });
          resetPair();
        }
        const x = a.channels[li]!;
        const y = a.channels[ri]!;
        const binSamples = Math.max(1, Math.round(a.sampleRate * BIN_SECONDS));
        let off = 0;
        while (off < n) {
          const take = Math.min(n - off, binSamples - binFill);
          let xy = 0;
          let xx = 0;
          let yy = 0;
          for (let i = off; i < off + take; i++) {
            const u = x[i]!;
            const v = y[i]!;
            xy += u * v;
            xx += u * u;
            yy += v * v;
          }
          sxy[bin]! += xy;
          sxx[bin]! += xx;
          syy[bin]! += yy;
          off += take;
          binFill += take;
          if (binFill === binSamples) {
            binFill = 0;
            bin = (bin + 1) % nBins;
            sxy[bin] = 0;
            sxx[bin] = 0;
            syy[bin] = 0;
            binsFilled = Math.min(nBins, binsFilled + 1);
          }
        }
        let XY = 0;
        let XX = 0;
        let YY = 0;
        for (let b = 0; b < nBins; b++) {
          XY += sxy[b]!;
          XX += sxx[b]!;
          YY += syy[b]!;
        }
        const samples = binsFilled * binSamples + binFill;
        const windowFull = binsFilled >= nBins - 1;
        const bothSound = XX / samples >= limitSq && YY / samples >= limitSq;
        corr = XX > 0 && YY > 0 ? XY / Math.sqrt(XX * YY) : 0;
        pairLevelDb = toDb(Math.sqrt(Math.min(XX, YY) / Math.max(1, samples)));
        if (bothSound) ctx.gauge('stereo_correlation', round(corr));
        const inverted = windowFull && bothSound && corr <= o.correlation;
        // The window needed to fill with enough inverted sound before the correlation crossed the limit:
        // the inversion began where the run of anti-correlated bins at the end of the window begins.
        const hint = inverted && !wasInverted ? Math.max(0, a.mediaTime + dur - invertedTail(binSamples) / a.sampleRate) : undefined;
        wasInverted = inverted;
        inversion!.update(a.mediaTime, a.wallTime, dur, inverted, hint);
      },
      flush() {
        for (const r of dead.values()) r.flush();
        inversion?.flush();
        resetPair();
      },
    };
  },
});

function pairIndex(names: readonly string[], name: string, fallback: number): number {
  const i = names.indexOf(name);
  return i >= 0 ? i : fallback;
}

function toDb(rms: number): number {
  return rms > 0 ? 20 * Math.log10(rms) : -120;
}
