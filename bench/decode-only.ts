/**
 * Baseline 1: demux + decode audio and video exactly as Vigil's ingest does
 * (src/ingest/stream-source.ts: Decoder threadCount 1, audio resampled to planar float,
 * decodeAllSync per packet), and nothing else.
 */
import { measure } from './common.ts';
import { Decoder, Demuxer } from 'node-av/api';
import { AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import { protocolOptions } from '../src/ingest/protocol-options.ts';

await measure('decode-only', async (input) => {
  const demuxer = await Demuxer.open(input, { options: protocolOptions(input) });
  let videoFrames = 0;
  let audioFrames = 0;
  try {
    const vs = demuxer.video();
    const as = demuxer.audio();
    const vdec = vs ? await Decoder.create(vs, { exitOnError: false, threadCount: 1 }) : undefined;
    const adec = as
      ? await Decoder.create(as, { exitOnError: false, threadCount: 1, resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } })
      : undefined;
    try {
      for await (const pkt of demuxer.packets()) {
        if (!pkt) break;
        if (vs && vdec && pkt.streamIndex === vs.index) {
          for (const f of vdec.decodeAllSync(pkt)) {
            videoFrames++;
            f.free();
          }
        } else if (as && adec && pkt.streamIndex === as.index) {
          for (const f of adec.decodeAllSync(pkt)) {
            audioFrames++;
            f.free();
          }
        }
        pkt.free();
      }
      if (vdec)
        for (const f of vdec.decodeAllSync(null)) {
          videoFrames++;
          f.free();
        }
      if (adec)
        for (const f of adec.decodeAllSync(null)) {
          audioFrames++;
          f.free();
        }
    } finally {
      vdec?.close();
      adec?.close();
    }
  } finally {
    await demuxer.close();
  }
  return { videoFrames, audioFrames };
});
