/**
 * Loader for the corruption detector's WebAssembly kernels (kernels.wasm, compiled from
 * assembly/kernels.ts by `npm run build:wasm`; the binary is committed, so nothing is compiled or
 * downloaded at install or run time). WebAssembly is part of Node itself: no runtime to add.
 *
 * The kernels are bit-identical ports of the TypeScript reference loops (features.ts, model.ts);
 * they run the per-block pixel statistics about 4x and the two perceptrons about 2.5x faster
 * than V8 does the same loops (measured on 720p frames, docs/adr/0003-corruption-model.md; the
 * perceptrons before the six-hidden-unit pair kernel, which took another 28% off scoring).
 * Where WebAssembly cannot be instantiated, callers fall back to the TypeScript loops. Loading,
 * memory and layout: ../wasm-kernels.ts.
 */
import { WasmKernels, wasmUnavailable } from '../wasm-kernels.ts';

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  blockStats(luma: number, stride: number, cols: number, rows: number, state: number, vAcc: number): void;
  derive(state: number, cols: number, rows: number, out: number, havePrev: number, decodeError: number): number;
  log(x: number): number;
  log1p(x: number): number;
  readonly STATE_ARRAYS: WebAssembly.Global;
  readonly MEDIAN_SCRATCH_BYTES: WebAssembly.Global;
  prepareWeights(w: number, d: number, hidden: number, out: number): void;
  stage1(feat: number, nf: number, n: number, w: number, ws: number, hidden: number, b2: number, x: number, z1: number): void;
  stage2(
    feat: number,
    nf: number,
    cols: number,
    rows: number,
    w: number,
    ws: number,
    hidden: number,
    b2: number,
    x: number,
    p1: number,
    prev: number,
    key: number,
    gate: number,
    z2: number,
  ): number;
}

export const KERNELS_URL = new URL('./kernels.wasm', import.meta.url);

/** The corruption kernels' instance type (one per stream and use; see ../wasm-kernels.ts). */
export type Kernels = WasmKernels<KernelExports>;

export const Kernels = {
  /** A fresh instance with its own memory, or null where WebAssembly is unavailable. */
  create(): Kernels | null {
    return WasmKernels.create<KernelExports>(KERNELS_URL, 'corruption');
  },
};

/** Why the kernels could not be loaded, when they could not (after a create()). */
export function kernelsUnavailable(): string | undefined {
  return wasmUnavailable(KERNELS_URL);
}
