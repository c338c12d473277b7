/**
 * The freeze detector's two pixel passes over the preview, in AssemblyScript compiled to
 * WebAssembly with SIMD (../kernels.wasm, committed; `npm run build:wasm` rebuilds it, and
 * test/detect/freeze-kernels.test.ts fails when the committed binary is not what this source
 * compiles to). Both are integer sums, so they equal the TypeScript reference in
 * ../freeze-detector.ts exactly (the test checks that on decoded previews).
 *
 * No allocation: the caller lays out every buffer in this module's memory (../../wasm-kernels.ts).
 */

const GRID: i32 = 16;

/**
 * Sum of absolute differences between the pictures at `cur` and `prev` (w x h bytes each) per
 * region of the GRID x GRID split into `sums` (u32 each, row-major); returns the count of pixels
 * that changed. `colStart` holds GRID + 1 u32 column bounds, `rowBand` one u8 region row per
 * picture row (non-decreasing), `colAcc` w u16 of scratch: each region row is summed per column
 * first, then per region. A region row may hold at most 257 picture rows (u16 column sums).
 */
export function regionDifferences(cur: usize, prev: usize, w: i32, h: i32, colStart: usize, rowBand: usize, colAcc: usize, sums: usize): i32 {
  let nonzero: i32 = 0;
  let y: i32 = 0;
  const w16 = w & ~15;
  for (let band: i32 = 0; band < GRID; band++) {
    memory.fill(colAcc, 0, <usize>(w << 1));
    while (y < h && <i32>load<u8>(rowBand + <usize>y) == band) {
      const c = cur + <usize>(y * w);
      const p = prev + <usize>(y * w);
      let x: i32 = 0;
      for (; x < w16; x += 16) {
        const a = v128.load(c + <usize>x);
        const b = v128.load(p + <usize>x);
        const ad = v128.or(i8x16.sub_sat_u(a, b), i8x16.sub_sat_u(b, a));
        nonzero += popcnt<i32>(i8x16.bitmask(i8x16.ne(a, b)));
        const q = colAcc + <usize>(x << 1);
        v128.store(q, i16x8.add(v128.load(q), i16x8.extend_low_i8x16_u(ad)));
        v128.store(q + 16, i16x8.add(v128.load(q + 16), i16x8.extend_high_i8x16_u(ad)));
      }
      for (; x < w; x++) {
        const d = <i32>load<u8>(c + <usize>x) - <i32>load<u8>(p + <usize>x);
        const q = colAcc + <usize>(x << 1);
        store<u16>(q, <i32>load<u16>(q) + (d < 0 ? -d : d));
        if (d != 0) nonzero++;
      }
      y++;
    }
    for (let rx: i32 = 0; rx < GRID; rx++) {
      let acc: u32 = 0;
      const x1 = load<u32>(colStart + <usize>((rx + 1) << 2));
      for (let x = load<u32>(colStart + <usize>(rx << 2)); x < x1; x++) acc += <u32>load<u16>(colAcc + <usize>(x << 1));
      store<u32>(sums + <usize>((band * GRID + rx) << 2), acc);
    }
  }
  return nonzero;
}

/**
 * On every 4th row of the pictures at `cur` and `prev` (w x h bytes each), with d the difference
 * cur - prev: the sum of |d[i] - d[i-1]| (rough) and of |d[i]| (flat) for i = 1 .. w-1 of the
 * row, written as two float64 at `out`.
 */
export function whitenessSums(cur: usize, prev: usize, w: i32, h: i32, out: usize): void {
  let rough: f64 = 0;
  let flat: f64 = 0;
  for (let y: i32 = 0; y < h; y += 4) {
    const c = cur + <usize>(y * w);
    const p = prev + <usize>(y * w);
    let accR = i32x4.splat(0);
    let accF = i32x4.splat(0);
    let i: i32 = 1;
    for (; i + 8 <= w; i += 8) {
      const d = i16x8.sub(v128.load8x8_u(c + <usize>i), v128.load8x8_u(p + <usize>i));
      const dp = i16x8.sub(v128.load8x8_u(c + <usize>(i - 1)), v128.load8x8_u(p + <usize>(i - 1)));
      accF = i32x4.add(accF, i32x4.extadd_pairwise_i16x8_s(i16x8.abs(d)));
      accR = i32x4.add(accR, i32x4.extadd_pairwise_i16x8_s(i16x8.abs(i16x8.sub(d, dp))));
    }
    let r: i32 = i32x4.extract_lane(accR, 0) + i32x4.extract_lane(accR, 1) + i32x4.extract_lane(accR, 2) + i32x4.extract_lane(accR, 3);
    let f: i32 = i32x4.extract_lane(accF, 0) + i32x4.extract_lane(accF, 1) + i32x4.extract_lane(accF, 2) + i32x4.extract_lane(accF, 3);
    for (; i < w; i++) {
      const d = <i32>load<u8>(c + <usize>i) - <i32>load<u8>(p + <usize>i);
      const dp = <i32>load<u8>(c + <usize>(i - 1)) - <i32>load<u8>(p + <usize>(i - 1));
      const dd = d - dp;
      r += dd < 0 ? -dd : dd;
      f += d < 0 ? -d : d;
    }
    rough += <f64>r;
    flat += <f64>f;
  }
  store<f64>(out, rough);
  store<f64>(out + 8, flat);
}
