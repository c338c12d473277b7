/**
 * Baseline 2: FFmpeg's own detector chain through node-av's filter graph, the counterparts of
 * Vigil's default detectors that FFmpeg has. Decode as in decode-only.ts, then video through
 * `blackdetect,freezedetect,blockdetect` and audio through `ebur128,silencedetect` (thresholds
 * and minimum durations as Vigil's defaults: 2 s, -60 dB, 10 % pixel threshold; ebur128 with
 * true peak), draining every output frame and reading the detectors' frame metadata for their
 * events. With a third argument (`bench/ffmpeg-chain.ts <input> freezedetect` or `none`), only
 * those filters run, each as its own graph's only filter (`--detectors` in run.ts); `none` is
 * this file's decode alone (node-av's Decoder for video, unlike decode-only.ts).
 */
import { measure } from './common.ts';
import { readPackets } from '../src/ingest/packet-reader.ts';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import { AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import type { Frame } from 'node-av/lib';
import { protocolOptions } from '../src/ingest/protocol-options.ts';
import { chainsFor } from './select.ts';

const EVENT_KEYS = ['lavfi.black_start', 'lavfi.freezedetect.freeze_start', 'lavfi.silence_start'];

const chains = chainsFor(process.argv[3]);
await measure(process.argv[3] === undefined ? 'ffmpeg-chain' : `ffmpeg ${process.argv[3]}`, async (input) => {
  const demuxer = await Demuxer.open(input, { options: protocolOptions(input) });
  let videoFrames = 0;
  let audioFrames = 0;
  const events: string[] = [];
  const drain = (frames: Frame[]): number => {
    for (const f of frames) {
      const md = f.getMetadata();
      for (const k of EVENT_KEYS) {
        const v = md.get(k);
        if (v !== null && v !== undefined) events.push(`${k.replace(/^lavfi\.(freezedetect\.)?/, '')}=${v}`);
      }
      f.free();
    }
    return frames.length;
  };
  try {
    const vs = demuxer.video();
    const as = demuxer.audio();
    const vdec = vs ? await Decoder.create(vs, { exitOnError: false, threadCount: 1 }) : undefined;
    const adec = as
      ? await Decoder.create(as, { exitOnError: false, threadCount: 1, resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } })
      : undefined;
    const vf = vs && chains.video ? FilterAPI.create(chains.video, { threads: 1 }) : undefined;
    const af = as && chains.audio ? FilterAPI.create(chains.audio, { threads: 1 }) : undefined;
    try {
      const onVideo = (frames: Frame[]): void => {
        for (const f of frames) {
          videoFrames += vf ? drain(vf.processAllSync(f)) : 1;
          f.free();
        }
      };
      const onAudio = (frames: Frame[]): void => {
        for (const f of frames) {
          audioFrames += af ? drain(af.processAllSync(f)) : 1;
          f.free();
        }
      };
      for await (const pkt of readPackets(demuxer, input)) {
        if (vs && vdec && pkt.streamIndex === vs.index) onVideo(vdec.decodeAllSync(pkt));
        else if (as && adec && pkt.streamIndex === as.index) onAudio(adec.decodeAllSync(pkt));
        pkt.free();
      }
      if (vdec) onVideo(vdec.decodeAllSync(null));
      if (adec) onAudio(adec.decodeAllSync(null));
      if (vf) videoFrames += drain([...vf.flushFramesSync()]);
      if (af) audioFrames += drain([...af.flushFramesSync()]);
    } finally {
      vf?.close();
      af?.close();
      vdec?.close();
      adec?.close();
    }
  } finally {
    await demuxer.close();
  }
  return { videoFrames, audioFrames, events };
});
