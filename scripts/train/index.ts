/**
 * `npm run train`: regenerate the corruption model (src/detect/corruption/model.json).
 *
 * 1. Sequences: each source (lavfi or a clip from ../shared/media, scaled to a macroblock-aligned
 *    size) is encoded with one codec clean, starved (low bitrate, blocky but intact), and damaged
 *    (drop / bitflip / burst, seeded), decoded with concealment, and both the clean and the damaged
 *    decode are re-encoded cleanly (upstream damage baked in).
 * 2. Labels per 16x16 block from the damaged decode against the clean decode (MAD >= 20 damaged,
 *    < 4 intact, in between left out).
 * 3. Features (src/detect/corruption/features.ts) on every 5th frame, as the detector sees them.
 * 4. Two small perceptrons (per block, then with neighbour and previous-frame context); the block
 *    and area thresholds are chosen on the training set (best recall such that at most 1% of intact
 *    training sequences would open an incident); a confusion summary is printed for training and held-out.
 * Everything is seeded: the same inputs give the same model.
 */
import { writeFileSync } from 'node:fs';
import { AV_LOG_QUIET } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { fileURLToPath } from 'node:url';
import type { DamageCodec, DamageMode } from '../../src/simulate/damage.ts';
import { FEATURE_NAMES, NUM_FEATURES } from '../../src/detect/corruption/features.ts';
import { contextRows, NUM_STAGE2, STAGE2_GATE } from '../../src/detect/corruption/model.ts';
import { cachedPlanes, featuresOf, makeSequence, simulatorLowrate, storePlanes, toPlanes, type FeatureSet, type SequenceSpec, type Source } from './data.ts';
import { predict, train, type Mlp } from './mlp.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
/** Analysed-frame spacing in frames (at FPS): the detector's analysisInterval. TRAIN_STEP overrides it (experiments). */
const STEP = Number(process.env.TRAIN_STEP ?? 5);
/** Analysed frames in a row that open an incident (the detector's minDuration 0.4 s at 0.2 s spacing). */
const MIN_RUN = 2;
/** Share of intact training sequences allowed to reach the area threshold (the operating point). */
const INTACT_ALARM_RATE = 0.01;
const FPS = 25;
/** Frames per training sequence (TRAIN_FRAMES overrides it: experiments; the held-out sequences keep 40). */
const FRAMES = Number(process.env.TRAIN_FRAMES ?? 40);
/** Training sequences per source and codec, each with the next damage mode and its own seed (TRAIN_VARIANTS: experiments; held-out keeps 1). */
const VARIANTS = Number(process.env.TRAIN_VARIANTS ?? 1);
/** Hidden units of both perceptrons: small, so the model cannot learn the training content by heart. */
const HIDDEN = Number(process.env.TRAIN_HIDDEN ?? 6);

const TRAIN_SOURCES: Source[] = [
  { name: 'testsrc2', lavfi: 'testsrc2=s={S}:r={R}' },
  { name: 'smptebars', lavfi: 'smptebars=s={S}:r={R}' },
  { name: 'cellauto', lavfi: 'cellauto=s={S}:r={R}:rule=110:seed=11' },
  { name: 'gradients', lavfi: 'gradients=s={S}:r={R}:speed=0.05:seed=15:n=3:c0=0x203040:c1=0xe0c080:c2=0x60a0ff:x0=0:y0=0:x1=300:y1=180' },
  { name: 'noise', lavfi: 'testsrc2=s={S}:r={R},noise=alls=30:allf=t:all_seed=12' },
  { name: 'grid', lavfi: 'testsrc2=s={S}:r={R},drawgrid=w=21:h=17:t=2:c=white@0.8' },
  {
    name: 'cuts',
    clip: `${MEDIA}bbb_720p_vp8_vorbis_0-30s.webm`,
    skip: 12,
    cutWith: { name: 'parking', clip: `${MEDIA}static_parking_lot_overhead_768x432.mp4`, skip: 8 },
    cutEvery: 7,
  },
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
  { name: 'life', lavfi: 'life=s={S}:r={R}:seed=13:mold=10:ratio=0.3:life_color=#e0e0e0:death_color=#202020' },
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

function specs(sources: Source[], seedBase: number, frames = 40, variants = 1): SequenceSpec[] {
  const out: SequenceSpec[] = [];
  let k = 0;
  for (const source of sources) {
    for (const codec of CODECS) {
      for (let v = 0; v < variants; v++) {
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
          frames,
          fps: FPS,
        });
        k++;
      }
    }
  }
  return out;
}

interface Collected {
  name: string;
  kind: string;
  set: FeatureSet;
}

/**
 * Intact starved encodes from the simulator's encoder (x264 ultrafast: no deblocking), small
 * pictures, where the shipped model takes the hard block edges for damage (320x180 testsrc2 at
 * 200 kbit/s: 6 incidents in 30 s before the detector's stream baseline). The held-out list is
 * always reported; the training list is used only with TRAIN_SIM=1 (see ADR 0003: it made the
 * model worse).
 */
const SIM_LOWRATE: Array<{ source: string; width: number; height: number; kbps: number }> = [
  { source: 'testsrc2', width: 320, height: 180, kbps: 100 },
  { source: 'testsrc2', width: 320, height: 180, kbps: 200 },
  { source: 'smptebars', width: 320, height: 180, kbps: 100 },
  { source: 'cellauto', width: 320, height: 192, kbps: 150 },
  { source: 'testsrc2', width: 480, height: 272, kbps: 250 },
];
const SIM_LOWRATE_HELD_OUT: typeof SIM_LOWRATE = [
  { source: 'mandelbrot', width: 320, height: 180, kbps: 100 },
  { source: 'mandelbrot', width: 320, height: 180, kbps: 200 },
  { source: 'mandelbrot', width: 320, height: 180, kbps: 300 },
  { source: 'life', width: 320, height: 180, kbps: 150 },
];
const SIM_SECONDS = 8;

async function collectSim(list: typeof SIM_LOWRATE, phases: number[]): Promise<Collected[]> {
  const out: Collected[] = [];
  for (const s of list) {
    const key = `sim-${s.source}-${s.width}x${s.height}-${s.kbps}`;
    let vs = cachedPlanes(key);
    if (!vs) {
      vs = [toPlanes(await simulatorLowrate(s.source, s.width, s.height, s.kbps, SIM_SECONDS, FPS))];
      storePlanes(key, vs);
    }
    const v = vs[0]!;
    for (const phase of phases) out.push({ name: `${s.source}/sim-${s.kbps}k`, kind: v.kind, set: featuresOf(v, STEP, phase) });
  }
  return out;
}

async function collect(list: SequenceSpec[], phases: number[]): Promise<Collected[]> {
  const out: Collected[] = [];
  for (const s of list) {
    const t0 = performance.now();
    const key = `${s.source.name}-${s.codec}-${s.mode}-${s.rate}-${s.reencodeCodec}-${s.seed}-${s.width}x${s.height}-${s.frames}`;
    let variants = cachedPlanes(key);
    if (!variants) {
      variants = (await makeSequence(s)).map(toPlanes);
      storePlanes(key, variants);
    }
    for (const v of variants) {
      for (const phase of phases) out.push({ name: `${s.source.name}/${s.codec}/${s.mode}`, kind: v.kind, set: featuresOf(v, STEP, phase) });
    }
    console.log(`  ${s.source.name} ${s.codec} ${s.mode} -> reencode ${s.reencodeCodec} ${s.width}x${s.height}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return out;
}

/** Flatten to samples: every damaged and ambiguous-free block; intact blocks subsampled. */
function samples(data: Collected[], rowsOf: (c: Collected) => Float32Array[], d: number): { x: Float32Array; y: Uint8Array; w: Float32Array; n: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  let r = 12345;
  const rand = (): number => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 4294967296);
  for (const c of data) {
    rowsOf(c).forEach((fx, fi) => {
      if (c.set.cut[fi]) return;
      const lab = c.set.y[fi];
      const n = fx.length / d;
      for (let b = 0; b < n; b++) {
        const l = lab ? lab[b]! : 0;
        if (l < 0) continue;
        if (l === 0 && rand() > 0.15) continue;
        for (let j = 0; j < d; j++) xs.push(fx[b * d + j]!);
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

/** Stage-2 input rows of every analysed frame of c, from stage-1 scores (as the detector does). */
function stage2Rows(m1: Mlp, c: Collected): Float32Array[] {
  const h = new Float64Array(m1.hidden);
  let prev: Float32Array | null = null;
  return c.set.x.map((fx, fi) => {
    const n = fx.length / NUM_FEATURES;
    const p1 = new Float32Array(n);
    for (let b = 0; b < n; b++) p1[b] = predict(m1, fx, b, h);
    const rows = new Float32Array(n * NUM_STAGE2);
    contextRows(fx, p1, prev, c.set.cols, c.set.rows, c.set.key[fi]!, rows);
    prev = p1;
    return rows;
  });
}

/** Blocks the stage-2 gate (STAGE2_GATE) turned off although stage 2 would have given them >= ERROR_BLOCK_THRESHOLD. */
let gatedAway = 0;
/** Blocks stage 2 scored, of all blocks judged. */
let stage2Scored = 0;
let stage2All = 0;

/** Final block probabilities per analysed frame, with the detector's stage-2 gate. */
function blockMaps(m1: Mlp, m2: Mlp, data: Collected[]): Map<Collected, Float32Array[]> {
  const out = new Map<Collected, Float32Array[]>();
  const h = new Float64Array(m2.hidden);
  const P1 = NUM_FEATURES;
  gatedAway = 0;
  stage2Scored = 0;
  stage2All = 0;
  for (const c of data) {
    out.set(
      c,
      stage2Rows(m1, c).map((rows, fi) => {
        const n = rows.length / NUM_STAGE2;
        const p = new Float32Array(n);
        if (c.set.cut[fi]) return p; // not judged, as in the detector
        for (let b = 0; b < n; b++) {
          const o = b * NUM_STAGE2 + P1;
          const open = rows[o]! >= STAGE2_GATE || rows[o + 1]! >= STAGE2_GATE || rows[o + 2]! >= STAGE2_GATE || rows[o + 3]! >= STAGE2_GATE;
          stage2All++;
          if (open) {
            stage2Scored++;
            p[b] = predict(m2, rows, b, h);
          } else if (predict(m2, rows, b, h) >= ERROR_BLOCK_THRESHOLD) gatedAway++;
        }
        return p;
      }),
    );
  }
  return out;
}

/** Block threshold on frames the decoder flagged (its own error report raises the prior of damage). */
const ERROR_BLOCK_THRESHOLD = 0.5;

function scoreFrames(maps: Map<Collected, Float32Array[]>, blockThr: number): Map<Collected, FrameScore[]> {
  const out = new Map<Collected, FrameScore[]>();
  for (const [c, ps] of maps) {
    out.set(
      c,
      ps.map((p, fi) => {
        const n = p.length;
        let hit = 0;
        const thr = c.set.err[fi] ? Math.min(blockThr, ERROR_BLOCK_THRESHOLD) : blockThr;
        for (let b = 0; b < n; b++) if (p[b]! >= thr) hit++;
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
  const kinds = new Map<string, { hit: number; n: number; maxClean: number; at: string }>();
  for (const [c, fs] of scores) {
    const k = kinds.get(c.kind) ?? { hit: 0, n: 0, maxClean: 0, at: '' };
    for (const f of fs) {
      if (c.kind === 'decoded' || c.kind === 'reencoded') {
        if (f.truth >= TRUTH_AREA) {
          k.n++;
          if (f.ratio >= areaThr) k.hit++;
        }
      } else if (f.ratio > k.maxClean) {
        k.maxClean = f.ratio;
        k.at = c.name;
      }
    }
    kinds.set(c.kind, k);
  }
  for (const [kind, k] of kinds) {
    console.log(`  ${title} ${kind}: ${k.n ? `recall ${(k.hit / k.n).toFixed(3)} of ${k.n} damaged frames` : `highest area ratio on intact frames ${k.maxClean.toFixed(3)} (${k.at})`}`);
  }
}

/** Per-block precision and recall at a block threshold (labelled blocks; intact variants' blocks are all intact; frames not judged count as not flagged). */
function blockReport(title: string, maps: Map<Collected, Float32Array[]>, blockThr: number): void {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const [c, ps] of maps) {
    ps.forEach((p, fi) => {
      const lab = c.set.y[fi];
      const thr = c.set.err[fi] ? Math.min(blockThr, ERROR_BLOCK_THRESHOLD) : blockThr;
      for (let b = 0; b < p.length; b++) {
        const l = lab ? lab[b]! : 0;
        if (l < 0) continue;
        const hit = p[b]! >= thr;
        if (hit && l === 1) tp++;
        else if (hit) fp++;
        else if (l === 1) fn++;
      }
    });
  }
  console.log(`${title}: blocks TP ${tp} FP ${fp} FN ${fn}  precision ${(tp / Math.max(1, tp + fp)).toFixed(3)} recall ${(tp / Math.max(1, tp + fn)).toFixed(3)}`);
}

async function main(): Promise<void> {
  Log.setLevel(AV_LOG_QUIET); // concealment messages by the thousand otherwise
  const t0 = performance.now();
  console.log('training sequences');
  const limit = Number(process.env.TRAIN_LIMIT ?? Infinity);
  // SIM_LOWRATE joins the training set only with TRAIN_SIM=1: tried once (ADR 0003), it did not
  // teach the model the difference and cost most of its held-out precision and recall.
  const trainSim = process.env.TRAIN_SIM === '1' ? await collectSim(SIM_LOWRATE, [0, 2]) : [];
  const trainPhases = STEP === 5 ? [0, 2] : [0, 2, 4, 6, 8].filter((p) => p < STEP);
  const trainData = [...(await collect(specs(TRAIN_SOURCES, 1000, FRAMES, VARIANTS).slice(0, limit), trainPhases)), ...trainSim];
  console.log('held-out sequences (other content, other seeds)');
  const heldData = [...(await collect(specs(HELD_OUT_SOURCES, 9000).slice(0, limit), [1])), ...(await collectSim(SIM_LOWRATE_HELD_OUT, [1]))];
  const { x, y, w, n } = samples(trainData, (c) => c.set.x, NUM_FEATURES);
  const pos = y.reduce((a, b) => a + b, 0);
  console.log(`stage 1: ${n} training blocks (${pos} damaged), ${NUM_FEATURES} features`);
  const m1 = train(x, y, w, n, NUM_FEATURES, { hidden: HIDDEN, epochs: 10, seed: 7, lr: 0.01 });
  const s2 = samples(trainData, (c) => stage2Rows(m1, c), NUM_STAGE2);
  console.log(`stage 2: ${s2.n} training blocks, ${NUM_STAGE2} inputs`);
  const m = train(s2.x, s2.y, s2.w, s2.n, NUM_STAGE2, { hidden: HIDDEN, epochs: 10, seed: 8, lr: 0.01 });
  const trainMaps = blockMaps(m1, m, trainData);

  // Thresholds from the training set only: for each candidate block threshold, the area threshold
  // sits 25% (and 0.01) above the highest ratio any intact training frame reached; keep the
  // candidate with the best recall on damaged training frames.
  let best = { blockThr: 0.5, areaThr: 1, recall: -1, maxClean: 0 };
  let trainScores = scoreFrames(trainMaps, 0.5);
  for (const cand of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98]) {
    const sc = scoreFrames(trainMaps, cand);
    let hit = 0;
    let total = 0;
    const ratios: number[] = [];
    // The detector opens an incident after MIN_RUN analysed frames in a row at or above the area
    // threshold: the threshold sits above what intact training sequences held for MIN_RUN frames.
    const heldBySequence: number[] = [];
    for (const [c, fs] of sc) {
      const damagedKind = c.kind === 'decoded' || c.kind === 'reencoded';
      let seqMax = 0;
      for (let i = 0; i < fs.length; i++) {
        const f = fs[i]!;
        if (damagedKind) {
          if (f.truth >= TRUTH_AREA) ratios.push(f.ratio);
        } else if (i + MIN_RUN <= fs.length) {
          let held = Infinity;
          for (let k = 0; k < MIN_RUN; k++) held = Math.min(held, fs[i + k]!.ratio);
          seqMax = Math.max(seqMax, held);
        }
      }
      if (!damagedKind) heldBySequence.push(seqMax);
    }
    // The operating point: at most INTACT_ALARM_RATE of the intact training sequences would open an
    // incident (the worst 1%, heavy synthetic grain and cellular automata, would).
    heldBySequence.sort((a, b) => a - b);
    const maxClean = heldBySequence[Math.min(heldBySequence.length - 1, Math.floor(heldBySequence.length * (1 - INTACT_ALARM_RATE)))] ?? 0;
    const areaThr = maxClean * 1.2 + 0.01;
    for (const r of ratios) {
      total++;
      if (r >= areaThr) hit++;
    }
    const recall = hit / Math.max(1, total);
    console.log(`  block threshold ${cand}: intact held ${maxClean.toFixed(3)}, area threshold ${areaThr.toFixed(3)}, damaged-frame recall ${recall.toFixed(3)}`);
    // A candidate that needs half the picture flagged before it counts is no detector.
    if (areaThr <= 0.5 && recall > best.recall) {
      best = { blockThr: cand, areaThr, recall, maxClean };
      trainScores = sc;
    }
  }
  const { blockThr, areaThr, maxClean } = best;
  console.log(`block threshold ${blockThr}, area ratio held for ${MIN_RUN} analysed frames by the 99th-percentile intact training sequence ${maxClean.toFixed(3)} -> area threshold ${areaThr.toFixed(3)}`);
  console.log(`train: stage 2 scored ${((100 * stage2Scored) / Math.max(1, stage2All)).toFixed(1)}% of blocks (stage-1 gate ${STAGE2_GATE}); ${gatedAway} blocks gated off would have reached ${ERROR_BLOCK_THRESHOLD}`);
  blockReport('train', trainMaps, blockThr);
  report('train', trainScores, areaThr, MIN_RUN);
  perKind('train', trainScores, areaThr);
  const heldMaps = blockMaps(m1, m, heldData);
  const heldScores = scoreFrames(heldMaps, blockThr);
  console.log(`held-out: stage 2 scored ${((100 * stage2Scored) / Math.max(1, stage2All)).toFixed(1)}% of blocks; ${gatedAway} blocks gated off would have reached ${ERROR_BLOCK_THRESHOLD}`);
  blockReport('held-out', heldMaps, blockThr);
  report('held-out', heldScores, areaThr, MIN_RUN);
  perKind('held-out', heldScores, areaThr);

  const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
  const dump = (k: Mlp) => ({ mean: k.mean.map(r6), std: k.std.map(r6), w1: Array.from(k.w1, r6), b1: Array.from(k.b1, r6), w2: Array.from(k.w2, r6), b2: r6(k.b2) });
  const model = {
    features: [...FEATURE_NAMES],
    stage1: dump(m1),
    stage2: dump(m),
    blockThreshold: blockThr,
    errorBlockThreshold: ERROR_BLOCK_THRESHOLD,
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
