/**
 * The labelled corpus: simulator scenarios built in code, rendered once with renderToFile
 * and cached under eval/out/corpus by a hash of the scenario, with the
 * ground truth next to each file. A file with corruption truth also gets a clean twin
 * (`.clean.ts` / `.clean.mkv`) and the per-picture labels of its damage (`.visible.json`):
 * only corruption the pictures show is scored (eval/visible.ts).
 *
 * Two splits:
 * - tuning: seeds 1..99 and the content detector authors may look at (testsrc2, and the
 *   clips the unit tests already use or that are listed as tuning here);
 * - held-out: seeds from 1001 and content kept out of tuning (other lavfi sources, other
 *   clips). All clips are also checked unmodified by test/engine/real-clips.test.ts (a
 *   false-alarm test), so "held out" means held out of defect tuning, not never seen.
 *
 * Defect files: every available defect type x variant is instanced `perVariant` times per
 * split; the instances are shuffled (seeded) and packed up to three of one type to a file, with clean stretches
 * of 4-7 s around each; files take the codecs in turn, the sizes in turn per round of
 * codecs, and a content of their split drawn with the split's seed. Clean files: real clips (and one lavfi source) with no defect at all, for
 * false alarms per hour.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '../src/shared/index.ts';
import type { IncidentType } from '../src/shared/index.ts';
import { parseScenario, renderToFile } from '../src/simulate/index.ts';
import { labelDamage, NO_DAMAGE, type PictureDamage } from './visible.ts';
import { detectorMinDuration, simulatorAccepts, probeStream, type Availability, DEFECTS, PROGRAMME_LUFS } from './defects.ts';

export type Split = 'tuning' | 'held-out';
export const SPLITS: readonly Split[] = ['tuning', 'held-out'];

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(here);
export const MEDIA = join(ROOT, '..', 'shared', 'media');
export const CACHE = join(here, 'out', 'corpus');

/** A media-time interval of ground truth. */
export interface Truth {
  readonly type: IncidentType;
  readonly start: number;
  readonly end: number;
  readonly channel?: string;
  /** The schedule variant that made it (for the listing). */
  readonly variant?: string;
  /**
   * Corruption whose damage no picture shows (eval/visible.ts): not a truth to find, and a
   * detection over it is neither right nor wrong.
   */
  readonly unseen?: boolean;
  /** The simulator's interval, where the visible damage trimmed it (eval/visible.ts). */
  readonly scheduled?: { readonly start: number; readonly end: number };
}

export interface Content {
  readonly label: string;
  readonly content: Record<string, unknown>;
  /** Burned-in clock (the simulator default for lavfi sources). */
  readonly clock: boolean;
  /** Incident types the content itself rightly shows throughout (not false alarms anywhere in its files). */
  readonly legit?: readonly IncidentType[];
  /** Sound and picture have events to correlate (speech, cuts, action): A/V offset is observable. */
  readonly events?: boolean;
  /**
   * Median short-term loudness of the clip's own sound (LUFS), measured with Vigil's R128 meter
   * over the unmodified clip (scratch measurement, 2026-11-27); absent for lavfi content, which
   * carries the simulator's programme signal (PROGRAMME_LUFS).
   */
  readonly lufs?: number;
  /**
   * The clip's two channels are nearly uncorrelated (full-band correlation of the unmodified clip,
   * 2026-11-27: chaplin 0.14, against 0.49-0.99 for the other clips with stereo sound and 0.99 for
   * the programme signal): no phase inversions are planned on it (Variant.needsCorrelatedStereo).
   */
  readonly wideStereo?: boolean;
}

export interface Format {
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly bitrateKbps: number;
  readonly audioCodec?: string;
  /** Interlaced, top field first (the simulator's video.interlaced). */
  readonly interlaced?: boolean;
}

export interface CorpusFile {
  readonly id: string;
  readonly split: Split;
  /** defects: scripted defects between clean stretches; clean: no defect at all. */
  readonly kind: 'defects' | 'clean';
  readonly format: Format;
  readonly content: string;
  readonly seed: number;
  readonly duration: number;
  /** The scenario stream as the schema takes it. */
  readonly stream: Record<string, unknown>;
  /** Incident types the content rightly shows throughout (see Content.legit). */
  readonly legit: readonly IncidentType[];
  /** Variant names of the scheduled defects, per type (for the listing). */
  readonly planned: readonly { type: IncidentType; variant: string; at: number; duration: number }[];
}

export interface RenderedFile extends CorpusFile {
  readonly path: string;
  readonly truth: readonly Truth[];
  /** Truth entries the simulator reported that the evaluation does not score (e.g. clean). */
  readonly otherTruth: readonly { type: string; start: number; end: number }[];
}

const clip = (file: string, legit?: IncidentType[], events?: boolean): Content => ({
  label: file.replace(/\.[a-z0-9]+$/, ''),
  content: { source: 'clip', path: join(MEDIA, file) },
  clock: false,
  ...(legit ? { legit } : {}),
  ...(events ? { events } : {}),
  ...(CLIP_LUFS[file] !== undefined ? { lufs: CLIP_LUFS[file] } : {}),
});
/**
 * Median short-term loudness of each clip with sound (Vigil's R128 meter over the unmodified clip;
 * FFmpeg's ebur128 gave the same within 0.1 LU for the three in QUIET_OR_LOUD below).
 */
const CLIP_LUFS: Record<string, number> = {
  'chaplin_bw_pillarbox_640x360.mp4': -16.8,
  'speech_his_girl_friday_bw_640x480.mp4': -32.5,
  'static_water_stream_480x360.mp4': -37.4,
  'handheld_crystal_toy_480p.mp4': -37.8,
  'bbb_720p_vp8_vorbis_0-30s.webm': -23.7,
  'sintel_256x110_lowbitrate_blocky.mp4': -25.5,
};
/*
 * Clips whose own sound is outside Vigil's default loudness range (short-term -36..-18 LUFS)
 * for their whole length, measured with FFmpeg's ebur128 on the unmodified clips (median
 * short-term loudness): static_water_stream -37.3 LUFS, handheld_crystal_toy -37.8 LUFS (too
 * quiet), chaplin_bw_pillarbox -16.8 LUFS (too loud). A loudness incident on them is right.
 */
const QUIET_OR_LOUD: IncidentType[] = ['loudness'];
const lavfi = (source: string, options?: Record<string, string | number>): Content => ({
  label: source,
  content: options ? { source, options } : { source },
  clock: true,
});

/** Content per split. Clean files are all real clips; the parking lot's silent track counts its silence as right. */
export const CONTENT: Record<Split, { defects: Content[]; clean: Content[] }> = {
  tuning: {
    defects: [
      lavfi('testsrc2'),
      clip('static_water_stream_480x360.mp4', QUIET_OR_LOUD),
      clip('speech_his_girl_friday_bw_640x480.mp4', undefined, true),
      { ...clip('chaplin_bw_pillarbox_640x360.mp4', QUIET_OR_LOUD), wideStereo: true },
    ],
    clean: [
      clip('speech_his_girl_friday_bw_640x480.mp4'),
      clip('chaplin_bw_pillarbox_640x360.mp4', QUIET_OR_LOUD),
      clip('static_water_stream_480x360.mp4', QUIET_OR_LOUD),
      // Its AAC track is digital silence (SOURCES.md): silence and too-quiet loudness are right there.
      clip('static_parking_lot_overhead_768x432.mp4', ['silence', 'loudness']),
    ],
  },
  'held-out': {
    defects: [lavfi('mandelbrot'), clip('handheld_crystal_toy_480p.mp4', QUIET_OR_LOUD), clip('bbb_720p_vp8_vorbis_0-30s.webm', undefined, true), clip('sintel_256x110_lowbitrate_blocky.mp4', undefined, true), lavfi('cellauto', { rule: 110 })],
    clean: [
      clip('handheld_crystal_toy_480p.mp4', QUIET_OR_LOUD),
      clip('bbb_720p_vp8_vorbis_0-30s.webm'),
      clip('sintel_256x110_lowbitrate_blocky.mp4'),
      clip('static_room_people_one_by_one_10fps.mp4'),
      clip('bear_vp9_320x240_noaudio.webm'),
    ],
  },
};

const RESOLUTIONS = [
  { width: 640, height: 360, bitrateKbps: 900 },
  { width: 320, height: 180, bitrateKbps: 300 },
  { width: 1280, height: 720, bitrateKbps: 2500 },
];

/**
 * libx265 and libvpx-vp9 encode slower than real time on this 2-core machine even at 640x360
 * (about 1.5 s per media second): they get 320x180, which keeps `npm run eval` within minutes.
 */
function sizeFor(codec: string, r: (typeof RESOLUTIONS)[number]): (typeof RESOLUTIONS)[number] {
  return codec === 'hevc' || codec === 'vp9' ? RESOLUTIONS[1]! : r;
}

/** Codecs the simulator takes now, with the audio codec paired with each where it takes one. */
export function availableFormats(): { codec: string; audioCodec?: string }[] {
  const out: { codec: string; audioCodec?: string }[] = [];
  const pair: Record<string, string> = { h264: 'aac', hevc: 'aac', mpeg2: 'mp2', vp9: 'opus' };
  for (const codec of ['h264', 'hevc', 'mpeg2', 'vp9']) {
    const output = outputFor(codec);
    if (!simulatorAccepts(probeStream({ output, video: { codec } }))) continue;
    const audioCodec = pair[codec]!;
    out.push(simulatorAccepts(probeStream({ output, video: { codec }, audio: { codec: audioCodec } })) ? { codec, audioCodec } : { codec });
  }
  return out;
}

function outputFor(codec: string): Record<string, unknown> {
  // Newer schemas name file output; vp9 needs it. Older ones only know udp|hls.
  if (simulatorAccepts(probeStream({ output: { type: 'file' } }))) return { type: 'file' };
  return codec === 'vp9' ? { type: 'file' } : { type: 'udp', port: 0 };
}

/** A format's picture size as listings show it: `720x576i` for interlaced. */
export const sizeLabel = (f: Format): string => `${f.width}x${f.height}${f.interlaced ? 'i' : ''}`;

export const extensionFor = (codec: string): string => (codec === 'vp9' ? '.mkv' : '.ts');

let programmeAudio: boolean | undefined;
function audioFor(f: Format): Record<string, unknown> {
  programmeAudio ??= simulatorAccepts(probeStream({ audio: { signal: 'programme' } }));
  // Programme-like sound at about -23 LUFS where the simulator has it: a bare tone is not what
  // a loudness or channel detector sees in service.
  return { ...(f.audioCodec ? { codec: f.audioCodec } : {}), ...(programmeAudio ? { signal: 'programme' } : {}) };
}

function streamFor(id: string, f: Format, c: Content, seed: number, cycle: number, schedule: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    output: outputFor(f.codec),
    content: c.content,
    clock: c.clock,
    video: {
      width: f.width,
      height: f.height,
      fps: f.fps,
      bitrateKbps: f.bitrateKbps,
      ...(f.codec !== 'h264' ? { codec: f.codec } : {}),
      ...(f.interlaced ? { interlaced: true } : {}),
    },
    audio: audioFor(f),
    ...(simulatorAccepts(probeStream({ seed: 1 })) ? { seed } : {}),
    cycle,
    schedule,
    ...extra,
  };
}

export interface CorpusOptions {
  readonly splits: readonly Split[];
  readonly types?: readonly IncidentType[];
  /** Instances of each variant per split. */
  readonly perVariant: number;
  /** Clean files per split (taken from the split's clean content in turn), and their length. */
  readonly cleanFiles: number;
  readonly cleanSeconds: number;
  /** Resolutions to cycle through (index into RESOLUTIONS: 0 = 640x360, 1 = 320x180, 2 = 1280x720). */
  readonly resolutions: readonly number[];
  /** Add the interlaced (576i) files: one per video defect type and INTERLACED_CLEAN_FILES clean ones, per split. */
  readonly interlaced?: boolean;
}

interface Inst {
  type: IncidentType;
  variantIdx: number;
}

/**
 * Interlaced files' format: 576i (720x576, 25 pictures and 50 fields a second), the commonest
 * broadcast contribution format that the 2-core machine renders in reasonable time.
 */
const INTERLACED = { width: 720, height: 576, bitrateKbps: 1600, interlaced: true } as const;
/** Video defect types that get an interlaced file per split (where the run includes them). */
const INTERLACED_TYPES: readonly IncidentType[] = ['corruption', 'freeze', 'black', 'stutter'];
/** Interlaced clean files per split. */
const INTERLACED_CLEAN_FILES = 2;

/** Plan the corpus (no rendering). */
export function planCorpus(avail: readonly Availability[], o: CorpusOptions): CorpusFile[] {
  const formats = availableFormats();
  const files: CorpusFile[] = [];
  for (const split of o.splits) {
    const seedBase = split === 'tuning' ? 1 : 1001;
    const rand = prng(seedBase * 7919);
    const contents = CONTENT[split];
    // 1. Instances.
    const insts: Inst[] = [];
    for (const a of avail) {
      if (!a.simulator) continue;
      if (o.types && !o.types.includes(a.type)) continue;
      const def = DEFECTS.find((d) => d.type === a.type)!;
      a.variants.forEach((v) => {
        const vi = def.variants.indexOf(v);
        for (let k = 0; k < o.perVariant; k++) insts.push({ type: a.type, variantIdx: vi });
      });
    }
    for (let i = insts.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [insts[i], insts[j]] = [insts[j]!, insts[i]!];
    }
    // 2. Pack up to three instances of one type to a file (so a type whose rendering fails
    // takes only its own files down); instances that need their own stream settings go alone.
    const groups: Inst[][] = [];
    const cur = new Map<IncidentType, Inst[]>();
    for (const inst of insts) {
      const v = DEFECTS.find((d) => d.type === inst.type)!.variants[inst.variantIdx]!;
      if (v.stream) {
        groups.push([inst]);
        continue;
      }
      const g = cur.get(inst.type) ?? [];
      g.push(inst);
      cur.set(inst.type, g);
      if (g.length === 3) {
        groups.push(g);
        cur.delete(inst.type);
      }
    }
    for (const g of cur.values()) groups.push(g);
    // 3. Files.
    groups.forEach((g, gi) => {
      const needsTs = g.some((x) => DEFECTS.find((d) => d.type === x.type)!.needsMpegTs);
      let fmt = formats[gi % formats.length]!;
      if (needsTs && extensionFor(fmt.codec) !== '.ts') fmt = formats.find((f) => extensionFor(f.codec) === '.ts')!;
      // Codecs in turn; sizes change every round of codecs; content drawn (seeded) per file.
      const res = sizeFor(fmt.codec, RESOLUTIONS[o.resolutions[Math.floor(gi / formats.length) % o.resolutions.length]!]!);
      files.push(defectFile(split, `${split}-d${String(gi).padStart(3, '0')}`, seedBase + gi, { ...fmt, ...res, fps: 25 }, g, rand));
    });
    // 4. Clean files.
    for (let k = 0; k < o.cleanFiles; k++) {
      const c = contents.clean[k % contents.clean.length]!;
      const fmt = formats[k % formats.length]!;
      const res = sizeFor(fmt.codec, RESOLUTIONS[o.resolutions[Math.floor(k / formats.length) % o.resolutions.length]!]!);
      files.push(cleanFile(split, `${split}-c${String(k).padStart(3, '0')}`, seedBase + 500 + k, { ...fmt, ...res, fps: 25 }, c));
    }
    // 5. Interlaced files (576i, top field first, H.264 and MPEG-2 in turn), after every other
    // file so that adding them changed none of those: per video defect type, one file of its
    // variants in turn, and clean files of the split's clean content. Seeds from 400 / 900.
    if (o.interlaced) {
      const codecs = formats.filter((f) => f.codec === 'h264' || f.codec === 'mpeg2');
      const types = INTERLACED_TYPES.filter((t) => insts.some((x) => x.type === t));
      types.forEach((type, k) => {
        const def = DEFECTS.find((d) => d.type === type)!;
        const variants = [...new Set(insts.filter((x) => x.type === type).map((x) => x.variantIdx))].sort((a, b) => a - b);
        const g = Array.from({ length: 3 }, (_, j) => ({ type, variantIdx: variants[j % variants.length]! }));
        if (g.some((x) => def.variants[x.variantIdx]!.stream)) return;
        files.push(defectFile(split, `${split}-i${String(k).padStart(3, '0')}`, seedBase + 400 + k, { ...codecs[k % codecs.length]!, ...INTERLACED, fps: 25 }, g, rand));
      });
      for (let k = 0; k < INTERLACED_CLEAN_FILES && codecs.length > 0; k++) {
        const c = contents.clean[k % contents.clean.length]!;
        files.push(cleanFile(split, `${split}-ic${String(k).padStart(2, '0')}`, seedBase + 900 + k, { ...codecs[k % codecs.length]!, ...INTERLACED, fps: 25 }, c));
      }
    }
  }
  return files;

  /** One clean-only file of content `c`, `o.cleanSeconds` long. */
  function cleanFile(split: Split, id: string, seed: number, format: Format, c: Content): CorpusFile {
    return {
      id,
      split,
      kind: 'clean',
      format,
      content: c.label,
      seed,
      duration: o.cleanSeconds,
      stream: streamFor(id, format, c, seed, o.cleanSeconds, []),
      legit: c.legit ?? [],
      planned: [],
    };
  }

  /** One file of defect instances `g`, between clean stretches, on content drawn with `rand`. */
  function defectFile(split: Split, id: string, seed: number, format: Format, g: readonly Inst[], rand: () => number): CorpusFile {
    const contents = CONTENT[split];
    let ci = Math.floor(rand() * contents.defects.length);
    const needsEvents = g.some((x) => DEFECTS.find((d) => d.type === x.type)!.variants[x.variantIdx]!.needsEvents);
    for (let k = 0; needsEvents && k < contents.defects.length && !contents.defects[ci]!.events; k++) {
      ci = (ci + 1) % contents.defects.length;
    }
    const needsCorrelated = g.some((x) => DEFECTS.find((d) => d.type === x.type)!.variants[x.variantIdx]!.needsCorrelatedStereo);
    for (let k = 0; needsCorrelated && k < contents.defects.length && contents.defects[ci]!.wideStereo; k++) {
      ci = (ci + 1) % contents.defects.length;
    }
    const content = contents.defects[ci]!;
    const r = prng(seed * 104729);
    let t = 3 + Math.round(r() * 20) / 10;
    const schedule: Record<string, unknown>[] = [];
    const planned: CorpusFile['planned'][number][] = [];
    let extra: Record<string, unknown> = {};
    for (const inst of g) {
      const def = DEFECTS.find((d) => d.type === inst.type)!;
      const v = def.variants[inst.variantIdx]!;
      const window =
        (def.marginOption ? (detectorMinDuration(def.type, def.marginOption) ?? 0) : 0) + (v.windowOption ? (detectorMinDuration(def.type, v.windowOption) ?? 0) : 0);
      const min = Math.max(def.duration[0], (detectorMinDuration(def.type, v.minOption) ?? 0) + (def.margin ?? 1) + window);
      const max = Math.max(def.duration[1], min + 2);
      const duration = Math.round((min + r() * (max - min)) * 10) / 10;
      schedule.push(...v.items({ at: t, duration, rand: r, channels: 2, contentLufs: content.lufs ?? PROGRAMME_LUFS }));
      planned.push({ type: def.type, variant: v.name, at: t, duration });
      if (v.stream) extra = { ...extra, ...v.stream };
      t += duration + 4 + Math.round(r() * 30) / 10;
    }
    const cycle = Math.ceil(t);
    const c = extra['content'] ? { label: 'syncpattern', content: extra['content'] as Record<string, unknown>, clock: false } : content;
    const { content: _c, ...rest } = extra;
    return {
      id,
      split,
      kind: 'defects',
      format,
      content: c.label,
      seed,
      duration: cycle,
      stream: streamFor(id.replace(/[^A-Za-z0-9_-]/g, '_'), format, c, seed, cycle, schedule, rest),
      legit: c.legit ?? [],
      planned,
    };
  }
}

/**
 * Bump to re-render every cached file. The cache key is the scenario, not the simulator's
 * source: a cached file and its ground truth come from the same render, so they always agree;
 * delete eval/out/corpus (or bump this) after a simulator fix that changes what it renders.
 */
const CORPUS_VERSION = 1;

/** Render a planned file (or take it from the cache) and load its ground truth. */
export async function renderFile(f: CorpusFile, typeOf: (truthType: string) => IncidentType | undefined): Promise<RenderedFile & { cached: boolean }> {
  const key = createHash('sha256').update(JSON.stringify({ stream: f.stream, duration: f.duration, v: CORPUS_VERSION })).digest('hex').slice(0, 16);
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `${f.id}-${key}${extensionFor(f.format.codec)}`);
  const truthPath = `${path}.truth.json`;
  let raw: { type: string; start: number; end?: number; channel?: string }[];
  let cached = true;
  if (existsSync(path) && existsSync(truthPath)) {
    raw = JSON.parse(readFileSync(truthPath, 'utf8')) as typeof raw;
  } else {
    cached = false;
    const sc = parseScenario({ seed: f.seed, streams: [f.stream] });
    const tmp = `${path}.part${extensionFor(f.format.codec)}`;
    raw = (await renderToFile(sc.streams[0]!, tmp, { duration: f.duration }));
    renameSync(tmp, path);
    writeFileSync(truthPath, JSON.stringify(raw, null, 1));
  }
  let truth: Truth[] = [];
  const otherTruth: RenderedFile['otherTruth'][number][] = [];
  for (const e of raw) {
    const type = typeOf(e.type);
    const end = e.end ?? e.start;
    if (type) {
      const p = f.planned.find((x) => x.type === type && Math.abs(x.at - e.start) < 1.5);
      truth.push({ type, start: e.start, end, ...(e.channel ? { channel: e.channel } : {}), ...(p ? { variant: p.variant } : {}) });
    } else otherTruth.push({ type: e.type, start: e.start, end });
  }
  if (truth.some((t) => t.type === 'corruption')) {
    const pictures = await visibleDamage(f, path, truth);
    truth = truth.map((t) => (t.type === 'corruption' ? seenPart(t, pictures, f.stream) : t));
  }
  return { ...f, path, truth, otherTruth, cached };
}

/** Bump when the label rule (scripts/train/labels.ts) or the twin changes: relabels every file. */
const VISIBLE_VERSION = 1;
/** Seconds after a corruption interval still labelled (damage can outlast the simulator's interval by a frame or two). */
const VISIBLE_AFTER = 0.5;
/** A picture shows damage when at least this share of its blocks (and at least MIN blocks) are labelled damaged. */
const VISIBLE_SHARE = 0.005;
const VISIBLE_MIN_BLOCKS = 2;
/** A corruption interval counts as truth when damage shows for at least this long (about 5 pictures at 25 fps). */
const VISIBLE_SECONDS = 0.2;

/**
 * Per-picture labels of the corruption intervals' pictures against a clean twin of the file
 * (eval/visible.ts), cached next to the file.
 */
async function visibleDamage(f: CorpusFile, path: string, truth: readonly Truth[]): Promise<PictureDamage[]> {
  const cachePath = `${path}.visible.json`;
  if (existsSync(cachePath)) {
    const c = JSON.parse(readFileSync(cachePath, 'utf8')) as { v: number; pictures: PictureDamage[] };
    if (c.v === VISIBLE_VERSION) return c.pictures;
  }
  const ext = extensionFor(f.format.codec);
  const twin = `${path}.clean${ext}`;
  if (!existsSync(twin)) {
    const sc = parseScenario({ seed: f.seed, streams: [f.stream] });
    const tmp = `${twin}.part${ext}`;
    await renderToFile(sc.streams[0]!, tmp, { duration: f.duration, damage: NO_DAMAGE });
    renameSync(tmp, twin);
  }
  const windows = truth.filter((t) => t.type === 'corruption').map((t) => ({ start: t.start, end: t.end + VISIBLE_AFTER }));
  const pictures = await labelDamage(path, twin, windows);
  writeFileSync(cachePath, JSON.stringify({ v: VISIBLE_VERSION, pictures }));
  return pictures;
}

/** The part of a corruption interval whose pictures show damage, or the interval marked unseen. */
export function seenPart(t: Truth, pictures: readonly PictureDamage[], stream: Record<string, unknown>): Truth {
  const video = stream['video'] as { fps?: number } | undefined;
  const frame = 1 / (video?.fps ?? 25);
  const shown = pictures.filter(
    (p) => p.t >= t.start - 1e-6 && p.t <= t.end + VISIBLE_AFTER && p.damaged >= Math.max(VISIBLE_MIN_BLOCKS, VISIBLE_SHARE * p.blocks),
  );
  const scheduled = { start: t.start, end: t.end };
  if (shown.length * frame < VISIBLE_SECONDS - 1e-6) return { ...t, unseen: true, scheduled };
  const start = shown[0]!.t;
  const end = shown[shown.length - 1]!.t + frame;
  return { ...t, start, end, scheduled };
}
