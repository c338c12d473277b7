/**
 * The selections of bench/vigil.ts and bench/ffmpeg-chain.ts (their third argument), kept apart
 * from those scripts, which measure on import, so that they can be tested.
 */
import { DETECTORS, type DetectorOverrides } from '../src/detect/index.ts';

/** Overrides that leave only `names` on; undefined (every default detector) without a selection. */
export function selectDetectors(arg: string | undefined): DetectorOverrides | undefined {
  if (arg === undefined) return undefined;
  const names = arg === 'none' ? [] : arg.split(',');
  const unknown = names.filter((n) => !DETECTORS.some((d) => d.name === n));
  if (unknown.length)
    throw new Error(`unknown detector(s) ${unknown.join(', ')}; known: ${DETECTORS.map((d) => d.name).join(', ')}`);
  const o: DetectorOverrides = {};
  for (const d of DETECTORS) o[d.name] = { enabled: names.includes(d.name) };
  return o;
}

/** The filters, in chain order, with the options they run with. */
export const VIDEO_FILTERS = {
  blackdetect: 'blackdetect=d=2:pix_th=0.10',
  freezedetect: 'freezedetect=n=-60dB:d=2',
  blockdetect: 'blockdetect',
} as const;
export const AUDIO_FILTERS = {
  ebur128: 'ebur128=peak=true:metadata=1',
  silencedetect: 'silencedetect=n=-60dB:d=2',
} as const;
export const VIDEO_CHAIN = Object.values(VIDEO_FILTERS).join(',');
export const AUDIO_CHAIN = Object.values(AUDIO_FILTERS).join(',');

/** The video and audio graph descriptions for a selection (`a,b` or `none`; undefined: every filter); '' for no graph. */
export function chainsFor(arg: string | undefined): { video: string; audio: string } {
  if (arg === undefined) return { video: VIDEO_CHAIN, audio: AUDIO_CHAIN };
  const names = arg === 'none' ? [] : arg.split(',');
  const known = [...Object.keys(VIDEO_FILTERS), ...Object.keys(AUDIO_FILTERS)];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`unknown filter(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  const pick = (m: Record<string, string>): string =>
    Object.entries(m)
      .filter(([k]) => names.includes(k))
      .map(([, v]) => v)
      .join(',');
  return { video: pick(VIDEO_FILTERS), audio: pick(AUDIO_FILTERS) };
}
