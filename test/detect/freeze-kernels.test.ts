/**
 * The freeze detector's WebAssembly kernels (src/detect/freeze/assembly/kernels.ts):
 * - the same region sums, changed-pixel count and whiteness sums as the TypeScript reference, on
 *   decoded previews of real clips and on synthetic pictures of awkward sizes (width not a
 *   multiple of 16, fewer than 16 rows, portrait), across a reset and a change of size;
 * - the committed kernels.wasm is what the source compiles to (`npm run build:wasm`);
 * - production code really runs them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FREEZE_KERNELS_URL, PictureDiff, REGIONS } from '../../src/detect/freeze/picture-diff.ts';
import { StreamSource, setMediaLogLevel } from '../../src/ingest/index.ts';
import { prng } from '../../src/shared/index.ts';
import { rebuildWasm } from '../helpers/wasm.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

interface Picture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

async function previews(file: string, max: number): Promise<Picture[]> {
  setMediaLogLevel('quiet');
  const out: Picture[] = [];
  const src = new StreamSource(
    { id: 'freeze-kernels', url: join(MEDIA, file), live: false, decoderThreads: 1 },
    {
      video(v) {
        if (out.length < max)
          out.push({
            data: v.preview.data.slice(0, v.preview.width * v.preview.height),
            width: v.preview.width,
            height: v.preview.height,
          });
      },
      audio() {},
      edge() {},
      discontinuity() {},
    },
  );
  await src.run();
  return out;
}

/** A textured picture, then versions of it: identical, grain, a moved block, a brightness step. */
function synthetic(width: number, height: number, seed: number): Picture[] {
  const rand = prng(seed);
  const base = Uint8Array.from(
    { length: width * height },
    (_, i) => (((i % width) * 7 + Math.floor(i / width) * 3) & 255) ^ Math.floor(rand() * 16),
  );
  const out: Picture[] = [
    { data: base, width, height },
    { data: base.slice(), width, height },
  ];
  out.push({ data: base.map((v) => Math.max(0, Math.min(255, v + Math.round((rand() - 0.5) * 40)))), width, height });
  const moved = base.slice();
  for (let y = 0; y < Math.min(height, 9); y++)
    for (let x = 0; x < Math.min(width, 13); x++) moved[y * width + x] = 255 - moved[y * width + x]!;
  out.push({ data: moved, width, height });
  out.push({ data: base.map((v) => (v < 200 ? v + 55 : 0)), width, height });
  out.push({ data: base.map(() => (rand() < 0.5 ? 0 : 255)), width, height });
  return out;
}

/** Feeds both implementations the same pictures; returns how many comparisons were checked. */
function compareAll(pictures: readonly Picture[], resetEvery = 0): number {
  const wasm = new PictureDiff();
  const js = new PictureDiff({ kernels: false });
  let checked = 0;
  pictures.forEach((p, i) => {
    if (resetEvery > 0 && i > 0 && i % resetEvery === 0) {
      wasm.reset();
      js.reset();
    }
    const a = wasm.compare(p.data, p.width, p.height);
    const b = js.compare(p.data, p.width, p.height);
    expect(a).toBe(b);
    if (!a) return;
    expect(wasm.total).toBe(js.total);
    expect(wasm.nonzero).toBe(js.nonzero);
    expect(wasm.rough).toBe(js.rough);
    expect(wasm.flat).toBe(js.flat);
    for (let r = 0; r < REGIONS; r++) expect(wasm.sums[r]).toBe(js.sums[r]);
    expect(Array.from(wasm.counts)).toEqual(Array.from(js.counts));
    checked++;
  });
  return checked;
}

describe('freeze kernels', () => {
  it('load in this build (production runs them, not the fallback)', () => {
    expect(new PictureDiff().usesKernels).toBe(true);
    expect(new PictureDiff({ kernels: false }).usesKernels).toBe(false);
  });

  it('match the TypeScript reference on synthetic pictures of awkward sizes, across resets and size changes', () => {
    const pictures = [
      ...synthetic(160, 90, 1),
      ...synthetic(150, 84, 2),
      ...synthetic(94, 11, 3),
      ...synthetic(17, 300, 4),
      ...synthetic(2, 2, 5),
      ...synthetic(160, 90, 6),
    ];
    expect(compareAll(pictures)).toBe(pictures.length - 6);
    expect(compareAll(pictures, 4)).toBeGreaterThan(pictures.length / 2);
    // The totals are not trivially zero: the grain and inverted-block pictures change many pixels.
    const d = new PictureDiff();
    const [base, , grain] = synthetic(160, 90, 7);
    d.compare(base!.data, 160, 90);
    d.compare(grain!.data, 160, 90);
    expect(d.nonzero).toBeGreaterThan(160 * 90 * 0.5);
    expect(d.rough).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_MEDIA)(
    'match the TypeScript reference on decoded previews of real clips',
    async () => {
      for (const file of [
        'static_parking_lot_overhead_768x432.mp4',
        'sintel_256x110_lowbitrate_blocky.mp4',
        'bear_vp9_320x240_noaudio.webm',
      ]) {
        const pictures = await previews(file, 40);
        expect(pictures.length).toBeGreaterThan(20);
        expect(compareAll(pictures)).toBe(pictures.length - 1);
      }
    },
    60_000,
  );

  it('the committed kernels.wasm is what assembly/kernels.ts compiles to (run npm run build:wasm after editing it)', () => {
    const { built, committed } = rebuildWasm(FREEZE_KERNELS_URL);
    expect(Buffer.compare(built, committed)).toBe(0);
  }, 60_000);
});
