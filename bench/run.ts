/**
 * Vigil CPU/memory bench: `npm run bench [-- --quick] [-- --runs N] [-- --detectors]`.
 *
 * For each generated input (60 s 720p30 and 1080p30 H.264 + AAC in MPEG-TS; 10 s with
 * --quick) it runs three configurations, each in a fresh child process
 * (`node --import tsx bench/<config>.ts <input>`), N times (default 3, --quick 1), runs
 * interleaved, and takes the median:
 *   decode-only   node-av Demuxer + ingest's VideoDecoder (threadCount 1, as Vigil), audio Decoder, nothing else
 *   ffmpeg-chain  the same decode, then blackdetect,freezedetect,blockdetect / ebur128,silencedetect filter graphs
 *   vigil         analyze({ input }) from src/engine/analyze.ts (ingest + detectors + incidents)
 * With --detectors, each Vigil detector that has an FFmpeg counterpart also runs alone against
 * that filter alone (black/blackdetect, freeze/freezedetect, silence/silencedetect,
 * loudness/ebur128, corruption/blockdetect), with Vigil's ingest with no detector and FFmpeg's
 * decode with no filter as the references each one's own cost is read against; the same
 * fresh-process, interleaved, median method, reported in a second table.
 * CPU is user + system seconds of the child over the work (modules already loaded), per
 * second of media; peak RSS is the child's maxRSS. Results go to stdout and to
 * bench/out/results.md and bench/out/results.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RESULT_TAG, type ChildResult } from './common.ts';
import { ensureInput, segmentsFor, type InputSpec } from './gen.ts';

/** Issue 3: with the full default detector set, at most 1.3x FFmpeg's decode-only loop. */
const TARGET = 1.3;
const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const outDir = join(here, 'out');

interface Config {
  readonly id: string;
  readonly label: string;
  readonly script: string;
  /** Extra argument after the input: the detector or filter selection. */
  readonly arg?: string;
}
const CONFIGS: readonly Config[] = [
  { id: 'decode-only', label: 'decode-only (node-av)', script: 'decode-only.ts' },
  {
    id: 'ffmpeg-chain',
    label: 'FFmpeg chain (blackdetect,freezedetect,blockdetect + ebur128,silencedetect)',
    script: 'ffmpeg-chain.ts',
  },
  { id: 'vigil', label: 'Vigil analyze()', script: 'vigil.ts' },
];
type ConfigId = string;

/** --detectors: each Vigil detector with an FFmpeg counterpart, alone, against that filter alone. */
const PAIRS = [
  { detector: 'black', filter: 'blackdetect' },
  { detector: 'freeze', filter: 'freezedetect' },
  { detector: 'silence', filter: 'silencedetect' },
  { detector: 'loudness', filter: 'ebur128' },
  { detector: 'corruption', filter: 'blockdetect' },
] as const;
const PAIR_CONFIGS: readonly Config[] = [
  { id: 'vigil:none', label: 'Vigil, no detector', script: 'vigil.ts', arg: 'none' },
  { id: 'ffmpeg:none', label: "FFmpeg's decode (node-av Decoder), no filter", script: 'ffmpeg-chain.ts', arg: 'none' },
  ...PAIRS.flatMap((p) => [
    { id: `vigil:${p.detector}`, label: `Vigil ${p.detector} alone`, script: 'vigil.ts', arg: p.detector },
    { id: `ffmpeg:${p.filter}`, label: `FFmpeg ${p.filter} alone`, script: 'ffmpeg-chain.ts', arg: p.filter },
  ]),
];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    detectors: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: npm run bench [-- --quick] [-- --runs N] [-- --detectors]\n');
  process.exit(0);
}
const quick = args.quick;
const runs = args.runs !== undefined ? Number(args.runs) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs wants a positive integer, got ${args.runs}`);
const seconds = quick ? 10 : 60;

const INPUTS: InputSpec[] = [
  { name: '720p30', width: 1280, height: 720, fps: 30, bitrate: 4_000_000, seconds },
  { name: '1080p30', width: 1920, height: 1080, fps: 30, bitrate: 8_000_000, seconds },
];
const inputPath = (s: InputSpec): string => join(outDir, `${s.name}-${s.seconds}s.ts`);

const log = (s: string): void => void process.stderr.write(`${s}\n`);

function runChild(script: string, input: string, arg?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, script), input, ...(arg !== undefined ? [arg] : [])],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_TAG));
      if (code !== 0 || !line) {
        reject(
          new Error(
            `${script} ${input}${arg !== undefined ? ` ${arg}` : ''} exited ${code}:\n${err.slice(-4000)}${out.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_TAG.length)) as ChildResult);
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Row {
  readonly input: string;
  readonly config: ConfigId;
  readonly label: string;
  readonly runs: number;
  /** Median CPU seconds per second of media. */
  readonly cpuPerSec: number;
  readonly cpuPerSecRuns: number[];
  /** Median whole-process CPU (startup included) per second of media. */
  readonly cpuTotalPerSec: number;
  readonly ratioToDecode: number;
  readonly ratioToChain: number;
  readonly peakRssMiB: number;
  readonly peakRssMiBRuns: number[];
  readonly rssRatioToDecode: number;
  /** Median wall seconds of the work, and realtime factor (media s / wall s). */
  readonly wallWork: number;
  readonly speed: number;
  readonly info: Record<string, unknown>;
}

const benchStart = performance.now();
mkdirSync(outDir, { recursive: true });

// 1. Inputs (one-time, not measured).
const genStart = performance.now();
let generated = 0;
for (const spec of INPUTS) if (await ensureInput(inputPath(spec), spec, log)) generated++;
const genSeconds = (performance.now() - genStart) / 1000;

// 2. Measurements: for each input, `runs` rounds of the configurations, interleaved so
// drifting load on a shared machine hits every configuration alike.
const configs: readonly Config[] = args.detectors ? [...CONFIGS, ...PAIR_CONFIGS] : CONFIGS;
const rows: Row[] = [];
const measureStart = performance.now();
for (const spec of INPUTS) {
  const input = relative(root, inputPath(spec));
  const results = new Map<ConfigId, ChildResult[]>(configs.map((c) => [c.id, []]));
  for (let r = 0; r < runs; r++) {
    for (const c of configs) {
      const res = await runChild(c.script, input, c.arg);
      results.get(c.id)!.push(res);
      log(
        `${spec.name} run ${r + 1}/${runs} ${c.id.padEnd(19)} cpu ${res.cpuWork.toFixed(2)} s (process ${res.cpuTotal.toFixed(2)} s), ` +
          `wall ${res.wallWork.toFixed(2)} s, peak RSS ${(res.maxRss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  }
  const base = new Map<ConfigId, { cpu: number; rss: number }>();
  for (const c of configs) {
    const rs = results.get(c.id)!;
    base.set(c.id, {
      cpu: median(rs.map((x) => x.cpuWork)) / spec.seconds,
      rss: median(rs.map((x) => x.maxRss)) / 2 ** 20,
    });
  }
  const dec = base.get('decode-only')!;
  const chain = base.get('ffmpeg-chain')!;
  for (const c of configs) {
    const rs = results.get(c.id)!;
    const b = base.get(c.id)!;
    const wall = median(rs.map((x) => x.wallWork));
    rows.push({
      input: spec.name,
      config: c.id,
      label: c.label,
      runs: rs.length,
      cpuPerSec: b.cpu,
      cpuPerSecRuns: rs.map((x) => x.cpuWork / spec.seconds),
      cpuTotalPerSec: median(rs.map((x) => x.cpuTotal)) / spec.seconds,
      ratioToDecode: b.cpu / dec.cpu,
      ratioToChain: b.cpu / chain.cpu,
      peakRssMiB: b.rss,
      peakRssMiBRuns: rs.map((x) => x.maxRss / 2 ** 20),
      rssRatioToDecode: b.rss / dec.rss,
      wallWork: wall,
      speed: spec.seconds / wall,
      info: rs[rs.length - 1]!.info,
    });
  }
}
const measureSeconds = (performance.now() - measureStart) / 1000;

// 3. Report.
const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);
const table = [
  '| input | config | CPU s per stream-second | ratio to decode-only | ratio to FFmpeg chain | peak RSS MiB | RSS ratio to decode-only |',
  '|---|---|--:|--:|--:|--:|--:|',
  ...rows
    .filter((r) => CONFIGS.some((c) => c.id === r.config))
    .map(
      (r) =>
        `| ${r.input} | ${r.label} | ${f3(r.cpuPerSec)} | ${f2(r.ratioToDecode)}× | ${f2(r.ratioToChain)}× | ${r.peakRssMiB.toFixed(0)} | ${f2(r.rssRatioToDecode)}× |`,
    ),
].join('\n');
const verdicts = INPUTS.map((s) => {
  const v = rows.find((r) => r.input === s.name && r.config === 'vigil')!;
  return { input: s.name, ratio: v.ratioToDecode, pass: v.ratioToDecode <= TARGET };
});
const targetLine =
  `Target: Vigil ≤ ${TARGET.toFixed(2)}× decode-only: ` +
  verdicts.map((v) => `${v.input} ${v.pass ? 'PASS' : 'FAIL'} (${f2(v.ratio)}×)`).join(', ');

// --detectors: one row per input and pair. Each side's own cost is its CPU over its own reference
// (Vigil's ingest with no detector; FFmpeg's decode with no filter), as a share of decode-only.
interface PairRow {
  readonly input: string;
  readonly detector: string;
  readonly filter: string;
  readonly vigil: number;
  readonly ffmpeg: number;
  readonly vigilOwn: number;
  readonly ffmpegOwn: number;
}
const pairRows: PairRow[] = args.detectors
  ? INPUTS.flatMap((spec) => {
      const at = (id: string): number => rows.find((r) => r.input === spec.name && r.config === id)!.ratioToDecode;
      return PAIRS.map((p) => ({
        input: spec.name,
        detector: p.detector,
        filter: p.filter,
        vigil: at(`vigil:${p.detector}`),
        ffmpeg: at(`ffmpeg:${p.filter}`),
        vigilOwn: at(`vigil:${p.detector}`) - at('vigil:none'),
        ffmpegOwn: at(`ffmpeg:${p.filter}`) - at('ffmpeg:none'),
      }));
    })
  : [];
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;
const pairTable = pairRows.length
  ? [
      '| input | Vigil detector alone | × decode-only | its own cost | FFmpeg filter alone | × decode-only | its own cost | cheaper |',
      '|---|---|--:|--:|---|--:|--:|---|',
      ...pairRows.map(
        (r) =>
          `| ${r.input} | ${r.detector} | ${f2(r.vigil)}× | ${signed(r.vigilOwn)} | ${r.filter} | ${f2(r.ffmpeg)}× | ${signed(r.ffmpegOwn)} | ${r.vigil < r.ffmpeg ? 'Vigil' : r.vigil > r.ffmpeg ? 'FFmpeg' : 'level'} |`,
      ),
      '',
      ...INPUTS.map((spec) => {
        const at = (id: string): string =>
          f2(rows.find((r) => r.input === spec.name && r.config === id)!.ratioToDecode);
        return `References at ${spec.name}: Vigil with no detector ${at('vigil:none')}×, FFmpeg's decode with no filter ${at('ffmpeg:none')}× decode-only.`;
      }),
      '"Its own cost" is the configuration less its reference (Vigil with no detector; FFmpeg\'s decode with no filter), in units of decode-only; "cheaper" compares the totals.',
    ].join('\n')
  : '';

const nodeAv = (
  JSON.parse(readFileSync(join(root, 'node_modules/node-av/package.json'), 'utf8')) as { version: string }
).version;
const cpu = cpus();
const env = {
  node: process.version,
  nodeAv,
  cpu: `${cpu[0]?.model ?? 'unknown'} × ${cpu.length}`,
  loadavgAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  date: new Date().toISOString(),
};
const seg = segmentsFor(seconds);
const notes = [
  `${runs} run(s) per configuration, median; each run a fresh \`node --import tsx bench/<config>.ts <input>\` process, runs interleaved.`,
  "CPU: user + system seconds of the child process (all its threads) over the work, after modules are loaded, divided by media seconds. Peak RSS: the child's maxRSS (Node + tsx + node-av startup included).",
  `Inputs: ${seconds} s H.264 (libx264 veryfast, GOP 2 s, 720p ~4 Mbit/s, 1080p ~8 Mbit/s) + AAC stereo 48 kHz in MPEG-TS from lavfi testsrc2 + temporal noise; ` +
    `black ${seg.black[0]}-${seg.black[1]} s, freeze ${seg.freeze[0]}-${seg.freeze[1]} s, silence ${seg.silence[0]}-${seg.silence[1]} s.`,
  "Demuxing: packets read as ingest reads them everywhere (src/ingest/packet-reader.ts: av_read_frame on the main thread for a local file, docs/adr/0007-packet-reading.md). Decoding: video as src/ingest/video-decoder.ts (avcodec send/receive, one reused frame, threadCount 1) in decode-only and Vigil, node-av's Decoder (threadCount 1) in the FFmpeg chain; audio through node-av's Decoder resampled to planar float everywhere. Filter graphs threads 1.",
  `Machine: ${env.cpu}, Node ${env.node}, node-av ${env.nodeAv}; load average at end ${env.loadavgAtEnd.join(' ')}.`,
];
const md = [
  `## Vigil bench${quick ? ' (--quick)' : ''}`,
  '',
  table,
  '',
  targetLine,
  '',
  ...(pairTable ? ['### Each detector alone against its FFmpeg counterpart alone', '', pairTable, ''] : []),
  ...notes.map((n) => `- ${n}`),
  '',
].join('\n');
const totalSeconds = (performance.now() - benchStart) / 1000;

process.stdout.write(`\n${table}\n\n${targetLine}\n\n${pairTable ? `${pairTable}\n\n` : ''}`);
for (const r of rows)
  process.stdout.write(`${r.input} ${r.config}: ${r.speed.toFixed(1)}× realtime, ${JSON.stringify(r.info)}\n`);
process.stdout.write(
  `\nbench took ${totalSeconds.toFixed(0)} s (input generation ${genSeconds.toFixed(0)} s for ${generated} new input(s), measurement ${measureSeconds.toFixed(0)} s)\n`,
);

writeFileSync(join(outDir, 'results.md'), md);
writeFileSync(
  join(outDir, 'results.json'),
  JSON.stringify(
    {
      quick,
      runs,
      seconds,
      target: { maxRatioToDecodeOnly: TARGET, verdicts },
      env,
      timing: { totalSeconds, genSeconds, measureSeconds },
      rows,
      pairs: pairRows,
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(
  `wrote ${relative(root, join(outDir, 'results.md'))} and ${relative(root, join(outDir, 'results.json'))}\n`,
);

// A full run (not --quick) keeps README's headline table current.
if (!quick) {
  const readmePath = join(root, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a >= 0 && b > a) {
    const body = [table, '', targetLine, '', ...(pairTable ? [pairTable, ''] : []), ...notes.map((n) => `- ${n}`)].join(
      '\n',
    );
    writeFileSync(readmePath, `${readme.slice(0, a + start.length)}\n${body}\n${readme.slice(b)}`);
    process.stdout.write('updated the benchmark table in README.md\n');
  }
}
