/**
 * Which corruption truth a viewer can see.
 *
 * The simulator's truth for a corruption item spans the pictures its damage reaches: from the
 * first damaged packet to the next keyframe (damage the monitor's decoder sees), or the
 * re-encoded stretch (damage baked in upstream). Not every hit shows: a flipped bit in a
 * skipped block, or concealment that guesses right, leaves the picture as it was, and a small
 * hit may touch one block of one frame. Scored as truth, such an interval is a miss no detector
 * could avoid.
 *
 * So each file with corruption truth gets a clean twin: the same scenario rendered with damage
 * functions that damage nothing (NO_DAMAGE: packets pass untouched, upstream pictures go through
 * the same encode and decode), whose pictures line up one for one with the damaged file's (same
 * encoder, same input, same timestamps). Both are decoded, and every damaged picture in and just
 * after a truth interval is labelled per 16x16 block with the corruption model's training rule
 * (scripts/train/labels.ts: luma MAD of at least 12 against the clean picture and the 6 before
 * it, within +-2 px): damage a viewer sees as wrong picture, not a repeated or late one.
 */
import '../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av/api';
import type { Frame } from 'node-av/lib';
import { damageFrames } from '../src/simulate/damage.ts';
import type { DamageApi } from '../src/simulate/index.ts';
import { blockLabels, LAG, type LumaPlane } from '../scripts/train/labels.ts';

/** Damage functions that damage nothing: packets pass untouched; upstream pictures go through the same encode and decode. */
export const NO_DAMAGE: DamageApi = {
  damagePacket: (data) => data,
  damageFrames: (frames, o) => damageFrames(frames, { ...o, window: [0, 0] }),
};

/** One damaged picture's labels: media seconds since the first picture, blocks in the picture, blocks labelled damaged. */
export interface PictureDamage {
  readonly t: number;
  readonly blocks: number;
  readonly damaged: number;
}

interface Picture {
  readonly pts: bigint;
  readonly t: number;
  readonly plane: LumaPlane;
  readonly width: number;
  readonly height: number;
}

const NOPTS = -9223372036854775808n;

/** Decoded pictures of the file's video track (luma only, compact), with their pts. */
async function* pictures(path: string): AsyncGenerator<Picture> {
  const demuxer = await Demuxer.open(path);
  try {
    const vs = demuxer.video();
    if (!vs) return;
    const tb = vs.timeBase;
    const dec = await Decoder.create(vs, { exitOnError: false, threadCount: 1 });
    let origin: bigint | undefined;
    const take = function* (frames: Frame[]): Generator<Picture> {
      for (const f of frames) {
        try {
          const pts = f.pts !== NOPTS ? f.pts : f.bestEffortTimestamp;
          const src = f.data?.[0];
          if (pts === NOPTS || !src) continue;
          origin ??= pts;
          const w = f.width;
          const h = f.height;
          const stride = f.linesize[0] ?? w;
          const y = new Uint8Array(w * h);
          for (let r = 0; r < h; r++) y.set(src.subarray(r * stride, r * stride + w), r * w);
          yield { pts, t: (Number(pts - origin) * tb.num) / tb.den, plane: { y, stride: w }, width: w, height: h };
        } finally {
          f.free();
        }
      }
    };
    try {
      for await (const pkt of demuxer.packets()) {
        if (!pkt) break;
        const mine = pkt.streamIndex === vs.index;
        const frames = mine ? dec.decodeAllSync(pkt) : [];
        pkt.free();
        yield* take(frames);
      }
      yield* take(dec.decodeAllSync(null));
    } finally {
      dec.close();
    }
  } finally {
    await demuxer.close();
  }
}

/**
 * Label the damaged file's pictures whose media time falls in one of `windows` against the clean
 * twin's. Pictures pair by pts (the twin carries the same timestamps); a damaged picture without
 * a clean counterpart is skipped.
 */
export async function labelDamage(damagedPath: string, cleanPath: string, windows: readonly { start: number; end: number }[]): Promise<PictureDamage[]> {
  const inWindow = (t: number, before = 0): boolean => windows.some((w) => t >= w.start - before && t <= w.end);
  // Clean pictures in the windows, with enough history before each for the lag search.
  const clean: Picture[] = [];
  const index = new Map<bigint, number>();
  for await (const p of pictures(cleanPath)) {
    if (!inWindow(p.t, 1)) continue;
    index.set(p.pts, clean.length);
    clean.push(p);
  }
  const out: PictureDamage[] = [];
  for await (const p of pictures(damagedPath)) {
    if (!inWindow(p.t)) continue;
    const k = index.get(p.pts);
    if (k === undefined) continue;
    const c = clean[k]!;
    if (c.width !== p.width || c.height !== p.height) continue;
    const refs: LumaPlane[] = [];
    for (let j = k; j >= 0 && j >= k - LAG; j--) refs.push(clean[j]!.plane);
    const lab = blockLabels(p.plane, refs, p.width, p.height);
    let damaged = 0;
    for (const v of lab) if (v === 1) damaged++;
    out.push({ t: c.t, blocks: lab.length, damaged });
  }
  return out;
}
