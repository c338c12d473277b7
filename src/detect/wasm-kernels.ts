/**
 * Loader for detectors' WebAssembly kernels: small AssemblyScript modules compiled by
 * `npm run build:wasm` into `.wasm` files that are committed next to their detector, so nothing
 * is compiled or downloaded at install or run time. WebAssembly is part of Node itself: no
 * runtime to add. Where a module cannot be compiled or instantiated, `create` returns null and the
 * detector runs its TypeScript reference loops instead.
 *
 * Each instance has its own linear memory (one per stream and use): buffers are laid out once per
 * picture size with `layout` and reused for every frame, nothing is allocated per frame. A module
 * whose code reads static data of its own (the corruption kernels' logarithm tables) exports
 * `heapBase()`, the first byte after that data, and the layout starts there.
 */
import { readFileSync } from 'node:fs';

const compiled = new Map<string, WebAssembly.Module | null>();
const failures = new Map<string, string>();

function compiledModule(url: URL): WebAssembly.Module | null {
  const key = url.href;
  const known = compiled.get(key);
  if (known !== undefined) return known;
  let mod: WebAssembly.Module | null = null;
  try {
    mod = new WebAssembly.Module(readFileSync(url));
  } catch (err) {
    failures.set(key, err instanceof Error ? err.message : String(err));
  }
  compiled.set(key, mod);
  return mod;
}

/** Why the module at `url` could not be compiled, once `WasmKernels.create` has tried; else undefined. */
export function wasmUnavailable(url: URL): string | undefined {
  return failures.get(url.href);
}

export class WasmKernels<E extends { readonly memory: WebAssembly.Memory }> {
  private top = 0;

  private constructor(readonly exports: E) {}

  /** A fresh instance of the module at `url` with its own memory, or null where WebAssembly is unavailable. */
  static create<E extends { readonly memory: WebAssembly.Memory }>(url: URL, label: string): WasmKernels<E> | null {
    const mod = compiledModule(url);
    if (!mod) return null;
    try {
      const instance = new WebAssembly.Instance(mod, {
        env: {
          abort: () => {
            throw new Error(`${label} kernels: abort`);
          },
        },
      });
      return new WasmKernels(instance.exports as unknown as E);
    } catch (err) {
      failures.set(url.href, err instanceof Error ? err.message : String(err));
      return null;
    }
  }

  /**
   * Lay out regions of the given byte sizes (16-byte aligned) from the start of memory, growing
   * it as needed; returns their offsets. Earlier layouts and views on the old buffer are invalid
   * afterwards: take views from `buffer` again.
   */
  layout<const T extends readonly number[]>(sizes: T): { -readonly [K in keyof T]: number } {
    // A module with static data (lookup tables) says where it ends; the layout starts after it.
    const base = (this.exports as { heapBase?: () => number }).heapBase?.() ?? 0;
    this.top = (base + 15) & ~15;
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
