/**
 * Loader for the corruption detector's WebAssembly kernels (kernels.wasm, compiled from
 * assembly/kernels.ts by `npm run build:wasm`; the binary is committed, so nothing is compiled or
 * downloaded at install or run time). WebAssembly is part of Node itself: no runtime to add.
 *
 * The kernels are bit-identical ports of the TypeScript reference loops (features.ts, model.ts);
 * they run the per-block pixel statistics about 4x and the two perceptrons about 2.5x faster
 * than V8 does the same loops (measured on 720p frames, docs/adr/0003-corruption-model.md).
 * Where WebAssembly cannot be instantiated, callers fall back to the TypeScript loops.
 *
 * Each Kernels object has its own linear memory (one per stream and use): buffers are laid out
 * once per picture size with `layout` and reused for every frame, nothing is allocated per frame.
 */
import { readFileSync } from 'node:fs';

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  blockStats(luma: number, stride: number, cols: number, rows: number, state: number, vAcc: number): void;
  derive(state: number, cols: number, rows: number, out: number, havePrev: number, decodeError: number): number;
  log(x: number): number;
  log1p(x: number): number;
  readonly STATE_ARRAYS: WebAssembly.Global;
  readonly MEDIAN_SCRATCH_BYTES: WebAssembly.Global;
  stage1(feat: number, nf: number, n: number, w: number, hidden: number, b2: number, x: number, z1: number): void;
  stage2(
    feat: number,
    nf: number,
    cols: number,
    rows: number,
    w: number,
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

let compiled: WebAssembly.Module | null | undefined;
/** Why the kernels could not be loaded, when they could not. */
export let kernelsUnavailable: string | undefined;

function compiledModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = new WebAssembly.Module(readFileSync(KERNELS_URL));
  } catch (err) {
    kernelsUnavailable = err instanceof Error ? err.message : String(err);
    compiled = null;
  }
  return compiled;
}

export class Kernels {
  private top = 0;

  private constructor(readonly exports: KernelExports) {}

  /** A fresh instance with its own memory, or null where WebAssembly is unavailable. */
  static create(): Kernels | null {
    const mod = compiledModule();
    if (!mod) return null;
    const instance = new WebAssembly.Instance(mod, {
      env: {
        abort: () => {
          throw new Error('corruption kernels: abort');
        },
      },
    });
    return new Kernels(instance.exports as unknown as KernelExports);
  }

  /**
   * Lay out regions of the given byte sizes (16-byte aligned) from the start of memory, growing
   * it as needed; returns their offsets. Earlier layouts and views on the old buffer are invalid
   * afterwards: take views from `buffer` again.
   */
  layout<const T extends readonly number[]>(sizes: T): { -readonly [K in keyof T]: number } {
    this.top = 0;
    const offsets = sizes.map((bytes) => {
      const at = this.top;
      this.top = (this.top + bytes + 15) & ~15;
      return at;
    }) as { -readonly [K in keyof T]: number };
    const memory = this.exports.memory;
    const short = this.top - memory.buffer.byteLength;
    if (short > 0) memory.grow(Math.ceil(short / 65536));
    return offsets;
  }

  get buffer(): ArrayBuffer {
    return this.exports.memory.buffer;
  }
}
