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
 *   one: LFE and surrounds are often legitimately silent. And there a front channel is judged only
 *   once it has carried sound (since the start or the last change of layout), unless
 *   `frontFromStart`: a stereo programme carried in 5.1 leaves the centre silent by design, a mono
 *   one the left and right (a 5.1 AC-3 of a stereo programme read as a dead centre for its whole
 *   length). All channels silent is `silence`.
 * - `phase_inverted`: the front pair (FL/FR, or the first two channels) anti-correlated at or below
 *   `correlation` over `window` seconds, for `inversionMinDuration`, while both carry sound: one leg
 *   of the pair is polarity-inverted (or the mix is out of phase), which cancels in a mono downmix.
 *   Reported with channel 'FL+FR'. A correlation below 0 is side energy above mid energy, what a
 *   broadcast phase meter shows in the red; inverting one leg turns a pair's correlation c into -c.
 *   The correlation is measured after a low-pass (`lowpass`, 2 kHz, 2nd-order Butterworth, the same
 *   on both legs): what the legs share, and what cancels in the downmix, is mostly below it (bass,
 *   dialogue, centred sources), while the top of real recordings is largely decorrelated ambience and
 *   noise that pulls the full-band figure towards 0 (the crystal toy's own correlation per band:
 *   0.87-0.95 under 1 kHz, 0.5-0.66 at 1-2 kHz, 0.07-0.36 at 2-4 kHz, about 0 above). The level test
 *   (both legs over `threshold`) stays full band.
 *   Measured through this detector on every clip in ../shared/media with stereo sound (2 s windows,
 *   0.1 s apart, full windows only): genuine stereo never went below -0.29 with the 2 kHz low-pass
 *   (Big Buck Bunny's wide score; full band -0.28 there, 1 kHz -0.33, 500 Hz -0.38; 300 Hz -0.60 on one
 *   window of the crystal toy: narrow low bands swing further); medians: speech 0.99, film and music
 *   +0.04..+0.76. So the default -0.5 catches an inverted leg of stereo whose own low-passed
 *   correlation is above +0.5 (near-mono speech; the crystal toy, own median 0.76 where the full band
 *   gave 0.55; most of sintel) and cannot catch one whose own correlation is under about +0.3 (very
 *   wide or decorrelated stereo, e.g. the first 10 s of Big Buck Bunny at about 0..+0.4, in any band:
 *   inverted, it looks like genuine wide stereo; its mono downmix loses little, either).
 *   The codec makes no difference that matters: FFmpeg's mp2 encoder codes plain stereo (header mode
 *   00, no joint or intensity stereo, in every frame), and the same inverted pair through MP2 and
 *   AAC, 128 kbit/s each, reads within 0.03 (median; 0.10 at most) of each other at the same instant.
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
        'Measured under the `lowpass` (2 kHz): programme stereo sits between 0 and +1 (near-mono speech 0.9-1, film and music mixes mostly 0.1-0.9); genuine wide mixes dip below 0 but stayed above -0.29 on every real clip measured (full band: -0.28). An inverted leg turns c into -c, so -0.5 catches it on stereo whose own correlation is above +0.5; very wide stereo (own correlation under about +0.3) inverted is not told from genuine. Lower it (towards -0.8) for sources with deliberately out-of-phase content.',
    },
    lowpass: {
      type: 'number',
      description:
        'Corner of the low-pass (2nd-order Butterworth) applied to both legs before the pair correlation is measured; 0 measures the full band',
      default: 2000,
      min: 0,
      max: 20000,
      unit: 'Hz',
      guidance:
        'The pair correlation of real stereo is carried by its lower band, where the legs share sound; the top is mostly decorrelated ambience that dilutes an inversion towards 0. With 2 kHz genuine stereo on the real clips stayed above -0.29 (full band: -0.28; 1 kHz: -0.33, 500 Hz: -0.38, 300 Hz: -0.60: narrower low bands swing further in a 2 s window), while the crystal toy, whose top is decorrelated, reads 0.76 (median) instead of 0.55 and so about -0.76 with a leg inverted. Set 0 for the full-band correlation a phase meter shows.',
    },
    window: {
      type: 'number',
      description: 'Seconds over which the pair correlation is measured',
      default: 2,
      min: 0.2,
      max: 30,
      unit: 's',
    },
    frontFromStart: {
      type: 'boolean',
      description:
        'In layouts of more than two channels, also report a front channel (FL, FR, FC) that has been dead since the start, not only one that stopped',
      default: false,
      guidance:
        'Off by default: stereo carried in a 5.1 track leaves the centre silent from the first sample, and mono carried there the left and right, which is a configuration, not a loss. Turn on for channels whose 5.1 must carry all three front channels throughout. A stereo (two-channel) track is always judged from the start.',
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
    /** The track's channel names, and the front channels that have carried sound in that layout (see frontFromStart). */
    let layout = '';
    let namesSeen: readonly string[] | undefined;
    const heard = new Set<string>();
    // Front-pair correlation: Σxy, Σx², Σy² per bin.
    const sxy = new Float64Array(nBins);
    const sxx = new Float64Array(nBins);
    const syy = new Float64Array(nBins);
    // Full-band energies per bin (the level the pair carries, which decides whether it carries sound).
    const fxx = new Float64Array(nBins);
    const fyy = new Float64Array(nBins);
    // Low-pass biquad (direct form I) per leg: coefficients for `lpRate`, state x1 x2 y1 y2 per leg.
    let lpRate = 0;
    let coeffs = new Float64Array([1, 0, 0, 0, 0]);
    // Σxy, Σx², Σy² after the low-pass and Σx², Σy² full band of one stretch of a bin.
    const sums = new Float64Array(5);
    const lx = new Float64Array(4);
    const ly = new Float64Array(4);
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
      fxx.fill(0);
      fyy.fill(0);
      lx.fill(0);
      ly.fill(0);
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
        // Ingest keeps one names array per layout: compare names only when the array changes.
        if (a.channelNames !== namesSeen) {
          namesSeen = a.channelNames;
          const key = `${count}:${a.channelNames.join(',')}`;
          if (key !== layout) {
            layout = key;
            heard.clear();
          }
        }
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
          if (levels[c]! >= limit) heard.add(name);
          else if (count > 2 && !o.frontFromStart && !heard.has(name)) continue;
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
        if (a.sampleRate !== lpRate) {
          lpRate = a.sampleRate;
          coeffs = new Float64Array(lowpassCoefficients(o.lowpass, lpRate));
          resetPair();
        }
        const filtered = coeffs[0] !== 1;
        const binSamples = Math.max(1, Math.round(a.sampleRate * BIN_SECONDS));
        let off = 0;
        while (off < n) {
          const take = Math.min(n - off, binSamples - binFill);
          if (filtered) lowpassPairSums(x, y, off, off + take, coeffs, lx, ly, sums);
          else pairSums(x, y, off, off + take, sums);
          sxy[bin]! += sums[0]!;
          sxx[bin]! += sums[1]!;
          syy[bin]! += sums[2]!;
          fxx[bin]! += sums[3]!;
          fyy[bin]! += sums[4]!;
          off += take;
          binFill += take;
          if (binFill === binSamples) {
            binFill = 0;
            bin = (bin + 1) % nBins;
            sxy[bin] = 0;
            sxx[bin] = 0;
            syy[bin] = 0;
            fxx[bin] = 0;
            fyy[bin] = 0;
            binsFilled = Math.min(nBins, binsFilled + 1);
          }
        }
        let XY = 0;
        let XX = 0;
        let YY = 0;
        let FX = 0;
        let FY = 0;
        for (let b = 0; b < nBins; b++) {
          XY += sxy[b]!;
          XX += sxx[b]!;
          YY += syy[b]!;
          FX += fxx[b]!;
          FY += fyy[b]!;
        }
        const samples = binsFilled * binSamples + binFill;
        const windowFull = binsFilled >= nBins - 1;
        // Both legs carry sound (full band level, as the dead-channel test measures it).
        const bothSound = FX / samples >= limitSq && FY / samples >= limitSq && XX > 0 && YY > 0;
        corr = XX > 0 && YY > 0 ? XY / Math.sqrt(XX * YY) : 0;
        pairLevelDb = toDb(Math.sqrt(Math.min(FX, FY) / Math.max(1, samples)));
        if (bothSound) ctx.gauge('stereo_correlation', round(corr));
        const inverted = windowFull && bothSound && corr <= o.correlation;
        // The window needed to fill with enough inverted sound before the correlation crossed the limit:
        // the inversion began where the run of anti-correlated bins at the end of the window begins.
        const hint =
          inverted && !wasInverted
            ? Math.max(0, a.mediaTime + dur - invertedTail(binSamples) / a.sampleRate)
            : undefined;
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

/*
 * The per-sample loops live in these small module functions rather than inline in `process`: V8
 * optimises a loop it is still in (on-stack replacement) while the code after it has not yet run.
 * On Node 20 the OSR code of the inline loop, compiled before the 2 s window had first filled, met
 * the inversion test without type feedback once it had, and deoptimised there on chunk after chunk
 * instead of being replaced (17 to 81 bailouts of one code object in a 60 s run of the bench input;
 * `node --trace-deopt`). Here the loops have no cold branches, and `process`, loop-free but for the
 * bin sums, is optimised as a whole once it is hot: one or two bailouts a run.
 */

/** Σuv, Σu², Σv² of both legs low-passed (biquad state per leg: x1 x2 y1 y2, updated) and Σx², Σy² full band, over [from, to). */
function lowpassPairSums(
  x: Float32Array,
  y: Float32Array,
  from: number,
  to: number,
  c: Float64Array,
  lx: Float64Array,
  ly: Float64Array,
  out: Float64Array,
): void {
  const b0 = c[0]!;
  const b1 = c[1]!;
  const b2 = c[2]!;
  const a1 = c[3]!;
  const a2 = c[4]!;
  let x1 = lx[0]!;
  let x2 = lx[1]!;
  let p1 = lx[2]!;
  let p2 = lx[3]!;
  let y1 = ly[0]!;
  let y2 = ly[1]!;
  let q1 = ly[2]!;
  let q2 = ly[3]!;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  let fx = 0;
  let fy = 0;
  for (let i = from; i < to; i++) {
    const u0 = x[i]!;
    const v0 = y[i]!;
    fx += u0 * u0;
    fy += v0 * v0;
    const u = b0 * u0 + b1 * x1 + b2 * x2 - a1 * p1 - a2 * p2;
    const v = b0 * v0 + b1 * y1 + b2 * y2 - a1 * q1 - a2 * q2;
    x2 = x1;
    x1 = u0;
    p2 = p1;
    p1 = u;
    y2 = y1;
    y1 = v0;
    q2 = q1;
    q1 = v;
    xy += u * v;
    xx += u * u;
    yy += v * v;
  }
  lx[0] = x1;
  lx[1] = x2;
  // Flush denormals: a long digital silence decays the state towards 1e-308.
  lx[2] = Math.abs(p1) < 1e-30 ? 0 : p1;
  lx[3] = Math.abs(p2) < 1e-30 ? 0 : p2;
  ly[0] = y1;
  ly[1] = y2;
  ly[2] = Math.abs(q1) < 1e-30 ? 0 : q1;
  ly[3] = Math.abs(q2) < 1e-30 ? 0 : q2;
  out[0] = xy;
  out[1] = xx;
  out[2] = yy;
  out[3] = fx;
  out[4] = fy;
}

/** Σxy, Σx², Σy² over [from, to), full band (the low-pass off): the same sums twice. */
function pairSums(x: Float32Array, y: Float32Array, from: number, to: number, out: Float64Array): void {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = from; i < to; i++) {
    const u = x[i]!;
    const v = y[i]!;
    xy += u * v;
    xx += u * u;
    yy += v * v;
  }
  out[0] = xy;
  out[1] = xx;
  out[2] = yy;
  out[3] = xx;
  out[4] = yy;
}

function pairIndex(names: readonly string[], name: string, fallback: number): number {
  const i = names.indexOf(name);
  return i >= 0 ? i : fallback;
}

/**
 * RBJ cookbook low-pass (Q = 1/sqrt 2: Butterworth), normalised: [b0, b1, b2, a1, a2]. A corner of 0
 * or at/above Nyquist is the identity [1, 0, 0, 0, 0].
 */
function lowpassCoefficients(fc: number, sampleRate: number): [number, number, number, number, number] {
  if (!(fc > 0) || fc >= sampleRate / 2) return [1, 0, 0, 0, 0];
  const w = (2 * Math.PI * fc) / sampleRate;
  const alpha = Math.sin(w) / (2 * Math.SQRT1_2);
  const cw = Math.cos(w);
  const a0 = 1 + alpha;
  const b0 = (1 - cw) / 2 / a0;
  return [b0, (1 - cw) / a0, b0, (-2 * cw) / a0, (1 - alpha) / a0];
}

function toDb(rms: number): number {
  return rms > 0 ? 20 * Math.log10(rms) : -120;
}
