/**
 * Per-macroblock features for the corruption model, computed on the full-resolution luma plane
 * on the 16-px macroblock grid (the grid H.264, HEVC (at 16 px CTB sub-blocks), MPEG-2 and the
 * decoders' concealment work on). Shared by the detector and the training script
 * (scripts/train), so both see exactly the same numbers.
 *
 * Per block, sampled sparsely (4 rows and 4 columns of the 16) to keep the cost low:
 * - interior: mean |horizontal step| along 4 rows and |vertical step| along 4 columns;
 * - edge: mean |step| across the block's four boundaries (every other pixel);
 * - mean and spread of the sampled pixels;
 * then, per frame, the same quantities relative to the frame's median (compression blockiness
 * and grain are spread over the whole picture; damage is local), the change of the block since
 * the previous analysed frame (again relative to the frame median, so cuts and pans are not
 * local events), the block's DC step against its neighbours, and its neighbours' blockiness.
 */

import { selectInPlace } from '../../shared/index.ts';
import { Kernels } from './kernels.ts';
import { log, log1p } from './log.ts';

export const MB = 16;
export const FEATURE_NAMES = [
  'logEdgeRatio',
  'logInterior',
  'logEdge',
  'relEdgeRatio',
  'anisotropy',
  'temporalVsRow',
  'relTemporal',
  'logDcStep',
  'relDcStep',
  'neighbourRelEdge',
  'logSpread',
  'relTextureChange',
  'decodeError',
  'flatMismatch',
  'rowRelEdge',
  'localTemporal',
  'maxSideRatio',
  'rowSliceEdge',
  'gridExcess',
  'gridExcessMax',
  'relGridExcess',
  'hfRatio',
  'relHfRatio',
  'gridPhaseRatio',
  'relGridPhaseRatio',
] as const;
export const NUM_FEATURES = FEATURE_NAMES.length;

/** Float32 arrays of one value per block in the kernels' per-stream state (assembly/kernels.ts STATE_ARRAYS). */
const STATE_ARRAYS = 30;
/** Bytes after them for the median's histogram (assembly/kernels.ts MEDIAN_SCRATCH_BYTES). */
const MEDIAN_SCRATCH_BYTES = 2048 * 4;

/** Per-stream state: last analysed frame's block statistics and scratch buffers. */
export class BlockFeatures {
  /** WebAssembly kernels, or null for the TypeScript loops (reference; fallback where WebAssembly is unavailable). */
  private readonly kernels: Kernels | null;
  private wasmFor = '';
  private wState = 0;
  /** View on the kernels' memory where each plane is copied (made once per layout). */
  private wLumaView = new Uint8Array(0);
  private wLuma = 0;
  private wOut = 0;
  private wAcc = 0;
  cols = 0;
  rows = 0;
  private n = 0;
  private mean = new Float32Array(0);
  private interior = new Float32Array(0);
  private hInt = new Float32Array(0);
  private vInt = new Float32Array(0);
  private spread = new Float32Array(0);
  private leftEdge = new Float32Array(0);
  private leftExcess = new Float32Array(0);
  private topExcess = new Float32Array(0);
  private hf = new Float32Array(0);
  private gridEx = new Float32Array(0);
  private offGrid = new Float32Array(0);
  private phase = new Float32Array(0);
  private topEdge = new Float32Array(0);
  private prevMean = new Float32Array(0);
  private prevInterior = new Float32Array(0);
  private havePrev = false;
  private scratch = new Float32Array(0);
  private vAcc = new Int32Array(0);
  private edgeRatio = new Float32Array(0);
  private temporal = new Float32Array(0);
  private dcStep = new Float32Array(0);
  private texChange = new Float32Array(0);
  private rowEdge = new Float32Array(0);
  private rowTemporal = new Float32Array(0);
  private sideRatio = new Float32Array(0);
  private topRatio = new Float32Array(0);
  private rowTop = new Float32Array(0);
  /** The last computed frame had a previous frame to compare with (temporal features valid). */
  referenced = false;
  /**
   * Most of the picture changed since the previous analysed frame (a cut, a flash, a fast pan):
   * temporal features say nothing local then, and the frame is not judged.
   */
  globalChange = false;
  /** Median block change against the previous analysed frame (log1p of mean-luma steps); NaN without one. */
  medianTemporal = Number.NaN;
  /** Row-major features, NUM_FEATURES per block. */
  out = new Float32Array(0);

  /** `kernels: false` runs the TypeScript loops (the reference) instead of WebAssembly. */
  constructor(opts: { kernels?: boolean } = {}) {
    this.kernels = opts.kernels === false ? null : Kernels.create();
  }

  /** Whether the WebAssembly kernels compute this object's statistics. */
  get usesKernels(): boolean {
    return this.kernels !== null;
  }

  private configure(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    const n = (this.n = cols * rows);
    for (const k of ['mean', 'interior', 'hInt', 'vInt', 'spread', 'leftEdge', 'leftExcess', 'topExcess', 'hf', 'gridEx', 'offGrid', 'phase', 'topEdge', 'prevMean', 'prevInterior', 'scratch', 'edgeRatio', 'temporal', 'dcStep', 'texChange'] as const) {
      this[k] = new Float32Array(n);
    }
    this.out = new Float32Array(n * NUM_FEATURES);
    this.vAcc = new Int32Array(cols);
    this.rowEdge = new Float32Array(rows);
    this.rowTemporal = new Float32Array(rows);
    this.rowTop = new Float32Array(rows);
    this.sideRatio = new Float32Array(n);
    this.topRatio = new Float32Array(n);
    this.havePrev = false;
  }

  /** Forget the previous frame (discontinuity). */
  reset(): void {
    this.havePrev = false;
  }

  /**
   * Compute features of one frame into `out`. Returns the number of blocks (cols*rows); 0 when
   * the picture is smaller than 3x3 macroblocks.
   */
  compute(luma: Uint8Array, stride: number, width: number, height: number, decodeError: boolean): number {
    const cols = Math.floor(width / MB);
    const rows = Math.floor(height / MB);
    if (cols < 3 || rows < 3) return 0;
    if (cols !== this.cols || rows !== this.rows) this.configure(cols, rows);
    if (this.kernels) return this.computeWasm(this.kernels, luma, stride, height, decodeError);
    this.statsJs(luma, stride);
    return this.derive(decodeError);
  }

  /**
   * compute() in WebAssembly (assembly/kernels.ts: statsJs and derive, the same sums and the
   * same float64 operations, bit for bit). `out` is then a view on the kernels' memory.
   */
  private computeWasm(k: Kernels, luma: Uint8Array, stride: number, height: number, decodeError: boolean): number {
    const { cols, rows, n } = this;
    // The whole plane buffer is copied, padding included: a subarray per frame would cost more
    // (each new view makes V8 schedule old-space collections; measured in the analyze pipeline).
    const key = `${luma.length}x${stride}x${cols}x${rows}`;
    if (this.wasmFor !== key) {
      // State first: a new stride at the same block grid keeps the previous frame's statistics.
      [this.wState, this.wOut, this.wAcc, this.wLuma] = k.layout([STATE_ARRAYS * n * 4 + MEDIAN_SCRATCH_BYTES, NUM_FEATURES * n * 4, cols * 16, Math.max(luma.length, stride * height) + 16]);
      this.out = new Float32Array(k.buffer, this.wOut, NUM_FEATURES * n);
      this.wLumaView = new Uint8Array(k.buffer, this.wLuma, luma.length);
      this.wasmFor = key;
    }
    this.wLumaView.set(luma);
    k.exports.blockStats(this.wLuma, stride, cols, rows, this.wState, this.wAcc);
    const medTemp = k.exports.derive(this.wState, cols, rows, this.wOut, this.havePrev ? 1 : 0, decodeError ? 1 : 0);
    this.referenced = this.havePrev;
    this.globalChange = this.havePrev && medTemp > GLOBAL_CHANGE;
    this.medianTemporal = medTemp;
    this.havePrev = true;
    return n;
  }

  /** The per-block pixel statistics in TypeScript: the reference the WebAssembly kernel is tested against. */
  private statsJs(luma: Uint8Array, stride: number): void {
    const { cols, rows } = this;
    const { mean, interior, hInt, vInt, spread, leftEdge, topEdge, leftExcess, topExcess, hf, offGrid } = this;
    const vAcc = this.vAcc;
    // Integer sums throughout (exact: the same numbers as a per-block loop); the vertical steps are
    // read row by row across the whole macroblock row, in memory order. Per block: 4 rows (2, 6,
    // 10, 14) of horizontal steps and pixel sums, 4 columns (2, 6, 10, 14) of vertical steps, the
    // left and top boundaries (every other pixel) and the off-grid lines x0+6, x0+10, y0+6, y0+10
    // (every 4th pixel). No allocation per block or per frame.
    for (let by = 0; by < rows; by++) {
      const y0 = by * MB;
      const rb = by * cols;
      vAcc.fill(0);
      // 4 columns: vertical steps inside each block, read row by row.
      for (let y = 1; y < MB; y++) {
        const o1 = (y0 + y) * stride;
        const o0 = o1 - stride;
        for (let bx = 0; bx < cols; bx++) {
          const x = bx * MB + 2;
          let d = luma[o1 + x]! - luma[o0 + x]!;
          let v = d < 0 ? -d : d;
          d = luma[o1 + x + 4]! - luma[o0 + x + 4]!;
          v += d < 0 ? -d : d;
          d = luma[o1 + x + 8]! - luma[o0 + x + 8]!;
          v += d < 0 ? -d : d;
          d = luma[o1 + x + 12]! - luma[o0 + x + 12]!;
          v += d < 0 ? -d : d;
          vAcc[bx] = vAcc[bx]! + v;
        }
      }
      for (let bx = 0; bx < cols; bx++) {
        const x0 = bx * MB;
        const b = rb + bx;
        let h = 0;
        let h2 = 0;
        let s = 0;
        let s2 = 0;
        // 4 rows: horizontal steps inside the block, their second differences, and pixel sums.
        for (let r = 2; r < MB; r += 4) {
          const o = (y0 + r) * stride + x0;
          let p = luma[o]!;
          let dPrev = 0;
          s += p;
          s2 += p * p;
          for (let x = 1; x < MB; x++) {
            const q = luma[o + x]!;
            const d = q - p;
            h += d < 0 ? -d : d;
            if (x > 1) {
              const dd = d - dPrev;
              h2 += dd < 0 ? -dd : dd;
            }
            dPrev = d;
            s += q;
            s2 += q * q;
            p = q;
          }
        }
        // Boundary step, and its excess over the steps just beside it (a step that exists only
        // on the grid line: blockiness; a natural edge or gradient has neighbours as steep).
        // Excesses are summed doubled (integers): 2*d0 - dl - dr.
        let le = 0;
        let lx2 = 0;
        if (bx > 0) {
          for (let y = 0; y < MB; y += 2) {
            const o = (y0 + y) * stride + x0;
            const a = luma[o - 2]!;
            const l = luma[o - 1]!;
            const c = luma[o]!;
            const r = luma[o + 1]!;
            const d0 = c > l ? c - l : l - c;
            const ex = 2 * d0 - (l > a ? l - a : a - l) - (r > c ? r - c : c - r);
            le += d0;
            if (ex > 0) lx2 += ex;
          }
        }
        let te = 0;
        let tx2 = 0;
        if (by > 0) {
          const o = y0 * stride + x0;
          for (let x = 0; x < MB; x += 2) {
            const k = o + x;
            const a = luma[k - 2 * stride]!;
            const u = luma[k - stride]!;
            const c = luma[k]!;
            const d = luma[k + stride]!;
            const d0 = c > u ? c - u : u - c;
            const ex = 2 * d0 - (u > a ? u - a : a - u) - (d > c ? d - c : c - d);
            te += d0;
            if (ex > 0) tx2 += ex;
          }
        }
        // The same excess off the block grid (x0+6, x0+10 and y0+6, y0+10: no transform edge of any
        // codec lies there): natural lines and fences show at every phase, blocks only on the grid.
        let og2 = 0;
        for (let off = 6; off <= 10; off += 4) {
          for (let y = 0; y < MB; y += 4) {
            const o = (y0 + y) * stride + x0 + off;
            const a = luma[o - 2]!;
            const l = luma[o - 1]!;
            const c = luma[o]!;
            const r = luma[o + 1]!;
            const ex = 2 * (c > l ? c - l : l - c) - (l > a ? l - a : a - l) - (r > c ? r - c : c - r);
            if (ex > 0) og2 += ex;
          }
          const c0 = (y0 + off) * stride + x0;
          for (let x = 0; x < MB; x += 4) {
            const k = c0 + x;
            const a = luma[k - 2 * stride]!;
            const u = luma[k - stride]!;
            const c = luma[k]!;
            const d = luma[k + stride]!;
            const ex = 2 * (c > u ? c - u : u - c) - (u > a ? u - a : a - u) - (d > c ? d - c : c - d);
            if (ex > 0) og2 += ex;
          }
        }
        offGrid[b] = og2 / 2 / (2 * 2 * (MB / 4));
        leftExcess[b] = bx > 0 ? lx2 / 2 / (MB / 2) : 0;
        topExcess[b] = by > 0 ? tx2 / 2 / (MB / 2) : 0;
        hf[b] = log((h2 / (4 * (MB - 2)) + 1) / (h / (4 * (MB - 1)) + 1));
        const cnt = 4 * MB;
        const m = s / cnt;
        mean[b] = m;
        hInt[b] = h / (4 * (MB - 1));
        vInt[b] = vAcc[bx]! / (4 * (MB - 1));
        interior[b] = (hInt[b] + vInt[b]) / 2;
        spread[b] = Math.sqrt(Math.max(0, s2 / cnt - m * m));
        leftEdge[b] = bx > 0 ? le / (MB / 2) : 0;
        topEdge[b] = by > 0 ? te / (MB / 2) : 0;
      }
    }
  }

  /** The element a sort would put at n >> 1 (Hoare's quickselect on a scratch copy: O(n), not O(n log n)). */
  private median(a: Float32Array): number {
    const s = this.scratch;
    s.set(a);
    return selectInPlace(s, s.length >> 1);
  }

  private derive(decodeError: boolean): number {
    this.referenced = this.havePrev;
    const { cols, rows, n, mean, interior, hInt, vInt, spread, leftEdge, topEdge, edgeRatio, temporal, dcStep, texChange, out } = this;
    for (let by = 0; by < rows; by++) {
      for (let bx = 0; bx < cols; bx++) {
        const b = by * cols + bx;
        // Mean step over the boundaries the block has (left, top, right = right neighbour's left, bottom).
        let e = 0;
        let k = 0;
        let dc = 0;
        if (bx > 0) {
          e += leftEdge[b]!;
          dc += Math.abs(mean[b]! - mean[b - 1]!);
          k++;
        }
        if (by > 0) {
          e += topEdge[b]!;
          dc += Math.abs(mean[b]! - mean[b - cols]!);
          k++;
        }
        if (bx + 1 < cols) {
          e += leftEdge[b + 1]!;
          dc += Math.abs(mean[b]! - mean[b + 1]!);
          k++;
        }
        if (by + 1 < rows) {
          e += topEdge[b + cols]!;
          dc += Math.abs(mean[b]! - mean[b + cols]!);
          k++;
        }
        e /= k;
        dc /= k;
        // One-sided breaks (a slice that starts mid-picture) and horizontal breaks along a macroblock row.
        const exL = bx > 0 ? this.leftExcess[b]! : 0;
        const exT = by > 0 ? this.topExcess[b]! : 0;
        const exR = bx + 1 < cols ? this.leftExcess[b + 1]! : 0;
        const exB = by + 1 < rows ? this.topExcess[b + cols]! : 0;
        this.gridEx[b] = log1p((exL + exT + exR + exB) / k);
        this.phase[b] = this.gridEx[b] - log1p(this.offGrid[b]!);
        out[b * NUM_FEATURES + 19] = log1p(Math.max(exL, exT, exR, exB));
        const sideMax = Math.max(bx > 0 ? leftEdge[b]! : 0, by > 0 ? topEdge[b]! : 0, bx + 1 < cols ? leftEdge[b + 1]! : 0, by + 1 < rows ? topEdge[b + cols]! : 0);
        this.sideRatio[b] = log((sideMax + 1) / (interior[b]! + 1));
        this.topRatio[b] = by > 0 ? log((topEdge[b]! + 1) / (vInt[b]! + 1)) : 0;
        edgeRatio[b] = log((e + 1) / (interior[b]! + 1));
        dcStep[b] = log1p(dc);
        temporal[b] = this.havePrev ? log1p(Math.abs(mean[b]! - this.prevMean[b]!)) : 0;
        texChange[b] = this.havePrev ? log((interior[b]! + 1) / (this.prevInterior[b]! + 1)) : 0;
        const o = b * NUM_FEATURES;
        out[o + 1] = log1p(interior[b]!);
        out[o + 2] = log1p(e);
        out[o + 4] = log((hInt[b]! + 1) / (vInt[b]! + 1));
        out[o + 10] = log1p(spread[b]!);
      }
    }
    const medEdge = this.median(edgeRatio);
    const medTemp = this.median(temporal);
    this.globalChange = this.havePrev && medTemp > GLOBAL_CHANGE;
    this.medianTemporal = this.havePrev ? medTemp : Number.NaN;
    const medDc = this.median(dcStep);
    const medTex = this.median(texChange);
    const rowEdge = this.rowEdge;
    const medSide = this.median(this.sideRatio);
    const medGrid = this.median(this.gridEx);
    const medHf = this.median(this.hf);
    const medPhase = this.median(this.phase);
    const medTop = this.median(this.topRatio);
    for (let by = 0; by < rows; by++) {
      let acc = 0;
      for (let bx = 0; bx < cols; bx++) acc += this.topRatio[by * cols + bx]!;
      this.rowTop[by] = acc / cols - medTop;
    }
    for (let by = 0; by < rows; by++) {
      let acc = 0;
      for (let bx = 0; bx < cols; bx++) acc += edgeRatio[by * cols + bx]!;
      rowEdge[by] = acc / cols - medEdge;
      let tacc = 0;
      for (let bx = 0; bx < cols; bx++) tacc += temporal[by * cols + bx]!;
      this.rowTemporal[by] = tacc / cols;
    }
    for (let by = 0; by < rows; by++) {
      for (let bx = 0; bx < cols; bx++) {
        const b = by * cols + bx;
        const o = b * NUM_FEATURES;
        out[o] = edgeRatio[b]!;
        out[o + 3] = edgeRatio[b]! - medEdge;
        out[o + 5] = temporal[b]! - this.rowTemporal[by]!;
        out[o + 6] = temporal[b]! - medTemp;
        out[o + 7] = dcStep[b]!;
        out[o + 8] = dcStep[b]! - medDc;
        let nb = -Infinity;
        let flatNb = 0;
        let tempNb = 0;
        let k = 0;
        const li = out[o + 1]!;
        // The 4-neighbours, in the order left, right, up, down.
        for (let j = 0; j < 4; j++) {
          const x = j === 0 ? bx - 1 : j === 1 ? bx + 1 : bx;
          const y = j === 2 ? by - 1 : j === 3 ? by + 1 : by;
          if (x < 0 || y < 0 || x >= cols || y >= rows) continue;
          const nbi = y * cols + x;
          const r = edgeRatio[nbi]! - medEdge;
          if (r > nb) nb = r;
          flatNb += log1p(interior[nbi]!);
          tempNb += temporal[nbi]!;
          k++;
        }
        out[o + 9] = nb;
        out[o + 11] = Math.abs(texChange[b]! - medTex);
        out[o + 12] = decodeError ? 1 : 0;
        out[o + 13] = li - flatNb / k;
        out[o + 14] = rowEdge[by]!;
        out[o + 15] = temporal[b]! - tempNb / k;
        out[o + 16] = this.sideRatio[b]! - medSide;
        out[o + 17] = Math.max(this.rowTop[by]!, by + 1 < rows ? this.rowTop[by + 1]! : 0);
        out[o + 18] = this.gridEx[b]!;
        out[o + 20] = this.gridEx[b]! - medGrid;
        out[o + 21] = this.hf[b]!;
        out[o + 22] = this.hf[b]! - medHf;
        out[o + 23] = this.phase[b]!;
        out[o + 24] = this.phase[b]! - medPhase;
      }
    }
    this.prevMean.set(mean);
    this.prevInterior.set(interior);
    this.havePrev = true;
    return n;
  }
}

/** Median block |change of mean| (log1p of luma levels) above which the picture changed as a whole. */
const GLOBAL_CHANGE = Math.log1p(10);

