/**
 * `npm run train`: regenerate the corruption model (src/detect/corruption/model.json).
 *
 * 1. Sequences: each source (lavfi or a clip from ../shared/media, scaled to a macroblock-aligned
 *    size) is encoded with one codec clean, starved (low bitrate, blocky but intact), and damaged
 *    (drop / bitflip / burst, seeded), decoded with concealment, and both the clean and the damaged
 *    decode are re-encoded cleanly (upstream damage baked in).
 * 2. Labels per 16x16 block from the damaged decode against the clean decode (MAD >= 8 damaged,
 *    < 3 intact, in between left out).
 * 3. Features (src/detect/corruption/features.ts) on every 5th frame, as the detector sees them.
 * 4. A perceptron with 16 hidden units, then the block threshold and the frame area threshold are chosen on the
 *    training set; a confusion summary is printed for training and held-out sequences.
 * Everything is seeded: the same inputs give the same model.
 */
import { writeFileSync } from 'node:fs';
import { AV_LOG_QUIET } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { fileURLToPath } from 'node:url';
import type { DamageCodec, DamageMode } from '../../src/simulate/damage.ts';
import { FEATURE_NAMES, NUM_FEATURES } from '../../src/detect/corruption/features.ts';
import { featuresOf, makeSequence, type FeatureSet, type SequenceSpec, type Source } from './data.ts';
import { predict, train, type Mlp } from './mlp.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const STEP = 5;
const FPS = 25;
const FRAMES = 40;

const TRAIN_SOURCES: Source[] = [
  { name: 'testsrc2', lavfi: 'testsrc2=s={S}:r={R}' },
  { name: 'smptebars', lavfi: 'smptebars=s={S}:r={R}' },
  { name: 'cellauto', lavfi: 'cellauto=s={S}:r={R}:rule=110' },
  { name: 'gradients', lavfi: 'gradients=s={S}:r={R}:speed=0.05' },
  { name: 'noise', lavfi: 'testsrc2=s={S}:r={R},noise=alls=30:allf=t' },
  { name: 'bbb', clip: `${MEDIA}bbb_720p_vp8_vorbis_0-30s.webm`, skip: 4 },
  { name: 'chaplin', clip: `${MEDIA}chaplin_bw_pillarbox_640x360.mp4`, skip: 2 },
  { name: 'speech', clip: `${MEDIA}speech_his_girl_friday_bw_640x480.mp4`, skip: 3 },
  { name: 'parking', clip: `${MEDIA}static_parking_lot_overhead_768x432.mp4`, skip: 2 },
  { name: 'flower', clip: `${MEDIA}flower_closeup_silent_audio_540p.mp4`, skip: 1 },
  { name: 'bbb180', clip: `${MEDIA}bbb_180p_vp9_opus.webm`, skip: 3 },
];
/** Never trained on: the held-out content (and the tests use these clips too). */
const HELD_OUT_SOURCES: Source[] = [
  { name: 'mandelbrot', lavfi: 'mandelbrot=s={S}:r={R}' },
  { name: 'life', lavfi: 'life=s={S}:r={R}:mold=10:ratio=0.3:life_color=#e0e0e0:death_color=#202020' },
  { name: 'handheld', clip: `${MEDIA}handheld_crystal_toy_480p.mp4`, skip: 1 },
  { name: 'water', clip: `${MEDIA}static_water_stream_480x360.mp4`, skip: 1 },
  { name: 'bear', clip: `${MEDIA}bear_vp9_320x240_noaudio.webm`, skip: 0 },
  { name: 'sintel', clip: `${MEDIA}sintel_256x110_lowbitrate_blocky.mp4`, skip: 2 },
];
const CODECS: DamageCodec[] = ['h264', 'mpeg2video', 'hevc'];
const MODES: Array<{ mode: DamageMode; rate: number }> = [
  { mode: 'drop', rate: 0.15 },
  { mode: 'bitflip', rate: 0.3 },
  { mode: 'burst', rate: 0.3 },
];

function specs(sources: Source[], seedBase: number): SequenceSpec[] {
  const out: SequenceSpec[] = [];
  let k = 0;
  for (const source of sources) {
    for (const codec of CODECS) {
      const m = MODES[k % MODES.length]!;
      const big = k % 4 === 3;
      out.push({
        source,
        codec,
        reencodeCodec: k % 3 === 2 ? 'hevc' : 'h264',
        mode: m.mode,
        rate: m.rate,
        seed: seedBase + k,
        width: big ? 480 : 320,
        height: big ? 272 : 192,
        frames: FRAMES,
        fps: FPS,
      });
      k++;
    }
  }
  return out;
}

interface Collected {
  name: string;
  kind: string;
  set: FeatureSet;
}

async function collect(list: SequenceSpec[], phases: number[]): Promise<Collected[]> {
  const out: Collected[] = [];
  for (const s of list) {
    const t0 = performance.now();
    const variants = await makeSequence(s);
    for (const v of variants) {
      for (const phase of phases) out.push({ name: `${s.source.name}/${s.codec}/${s.mode}`, kind: v.kind, set: featuresOf(v, STEP, phase) });
      for (const f of v.frames) f.free();
    }
    console.log(`  ${s.source.name} ${s.codec} ${s.mode} -> reencode ${s.reencodeCodec} ${s.width}x${s.height}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return out;
}

/** Flatten to samples: every damaged and ambiguous-free block; intact blocks subsampled. */
function samples(data: Collected[]): { x: Float32Array; y: Uint8Array; w: Float32Array; n: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  let r = 12345;
  const rand = (): number => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const c of data) {
    c.set.x.forEach((fx, fi) => {
      const lab = c.set.y[fi];
      const n = fx.length / NUM_FEATURES;
      for (let b = 0; b < n; b++) {
        const l = lab ? lab[b]! : 0;
        if (l < 0) continue;
        if (l === 0 && rand() > 0.15) continue;
        for (let j = 0; j < NUM_FEATURES; j++) xs.push(fx[b * NUM_FEATURES + j]!);
        ys.push(l);
      }
    });
  }
  const n = ys.length;
  const y = Uint8Array.from(ys);
  const pos = ys.reduce((a, b) => a + b, 0);
  const w = Float32Array.from(ys, (v) => (v ? (n - pos) / Math.max(1, pos) / 2 : 1));
  return { x: Float32Array.from(xs), y, w, n };
}

interface FrameScore {
  ratio: number;
  truth: number; // damaged fraction of blocks (labels), 0 for intact variants
}

function scoreFrames(m: Mlp, data: Collected[], blockThr: number): Map<Collected, FrameScore[]> {
  const out = new Map<Collected, FrameScore[]>();
  const h = new Float64Array(m.hidden);
  for (const c of data) {
    out.set(
      c,
      c.set.x.map((fx, fi) => {
        const n = fx.length / NUM_FEATURES;
        let hit = 0;
        for (let b = 0; b < n; b++) if (predict(m, fx, b, h) >= blockThr) hit++;
        const lab = c.set.y[fi];
        let pos = 0;
        if (lab) for (let b = 0; b < n; b++) if (lab[b] === 1) pos++;
        return { ratio: hit / n, truth: pos / n };
      }),
    );
  }
  return out;
}

/** A frame is damaged (truth) when at least this fraction of its blocks is. */
const TRUTH_AREA = 0.02;

function report(title: string, scores: Map<Collected, FrameScore[]>, areaThr: number, minRun: number): void {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let itp = 0;
  let ifp = 0;
  let ifn = 0;
  let itn = 0;
  const falseAlarms: string[] = [];
  for (const [c, fs] of scores) {
    let run = 0;
    let fired = false;
    let damaged = false;
    for (const f of fs) {
      const t = f.truth >= TRUTH_AREA;
      const p = f.ratio >= areaThr;
      if (t && p) tp++;
      else if (!t && p) fp++;
      else if (t && !p) fn++;
      else tn++;
      damaged ||= t;
      run = p ? run + 1 : 0;
      if (run >= minRun) fired = true;
    }
    if (damaged && fired) itp++;
    else if (!damaged && fired) {
      ifp++;
      falseAlarms.push(`${c.name} ${c.kind}`);
    } else if (damaged && !fired) ifn++;
    else itn++;
  }
  const prec = (a: number, b: number): string => (a + b > 0 ? (a / (a + b)).toFixed(3) : 'n/a');
  console.log(`${title}: frames TP ${tp} FP ${fp} FN ${fn} TN ${tn}  precision ${prec(tp, fp)} recall ${prec(tp, fn)}`);
  console.log(`${title}: sequences (incident = ${minRun} analysed frames in a row) TP ${itp} FP ${ifp} FN ${ifn} TN ${itn}  precision ${prec(itp, ifp)} recall ${prec(itp, ifn)}`);
  if (falseAlarms.length) console.log(`  false alarms: ${[...new Set(falseAlarms)].join(', ')}`);
}

function perKind(title: string, scores: Map<Collected, FrameScore[]>, areaThr: number): void {
  const kinds = new Map<string, { hit: number; n: number; maxClean: number }>();
  for (const [c, fs] of scores) {
    const k = kinds.get(c.kind) ?? { hit: 0, n: 0, maxClean: 0 };
    for (const f of fs) {
      if (c.kind === 'decoded' || c.kind === 'reencoded') {
        if (f.truth >= TRUTH_AREA) {
          k.n++;
          if (f.ratio >= areaThr) k.hit++;
        }
      } else k.maxClean = Math.max(k.maxClean, f.ratio);
    }
    kinds.set(c.kind, k);
  }
  for (const [kind, k] of kinds) {
    console.log(`  ${title} ${kind}: ${k.n ? `recall ${(k.hit / k.n).toFixed(3)} of ${k.n} damaged frames` : `highest area ratio on intact frames ${k.maxClean.toFixed(3)}`}`);
  }
}

async function main(): Promise<void> {
  Log.setLevel(AV_LOG_QUIET); // concealment messages by the thousand otherwise
  const t0 = performance.now();
  console.log('training sequences');
  const limit = Number(process.env.TRAIN_LIMIT ?? Infinity);
  const trainData = await collect(specs(TRAIN_SOURCES, 1000).slice(0, limit), [0, 2]);
  console.log('held-out sequences (other content, other seeds)');
  const heldData = await collect(specs(HELD_OUT_SOURCES, 9000).slice(0, limit), [1]);
  const { x, y, w, n } = samples(trainData);
  const pos = y.reduce((a, b) => a + b, 0);
  console.log(`${n} training blocks (${pos} damaged), ${NUM_FEATURES} features`);
  const m = train(x, y, w, n, NUM_FEATURES, { hidden: 16, epochs: 10, seed: 7, lr: 0.01 });

  // Thresholds from the training set only: for each candidate block threshold, the area threshold
  // sits 25% (and 0.01) above the highest ratio any intact training frame reached; keep the
  // candidate with the best recall on damaged training frames.
  let best = { blockThr: 0.5, areaThr: 1, recall: -1, maxClean: 0 };
  let trainScores = scoreFrames(m, trainData, 0.5);
  for (const cand of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98]) {
    const sc = scoreFrames(m, trainData, cand);
    let hit = 0;
    let total = 0;
    const ratios: number[] = [];
    const intact: number[] = [];
    for (const [c, fs] of sc) {
      const damagedKind = c.kind === 'decoded' || c.kind === 'reencoded';
      for (const f of fs) {
        if (!damagedKind) intact.push(f.ratio);
        else if (f.truth >= TRUTH_AREA) ratios.push(f.ratio);
      }
    }
    // 99.5th percentile of intact frames: an incident needs several analysed frames in a row.
    intact.sort((a, b) => a - b);
    const maxClean = intact[Math.floor(intact.length * 0.995)] ?? 0;
    const areaThr = Math.min(0.5, maxClean * 1.25 + 0.01);
    for (const r of ratios) {
      total++;
      if (r >= areaThr) hit++;
    }
    const recall = hit / Math.max(1, total);
    console.log(`  block threshold ${cand}: intact p99.5 ${maxClean.toFixed(3)}, area threshold ${areaThr.toFixed(3)}, damaged-frame recall ${recall.toFixed(3)}`);
    if (recall > best.recall) {
      best = { blockThr: cand, areaThr, recall, maxClean };
      trainScores = sc;
    }
  }
  const { blockThr, areaThr, maxClean } = best;
  console.log(`block threshold ${blockThr}, 99.5th percentile of the area ratio on intact training frames ${maxClean.toFixed(3)} -> area threshold ${areaThr.toFixed(3)}`);
  report('train', trainScores, areaThr, 2);
  perKind('train', trainScores, areaThr);
  const heldScores = scoreFrames(m, heldData, blockThr);
  report('held-out', heldScores, areaThr, 2);
  perKind('held-out', heldScores, areaThr);

  const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
  const model = {
    features: [...FEATURE_NAMES],
    mean: m.mean.map(r6),
    std: m.std.map(r6),
    w1: Array.from(m.w1, r6),
    b1: Array.from(m.b1, r6),
    w2: Array.from(m.w2, r6),
    b2: r6(m.b2),
    blockThreshold: blockThr,
    areaThreshold: r6(areaThr),
    trainedOn: {
      sources: TRAIN_SOURCES.map((s) => s.name),
      heldOut: HELD_OUT_SOURCES.map((s) => s.name),
      codecs: CODECS,
      modes: MODES,
      frameStep: STEP,
      samples: n,
      damagedSamples: pos,
    },
  };
  writeFileSync(new URL('../../src/detect/corruption/model.json', import.meta.url), `${JSON.stringify(model, null, 1)}\n`);
  console.log(`wrote src/detect/corruption/model.json in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

await main();
