/**
 * Baseline 1: demux + decode audio and video exactly as Vigil's ingest does, and nothing else:
 * video through ingest's VideoDecoder (node-av's low-level avcodec send/receive on one reused
 * frame, threadCount 1, as src/ingest/stream-source.ts), audio through node-av's Decoder
 * resampled to planar float (threadCount 1, decodeAllSync per packet), each frame freed.
 * No views, no detectors. (Until ingest moved off node-av's Decoder class for video, this loop
 * used that class for video too; it clones every frame, which ingest no longer pays.)
 */
import { measure } from './common.ts';
import { readPackets } from '../src/ingest/packet-reader.ts';
import { Decoder, Demuxer } from 'node-av/api';
import { AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import { protocolOptions } from '../src/ingest/protocol-options.ts';
import { VideoDecoder } from '../src/ingest/video-decoder.ts';

await measure('decode-only', async (input) => {
  const demuxer = await Demuxer.open(input, { options: protocolOptions(input) });
  let videoFrames = 0;
  let audioFrames = 0;
  const onVideo = (): void => void videoFrames++;
  try {
    const vs = demuxer.video();
    const as = demuxer.audio();
    const vdec = vs ? new VideoDecoder(vs, 1) : undefined;
    const adec = as
      ? await Decoder.create(as, { exitOnError: false, threadCount: 1, resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } })
      : undefined;
    try {
      for await (const pkt of readPackets(demuxer, input)) {
        if (vs && vdec && pkt.streamIndex === vs.index) {
          vdec.decode(pkt, onVideo);
        } else if (as && adec && pkt.streamIndex === as.index) {
          for (const f of adec.decodeAllSync(pkt)) {
            audioFrames++;
            f.free();
          }
        }
        pkt.free();
      }
      vdec?.flush(onVideo);
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
