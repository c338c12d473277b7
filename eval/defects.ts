/**
 * The defect types the evaluation knows: one table entry per incident type.
 *
 * Each entry says how to script the defect into a simulator scenario (one or more
 * schedule-item variants), which ground-truth types the simulator labels it with, which
 * other incident types the defect legitimately implies (those are ignored where they
 * overlap its truth interval, not counted as false alarms), and which FFmpeg filter is its
 * baseline. Whether the simulator can script a variant is found out at run time by
 * validating a probe scenario with the real scenario schema, and whether Vigil can detect
 * the type by looking for a detector that declares it: a type missing either is reported
 * "not available" instead of failing the run. Adding a type that lands later is one entry
 * here (or none, when the guessed schedule item already matches).
 */
import { DETECTORS } from '../src/detect/index.ts';
import type { IncidentType } from '../src/shared/index.ts';
import type { Interval } from './score.ts';
import { parseScenario } from '../src/simulate/index.ts';

export type Baseline = 'blackdetect' | 'freezedetect' | 'silencedetect' | 'blockdetect' | 'ebur128';

/** What a variant may vary per instance. */
export interface VariantContext {
  readonly at: number;
  readonly duration: number;
  readonly rand: () => number;
  /** Audio channels of the stream (for channel defects). */
  readonly channels: number;
  /**
   * Median short-term loudness of the content's own sound (LUFS): PROGRAMME_LUFS for the
   * simulator's programme signal, measured for each clip. Level defects are scaled from it, so
   * that the same defect lands at the same level whatever the content.
   */
  readonly contentLufs: number;
}

/** The simulator's programme-like signal, about -23 LUFS: the reference the level defects' gains are set for. */
export const PROGRAMME_LUFS = -23;

/** dB that bring `c`'s content to the programme level (0 for the programme signal itself). */
const toProgramme = (c: VariantContext): number => Math.round((PROGRAMME_LUFS - c.contentLufs) * 10) / 10;

export interface Variant {
  /** Short label shown in the corpus listing, e.g. 'decoder', 'phase_invert'. */
  readonly name: string;
  /** The schedule item(s) as the scenario format takes them. */
  readonly items: (ctx: VariantContext) => Record<string, unknown>[];
  /** Stream settings this variant needs (merged into the stream), e.g. sync-pattern content. */
  readonly stream?: Record<string, unknown>;
  /** The detector option that sets this variant's minimum duration (default: minDuration). */
  readonly minOption?: string;
  /**
   * The detector option naming a measurement window this variant's verdict waits to fill, added
   * to its minimum duration (like the type's marginOption, for one variant only).
   */
  readonly windowOption?: string;
  /**
   * Only on content with audio-visual events (speech, cuts, music with action): an A/V offset
   * on ordinary content shows only where sound and picture have events to match. Synthetic
   * content here has a steady tone or noise bed, and some clips are continuous (water, a slow
   * push-in).
   */
  readonly needsEvents?: boolean;
  /**
   * Only on content whose two channels carry much the same sound. A polarity inversion is a defect
   * there (it cancels in a mono downmix); on nearly uncorrelated channels it changes nothing
   * audible, and no correlation measure can see it.
   */
  readonly needsCorrelatedStereo?: boolean;
}

export interface DefectType {
  readonly type: IncidentType;
  /** Ground-truth entry types the simulator labels this defect with. */
  readonly truthTypes: readonly string[];
  readonly variants: readonly Variant[];
  /** Defect length range (s); the lower end is raised to the detector's minDuration + `margin`. */
  readonly duration: readonly [number, number];
  /** Seconds a defect must outlast the detector's minimum duration to be one it must report (measurement windows). Default 1. */
  readonly margin?: number;
  /** A detector option (seconds) added to the margin: the analysis window the verdict is made over. */
  readonly marginOption?: string;
  /** Incident types this defect legitimately causes as well (not false alarms inside its truth). */
  readonly implies: readonly IncidentType[];
  /** Which detections can see which truths of this type (eval/score.ts); default: every detection of the type. */
  readonly canFind?: (truth: Interval, detection: Interval) => boolean;
  readonly baseline?: Baseline;
  /** Needs an audio track / a video track (all streams have video). */
  readonly needsAudio?: boolean;
  /** Only in MPEG-TS files (TS packet damage). */
  readonly needsMpegTs?: boolean;
  /** Not detectable by analyze() of a file (e.g. signal_loss is decided on wall-clock silence of a live source). */
  readonly fileNote?: string;
}

const item = (type: string, extra: Record<string, unknown> = {}) => (c: VariantContext) => [
  { type, at: c.at, duration: c.duration, ...extra },
];

export const DEFECTS: readonly DefectType[] = [
  {
    type: 'black',
    truthTypes: ['black'],
    variants: [{ name: 'black', items: item('black') }],
    duration: [3, 8],
    implies: ['freeze', 'stutter'],
    baseline: 'blackdetect',
  },
  {
    type: 'freeze',
    truthTypes: ['freeze'],
    variants: [
      { name: 'still', items: item('freeze') },
      { name: 'grain', items: (c) => [{ type: 'freeze', at: c.at, duration: c.duration, grain: 4 + Math.round(c.rand() * 8) }] },
    ],
    duration: [3, 8],
    implies: ['stutter'],
    baseline: 'freezedetect',
  },
  {
    type: 'silence',
    truthTypes: ['silence'],
    // One dead channel is channel_loss (the simulator labels `silence` with a channel so).
    variants: [{ name: 'all', items: item('silence') }],
    duration: [3, 8],
    implies: ['loudness', 'channel_loss', 'av_sync'],
    baseline: 'silencedetect',
    needsAudio: true,
  },
  {
    type: 'signal_loss',
    truthTypes: ['signal_loss'],
    variants: [{ name: 'gap', items: item('signal_loss') }],
    duration: [4, 7],
    implies: ['stutter', 'transport', 'audio_missing', 'video_missing', 'freeze', 'av_sync'],
    fileNote: 'Vigil reads these files as a live channel paced at 1x (ingest decides signal loss on wall-clock silence); no CPU figure (ingest, not a detector)',
  },
  {
    type: 'corruption',
    truthTypes: ['corruption'],
    variants: [
      { name: 'decoder', items: item('corruption', { variant: 'decoder' }) },
      { name: 'reencoded', items: item('corruption', { variant: 'reencoded' }) },
    ],
    duration: [2, 5],
    implies: ['stutter', 'transport', 'freeze'],
    baseline: 'blockdetect',
  },
  {
    type: 'av_sync',
    truthTypes: ['av_sync', 'av_offset', 'timestamp_drift'],
    variants: [
      {
        name: 'offset-syncpattern',
        stream: { content: { source: 'syncpattern' } },
        items: (c) => [{ type: 'av_offset', at: c.at, duration: c.duration, offsetMs: (c.rand() < 0.5 ? -1 : 1) * (250 + Math.round(c.rand() * 250)) }],
      },
      {
        name: 'offset',
        needsEvents: true,
        items: (c) => [{ type: 'av_offset', at: c.at, duration: c.duration, offsetMs: (c.rand() < 0.5 ? -1 : 1) * (250 + Math.round(c.rand() * 250)) }],
      },
      {
        name: 'timestamp-drift',
        items: (c) => [{ type: 'timestamp_drift', at: c.at, duration: c.duration, driftMs: (c.rand() < 0.5 ? -1 : 1) * (400 + Math.round(c.rand() * 400)) }],
      },
    ],
    // An offset is estimated over the detector's content window: it must outlast window + minDuration.
    duration: [15, 25],
    marginOption: 'window',
    // A drift ends with the audio timestamps back on the clock: after a negative one they jump
    // ahead by the drift (400-800 ms), a PTS gap on the audio PID that transport rightly reports.
    implies: ['transport'],
    // Container timestamps cannot show an audio offset in the content: a timestamp incident (channel
    // 'timestamps') finds only timestamp drift; content and test-signal verdicts find any variant.
    canFind: (t, d) => d.channel !== 'timestamps' || t.variant === 'timestamp-drift',
    needsAudio: true,
  },
  {
    type: 'loudness',
    truthTypes: ['loudness'],
    variants: [
      // From the content's own level: a loud step lands at -13..-7 LUFS (over tooLoud, -17), a quiet
      // one at -43..-49 (between silenceGate, -60, and tooQuiet, -36), whatever the content. A fixed
      // gain did not: -26 dB on the water clip (-37 LUFS) is silence, which Vigil by design reports
      // as silence, never as too quiet; +13 dB leaves it at -24, inside the range.
      { name: 'loud', minOption: 'loudMinDuration', items: (c) => [{ type: 'loudness', at: c.at, duration: c.duration, gainDb: 10 + Math.round(c.rand() * 6) + toProgramme(c) }] },
      { name: 'quiet', minOption: 'quietMinDuration', items: (c) => [{ type: 'loudness', at: c.at, duration: c.duration, gainDb: -(20 + Math.round(c.rand() * 6)) + toProgramme(c) }] },
    ],
    duration: [8, 12],
    // Short-term loudness is a 3 s window: a step shows in it up to 3 s late.
    margin: 4,
    // A quiet step on a programme with quiet passages takes channels below the silence
    // threshold, together or one at a time (silence, channel loss); a loud one clips.
    implies: ['clipping', 'silence', 'channel_loss'],
    baseline: 'ebur128',
    needsAudio: true,
  },
  {
    type: 'clipping',
    truthTypes: ['clipping'],
    // 24-36 dB: enough to drive every corpus signal into full scale. At +12 dB the programme signal
    // clips 0.006 % of its samples and quiet clips none at all: a louder signal, not a clipped one.
    // Over the programme level, so quiet clips are driven as hard (the crystal toy, -38 LUFS,
    // peaks near 0.04: +28 dB made a few ringing samples after AAC, not a clipped signal).
    variants: [{ name: 'overdrive', items: (c) => [{ type: 'clipping', at: c.at, duration: c.duration, gainDb: 24 + Math.round(c.rand() * 12) + toProgramme(c) }] }],
    duration: [2, 5],
    implies: ['loudness'],
    needsAudio: true,
  },
  {
    type: 'channel_loss',
    truthTypes: ['channel_loss'],
    variants: [
      { name: 'dead', items: (c) => [{ type: 'channel_loss', at: c.at, duration: c.duration, channel: c.rand() < 0.5 ? 0 : 1, variant: 'dead' }] },
      // An inversion is judged on the pair correlation over `window` (2 s) held for
      // `inversionMinDuration` (3 s), not on the dead-channel minDuration (2 s).
      {
        name: 'phase_invert',
        minOption: 'inversionMinDuration',
        windowOption: 'window',
        needsCorrelatedStereo: true,
        items: (c) => [{ type: 'channel_loss', at: c.at, duration: c.duration, channel: c.rand() < 0.5 ? 0 : 1, variant: 'phase_invert' }],
      },
    ],
    duration: [3, 8],
    implies: ['silence', 'loudness'],
    needsAudio: true,
  },
  {
    type: 'audio_missing',
    truthTypes: ['audio_missing'],
    variants: [{ name: 'drop', items: item('audio_missing') }],
    duration: [4, 8],
    implies: ['silence', 'loudness', 'channel_loss', 'av_sync', 'stutter', 'transport'],
    needsAudio: true,
  },
  {
    type: 'video_missing',
    truthTypes: ['video_missing'],
    variants: [{ name: 'drop', items: item('video_missing') }],
    duration: [4, 8],
    implies: ['black', 'freeze', 'stutter', 'av_sync', 'transport', 'signal_loss'],
  },
  {
    type: 'stutter',
    truthTypes: ['stutter'],
    variants: [
      { name: 'drop', items: item('stutter', { mode: 'drop' }) },
      { name: 'duplicate', items: item('stutter', { mode: 'duplicate' }) },
    ],
    duration: [3, 6],
    implies: ['freeze', 'transport', 'av_sync'],
  },
  {
    type: 'transport',
    truthTypes: ['transport'],
    variants: [
      { name: 'drop', items: item('transport', { mode: 'drop' }) },
      { name: 'corrupt', items: item('transport', { mode: 'corrupt' }) },
      // A multiplexer that stops repeating PAT and PMT (TR 101 290 1.3/1.5): only ingest's
      // byte-level analysis sees it.
      { name: 'tables', items: item('transport', { mode: 'tables', rate: 1 }) },
    ],
    duration: [2, 5],
    // Damage hits the audio PID too: a corrupted AAC/MP2 frame decodes as a burst (a true-peak
    // or clipping event a listener hears), a dropped one as a gap.
    implies: ['corruption', 'stutter', 'freeze', 'av_sync', 'silence', 'signal_loss', 'loudness', 'clipping'],
    needsMpegTs: true,
  },
];

export function defectOf(type: string): DefectType | undefined {
  return DEFECTS.find((d) => d.type === type);
}

/** Incident type a ground-truth entry stands for (undefined for clean or unknown labels). */
export function truthToIncidentType(truthType: string): IncidentType | undefined {
  return DEFECTS.find((d) => d.truthTypes.includes(truthType))?.type;
}

/** The default of the detector option that sets a type's (or variant's) minimum duration, when the detector has one. */
export function detectorMinDuration(type: IncidentType, option = 'minDuration'): number | undefined {
  for (const d of DETECTORS) {
    if (!d.types.includes(type)) continue;
    const o = d.options[option];
    if (o && o.type === 'number') return o.default;
  }
  return undefined;
}

export function detectorFor(type: IncidentType): string | undefined {
  if (type === 'signal_loss') return 'ingest';
  return DETECTORS.find((d) => d.types.includes(type))?.name;
}

/** The base stream used to probe what the simulator accepts. */
export function probeStream(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'probe',
    output: { type: 'udp', port: 0 },
    content: { source: 'testsrc2' },
    cycle: 30,
    ...extra,
  };
}

/** True when the scenario schema accepts `stream` (and so the simulator can render it). */
export function simulatorAccepts(stream: Record<string, unknown>): boolean {
  try {
    parseScenario({ seed: 1, streams: [stream] });
    return true;
  } catch {
    return false;
  }
}

export interface Availability {
  readonly type: IncidentType;
  readonly variants: readonly Variant[];
  /** 'ingest' for signal_loss, else the detector's name. */
  readonly detector?: string;
  readonly simulator: boolean;
  /** Why the type is not evaluated, when it is not. */
  readonly missing?: string;
}

/** Which types (and which of their variants) can be evaluated with the code as it is now. */
export function availability(): Availability[] {
  return DEFECTS.map((d) => {
    const variants = d.variants.filter((v) => {
      const items = v.items({ at: 5, duration: Math.max(d.duration[0], 3), rand: () => 0.5, channels: 2, contentLufs: PROGRAMME_LUFS });
      return simulatorAccepts(probeStream({ ...v.stream, schedule: items }));
    });
    const detector = detectorFor(d.type);
    const missing = [
      variants.length === 0 ? 'simulator cannot script it yet' : '',
      detector === undefined ? 'no detector reports it yet' : '',
    ]
      .filter(Boolean)
      .join('; ');
    return { type: d.type, variants, simulator: variants.length > 0, ...(detector ? { detector } : {}), ...(missing ? { missing } : {}) };
  });
}
