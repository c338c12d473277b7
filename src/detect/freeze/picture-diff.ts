/**
 * The freeze detector's per-frame pixel work: each preview against the previous one, per region of
 * a GRID x GRID split (sum of absolute differences, changed pixels) and along every 4th row (how
 * white the difference is). In WebAssembly with SIMD (assembly/kernels.ts -> kernels.wasm) where
 * it loads, else in the TypeScript loops below, which are the reference: all sums are integers,
 * so both give the same numbers (test/detect/freeze-kernels.test.ts).
 */
import { WasmKernels } from '../wasm-kernels.ts';

export const GRID = 16;
export const REGIONS = GRID * GRID;
/** Picture rows a region row may hold in the kernels (their column sums are 16-bit). */
const MAX_BAND_ROWS = 257;

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  regionDifferences(
    cur: number,
    prev: number,
    w: number,
    h: number,
    colStart: number,
    rowBand: number,
    colAcc: number,
    sums: number,
  ): number;
  whitenessSums(cur: number, prev: number, w: number, h: number, out: number): void;
}

export const FREEZE_KERNELS_URL = new URL('./kernels.wasm', import.meta.url);

export class PictureDiff {
  /** Per region (row-major): sum of absolute differences against the previous picture. */
  readonly sums = new Float64Array(REGIONS);
  /** Per region: its pixel count. */
  readonly counts = new Float64Array(REGIONS);
  /** Sum of `sums`. */
  total = 0;
  /** Pixels that changed. */
  nonzero = 0;
  /** On every 4th row, d = picture - previous: sum of |d[i] - d[i-1]| and of |d[i]| (i >= 1). */
  rough = 0;
  flat = 0;

  private w = 0;
  private h = 0;
  private have = false;
  private readonly colStart = new Uint32Array(GRID + 1);
  private rowBand = new Uint8Array(0);
  private colAcc = new Float64Array(0);
  private prev = new Uint8Array(0);
  private readonly tally = new Float64Array(2);

  private readonly kernels: WasmKernels<KernelExports> | null;
  private wasm:
    | { cur: number; prev: number; colStart: number; rowBand: number; colAcc: number; sums: number; out: number }
    | undefined;
  private views: { cur: Uint8Array; prev: Uint8Array; sums: Uint32Array; out: Float64Array } | undefined;

  /** `opts.kernels: false` runs the TypeScript loops (the reference) instead of WebAssembly. */
  constructor(opts: { kernels?: boolean } = {}) {
    this.kernels = opts.kernels === false ? null : WasmKernels.create<KernelExports>(FREEZE_KERNELS_URL, 'freeze');
  }

  /** Whether the WebAssembly kernels run the passes. */
  get usesKernels(): boolean {
    return this.kernels !== null;
  }

  /** Forget the previous picture: the next compare() only records its picture. */
  reset(): void {
    this.have = false;
  }

  /**
   * Compare `cur` (w x h bytes, row-major) with the previous picture given, then keep it as the
   * previous one. Returns false, with nothing measured, for the first picture after a reset or a
   * change of size.
   */
  compare(cur: Uint8Array, w: number, h: number): boolean {
    if (w !== this.w || h !== this.h) this.configure(w, h);
    const size = w * h;
    const v = this.views;
    if (v) {
      v.cur.set(cur.length === size ? cur : cur.subarray(0, size));
      if (!this.have) return this.swap();
      const k = this.kernels!.exports;
      const m = this.wasm!;
      this.nonzero = k.regionDifferences(m.cur, m.prev, w, h, m.colStart, m.rowBand, m.colAcc, m.sums);
      let total = 0;
      for (let r = 0; r < REGIONS; r++) {
        const s = v.sums[r]!;
        this.sums[r] = s;
        total += s;
      }
      this.total = total;
      k.whitenessSums(m.cur, m.prev, w, h, m.out);
      this.rough = v.out[0]!;
      this.flat = v.out[1]!;
      this.swap();
      return true;
    }
    const prev = this.prev;
    if (!this.have) {
      prev.set(cur.subarray(0, size));
      this.have = true;
      return false;
    }
    this.total = regionDifferences(cur, prev, w, h, this.colStart, this.rowBand, this.colAcc, this.sums, this.tally);
    this.nonzero = this.tally[0]!;
    whitenessSums(cur, prev, w, h, this.tally);
    this.rough = this.tally[0]!;
    this.flat = this.tally[1]!;
    prev.set(cur.subarray(0, size));
    return true;
  }

  /** The picture just copied in becomes the previous one (WebAssembly path: the two slots swap). */
  private swap(): boolean {
    const m = this.wasm!;
    const v = this.views!;
    [m.cur, m.prev] = [m.prev, m.cur];
    [v.cur, v.prev] = [v.prev, v.cur];
    const first = !this.have;
    this.have = true;
    return !first;
  }

  private configure(w: number, h: number): void {
    this.w = w;
    this.h = h;
    this.have = false;
    this.rowBand = new Uint8Array(h);
    this.colAcc = new Float64Array(w);
    this.prev = new Uint8Array(w * h);
    for (let rx = 0; rx <= GRID; rx++) this.colStart[rx] = Math.floor((rx * w) / GRID);
    for (let y = 0; y < h; y++) this.rowBand[y] = Math.min(GRID - 1, Math.floor((y * GRID) / h));
    this.counts.fill(0);
    for (let y = 0; y < h; y++) {
      for (let rx = 0; rx < GRID; rx++)
        this.counts[this.rowBand[y]! * GRID + rx]! += this.colStart[rx + 1]! - this.colStart[rx]!;
    }
    this.wasm = undefined;
    this.views = undefined;
    const k = this.kernels;
    if (!k || Math.ceil(h / GRID) + 1 > MAX_BAND_ROWS) return;
    const [cur, prev, colStart, rowBand, colAcc, sums, out] = k.layout([
      w * h + 16,
      w * h + 16,
      (GRID + 1) * 4,
      h,
      w * 2 + 32,
      REGIONS * 4,
      16,
    ]);
    this.wasm = { cur, prev, colStart, rowBand, colAcc, sums, out };
    const buf = k.buffer;
    new Uint32Array(buf, colStart, GRID + 1).set(this.colStart);
    new Uint8Array(buf, rowBand, h).set(this.rowBand);
    this.views = {
      cur: new Uint8Array(buf, cur, w * h),
      prev: new Uint8Array(buf, prev, w * h),
      sums: new Uint32Array(buf, sums, REGIONS),
      out: new Float64Array(buf, out, 2),
    };
  }
}

/*
 * The TypeScript reference: small top-level functions taking their arrays as arguments, so V8
 * compiles each into one tight loop.
 */

/**
 * Sum of absolute differences between `cur` and `prev` per region into `sums`, and the count of
 * changed pixels into `tally[0]`; returns the total. Each region row is summed per column first,
 * then per region (the kernel's order; integer sums either way).
 */
function regionDifferences(
  cur: Uint8Array,
  prev: Uint8Array,
  w: number,
  h: number,
  colStart: Uint32Array,
  rowBand: Uint8Array,
  colAcc: Float64Array,
  sums: Float64Array,
  tally: Float64Array,
): number {
  let total = 0;
  let nonzero = 0;
  let y = 0;
  for (let band = 0; band < GRID; band++) {
    colAcc.fill(0);
    for (; y < h && rowBand[y] === band; y++) {
      const row = y * w;
      for (let x = 0; x < w; x++) {
        const d = cur[row + x]! - prev[row + x]!;
        // Branch-free |d| and d != 0.
        const m = d >> 31;
        colAcc[x]! += (d ^ m) - m;
        nonzero += (d | -d) >>> 31;
      }
    }
    const base = band * GRID;
    for (let rx = 0; rx < GRID; rx++) {
      let acc = 0;
      for (let x = colStart[rx]!; x < colStart[rx + 1]!; x++) acc += colAcc[x]!;
      sums[base + rx] = acc;
      total += acc;
    }
  }
  tally[0] = nonzero;
  return total;
}

/** On every 4th row: sum of |d[i] - d[i-1]| into tally[0] and of |d[i]| into tally[1], d = cur - prev, i >= 1. */
function whitenessSums(cur: Uint8Array, prev: Uint8Array, w: number, h: number, tally: Float64Array): void {
  let rough = 0;
  let flat = 0;
  for (let y = 0; y < h; y += 4) {
    const row = y * w;
    let dPrev = cur[row]! - prev[row]!;
    for (let i = row + 1; i < row + w; i++) {
      const d = cur[i]! - prev[i]!;
      const dd = d - dPrev;
      rough += dd < 0 ? -dd : dd;
      flat += d < 0 ? -d : d;
      dPrev = d;
    }
  }
  tally[0] = rough;
  tally[1] = flat;
}
