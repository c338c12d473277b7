/**
 * The FFmpeg baseline: one pass over a file that decodes audio and video exactly as Vigil's
 * ingest does (node-av Decoder, threadCount 1, audio resampled to planar float) and feeds
 * every decoded frame to each baseline filter graph in turn (FilterAPI, threads 1; the
 * buffer source keeps its reference, so one frame feeds every graph). CPU is measured with
 * process.cpuUsage() around the decode calls and around each graph's calls separately, so
 * one pass gives decode-only CPU and decode + each filter.
 *
 * Results are media intervals (black, freeze, silence from the filters' start/end
 * metadata) or per-frame series (blockdetect's lavfi.block, ebur128's short-term loudness
 * and true peak) that the runner turns into verdicts. Times are media seconds since the
 * first decoded video frame (audio-only: first audio frame), as the ground truth is.
 */
import '../src/shared/polyfill.ts';
import { Decoder, Demuxer, FilterAPI } from 'node-av/api';
import { AV_SAMPLE_FMT_FLTP } from 'node-av/constants';
import type { Frame } from 'node-av/lib';
import { readPackets } from '../src/ingest/packet-reader.ts';
import type { IncidentType } from '../src/shared/index.ts';
import type { Baseline } from './defects.ts';
import type { Interval } from './score.ts';

export interface BaselineParams {
  /** blackdetect d, pix_th, pic_th. */
  readonly black: { d: number; pixTh: number; picTh: number };
  readonly freeze: { noiseDb: number; d: number };
  readonly silence: { noiseDb: number; d: number };
}

export interface BaselineResult {
  /** Media seconds decoded. */
  readonly duration: number;
  /** CPU seconds of the pass less the filter graphs' own: demux + decode, i.e. decode-only. */
  readonly decodeCpu: number;
  /** CPU seconds of the video and of the audio decode calls alone (parts of decodeCpu). */
  readonly trackDecodeCpu: { video: number; audio: number };
  /** CPU seconds of each baseline graph (added to decodeCpu for its ratio). */
  readonly filterCpu: Partial<Record<Baseline, number>>;
  /** Intervals found by the event filters. */
  readonly intervals: Interval[];
  /** blockdetect: per-frame blockiness. */
  readonly block: { t: number; v: number }[];
  /** ebur128: short-term loudness (LUFS) and the largest true peak over channels (dBTP) per output frame. */
  readonly r128: { t: number; s: number; tp: number }[];
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const secondsOf = (f: Frame, fallback: { num: number; den: number }): number => {
  const tb = f.timeBase && f.timeBase.den > 0 && f.timeBase.num > 0 ? f.timeBase : fallback;
  return (Number(f.pts) * tb.num) / tb.den;
};

/**
 * Run the given baselines over one file. With an empty list this is the decode-only pass
 * (no per-call CPU probes then: decodeCpu is the whole pass).
 */
/** Seconds past the latest frame time beyond which a frame's time is taken as damaged (see feed). */
const MAX_LEAP = 10;

export async function runBaselines(input: string, which: readonly Baseline[], p: BaselineParams): Promise<BaselineResult> {
  const cpuStart = cpuNow();
  const demuxer = await Demuxer.open(input);
  const intervals: Interval[] = [];
  const block: BaselineResult['block'] = [];
  const r128: BaselineResult['r128'] = [];
  const filterCpu: Partial<Record<Baseline, number>> = {};
  const trackDecodeCpu = { video: 0, audio: 0 };
  let t0: number | undefined;
  let end = 0;
  const open = new Map<string, number>();
  const edge = (key: string, type: IncidentType, start: string | null | undefined, stop: string | null | undefined, channel?: string): void => {
    if (start !== null && start !== undefined) open.set(key, Number(start));
    if (stop !== null && stop !== undefined) {
      const s = open.get(key);
      open.delete(key);
      if (s !== undefined) intervals.push({ type, start: s, end: Number(stop), ...(channel ? { channel } : {}) });
    }
  };
  const pending: { key: string; type: IncidentType; channel?: string }[] = [];
  try {
    const vs = demuxer.video();
    const as = demuxer.audio();
    const vtb = vs ? { num: vs.timeBase.num, den: vs.timeBase.den } : { num: 1, den: 1 };
    const atb = as ? { num: as.timeBase.num, den: as.timeBase.den } : { num: 1, den: 1 };
    const vdec = vs ? await Decoder.create(vs, { exitOnError: false, threadCount: 1 }) : undefined;
    const adec = as ? await Decoder.create(as, { exitOnError: false, threadCount: 1, resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } }) : undefined;
    const graphs: { name: Baseline; kind: 'video' | 'audio'; g: FilterAPI; read: (f: Frame) => void }[] = [];
    const add = (name: Baseline, kind: 'video' | 'audio', desc: string, read: (f: Frame) => void): void => {
      if (!which.includes(name)) return;
      if (kind === 'video' ? !vs : !as) return;
      graphs.push({ name, kind, g: FilterAPI.create(desc, { threads: 1 }), read });
      filterCpu[name] = 0;
    };
    add('blackdetect', 'video', `blackdetect=d=${p.black.d}:pix_th=${p.black.pixTh}:pic_th=${p.black.picTh}`, (f) => {
      const m = f.getMetadata();
      edge('black', 'black', m.get('lavfi.black_start'), m.get('lavfi.black_end'));
    });
    pending.push({ key: 'black', type: 'black' });
    add('freezedetect', 'video', `freezedetect=n=${p.freeze.noiseDb}dB:d=${p.freeze.d}`, (f) => {
      const m = f.getMetadata();
      edge('freeze', 'freeze', m.get('lavfi.freezedetect.freeze_start'), m.get('lavfi.freezedetect.freeze_end'));
    });
    pending.push({ key: 'freeze', type: 'freeze' });
    add('blockdetect', 'video', 'blockdetect', (f) => {
      const v = f.getMetadata().get('lavfi.block');
      if (v !== null && v !== undefined) block.push({ t: secondsOf(f, vtb), v: Number(v) });
    });
    // mono=1: silencedetect checks each channel on its own (without it, one dead channel of a
    // pair goes unnoticed); an all-channel silence then shows as one interval per channel.
    add('silencedetect', 'audio', `silencedetect=n=${p.silence.noiseDb}dB:d=${p.silence.d}:mono=1`, (f) => {
      const m = f.getMetadata();
      for (let c = 1; c <= 8; c++) {
        edge(`silence.${c}`, 'silence', m.get(`lavfi.silence_start.${c}`), m.get(`lavfi.silence_end.${c}`), String(c));
      }
    });
    for (let c = 1; c <= 8; c++) pending.push({ key: `silence.${c}`, type: 'silence', channel: String(c) });
    add('ebur128', 'audio', 'ebur128=metadata=1:peak=true', (f) => {
      const m = f.getMetadata();
      const s = m.get('lavfi.r128.S');
      if (s === null || s === undefined) return;
      let tp = -Infinity;
      for (let c = 0; c < 8; c++) {
        const v = m.get(`lavfi.r128.true_peaks_ch${c}`);
        if (v === null || v === undefined) break;
        tp = Math.max(tp, 20 * Math.log10(Math.max(Number(v), 1e-10)));
      }
      r128.push({ t: secondsOf(f, atb), s: Number(s), tp });
    });

    const feed = (kind: 'video' | 'audio', frames: Frame[], tb: { num: number; den: number }): void => {
      for (const f of frames) {
        if (graphs.length === 0 && t0 !== undefined && kind === 'video') {
          f.free();
          continue;
        }
        const t = secondsOf(f, tb);
        if (kind === 'video' || !vs) t0 ??= t;
        // A frame stamped far past every other is a damaged timestamp (a garbled PES header), not
        // the end of the file: FFmpeg's filters still get it, the file's length does not.
        if (end === 0 || t <= end + MAX_LEAP) end = Math.max(end, t);
        for (const gr of graphs) {
          if (gr.kind !== kind) continue;
          const c0 = cpuNow();
          const outs = gr.g.processAllSync(f);
          for (const o of outs) {
            gr.read(o);
            o.free();
          }
          filterCpu[gr.name]! += cpuNow() - c0;
        }
        f.free();
      }
    };
    const decode = (dec: Decoder, pkt: Parameters<Decoder['decodeAllSync']>[0]): Frame[] => {
      if (graphs.length === 0) return dec.decodeAllSync(pkt);
      const c0 = cpuNow();
      const frames = dec.decodeAllSync(pkt);
      trackDecodeCpu[dec === vdec ? 'video' : 'audio'] += cpuNow() - c0;
      return frames;
    };
    try {
      for await (const pkt of readPackets(demuxer, input)) {
        if (vs && vdec && pkt.streamIndex === vs.index) feed('video', decode(vdec, pkt), vtb);
        else if (as && adec && pkt.streamIndex === as.index) feed('audio', decode(adec, pkt), atb);
        pkt.free();
      }
      if (vdec) feed('video', decode(vdec, null), vtb);
      if (adec) feed('audio', decode(adec, null), atb);
      for (const gr of graphs) {
        const c0 = cpuNow();
        for (const o of gr.g.flushFramesSync()) {
          gr.read(o);
          o.free();
        }
        filterCpu[gr.name]! += cpuNow() - c0;
      }
    } finally {
      for (const gr of graphs) gr.g.close();
      vdec?.close();
      adec?.close();
    }
  } finally {
    await demuxer.close();
  }
  const decodeCpu = cpuNow() - cpuStart - Object.values(filterCpu).reduce((a, b) => a + b, 0);
  // Intervals still open at the end of input close there (as Vigil closes them at end of input).
  for (const pnd of pending) {
    const s = open.get(pnd.key);
    if (s !== undefined) intervals.push({ type: pnd.type, start: s, end, ...(pnd.channel ? { channel: pnd.channel } : {}) });
  }
  const base = t0 ?? 0;
  const shift = <T extends { t: number }>(xs: T[]): T[] => xs.map((x) => ({ ...x, t: x.t - base }));
  return {
    duration: end - base,
    decodeCpu,
    trackDecodeCpu,
    filterCpu,
    intervals: intervals.map((i) => ({ ...i, start: i.start - base, end: i.end - base })),
    block: shift(block),
    r128: shift(r128),
  };
}
