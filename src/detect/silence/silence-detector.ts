import type { AudioChunk } from '../../shared/index.ts';
import { chunkStats } from '../audio-stats.ts';
import { EdgeReporter } from '../edge-reporter.ts';
import { round } from '../round.ts';
import { defineDetector } from '../spec.ts';

/**
 * Silence. FFmpeg's silencedetect (without mono=1) only reports when every channel is silent:
 * - every channel silent → one `silence` incident without a channel;
 * - with `perChannel` (off by default): some channels silent while others carry sound → one
 *   `silence` incident per dead channel, with its name (FL, FR, ...). In multichannel layouts only
 *   the front channels (FL, FR, FC) are checked one by one: LFE and surrounds are often
 *   legitimately silent. By default the channel_loss detector reports a dead channel instead.
 */
const INDIVIDUALLY_CHECKED = new Set(['FL', 'FR', 'FC', 'ch0', 'ch1']);

export const silenceDetector = defineDetector({
  name: 'silence',
  types: ['silence'],
  description: 'Silent audio on all channels (single dead channels: see channel_loss, or perChannel).',
  inputs: [{ kind: 'audio', format: 'f32-planar' }],
  options: {
    minDuration: {
      type: 'number',
      description: 'Seconds of silence before an incident opens',
      default: 2,
      min: 0.05,
      max: 3600,
      unit: 's',
      guidance:
        'Dialogue pauses rarely last 2 s below -60 dBFS; raise to 5-10 s for channels with deliberate silences.',
    },
    recovery: {
      type: 'number',
      description: 'Seconds of sound before an open incident closes',
      default: 0.5,
      min: 0,
      max: 600,
      unit: 's',
    },
    threshold: {
      type: 'number',
      description: 'RMS level below which a channel counts as silent',
      default: -60,
      min: -120,
      max: 0,
      unit: 'dBFS',
      guidance: 'Room tone and music beds sit above -50 dBFS; digital silence is -inf. -60 matches FFmpeg.',
    },
    perChannel: {
      type: 'boolean',
      description: 'Also report single dead channels while others carry sound as silence',
      default: false,
      guidance:
        'Off: the channel_loss detector reports a dead channel (type channel_loss, kind dead). Turn on only to keep the older per-channel silence incidents.',
    },
  },
  create(o, ctx) {
    const all = new EdgeReporter(ctx, 'silence', { minDuration: o.minDuration, recovery: o.recovery });
    const perChannel = new Map<string, EdgeReporter>();
    const limit = 10 ** (o.threshold / 20);
    const limitSq = limit * limit;
    let levels: number[] = [];
    all.measurements = () => ({ levelDb: round(Math.max(...levels.map(toDb))) });

    function channelReporter(name: string, index: number): EdgeReporter {
      let r = perChannel.get(name);
      if (!r) {
        r = new EdgeReporter(ctx, 'silence', { minDuration: o.minDuration, recovery: o.recovery }, name);
        r.measurements = () => ({ levelDb: round(toDb(levels[index] ?? 0)) });
        perChannel.set(name, r);
      }
      return r;
    }

    return {
      process(input) {
        if (input.kind !== 'audio') return;
        const a: AudioChunk = input;
        const n = a.nbSamples;
        if (n === 0) return;
        if (levels.length !== a.channels.length) levels = new Array<number>(a.channels.length).fill(0);
        let silentCount = 0;
        let loudest = 0;
        const { sumSq } = chunkStats(a);
        for (let c = 0; c < a.channels.length; c++) {
          const ms = sumSq[c]! / n;
          levels[c] = Math.sqrt(ms);
          if (ms < limitSq) silentCount++;
          if (ms > loudest) loudest = ms;
        }
        const dur = n / a.sampleRate;
        const allSilent = silentCount === a.channels.length;
        ctx.gauge('audio_level_db', toDb(Math.sqrt(loudest)));
        all.update(a.mediaTime, a.wallTime, dur, allSilent);
        if (!o.perChannel || a.channels.length < 2) return;
        for (let c = 0; c < a.channels.length; c++) {
          const name = a.channelNames[c] ?? `ch${c}`;
          if (a.channels.length > 2 && !INDIVIDUALLY_CHECKED.has(name)) continue;
          const silent = !allSilent && levels[c]! < limit;
          // Only track channels that have been silent at least once: most never are.
          if (!silent && !perChannel.has(name)) continue;
          channelReporter(name, c).update(a.mediaTime, a.wallTime, dur, silent);
        }
      },
      flush() {
        all.flush();
        for (const r of perChannel.values()) r.flush();
      },
    };
  },
});

function toDb(rms: number): number {
  return rms > 0 ? 20 * Math.log10(rms) : -120;
}
