/**
 * The corruption detector's hot loops, in AssemblyScript, compiled to WebAssembly
 * (../kernels.wasm, committed; `npm run build:wasm` rebuilds it, and
 * test/detect/corruption-kernels.test.ts fails when the committed binary is not what this
 * source compiles to). Each function is a line-for-line port of the TypeScript reference in
 * ../features.ts (BlockFeatures.computeJs) and ../model.ts (Mlp, CorruptionModel.scoreJs), with
 * the same integer sums and the same float64 (features) and float32 (perceptrons) operations in
 * the same order, so the results are
 * bit-identical (the test checks that on real decoded frames). The logarithm is AssemblyScript's,
 * which ../log.ts ports for the reference; the sigmoid stays in TypeScript (V8's Math.exp and
 * AssemblyScript's differ in the last bit).
 *
 * No allocation: the caller lays out every buffer in this module's memory (../kernels.ts).
 */

const MB: i32 = 16;

/**
 * Per-stream state at `st`: float32 arrays of n = cols*rows values, one after the other, indexed
 * by these constants (the TypeScript reference keeps each in its own Float32Array).
 */
const MEAN = 0, H_INT = 1, V_INT = 2, SPREAD = 3, LEFT_EDGE = 4, TOP_EDGE = 5, LEFT_EXCESS = 6, TOP_EXCESS = 7, OFF_GRID = 8;
const INTERIOR = 11, HF = 12, GRID_EX = 13, PHASE = 14, SIDE_RATIO = 15, TOP_RATIO = 16, EDGE_RATIO = 17, DC_STEP = 18;
const TEMPORAL = 19, TEX_CHANGE = 20, PREV_MEAN = 21, PREV_INTERIOR = 22, SCRATCH = 23, ROW_EDGE = 24, ROW_TEMPORAL = 25, ROW_TOP = 26;
/** log1p(interior) per block as float64 (the reference takes it four times per block, for each neighbour): slots 28 and 29. */
const LOG_INTERIOR = 28;
/** Float32 slots of n values in the state block. */
export const STATE_ARRAYS: i32 = 30;
const NUM_FEATURES: i32 = 25;

/** Lane masks for 16-bit lanes: all but lane 0, all but lane 7. */
const FIRST_OFF = i16x8(0, -1, -1, -1, -1, -1, -1, -1);
const LAST_OFF = i16x8(-1, -1, -1, -1, -1, -1, -1, 0);

/** Sum of eight 16-bit lanes (non-negative, each at most 32767). */
@inline function sum16(v: v128): i32 {
  return sum32(i32x4.extadd_pairwise_i16x8_u(v));
}
@inline function sum32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

/**
 * Per-macroblock pixel statistics of one luma plane, sampled as in BlockFeatures.statsJs, into
 * the state block `out` (arrays MEAN..OFF_GRID, the raw sums at 9 and 10, INTERIOR and HF).
 * `vAcc` is scratch for cols 16-byte vectors.
 */
export function blockStats(luma: usize, stride: i32, cols: i32, rows: i32, out: usize, vAcc: usize): void {
  const n = cols * rows;
  const nb = <usize>n << 2;
  for (let by = 0; by < rows; by++) {
    const y0 = by * MB;
    const rb = by * cols;
    // Vertical steps at columns 2, 6, 10, 14 of each block, rows 1..15 against the row above: one
    // 16-byte vector per block and row, |difference| per byte, the four columns kept by a mask,
    // summed pairwise into 16-bit lanes (at most 15 x 255 per lane). Integer sums: the same as the
    // scalar loop (statsJs), in any order.
    memory.fill(vAcc, 0, <usize>cols << 4);
    const colMask = i8x16(0, 0, -1, 0, 0, 0, -1, 0, 0, 0, -1, 0, 0, 0, -1, 0);
    for (let y = 1; y < MB; y++) {
      const o1 = luma + <usize>((y0 + y) * stride);
      const o0 = o1 - <usize>stride;
      for (let bx = 0; bx < cols; bx++) {
        const x = <usize>(bx * MB);
        const v1 = v128.load(o1 + x);
        const v0 = v128.load(o0 + x);
        const ad = v128.and(v128.or(i8x16.sub_sat_u(v1, v0), i8x16.sub_sat_u(v0, v1)), colMask);
        const p = vAcc + (<usize>bx << 4);
        v128.store(p, i16x8.add(v128.load(p), i16x8.extadd_pairwise_i8x16_u(ad)));
      }
    }
    for (let bx = 0; bx < cols; bx++) {
      const x0 = bx * MB;
      const b = rb + bx;
      // Rows 2, 6, 10, 14: 16 pixels a = p[0..15], b = p[1..16], c = p[-1..14] as 16-bit lanes.
      // Steps d = b - a (x = 1..15: lane 15 masked), second differences d - d_prev = b - 2a + c
      // (x = 2..15: lanes 1..14), pixel sums and squares (all 16).
      let hAcc = i16x8.splat(0);
      let h2Acc = i16x8.splat(0);
      let sAcc = i16x8.splat(0);
      let s2Acc = i32x4.splat(0);
      for (let r = 2; r < MB; r += 4) {
        const o = luma + <usize>((y0 + r) * stride + x0);
        const a = v128.load(o);
        const nx = v128.load(o + 1);
        const pv = v128.load(o - 1);
        const aL = i16x8.extend_low_i8x16_u(a);
        const aH = i16x8.extend_high_i8x16_u(a);
        const bL = i16x8.extend_low_i8x16_u(nx);
        const bH = i16x8.extend_high_i8x16_u(nx);
        const cL = i16x8.extend_low_i8x16_u(pv);
        const cH = i16x8.extend_high_i8x16_u(pv);
        hAcc = i16x8.add(hAcc, i16x8.add(i16x8.abs(i16x8.sub(bL, aL)), v128.and(i16x8.abs(i16x8.sub(bH, aH)), LAST_OFF)));
        const a2L = i16x8.add(aL, aL);
        const a2H = i16x8.add(aH, aH);
        const ddL = v128.and(i16x8.abs(i16x8.add(i16x8.sub(bL, a2L), cL)), FIRST_OFF);
        const ddH = v128.and(i16x8.abs(i16x8.add(i16x8.sub(bH, a2H), cH)), LAST_OFF);
        h2Acc = i16x8.add(h2Acc, i16x8.add(ddL, ddH));
        sAcc = i16x8.add(sAcc, i16x8.add(aL, aH));
        s2Acc = i32x4.add(s2Acc, i32x4.add(i32x4.dot_i16x8_s(aL, aL), i32x4.dot_i16x8_s(aH, aH)));
      }
      const h = sum16(hAcc);
      const h2 = sum16(h2Acc);
      const s = sum16(sAcc);
      const s2 = sum32(s2Acc);
      const vSum = sum16(v128.load(vAcc + (<usize>bx << 4)));
      let le: i32 = 0;
      let lx2: i32 = 0;
      if (bx > 0) {
        for (let y = 0; y < MB; y += 2) {
          const o = luma + <usize>((y0 + y) * stride + x0);
          const a = <i32>load<u8>(o - 2);
          const l = <i32>load<u8>(o - 1);
          const c = <i32>load<u8>(o);
          const r = <i32>load<u8>(o + 1);
          const d0 = abs<i32>(c - l);
          const ex = 2 * d0 - abs<i32>(l - a) - abs<i32>(r - c);
          le += d0;
          if (ex > 0) lx2 += ex;
        }
      }
      let te: i32 = 0;
      let tx2: i32 = 0;
      if (by > 0) {
        const o = luma + <usize>(y0 * stride + x0);
        const st = <usize>stride;
        for (let x = 0; x < MB; x += 2) {
          const k = o + <usize>x;
          const a = <i32>load<u8>(k - 2 * st);
          const u = <i32>load<u8>(k - st);
          const c = <i32>load<u8>(k);
          const d = <i32>load<u8>(k + st);
          const d0 = abs<i32>(c - u);
          const ex = 2 * d0 - abs<i32>(u - a) - abs<i32>(d - c);
          te += d0;
          if (ex > 0) tx2 += ex;
        }
      }
      let og2: i32 = 0;
      for (let off = 6; off <= 10; off += 4) {
        for (let y = 0; y < MB; y += 4) {
          const o = luma + <usize>((y0 + y) * stride + x0 + off);
          const a = <i32>load<u8>(o - 2);
          const l = <i32>load<u8>(o - 1);
          const c = <i32>load<u8>(o);
          const r = <i32>load<u8>(o + 1);
          const ex = 2 * abs<i32>(c - l) - abs<i32>(l - a) - abs<i32>(r - c);
          if (ex > 0) og2 += ex;
        }
        const c0 = luma + <usize>((y0 + off) * stride + x0);
        const st = <usize>stride;
        for (let x = 0; x < MB; x += 4) {
          const k = c0 + <usize>x;
          const a = <i32>load<u8>(k - 2 * st);
          const u = <i32>load<u8>(k - st);
          const c = <i32>load<u8>(k);
          const d = <i32>load<u8>(k + st);
          const ex = 2 * abs<i32>(c - u) - abs<i32>(u - a) - abs<i32>(d - c);
          if (ex > 0) og2 += ex;
        }
      }
      const cnt: f64 = 4 * MB;
      const m: f64 = <f64>s / cnt;
      const bo = out + (<usize>b << 2);
      store<f32>(bo, <f32>m);
      store<f32>(bo + nb, <f32>(<f64>h / <f64>(4 * (MB - 1))));
      store<f32>(bo + 2 * nb, <f32>(<f64>vSum / <f64>(4 * (MB - 1))));
      store<f32>(bo + 3 * nb, <f32>Math.sqrt(max<f64>(0, <f64>s2 / cnt - m * m)));
      store<f32>(bo + 4 * nb, bx > 0 ? <f32>(<f64>le / <f64>(MB / 2)) : 0);
      store<f32>(bo + 5 * nb, by > 0 ? <f32>(<f64>te / <f64>(MB / 2)) : 0);
      store<f32>(bo + 6 * nb, bx > 0 ? <f32>(<f64>lx2 / 2 / <f64>(MB / 2)) : 0);
      store<f32>(bo + 7 * nb, by > 0 ? <f32>(<f64>tx2 / 2 / <f64>(MB / 2)) : 0);
      store<f32>(bo + 8 * nb, <f32>(<f64>og2 / 2 / <f64>(2 * 2 * (MB / 4))));
      store<f32>(bo + 9 * nb, <f32>h);
      store<f32>(bo + 10 * nb, <f32>h2);
      store<f32>(bo + <usize>INTERIOR * nb, <f32>((<f64>load<f32>(bo + nb) + <f64>load<f32>(bo + 2 * nb)) / 2));
      store<f32>(bo + <usize>HF * nb, <f32>flog((<f64>h2 / <f64>(4 * (MB - 2)) + 1) / (<f64>h / <f64>(4 * (MB - 1)) + 1)));
    }
  }
}

// ---- logarithms: AssemblyScript's Math.log (musl's table-driven log, no fused multiply-add),
// which ../log.ts ports line for line, so the features match the TypeScript reference bit for bit
// (test/detect/corruption-kernels.test.ts checks the two on random inputs). log1p(x) is taken as
// log(1 + x) on both sides. Until 2026-11-28 these were ports of fdlibm's log and log1p (V8's
// Math.log/log1p), whose division and branches made them about a quarter of the kernels' time.

@inline function flog(x: f64): f64 {
  return Math.log(x);
}

@inline function flog1p(x: f64): f64 {
  return Math.log(1 + x);
}

// ---- per-frame features (features.ts, BlockFeatures.derive) ----

@inline function arr(st: usize, a: i32, n: i32): usize {
  return st + (<usize>(a * n) << 2);
}
@inline function get(st: usize, a: i32, n: i32, b: i32): f64 {
  return <f64>load<f32>(st + (<usize>(a * n + b) << 2));
}
@inline function put(st: usize, a: i32, n: i32, b: i32, v: f64): void {
  store<f32>(st + (<usize>(a * n + b) << 2), <f32>v);
}

/** Float32 bits to an unsigned key with the same order as the values (no NaN here). */
@inline function orderKey(bits: u32): u32 {
  return bits & 0x80000000 ? ~bits : bits | 0x80000000;
}

/** Bytes after the STATE_ARRAYS slots of the state block: the median's 2048-bucket histogram. */
export const MEDIAN_SCRATCH_BYTES: i32 = 2048 << 2;

@inline function bump(hist: usize, bucket: u32): void {
  const h = hist + (<usize>bucket << 2);
  store<u32>(h, load<u32>(h) + 1);
}

/**
 * The element a sort would put at n >> 1, as features.ts's quickselect returns it, by a radix
 * select on order-preserving keys of the float32 bits (11, 11 and 10 bits). The k-th smallest
 * value is the same whatever the method, and these arrays hold no -0 (they are logarithms of
 * ratios >= 1 or of 1 + x with x >= 0, and differences of such values), so the bits are too.
 */
function median(st: usize, a: i32, n: i32): f64 {
  const src = arr(st, a, n);
  const hist = st + (<usize>(STATE_ARRAYS * n) << 2);
  const cand = arr(st, SCRATCH, n);
  let k: u32 = <u32>(n >> 1);
  memory.fill(hist, 0, 2048 << 2);
  for (let i = 0; i < n; i++) bump(hist, orderKey(load<u32>(src + (<usize>i << 2))) >>> 21);
  let b1: u32 = 0;
  for (; ; b1++) {
    const c = load<u32>(hist + (<usize>b1 << 2));
    if (k < c) break;
    k -= c;
  }
  memory.fill(hist, 0, 2048 << 2);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const key = orderKey(load<u32>(src + (<usize>i << 2)));
    if (key >>> 21 != b1) continue;
    store<u32>(cand + (<usize>m << 2), key);
    m++;
    bump(hist, (key >>> 10) & 0x7ff);
  }
  let b2: u32 = 0;
  for (; ; b2++) {
    const c = load<u32>(hist + (<usize>b2 << 2));
    if (k < c) break;
    k -= c;
  }
  memory.fill(hist, 0, 1024 << 2);
  for (let j = 0; j < m; j++) {
    const key = load<u32>(cand + (<usize>j << 2));
    if (((key >>> 10) & 0x7ff) == b2) bump(hist, key & 0x3ff);
  }
  let b3: u32 = 0;
  for (; ; b3++) {
    const c = load<u32>(hist + (<usize>b3 << 2));
    if (k < c) break;
    k -= c;
  }
  const key = (b1 << 21) | (b2 << 10) | b3;
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key;
  return <f64>reinterpret<f32>(bits);
}

/**
 * BlockFeatures.derive: the 25 features per block into `out` (row-major), from the state block
 * filled by blockStats. Returns the median block change against the previous analysed frame
 * (NaN without one); its comparison with GLOBAL_CHANGE is the caller's.
 */
export function derive(st: usize, cols: i32, rows: i32, out: usize, havePrev: bool, decodeError: bool): f64 {
  const n = cols * rows;
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      const b = by * cols + bx;
      let e: f64 = 0;
      let k: i32 = 0;
      let dc: f64 = 0;
      const m = get(st, MEAN, n, b);
      if (bx > 0) {
        e += get(st, LEFT_EDGE, n, b);
        dc += Math.abs(m - get(st, MEAN, n, b - 1));
        k++;
      }
      if (by > 0) {
        e += get(st, TOP_EDGE, n, b);
        dc += Math.abs(m - get(st, MEAN, n, b - cols));
        k++;
      }
      if (bx + 1 < cols) {
        e += get(st, LEFT_EDGE, n, b + 1);
        dc += Math.abs(m - get(st, MEAN, n, b + 1));
        k++;
      }
      if (by + 1 < rows) {
        e += get(st, TOP_EDGE, n, b + cols);
        dc += Math.abs(m - get(st, MEAN, n, b + cols));
        k++;
      }
      e /= <f64>k;
      dc /= <f64>k;
      const exL = bx > 0 ? get(st, LEFT_EXCESS, n, b) : 0;
      const exT = by > 0 ? get(st, TOP_EXCESS, n, b) : 0;
      const exR = bx + 1 < cols ? get(st, LEFT_EXCESS, n, b + 1) : 0;
      const exB = by + 1 < rows ? get(st, TOP_EXCESS, n, b + cols) : 0;
      put(st, GRID_EX, n, b, flog1p((exL + exT + exR + exB) / <f64>k));
      put(st, PHASE, n, b, get(st, GRID_EX, n, b) - flog1p(get(st, OFF_GRID, n, b)));
      const o = out + (<usize>(b * NUM_FEATURES) << 2);
      store<f32>(o + 19 * 4, <f32>flog1p(max<f64>(max<f64>(exL, exT), max<f64>(exR, exB))));
      const sideMax = max<f64>(
        max<f64>(bx > 0 ? get(st, LEFT_EDGE, n, b) : 0, by > 0 ? get(st, TOP_EDGE, n, b) : 0),
        max<f64>(bx + 1 < cols ? get(st, LEFT_EDGE, n, b + 1) : 0, by + 1 < rows ? get(st, TOP_EDGE, n, b + cols) : 0),
      );
      const interior = get(st, INTERIOR, n, b);
      put(st, SIDE_RATIO, n, b, flog((sideMax + 1) / (interior + 1)));
      put(st, TOP_RATIO, n, b, by > 0 ? flog((get(st, TOP_EDGE, n, b) + 1) / (get(st, V_INT, n, b) + 1)) : 0);
      put(st, EDGE_RATIO, n, b, flog((e + 1) / (interior + 1)));
      put(st, DC_STEP, n, b, flog1p(dc));
      put(st, TEMPORAL, n, b, havePrev ? flog1p(Math.abs(m - get(st, PREV_MEAN, n, b))) : 0);
      put(st, TEX_CHANGE, n, b, havePrev ? flog((interior + 1) / (get(st, PREV_INTERIOR, n, b) + 1)) : 0);
      const logInterior = flog1p(interior);
      store<f64>(arr(st, LOG_INTERIOR, n) + (<usize>b << 3), logInterior);
      store<f32>(o + 1 * 4, <f32>logInterior);
      store<f32>(o + 2 * 4, <f32>flog1p(e));
      store<f32>(o + 4 * 4, <f32>flog((get(st, H_INT, n, b) + 1) / (get(st, V_INT, n, b) + 1)));
      store<f32>(o + 10 * 4, <f32>flog1p(get(st, SPREAD, n, b)));
    }
  }
  const medEdge = median(st, EDGE_RATIO, n);
  const medTemp = median(st, TEMPORAL, n);
  const medDc = median(st, DC_STEP, n);
  const medTex = median(st, TEX_CHANGE, n);
  const medSide = median(st, SIDE_RATIO, n);
  const medGrid = median(st, GRID_EX, n);
  const medHf = median(st, HF, n);
  const medPhase = median(st, PHASE, n);
  const medTop = median(st, TOP_RATIO, n);
  for (let by = 0; by < rows; by++) {
    let acc: f64 = 0;
    for (let bx = 0; bx < cols; bx++) acc += get(st, TOP_RATIO, n, by * cols + bx);
    put(st, ROW_TOP, n, by, acc / <f64>cols - medTop);
  }
  for (let by = 0; by < rows; by++) {
    let acc: f64 = 0;
    for (let bx = 0; bx < cols; bx++) acc += get(st, EDGE_RATIO, n, by * cols + bx);
    put(st, ROW_EDGE, n, by, acc / <f64>cols - medEdge);
    let tacc: f64 = 0;
    for (let bx = 0; bx < cols; bx++) tacc += get(st, TEMPORAL, n, by * cols + bx);
    put(st, ROW_TEMPORAL, n, by, tacc / <f64>cols);
  }
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      const b = by * cols + bx;
      const o = out + (<usize>(b * NUM_FEATURES) << 2);
      const er = get(st, EDGE_RATIO, n, b);
      const tp = get(st, TEMPORAL, n, b);
      const dcs = get(st, DC_STEP, n, b);
      store<f32>(o, <f32>er);
      store<f32>(o + 3 * 4, <f32>(er - medEdge));
      store<f32>(o + 5 * 4, <f32>(tp - get(st, ROW_TEMPORAL, n, by)));
      store<f32>(o + 6 * 4, <f32>(tp - medTemp));
      store<f32>(o + 7 * 4, <f32>dcs);
      store<f32>(o + 8 * 4, <f32>(dcs - medDc));
      let nb: f64 = -Infinity;
      let flatNb: f64 = 0;
      let tempNb: f64 = 0;
      let k: i32 = 0;
      const li = <f64>load<f32>(o + 1 * 4);
      for (let j = 0; j < 4; j++) {
        const x = j == 0 ? bx - 1 : j == 1 ? bx + 1 : bx;
        const y = j == 2 ? by - 1 : j == 3 ? by + 1 : by;
        if (x < 0 || y < 0 || x >= cols || y >= rows) continue;
        const nbi = y * cols + x;
        const r = get(st, EDGE_RATIO, n, nbi) - medEdge;
        if (r > nb) nb = r;
        flatNb += load<f64>(arr(st, LOG_INTERIOR, n) + (<usize>nbi << 3));
        tempNb += get(st, TEMPORAL, n, nbi);
        k++;
      }
      store<f32>(o + 9 * 4, <f32>nb);
      store<f32>(o + 11 * 4, <f32>Math.abs(get(st, TEX_CHANGE, n, b) - medTex));
      store<f32>(o + 12 * 4, decodeError ? 1 : 0);
      store<f32>(o + 13 * 4, <f32>(li - flatNb / <f64>k));
      store<f32>(o + 14 * 4, <f32>get(st, ROW_EDGE, n, by));
      store<f32>(o + 15 * 4, <f32>(tp - tempNb / <f64>k));
      store<f32>(o + 16 * 4, <f32>(get(st, SIDE_RATIO, n, b) - medSide));
      store<f32>(o + 17 * 4, <f32>max<f64>(get(st, ROW_TOP, n, by), by + 1 < rows ? get(st, ROW_TOP, n, by + 1) : 0));
      const ge = get(st, GRID_EX, n, b);
      store<f32>(o + 18 * 4, <f32>ge);
      store<f32>(o + 20 * 4, <f32>(ge - medGrid));
      const hf = get(st, HF, n, b);
      store<f32>(o + 21 * 4, <f32>hf);
      store<f32>(o + 22 * 4, <f32>(hf - medHf));
      const ph = get(st, PHASE, n, b);
      store<f32>(o + 23 * 4, <f32>ph);
      store<f32>(o + 24 * 4, <f32>(ph - medPhase));
    }
  }
  memory.copy(arr(st, PREV_MEAN, n), arr(st, MEAN, n), <usize>n << 2);
  memory.copy(arr(st, PREV_INTERIOR, n), arr(st, INTERIOR, n), <usize>n << 2);
  return havePrev ? medTemp : NaN;
}

/** For the test: the two logarithms, to be compared with V8's Math.log / Math.log1p. */
export function log(x: f64): f64 {
  return flog(x);
}
export function log1p(x: f64): f64 {
  return flog1p(x);
}

// ---- perceptrons (model.ts) ----
// Weight block layout (f32) at `w`: mean[d], inv[d], w1[hidden*d], b1[hidden], w2[hidden]; b2 is an argument.
// Float32 arithmetic throughout, four blocks at once, one per f32x4 lane: each lane does exactly
// the operations of Mlp in ../model.ts (which rounds every step to float32 with Math.fround), in
// the same order, multiply then add (no fused multiply-add), so each lane's logit is Mlp's bit for
// bit. Until 2026-11-28 both sides computed in float64, two blocks per f64x2 vector.
const CLIP: f32 = 4;

/**
 * The first layer's weights prepared as f32x4 splats (all lanes the same value): w1 ordered hidden
 * unit by hidden unit, input by input (unit h's weight for input i at out + 16 (h d + i)), then
 * b1, then w2.
 */
export function prepareWeights(w: usize, d: i32, hidden: i32, out: usize): void {
  const w1 = w + (<usize>(2 * d) << 2);
  const b1 = w1 + (<usize>(hidden * d) << 2);
  const w2 = b1 + (<usize>hidden << 2);
  for (let h = 0; h < hidden; h++)
    for (let i = 0; i < d; i++) v128.store(out + (<usize>(h * d + i) << 4), f32x4.splat(load<f32>(w1 + (<usize>(h * d + i) << 2))));
  for (let h = 0; h < hidden; h++) {
    v128.store(out + (<usize>(hidden * d + h) << 4), f32x4.splat(load<f32>(b1 + (<usize>h << 2))));
    v128.store(out + (<usize>(hidden * d + hidden + h) << 4), f32x4.splat(load<f32>(w2 + (<usize>h << 2))));
  }
}

/** Input `i` of four rows (its standardized, clipped value for each lane) into x + 16 i. */
@inline function standardize4(w: usize, i: i32, d: i32, v: v128, x: usize): void {
  const s = f32x4.mul(f32x4.sub(v, f32x4.splat(load<f32>(w + (<usize>i << 2)))), f32x4.splat(load<f32>(w + (<usize>(d + i) << 2))));
  // v > CLIP ? CLIP : v < -CLIP ? -CLIP : v, lane by lane (NaN passes, as in the reference).
  const hi = f32x4.splat(CLIP);
  const lo = f32x4.splat(-CLIP);
  v128.store(x + (<usize>i << 4), v128.bitselect(hi, v128.bitselect(lo, s, f32x4.lt(s, lo)), f32x4.gt(s, hi)));
}

/** The logits of the four rows whose inputs are in x (16 bytes per input): Mlp.forward's sums, lane by lane. */
@inline function forward4(ws: usize, d: i32, hidden: i32, x: usize, b2: f32): v128 {
  const b1 = ws + (<usize>(hidden * d) << 4);
  const w2 = b1 + (<usize>hidden << 4);
  const zero = f32x4.splat(0);
  let z = f32x4.splat(b2);
  let p = ws;
  for (let h = 0; h < hidden; h++) {
    let a = v128.load(b1 + (<usize>h << 4));
    for (let i = 0; i < d; i++) {
      a = f32x4.add(a, f32x4.mul(v128.load(p), v128.load(x + (<usize>i << 4))));
      p += 16;
    }
    // Lanes with a <= 0 (or NaN) add w2 * (+0) = +-0, which leaves z as it is (were z exactly +-0,
    // only its sign could change, and the sigmoid of +0 and -0 is the same 0.5).
    z = f32x4.add(z, f32x4.mul(v128.load(w2 + (<usize>h << 4)), v128.and(a, f32x4.gt(a, zero))));
  }
  return z;
}

@inline function feature4(feat: usize, nf: i32, b0: i32, b1: i32, b2: i32, b3: i32, i: i32): v128 {
  const off = <usize>i << 2;
  let v = f32x4.splat(load<f32>(feat + (<usize>(b0 * nf) << 2) + off));
  v = f32x4.replace_lane(v, 1, load<f32>(feat + (<usize>(b1 * nf) << 2) + off));
  v = f32x4.replace_lane(v, 2, load<f32>(feat + (<usize>(b2 * nf) << 2) + off));
  v = f32x4.replace_lane(v, 3, load<f32>(feat + (<usize>(b3 * nf) << 2) + off));
  return v;
}

/** Stage 1 logits of every block into z1 (f64, each an exact float32 value); blocks in fours, a short last group padded by repeating its last block. `x` holds 16 bytes per input. */
export function stage1(feat: usize, nf: i32, n: i32, w: usize, ws: usize, hidden: i32, b2: f64, x: usize, z1: usize): void {
  const b2f = <f32>b2;
  for (let b = 0; b < n; b += 4) {
    const last = n - 1;
    const q1 = min(b + 1, last);
    const q2 = min(b + 2, last);
    const q3 = min(b + 3, last);
    for (let i = 0; i < nf; i++) standardize4(w, i, nf, feature4(feat, nf, b, q1, q2, q3, i), x);
    const z = forward4(ws, nf, hidden, x, b2f);
    store<f64>(z1 + (<usize>b << 3), <f64>f32x4.extract_lane(z, 0));
    if (b + 1 < n) store<f64>(z1 + (<usize>(b + 1) << 3), <f64>f32x4.extract_lane(z, 1));
    if (b + 2 < n) store<f64>(z1 + (<usize>(b + 2) << 3), <f64>f32x4.extract_lane(z, 2));
    if (b + 3 < n) store<f64>(z1 + (<usize>(b + 3) << 3), <f64>f32x4.extract_lane(z, 3));
  }
}

@inline function nbMax(p: usize, b: i32, cols: i32, rows: i32): f32 {
  const bx = b % cols;
  const by = (b - bx) / cols;
  let m: f32 = 0;
  if (bx > 0) m = max<f32>(m, load<f32>(p + (<usize>(b - 1) << 2)));
  if (bx + 1 < cols) m = max<f32>(m, load<f32>(p + (<usize>(b + 1) << 2)));
  if (by > 0) m = max<f32>(m, load<f32>(p + (<usize>(b - cols) << 2)));
  if (by + 1 < rows) m = max<f32>(m, load<f32>(p + (<usize>(b + cols) << 2)));
  return m;
}

/**
 * Stage 2 on blocks passing the gate: p1/prev are f32 stage-1 probabilities; z2 gets the logit
 * (f64, an exact float32 value) or NaN where gated off. Scored blocks go through forward4 in
 * groups of four, in block order; their five context inputs are kept in `ctx` (five f32x4) while
 * a group fills. Returns the number scored.
 */
export function stage2(feat: usize, nf: i32, cols: i32, rows: i32, w: usize, ws: usize, hidden: i32, b2: f64, x: usize, p1: usize, prev: usize, key: f64, gate: f64, z2: usize): i32 {
  const n = cols * rows;
  const d = nf + 5;
  const b2f = <f32>b2;
  const g = <f32>gate;
  const kf = <f32>key;
  // Context rows of the pending group: after the inputs' 16-byte slots.
  const ctx = x + (<usize>d << 4);
  let scored = 0;
  let q0 = 0;
  let q1 = 0;
  let q2 = 0;
  let pending = 0;
  for (let b = 0; b < n; b++) {
    const self = load<f32>(p1 + (<usize>b << 2));
    const nb = nbMax(p1, b, cols, rows);
    const pb = load<f32>(prev + (<usize>b << 2));
    const pnb = nbMax(prev, b, cols, rows);
    if (self < g && nb < g && pb < g && pnb < g) {
      store<f64>(z2 + (<usize>b << 3), NaN);
      continue;
    }
    scored++;
    const c = ctx + (<usize>pending << 2);
    store<f32>(c, self);
    store<f32>(c + 16, nb);
    store<f32>(c + 32, pb);
    store<f32>(c + 48, pnb);
    if (pending == 0) q0 = b;
    else if (pending == 1) q1 = b;
    else if (pending == 2) q2 = b;
    pending++;
    if (pending == 4) {
      stage2Group(feat, nf, d, w, ws, hidden, b2f, x, ctx, kf, q0, q1, q2, b, z2, 4);
      pending = 0;
    }
  }
  if (pending > 0) {
    // A short last group: the missing lanes repeat the first block; only the real ones are stored.
    for (let l = pending; l < 4; l++) {
      const c = ctx + (<usize>l << 2);
      store<f32>(c, load<f32>(ctx));
      store<f32>(c + 16, load<f32>(ctx + 16));
      store<f32>(c + 32, load<f32>(ctx + 32));
      store<f32>(c + 48, load<f32>(ctx + 48));
    }
    stage2Group(feat, nf, d, w, ws, hidden, b2f, x, ctx, kf, q0, pending > 1 ? q1 : q0, pending > 2 ? q2 : q0, q0, z2, pending);
  }
  return scored;
}

@inline function stage2Group(feat: usize, nf: i32, d: i32, w: usize, ws: usize, hidden: i32, b2: f32, x: usize, ctx: usize, key: f32, b0: i32, b1: i32, b2i: i32, b3: i32, z2: usize, count: i32): void {
  for (let i = 0; i < nf; i++) standardize4(w, i, d, feature4(feat, nf, b0, b1, b2i, b3, i), x);
  standardize4(w, nf, d, v128.load(ctx), x);
  standardize4(w, nf + 1, d, v128.load(ctx + 16), x);
  standardize4(w, nf + 2, d, v128.load(ctx + 32), x);
  standardize4(w, nf + 3, d, v128.load(ctx + 48), x);
  standardize4(w, nf + 4, d, f32x4.splat(key), x);
  const z = forward4(ws, d, hidden, x, b2);
  store<f64>(z2 + (<usize>b0 << 3), <f64>f32x4.extract_lane(z, 0));
  if (count > 1) store<f64>(z2 + (<usize>b1 << 3), <f64>f32x4.extract_lane(z, 1));
  if (count > 2) store<f64>(z2 + (<usize>b2i << 3), <f64>f32x4.extract_lane(z, 2));
  if (count > 3) store<f64>(z2 + (<usize>b3 << 3), <f64>f32x4.extract_lane(z, 3));
}

/**
 * The first byte after this module's static data (the logarithm's lookup tables): buffers the
 * caller lays out in this memory must start here, not at 0 (../../wasm-kernels.ts).
 */
export function heapBase(): usize {
  return __heap_base;
}
