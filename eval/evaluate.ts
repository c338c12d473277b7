/**
 * The evaluation proper: render (or reuse) the corpus, run Vigil and the FFmpeg baselines
 * on every file, score both against the ground truth, and return one row per type x split.
 */
import { cpus, loadavg } from 'node:os';
import { DETECTORS } from '../src/detect/index.ts';
import { setMediaLogLevel } from '../src/ingest/index.ts';
import type { IncidentType } from '../src/shared/index.ts';
import { runBaselines, type BaselineParams, type BaselineResult } from './baseline.ts';
import { planCorpus, renderFile, sizeLabel, type CorpusOptions, type RenderedFile, type Split } from './corpus.ts';
import { availability, DEFECTS, defectOf, truthToIncidentType, type Availability, type Baseline } from './defects.ts';
import { addCounts, emptyCounts, intervalsFromSeries, metrics, scoreFile, type Interval, type Metrics, type TypeCounts } from './score.ts';
import { onlyDetector, runVigil, runVigilLive } from './vigil.ts';

export interface EvalOptions extends CorpusOptions {
  /** Defect files per split (640x360 or larger) that also get the per-detector CPU runs; CPU columns come from these. */
  readonly cpuFiles: number;
  /** Only the planned files whose id contains this (e.g. `-i` for the interlaced ones); the rest of the plan is unchanged. */
  readonly files?: string;
  readonly log?: (line: string) => void;
}

export interface SideResult {
  readonly counts: TypeCounts;
  readonly metrics: Metrics;
  /** False positives on clean-only files per hour of clean-only content. */
  readonly falseAlarmsPerHour: number | undefined;
  readonly cleanFalsePositives: number;
  /** CPU as a ratio to decode-only of the same files (undefined: not measured). */
  readonly cpuRatio: number | undefined;
  readonly note?: string;
  /** Each truth interval not found and each false positive, with its file (Vigil's side only). */
  readonly misses?: readonly string[];
  readonly falseAlarms?: readonly string[];
}

export interface Row {
  readonly split: Split;
  readonly type: IncidentType;
  readonly available: boolean;
  readonly missing?: string;
  readonly variants: readonly string[];
  readonly vigil?: SideResult;
  readonly baseline?: SideResult & { name: Baseline; params: string };
}

export interface EvalReport {
  readonly date: string;
  readonly machine: string;
  readonly loadavg: readonly number[];
  readonly options: Omit<EvalOptions, 'log'>;
  readonly corpus: {
    readonly files: number;
    readonly seconds: number;
    readonly bySplit: Record<string, { files: number; seconds: number; cleanFiles: number; cleanSeconds: number; truths: number; unseen: number }>;
    readonly codecs: string[];
    readonly resolutions: string[];
    readonly contents: Record<string, string[]>;
    readonly rendered: number;
  };
  readonly vigilCpuRatio: Record<string, number | undefined>;
  readonly rows: Row[];
  /** Files that could not be rendered or analysed, and why. */
  readonly failures: Failure[];
  readonly availability: Availability[];
  readonly blockThreshold?: number;
  readonly loudnessParams: LoudnessParams;
  readonly files: { id: string; split: Split; kind: string; codec: string; size: string; content: string; duration: number; truth: string; vigil: string }[];
  readonly seconds: number;
}

export interface Failure {
  readonly id: string;
  readonly split: Split;
  readonly types: IncidentType[];
  readonly stage: string;
  readonly error: string;
}

export interface LoudnessParams {
  readonly low: number;
  readonly high: number;
  readonly truePeak: number;
  /** Minimum durations below `low` and above `high`. */
  readonly lowMin: number;
  readonly highMin: number;
  readonly source: string;
}

function numOpt(detector: string, names: RegExp): number | undefined {
  const d = DETECTORS.find((x) => x.name === detector || x.types.includes(detector as IncidentType));
  if (!d) return undefined;
  for (const [k, o] of Object.entries(d.options)) if (names.test(k) && o.type === 'number') return o.default;
  return undefined;
}

/** Loudness verdict parameters for ebur128: Vigil's loudness defaults where it has them, else R128 -23 LUFS +-5 LU. */
export function loudnessParams(): LoudnessParams {
  const has = DETECTORS.some((d) => d.types.includes('loudness'));
  return {
    low: numOpt('loudness', /^tooQuiet$/) ?? -28,
    high: numOpt('loudness', /^tooLoud$/) ?? -18,
    truePeak: numOpt('loudness', /^truePeakLimit$/) ?? -1,
    lowMin: numOpt('loudness', /^quietMinDuration$/) ?? 3,
    highMin: numOpt('loudness', /^loudMinDuration$/) ?? 3,
    source: has ? "Vigil's loudness defaults" : 'R128 -23 LUFS +-5 LU, -1 dBTP, 3 s (no loudness detector yet)',
  };
}

function baselineParams(): BaselineParams {
  return {
    black: { d: numOpt('black', /^minDuration$/) ?? 2, pixTh: numOpt('black', /^pixelThreshold$/) ?? 0.1, picTh: numOpt('black', /^pictureRatio$/) ?? 0.98 },
    freeze: { noiseDb: -60, d: numOpt('freeze', /^minDuration$/) ?? 2 },
    silence: { noiseDb: numOpt('silence', /^threshold$/) ?? -60, d: numOpt('silence', /^minDuration$/) ?? 2 },
  };
}

const corruptionMin = (): number => numOpt('corruption', /^minDuration$/) ?? 1;

function loudnessIntervals(r: BaselineResult['r128'], p: LoudnessParams, end: number): Interval[] {
  // Short-term loudness needs 3 s of signal: skip the first 3 s as the detector would.
  const s = r.filter((x) => x.t >= 3);
  const out = [
    ...intervalsFromSeries(s.map((x) => ({ t: x.t, on: Number.isFinite(x.s) && x.s < p.low })), p.lowMin, 'loudness', end),
    ...intervalsFromSeries(s.map((x) => ({ t: x.t, on: Number.isFinite(x.s) && x.s > p.high })), p.highMin, 'loudness', end),
  ];
  out.push(...intervalsFromSeries(r.map((x) => ({ t: x.t, on: x.tp > p.truePeak })), 0, 'loudness', end));
  return out;
}

const blockIntervals = (b: BaselineResult['block'], th: number, end: number): Interval[] =>
  intervalsFromSeries(b.map((x) => ({ t: x.t, on: x.v > th })), corruptionMin(), 'corruption', end);

interface FileRun {
  readonly file: RenderedFile;
  readonly vigil: Interval[];
  readonly vigilCpu: number;
  readonly base: BaselineResult;
  /** CPU seconds of a decode-only pass (same decoders, nothing else). */
  readonly decodeOnly: number;
  /** Vigil ran it as a live channel paced at 1x (signal loss). */
  readonly live: boolean;
  /** CPU of analyze() with one detector on, by detector name (median of CPU_ROUNDS). */
  readonly only: Map<string, number>;
  /** CPU files only: decode-only, and decode plus one FFmpeg baseline graph, medians of CPU_ROUNDS. */
  readonly cpuDecode: number;
  readonly ffOnly: Map<Baseline, number>;
}

/**
 * Interleaved rounds of the per-type CPU runs on each CPU file (decode-only, Vigil with one detector,
 * FFmpeg with one filter graph), whose medians the CPU column compares: one run of each moved by
 * 10-20 % between eval runs on the shared 2-core machine, enough to flip a verdict.
 */
const CPU_ROUNDS = 3;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const implies = (t: IncidentType): readonly IncidentType[] => defectOf(t)?.implies ?? [];

export async function evaluate(o: EvalOptions): Promise<EvalReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  // Damaged streams make FFmpeg's decoders log every concealed macroblock: keep stderr for the progress lines.
  setMediaLogLevel('quiet');
  const avail = availability();
  const types = (o.types ?? DEFECTS.map((d) => d.type)).filter((t) => DEFECTS.some((d) => d.type === t));
  const plan = planCorpus(avail, { ...o, types }).filter((f) => o.files === undefined || f.id.includes(o.files));
  const baselinesWanted = new Set<Baseline>();
  for (const a of avail) {
    const b = defectOf(a.type)?.baseline;
    if (b && a.simulator && types.includes(a.type)) baselinesWanted.add(b);
  }
  const bp = baselineParams();
  const lp = loudnessParams();
  const runs: FileRun[] = [];
  let rendered = 0;
  const cpuCount = new Map<Split, number>();
  const failures: Failure[] = [];
  for (const [i, f] of plan.entries()) {
    let stage = 'render';
    let file: Awaited<ReturnType<typeof renderFile>>;
    let live = false;
    let v: Awaited<ReturnType<typeof runVigil>>;
    let base: BaselineResult;
    let decodeOnly: number;
    const only = new Map<string, number>();
    const ffOnly = new Map<Baseline, number>();
    let cpuDecode = 0;
    const tr = performance.now();
    try {
      file = await renderFile(f, truthToIncidentType);
      if (!file.cached) rendered++;
      // Signal loss is wall-clock silence of a live source: files with one play as a live channel at 1x.
      live = file.truth.some((t) => t.type === 'signal_loss');
      stage = 'vigil';
      v = live ? await runVigilLive(file.path, file.duration) : await runVigil(file.path);
      stage = 'ffmpeg baselines';
      base = await runBaselines(file.path, [...baselinesWanted], bp);
      decodeOnly = (await runBaselines(file.path, [], bp)).decodeCpu;
      stage = 'vigil, one detector at a time';
      const n = cpuCount.get(f.split) ?? 0;
      if (f.kind === 'defects' && !live && f.format.width >= 640 && n < o.cpuFiles) {
        cpuCount.set(f.split, n + 1);
        // Whole runs on both sides (decode, plus Vigil's one detector or FFmpeg's one graph), rounds
        // interleaved so that the machine's drift hits every configuration alike; medians.
        const dets = DETECTORS.filter((d) => d.types.some((t) => types.includes(t)));
        const dec: number[] = [];
        const vs = new Map<string, number[]>();
        const fs = new Map<Baseline, number[]>();
        const add = <K>(m: Map<K, number[]>, k: K, v: number): void => void (m.get(k) ?? m.set(k, []).get(k)!).push(v);
        for (let round = 0; round < CPU_ROUNDS; round++) {
          dec.push((await runBaselines(file.path, [], bp)).decodeCpu);
          for (const d of dets) add(vs, d.name, (await runVigil(file.path, onlyDetector(d.name))).cpu);
          for (const b of baselinesWanted) {
            const r = await runBaselines(file.path, [b], bp);
            add(fs, b, r.decodeCpu + (r.filterCpu[b] ?? 0));
          }
        }
        cpuDecode = median(dec);
        for (const [k, v] of vs) only.set(k, median(v));
        for (const [k, v] of fs) ffOnly.set(k, median(v));
      }
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
      failures.push({ id: f.id, split: f.split, types: [...new Set(f.planned.map((p) => p.type))], stage, error: msg });
      log(`[${i + 1}/${plan.length}] ${f.id} FAILED at ${stage}: ${msg}`);
      continue;
    }
    const trs = (performance.now() - tr) / 1000;
    const vigil = v.incidents.map((x) => ({ type: x.type, start: x.start, end: x.end ?? v.duration, ...(x.channel ? { channel: x.channel } : {}) }));
    runs.push({ file, vigil, vigilCpu: v.cpu, base, decodeOnly, live, only, cpuDecode, ffOnly });
    log(
      `[${i + 1}/${plan.length}] ${file.id} ${file.format.codec} ${sizeLabel(file.format)} ${file.content} ${file.duration}s` +
        ` (${trs.toFixed(1)} s${file.cached ? '' : ', rendered'}): truth ${file.truth.map((t) => `${t.type}@${t.start.toFixed(1)}${t.unseen ? '(unseen)' : ''}`).join(' ') || '-'}; ` +
        `vigil ${vigil.map((t) => `${t.type}@${t.start.toFixed(1)}`).join(' ') || '-'} ${live ? ' [live 1x]' : ''} (cpu ${(v.cpu / decodeOnly).toFixed(2)}x decode-only)`,
    );
  }

  // Corruption baseline: blockdetect has no verdict of its own. Pick the threshold that gives the
  // best F1 on the tuning split and apply it to both splits.
  let blockThreshold: number | undefined;
  if (baselinesWanted.has('blockdetect')) {
    const tuning = runs.filter((r) => r.file.split === 'tuning');
    const values = [...new Set(tuning.flatMap((r) => r.base.block.map((b) => Math.round(b.v * 100) / 100)))].sort((a, b) => a - b);
    const step = Math.max(1, Math.floor(values.length / 200));
    let best = -1;
    for (let k = 0; k < values.length; k += step) {
      const th = values[k]!;
      const c = emptyCounts();
      for (const r of tuning) {
        const m = scoreFile(r.file.truth, blockIntervals(r.base.block, th, r.base.duration), { implies, types: ['corruption'], legit: r.file.legit }).get('corruption');
        if (m) addCounts(c, m);
      }
      const f1 = metrics(c).f1 ?? 0;
      if (f1 > best) {
        best = f1;
        blockThreshold = th;
      }
    }
  }

  const baselineIntervals = (r: FileRun, b: Baseline): Interval[] => {
    const end = r.base.duration;
    switch (b) {
      case 'blackdetect':
        return r.base.intervals.filter((x) => x.type === 'black');
      case 'freezedetect':
        return r.base.intervals.filter((x) => x.type === 'freeze');
      case 'silencedetect':
        return r.base.intervals.filter((x) => x.type === 'silence');
      case 'blockdetect':
        return blockThreshold === undefined ? [] : blockIntervals(r.base.block, blockThreshold, end);
      case 'ebur128':
        return loudnessIntervals(r.base.r128, lp, end);
    }
  };
  const baselineDesc = (b: Baseline): string => {
    switch (b) {
      case 'blackdetect':
        return `blackdetect=d=${bp.black.d}:pix_th=${bp.black.pixTh}:pic_th=${bp.black.picTh}`;
      case 'freezedetect':
        return `freezedetect=n=${bp.freeze.noiseDb}dB:d=${bp.freeze.d}`;
      case 'silencedetect':
        return `silencedetect=n=${bp.silence.noiseDb}dB:d=${bp.silence.d}:mono=1`;
      case 'blockdetect':
        return `blockdetect, lavfi.block > ${blockThreshold?.toFixed(2) ?? '?'} for >= ${corruptionMin()} s (threshold: best F1 on tuning)`;
      case 'ebur128':
        return `ebur128=metadata=1:peak=true: short-term < ${lp.low} LUFS for >= ${lp.lowMin} s or > ${lp.high} LUFS for >= ${lp.highMin} s, or true peak > ${lp.truePeak} dBTP (${lp.source})`;
    }
  };

  const rows: Row[] = [];
  const vigilCpuRatio: Record<string, number | undefined> = {};
  for (const split of o.splits) {
    const rs = runs.filter((r) => r.file.split === split);
    const cleanHours = rs.filter((r) => r.file.kind === 'clean').reduce((a, r) => a + r.base.duration, 0) / 3600;
    const fast = rs.filter((r) => !r.live);
    const fdec = fast.reduce((a, r) => a + r.decodeOnly, 0);
    vigilCpuRatio[split] = fdec > 0 ? fast.reduce((a, r) => a + r.vigilCpu, 0) / fdec : undefined;
    for (const type of types) {
      const a = avail.find((x) => x.type === type)!;
      const def = defectOf(type)!;
      const side = (dets: (r: FileRun) => Interval[], cpuRatio: number | undefined, note?: string, list = false): SideResult => {
        const c = emptyCounts();
        let cleanFp = 0;
        const misses: string[] = [];
        const falseAlarms: string[] = [];
        for (const r of rs) {
          const canFind = defectOf(type)?.canFind;
          const m = scoreFile(r.file.truth, dets(r), { implies, types: [type], legit: r.file.legit, ...(canFind ? { canFind } : {}) }).get(type);
          if (!m) continue;
          addCounts(c, m);
          if (r.file.kind === 'clean') cleanFp += m.falsePositives;
          if (!list) continue;
          const where = `${r.file.id} (${r.file.format.codec} ${sizeLabel(r.file.format)} ${r.file.content})`;
          for (const t of m.missed) misses.push(`${where}: ${t.type}${t.variant ? `(${t.variant})` : ''} ${t.start.toFixed(2)}-${t.end.toFixed(2)}`);
          for (const d of m.falseAlarms) falseAlarms.push(`${where}: ${d.type}${d.channel ? `[${d.channel}]` : ''} ${d.start.toFixed(2)}-${d.end.toFixed(2)}`);
        }
        return {
          ...(list ? { misses, falseAlarms } : {}),
          counts: c,
          metrics: metrics(c),
          falseAlarmsPerHour: cleanHours > 0 ? cleanFp / cleanHours : undefined,
          cleanFalsePositives: cleanFp,
          cpuRatio,
          ...(note ? { note } : {}),
        };
      };
      const row: { -readonly [K in keyof Row]: Row[K] } = {
        split,
        type,
        available: a.simulator && a.detector !== undefined,
        variants: a.variants.map((v) => v.name),
        ...(a.missing ? { missing: a.missing } : {}),
      };
      if (a.simulator && a.detector) {
        let cpu: number | undefined;
        const det = DETECTORS.find((d) => d.types.includes(type));
        if (det) {
          const sub = rs.filter((r) => r.only.has(det.name));
          const d = sub.reduce((x, r) => x + r.cpuDecode, 0);
          if (d > 0) cpu = sub.reduce((x, r) => x + r.only.get(det.name)!, 0) / d;
        }
        row.vigil = side((r) => r.vigil.filter((x) => x.type === type), cpu, def.fileNote, true);
      }
      if (a.simulator && def.baseline && baselinesWanted.has(def.baseline)) {
        const b = def.baseline;
        // A whole pass with this graph alone, over decode-only, on the same files and in the same
        // rounds as Vigil's one-detector runs.
        const sub = rs.filter((r) => r.ffOnly.has(b));
        const d = sub.reduce((x, r) => x + r.cpuDecode, 0);
        const f = sub.reduce((x, r) => x + r.ffOnly.get(b)!, 0);
        row.baseline = { ...side((r) => baselineIntervals(r, b), d > 0 ? f / d : undefined), name: b, params: baselineDesc(b) };
      }
      rows.push(row);
    }
  }

  const bySplit: EvalReport['corpus']['bySplit'] = {};
  for (const split of o.splits) {
    const rs = runs.filter((r) => r.file.split === split);
    const clean = rs.filter((r) => r.file.kind === 'clean');
    bySplit[split] = {
      files: rs.length,
      seconds: rs.reduce((a, r) => a + r.base.duration, 0),
      cleanFiles: clean.length,
      cleanSeconds: clean.reduce((a, r) => a + r.base.duration, 0),
      truths: rs.reduce((a, r) => a + r.file.truth.filter((t) => !t.unseen).length, 0),
      unseen: rs.reduce((a, r) => a + r.file.truth.filter((t) => t.unseen).length, 0),
    };
  }
  const contents: Record<string, string[]> = {};
  for (const split of o.splits) contents[split] = [...new Set(runs.filter((r) => r.file.split === split).map((r) => r.file.content))];
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    machine: `${cpu[0]?.model ?? 'unknown'} x ${cpu.length}, Node ${process.version}`,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    options: { splits: o.splits, ...(o.types ? { types: o.types } : {}), perVariant: o.perVariant, cleanFiles: o.cleanFiles, cleanSeconds: o.cleanSeconds, resolutions: o.resolutions, cpuFiles: o.cpuFiles, ...(o.interlaced ? { interlaced: true } : {}) },
    corpus: {
      files: runs.length,
      seconds: runs.reduce((a, r) => a + r.base.duration, 0),
      bySplit,
      codecs: [...new Set(runs.map((r) => r.file.format.codec + (r.file.format.audioCodec ? `+${r.file.format.audioCodec}` : '')))],
      resolutions: [...new Set(runs.map((r) => `${sizeLabel(r.file.format)}`))],
      contents,
      rendered,
    },
    vigilCpuRatio,
    rows,
    failures,
    availability: avail,
    ...(blockThreshold !== undefined ? { blockThreshold } : {}),
    loudnessParams: lp,
    files: runs.map((r) => ({
      id: r.file.id,
      split: r.file.split,
      kind: r.file.kind,
      codec: r.file.format.codec,
      size: `${sizeLabel(r.file.format)}`,
      content: r.file.content,
      duration: Math.round(r.base.duration * 10) / 10,
      truth: r.file.truth
        .map((t) => `${t.type}${t.variant ? `(${t.variant})` : ''} ${t.start.toFixed(2)}-${t.end.toFixed(2)}${t.unseen ? ' unseen' : ''}`)
        .join(', '),
      vigil: r.vigil.map((t) => `${t.type}${t.channel ? `[${t.channel}]` : ''} ${t.start.toFixed(2)}-${t.end.toFixed(2)}`).join(', '),
    })),
    seconds: (performance.now() - t0) / 1000,
  };
}
