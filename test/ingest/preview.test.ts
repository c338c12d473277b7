/**
 * The 160-px preview that black, freeze, stutter and A/V sync read: libswscale scales the decoder's
 * frame to GRAY8 with both ranges declared full (8-bit limited-range YUV) or to YUV410P (other
 * formats); only the luma plane is read. It must be what a YUV420P output gives, bit for bit
 * (limited range kept, as a default GRAY8 output would not), for the formats ingest hands the
 * view builder.
 */
import '../../src/shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av/api';
import { AVCOL_RANGE_JPEG, AV_PIX_FMT_YUV420P, SWS_FAST_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { Frame, SoftwareScaleContext } from 'node-av/lib';
import { describe, expect, it } from 'vitest';
import { VideoViewBuilder } from '../../src/ingest/frame-views.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';

async function frames(pixFmt: string, w: number, h: number, n: number): Promise<Frame[]> {
  setMediaLogLevel('quiet');
  const src = await Demuxer.open(`testsrc2=s=${w}x${h}:r=25:d=${n / 25},format=${pixFmt}`, { format: 'lavfi' });
  const out: Frame[] = [];
  try {
    const dec = await Decoder.create(src.video()!);
    for await (const pkt of src.packets()) {
      if (!pkt) break;
      for (const f of dec.decodeAllSync(pkt)) out.push(f);
      pkt.free();
    }
    dec.close();
  } finally {
    await src.close();
  }
  return out;
}

describe('preview plane', () => {
  it.each([
    ['yuv420p', 1280, 720],
    ['yuv420p', 642, 362],
    ['yuv422p', 640, 360],
    ['yuv444p', 320, 240],
    ['nv12', 640, 480],
    ['nv21', 640, 360],
    // Not scaled to GRAY8 (full-range "J" input is brought to limited range; high bit depth): YUV410P.
    ['yuvj420p', 640, 360],
    ['yuv420p10le', 640, 360],
    // A limited-range format whose frames say full range (as a decoder marks full-range H.264).
    ['yuv420p+full', 640, 360],
  ])('%s %dx%d: the same luma as a YUV420P scale, limited range kept', async (pixFmtSpec, w, h) => {
    const [pixFmt, flag] = pixFmtSpec.split('+') as [string, string | undefined];
    const list = await frames(pixFmt, w, h, 6);
    if (flag === 'full') for (const f of list) f.colorRange = AVCOL_RANGE_JPEG;
    expect(list.length).toBeGreaterThan(0);
    const builder = new VideoViewBuilder(() => false);
    const ref = new SoftwareScaleContext();
    const out = new Frame();
    try {
      for (const [k, f] of list.entries()) {
        const view = builder.build(f, k / 25, 0, 1 / 25, false)!;
        const p = view.preview;
        if (k === 0) {
          ref.getContext(
            f.width,
            f.height,
            f.format as AVPixelFormat,
            p.width,
            p.height,
            AV_PIX_FMT_YUV420P,
            SWS_FAST_BILINEAR,
          );
          out.alloc();
          out.width = p.width;
          out.height = p.height;
          out.format = AV_PIX_FMT_YUV420P;
          out.allocBuffer();
        }
        expect(ref.scaleFrameSync(out, f)).toBeGreaterThanOrEqual(0);
        const plane = out.data![0]!;
        const stride = out.linesize[0]!;
        let differing = 0;
        let min = 255;
        for (let y = 0; y < p.height; y++) {
          for (let x = 0; x < p.width; x++) {
            const v = p.data[y * p.width + x]!;
            if (v !== plane[y * stride + x]) differing++;
            if (v < min) min = v;
          }
        }
        expect(differing).toBe(0);
        // testsrc2 has black areas: limited-range black (16) stays 16, not expanded to 0.
        expect(min).toBeGreaterThanOrEqual(16);
        builder.release();
      }
    } finally {
      builder.close();
      ref.freeContext();
      out.free();
      for (const f of list) f.free();
    }
  });
});
