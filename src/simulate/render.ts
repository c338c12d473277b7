/**
 * Render one cycle of a stream's content with its scripted defects and encode it once
 * (h264/hevc/mpeg2/vp9 + aac/mp2/opus, see codecs.ts) into in-memory packets. The live replayer and renderToFile both use it.
 *
 * Content comes from FFmpeg: lavfi sources (testsrc2, smptebars, sine, ...) through the
 * lavfi input device, or a real clip decoded and scaled through a filter graph, looped
 * to fill the cycle. Defects are applied in JS on the raw planes before encoding.
 */
import '../shared/polyfill.ts';
import { Decoder, Demuxer, FilterAPI } from 'node-av';
import {
  AV_FRAME_FLAG_INTERLACED,
  AV_FRAME_FLAG_TOP_FIELD_FIRST,
  AV_PICTURE_TYPE_I,
  AV_PIX_FMT_YUV420P,
  AVERROR_EAGAIN,
} from 'node-av/constants';
import { Codec, CodecContext, CodecParameters, FormatContext, Frame, InputFormat, Packet } from 'node-av/lib';
import { type IRational } from 'node-av/lib';
import { clockText, drawClock } from './clock.ts';
import { check, encode, openAudioEncoder, openVideoEncoder } from './codecs.ts';
import { channelNames, type GroundTruthEntry, type ScenarioStream, type ScheduleItem } from './scenario.ts';
import {
  AudioDelayLine,
  programmeAudio,
  syncPatternAudio,
  syncPatternVideo,
  weaveFields,
  type AudioSource,
  type VideoSource,
} from './synth.ts';
import { errorMessage, prng } from '../shared/index.ts';

export { setOpt } from './codecs.ts';

export type Kind = 'video' | 'audio';

export interface EncodedPacket {
  pkt: Packet;
  kind: Kind;
  /** Timestamps in the track's time base. */
  pts: bigint;
  dts: bigint;
  duration: bigint;
  key: boolean;
  /** DTS in seconds from the start of the cycle. */
  t: number;
  /** Packet is inside a scripted signal loss: the replayer does not send it (and HLS cuts). */
  drop: boolean;
  /** Packet is not sent for another reason (track missing, stutter): no loss for the replayer. */
  omit?: boolean;
}

export interface EncodedTrack {
  kind: Kind;
  par: CodecParameters;
  timeBase: IRational;
  /** Ticks (in timeBase) that one cycle lasts: the per-loop timestamp shift. */
  cycleTicks: bigint;
}

export interface EncodedCycle {
  stream: ScenarioStream;
  cycleSeconds: number;
  video: EncodedTrack;
  audio?: EncodedTrack;
  /** All packets of one cycle, in DTS order (video first on ties). */
  packets: EncodedPacket[];
  /**
   * Ground truth for one cycle, media seconds relative to the cycle start (entries whose
   * extent depends on the encoded packets, decoder corruption, are updated while encoding).
   */
  truth: GroundTruthEntry[];
  /** Ground truth of repetition `rep` of the cycle when more than one was rendered (renderToFile). */
  truthFor(rep: number): GroundTruthEntry[];
  free(): void;
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const NOISE_LEN = 65521; // prime, so windows do not line up with rows
/**
 * One table of uniform noise shared by every render, made from its own fixed seed: a table
 * drawn from the first stream's generator made a file depend on what was rendered before it.
 */
let noise: Float32Array | undefined;
function noiseTable(): Float32Array {
  if (!noise) {
    const rand = prng(0x5eed);
    noise = new Float32Array(NOISE_LEN);
    for (let i = 0; i < NOISE_LEN; i++) noise[i] = rand() * 2 - 1;
  }
  return noise;
}

// ---------------------------------------------------------------- video sources

function lavfiOptions(opts: Record<string, string | number> | undefined): string {
  if (!opts) return '';
  return Object.entries(opts)
    .map(([k, v]) => `:${k}=${String(v)}`)
    .join('');
}

/**
 * Low-level reader over FFmpeg's lavfi input device. The high-level Demuxer reads up to
 * 100 packets ahead in the background, which for an infinite raw-video source means
 * ~35 MB per stream and generating frames that are never used.
 */
class LavfiReader {
  private fmt: FormatContext | null = new FormatContext();
  private pkt = new Packet();
  private frame = new Frame();
  private dec: CodecContext | null = null;
  constructor(private readonly graph: string) {
    this.pkt.alloc();
    this.frame.alloc();
  }
  async open(video: boolean): Promise<this> {
    const lavfi = InputFormat.findInputFormat('lavfi');
    if (!lavfi) throw new Error('lavfi input device not available');
    check(await this.fmt!.openInput(this.graph, lavfi, null), `lavfi ${this.graph}`);
    if (video) {
      // Video comes as wrapped AVFrames: a (trivial) decoder unwraps them.
      const st = this.fmt!.streams[0]!;
      const codec = Codec.findDecoder(st.codecpar.codecId);
      if (!codec) throw new Error('no decoder for lavfi video');
      this.dec = new CodecContext();
      this.dec.allocContext3(codec);
      check(this.dec.parametersToContext(st.codecpar), 'lavfi decoder parameters');
      check(this.dec.open2Sync(codec, null), 'lavfi decoder');
    }
    return this;
  }
  /** Next packet payload (audio: raw PCM), or a copy of the next decoded picture (video). */
  async next(): Promise<Buffer> {
    for (;;) {
      const ret = await this.fmt!.readFrame(this.pkt);
      if (ret === AVERROR_EAGAIN) continue;
      check(ret, `read ${this.graph}`);
      if (!this.dec) {
        const out = Buffer.from(this.pkt.data ?? Buffer.alloc(0));
        this.pkt.unref();
        return out;
      }
      check(this.dec.sendPacketSync(this.pkt), 'unwrap frame');
      this.pkt.unref();
      const r = this.dec.receiveFrameSync(this.frame);
      if (r === AVERROR_EAGAIN) continue;
      check(r, 'unwrap frame');
      const out = this.frame.toBuffer();
      this.frame.unref();
      return out;
    }
  }
  async close(): Promise<void> {
    const fmt = this.fmt;
    if (!fmt) return;
    this.fmt = null;
    this.dec?.freeContext();
    this.pkt.free();
    this.frame.free();
    await fmt.closeInput();
  }
}

async function lavfiVideo(
  stream: ScenarioStream,
  source: string,
  options?: Record<string, string | number>,
): Promise<VideoSource> {
  const { width, height, fps } = stream.video;
  const graph = `${source}=size=${width}x${height}:rate=${fps}${lavfiOptions(options)},format=yuv420p`;
  const reader = await new LavfiReader(graph).open(true);
  return { next: () => reader.next(), close: () => reader.close() };
}

/** Decode a clip, scaled/padded to the configured size, looping forever; output is resampled to the fps by hold/drop. */
async function clipVideo(stream: ScenarioStream, path: string): Promise<VideoSource> {
  const { width, height, fps } = stream.video;
  let dmx: Demuxer | undefined;
  let dec: Decoder | undefined;
  let pktIt: AsyncGenerator<Packet | null> | undefined;
  const filter = FilterAPI.create(
    `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:-1:-1:color=black,setsar=1,format=yuv420p`,
    { threads: 1 },
  );
  let loopOffset = 0;
  let lastT = 0;
  let frameDur = 1 / 25;
  let firstPts: bigint | undefined;
  let loops = 0;
  const pending: { t: number; buf: Uint8Array }[] = [];

  const open = async () => {
    dmx = await openClip(path);
    const vs = dmx.video();
    if (!vs) throw new Error(`clip ${path} has no video stream`);
    dec = await Decoder.create(vs, { threads: 1 } as never);
    const r = vs.avgFrameRate;
    if (r.num > 0 && r.den > 0) frameDur = r.den / r.num;
    pktIt = dmx.packets(vs.index);
    firstPts = undefined;
  };
  const closeInput = async () => {
    if (pktIt) await pktIt.return(undefined);
    dec?.close();
    if (dmx) await dmx.close();
    pktIt = undefined;
    dec = undefined;
    dmx = undefined;
  };

  const take = async (frames: Frame[], tb: IRational) => {
    for (const f of frames) {
      const pts = f.pts;
      if (firstPts === undefined) firstPts = pts;
      const t = loopOffset + (Number(pts - firstPts) * tb.num) / tb.den;
      const filtered = await filter.processAll(f);
      f.free();
      for (const g of filtered) {
        pending.push({ t, buf: new Uint8Array(g.toBuffer()) });
        g.free();
      }
      lastT = Math.max(lastT, t);
    }
  };

  // Pull decoded pictures until we have one whose time is beyond `t`.
  const fill = async (t: number) => {
    while (pending.length < 2 || pending[pending.length - 1]!.t <= t) {
      if (!pktIt) await open();
      const r = await pktIt!.next();
      const pkt = r.done ? null : r.value;
      const tb = dmx!.video()!.timeBase;
      if (pkt) {
        await take(await dec!.decodeAll(pkt), tb);
        pkt.free();
      } else {
        await take(await dec!.decodeAll(null), tb);
        await closeInput();
        loopOffset = lastT + frameDur;
        if (++loops > 1000) throw new Error(`clip ${path} yields no pictures`);
      }
    }
  };

  let index = 0;
  let current: Uint8Array | undefined;
  return {
    async next() {
      const t = index++ / fps;
      await fill(t);
      while (pending.length > 1 && pending[1]!.t <= t + 1e-6) pending.shift();
      current = pending[0]!.buf;
      return current.slice();
    },
    async close() {
      await closeInput();
      filter.close();
    },
  };
}

// ---------------------------------------------------------------- audio sources

function layoutOf(channels: number): string {
  return channels === 1 ? 'mono' : 'stereo';
}

function chunkedAudio(
  channels: number,
  pull: () => Promise<Float32Array | null>,
  closeFn: () => Promise<void>,
): AudioSource {
  let buf = new Float32Array(0);
  return {
    async read(n) {
      while (buf.length < n * channels) {
        const more = await pull();
        if (!more) throw new Error('audio source ended');
        const merged = new Float32Array(buf.length + more.length);
        merged.set(buf);
        merged.set(more, buf.length);
        buf = merged;
      }
      const out = buf.slice(0, n * channels);
      buf = buf.slice(n * channels);
      return out;
    },
    close: closeFn,
  };
}

function floatsOf(data: Buffer, bytes: number): Float32Array {
  const copy = new Float32Array(bytes / 4);
  new Uint8Array(copy.buffer).set(data.subarray(0, bytes));
  return copy;
}

async function lavfiAudio(sampleRate: number, channels: number, toneHz: number): Promise<AudioSource> {
  const graph = `sine=frequency=${toneHz}:sample_rate=${sampleRate}:samples_per_frame=1024,aformat=sample_fmts=flt:channel_layouts=${layoutOf(channels)}`;
  const reader = await new LavfiReader(graph).open(false);
  return chunkedAudio(
    channels,
    async () => {
      const data = await reader.next();
      return floatsOf(data, data.length - (data.length % (4 * channels)));
    },
    () => reader.close(),
  );
}

/** Open a content clip; a failure names the clip (FFmpeg's own message does not). */
async function openClip(path: string): Promise<Demuxer> {
  try {
    return await Demuxer.open(path);
  } catch (err) {
    throw new Error(`content clip ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

async function clipAudio(path: string, sampleRate: number, channels: number): Promise<AudioSource | null> {
  const probe = await openClip(path);
  const has = !!probe.audio();
  await probe.close();
  if (!has) return null;
  let dmx: Demuxer | undefined;
  let dec: Decoder | undefined;
  let it: AsyncGenerator<Packet | null> | undefined;
  let loops = 0;
  const filter = FilterAPI.create(
    `aresample=${sampleRate},aformat=sample_fmts=flt:sample_rates=${sampleRate}:channel_layouts=${layoutOf(channels)}`,
    { threads: 1 },
  );
  const queue: Float32Array[] = [];
  const closeInput = async () => {
    if (it) await it.return(undefined);
    dec?.close();
    if (dmx) await dmx.close();
    it = undefined;
    dec = undefined;
    dmx = undefined;
  };
  const push = async (frames: Frame[]) => {
    for (const f of frames) {
      const out = await filter.processAll(f);
      f.free();
      for (const g of out) {
        const d = g.data?.[0];
        if (d) queue.push(floatsOf(d, g.nbSamples * channels * 4));
        g.free();
      }
    }
  };
  return chunkedAudio(
    channels,
    async () => {
      while (queue.length === 0) {
        if (!it) {
          dmx = await Demuxer.open(path);
          const as = dmx.audio()!;
          dec = await Decoder.create(as);
          it = dmx.packets(as.index);
        }
        const r = await it.next();
        const pkt = r.done ? null : r.value;
        if (pkt) {
          await push(await dec!.decodeAll(pkt));
          pkt.free();
        } else {
          await push(await dec!.decodeAll(null));
          await closeInput();
          if (++loops > 1000) return null;
        }
      }
      return queue.shift()!;
    },
    async () => {
      await closeInput();
      filter.close();
    },
  );
}

// ---------------------------------------------------------------- schedule helpers

const frameSpan = (item: ScheduleItem, fps: number) => ({
  first: Math.ceil(item.at * fps - 1e-6),
  end: Math.ceil((item.at + item.duration) * fps - 1e-6),
});

type ItemOf<T extends ScheduleItem['type']> = Extract<ScheduleItem, { type: T }>;

/** Picture-changing schedule item (black, freeze, dark/static clean) active at frame index i. */
function videoItemAt(schedule: readonly ScheduleItem[], fps: number, i: number): ScheduleItem | undefined {
  for (const it of schedule) {
    if (it.type !== 'black' && it.type !== 'freeze' && it.type !== 'clean') continue;
    if (it.type === 'clean' && it.variant === 'normal') continue;
    const { first, end } = frameSpan(it, fps);
    if (i >= first && i < end) return it;
  }
  return undefined;
}

function itemAtFrame<T extends ScheduleItem['type']>(
  schedule: readonly ScheduleItem[],
  type: T,
  fps: number,
  i: number,
): ItemOf<T> | undefined {
  for (const it of schedule) {
    if (it.type !== type) continue;
    const { first, end } = frameSpan(it, fps);
    if (i >= first && i < end) return it as ItemOf<T>;
  }
  return undefined;
}

/** Frame k (0-based) of a window is hit by an evenly spread `rate` (0.2 = frames 4, 9, 14, ...). */
const hitByRate = (k: number, rate: number) => Math.floor((k + 1) * rate + 1e-9) > Math.floor(k * rate + 1e-9);

/** Next keyframe time at/after t: keyframes are on every whole second of media time. */
const nextKey = (t: number) => Math.ceil(t - 1e-6);

// ---------------------------------------------------------------- damage (optional module)

/**
 * The damage functions (damage.ts), passed in by the callers: damage.ts imports render.ts,
 * so render.ts must not import it back.
 */
export interface DamageApi {
  damagePacket(
    data: Buffer,
    packetIndex: number,
    opts: { mode: 'drop' | 'bitflip' | 'burst'; rate: number; seed: number },
  ): Buffer | null;
  damageFrames(
    frames: readonly Frame[],
    opts: {
      mode: 'drop' | 'bitflip' | 'burst';
      rate: number;
      seed: number;
      codec: 'h264' | 'hevc' | 'mpeg2video';
      width: number;
      height: number;
      fps: number;
    },
  ): Promise<Frame[]>;
}

// ---------------------------------------------------------------- render

export interface RenderOptions {
  /** Seed for noise, pointer motion and damage (the stream's own `seed` wins). */
  seed?: number;
  /** Set GLOBAL_HEADER on encoders (MP4/MKV outputs). */
  globalHeader?: boolean;
  /** Encoder threads (default 1: many streams render side by side). */
  threads?: number;
  /** Stop after this many seconds (renderToFile with duration < cycle). Default: one cycle. */
  seconds?: number;
  /** Needed when the schedule has corruption items. */
  damage?: DamageApi;
}

/** Render and encode one cycle (or `seconds`, which may span several cycles of the schedule). */
export async function renderCycle(stream: ScenarioStream, opts: RenderOptions = {}): Promise<EncodedCycle> {
  const r = await startRender(stream, opts);
  try {
    await r.done;
  } catch (e) {
    r.enc.free();
    throw e;
  }
  return r.enc;
}

export interface ProgressiveRender {
  /** Packets are appended (in DTS order) while encoding runs; `complete` turns true at the end. */
  enc: EncodedCycle & { complete: boolean; encodedSeconds: number };
  done: Promise<void>;
  /** Ask the encoder loop to stop early (stop() during startup). */
  abort(): void;
}

/** The seed a stream's randomness uses. */
export function streamSeed(stream: ScenarioStream, scenarioSeed = 1): number {
  return stream.seed ?? (scenarioSeed ^ hashString(stream.id)) >>> 0;
}

/** Ground-truth template for one schedule item (one cycle, cycle-relative seconds). */
function truthOf(stream: ScenarioStream, it: ScheduleItem): GroundTruthEntry | null {
  const fps = stream.video.fps;
  const cycle = stream.cycle;
  const chNames = channelNames(stream.audio === false ? 2 : stream.audio.channels);
  const chName = (c: number | string) => (typeof c === 'number' ? chNames[c]! : c);
  let start = it.at;
  let end = it.at + it.duration;
  const snap = () => {
    const { first, end: e } = frameSpan(it, fps);
    start = first / fps;
    end = e / fps;
  };
  const base = { streamId: stream.id };
  const mk = (e: Omit<GroundTruthEntry, 'streamId' | 'start' | 'end'>): GroundTruthEntry => ({
    ...base,
    ...e,
    start: round6(start),
    end: round6(end),
  });
  switch (it.type) {
    case 'black':
    case 'freeze':
      snap();
      return mk({ type: it.type });
    case 'clean':
      snap();
      return mk({ type: 'clean', variant: it.variant });
    case 'signal_loss':
      end = Math.min(cycle, nextKey(end));
      return mk({ type: 'signal_loss' });
    case 'silence':
      if (it.channel === undefined) return mk({ type: 'silence' });
      return mk({ type: 'channel_loss', channel: chName(it.channel), variant: 'dead' });
    case 'channel_loss':
      return mk({ type: 'channel_loss', channel: chName(it.channel), variant: it.variant });
    case 'loudness':
      return mk({ type: 'loudness', gainDb: it.gainDb });
    case 'clipping':
      return mk({ type: 'clipping', gainDb: it.gainDb });
    case 'av_offset':
      return mk({ type: 'av_sync', kind: 'content', offsetMs: it.offsetMs });
    case 'timestamp_drift': {
      const driftMs = it.driftMs ?? (it.ppm! * it.duration) / 1000;
      const ppm = it.ppm ?? (it.driftMs! * 1000) / it.duration;
      return mk({ type: 'av_sync', kind: 'timestamps', driftMs: round6(driftMs), ppm: round6(ppm) });
    }
    case 'audio_missing':
      return mk({ type: 'audio_missing' });
    case 'video_missing':
      // Video resumes on a keyframe: the first whole second at/after the window's end.
      end = Math.min(cycle, nextKey(end));
      return mk({ type: 'video_missing' });
    case 'stutter':
      snap();
      return mk({ type: 'stutter', mode: it.mode, rate: it.rate });
    case 'corruption':
      snap();
      if (it.variant === 'decoder') end = Math.min(cycle, nextKey(end)); // refined while encoding
      return mk({ type: 'corruption', variant: it.variant, mode: it.mode, rate: it.rate });
    case 'transport': {
      // Damaged media: the decoder is clean at the next keyframe. Missing tables, PCRs off: the window itself
      // (a receiver notices 0.5 s after the last table, TR 101 290 1.3).
      if (it.rate > 0 && it.mode !== 'tables' && it.mode !== 'pcr') end = Math.min(cycle, nextKey(end));
      const e =
        it.rate > 0 ? mk({ type: 'transport', mode: it.mode, rate: it.rate }) : mk({ type: 'transport', rate: 0 });
      if (it.discontinuityMs !== undefined) {
        e.discontinuityMs = round6((Math.round((it.discontinuityMs / 1000) * fps) / fps) * 1000);
      }
      return e;
    }
  }
}

/**
 * Open sources and encoders, then encode in the background: packets become available
 * progressively, so a live replay can start before the whole cycle is encoded.
 */
export async function startRender(stream: ScenarioStream, opts: RenderOptions = {}): Promise<ProgressiveRender> {
  const { width, height, fps } = stream.video;
  const cycle = stream.cycle;
  const seconds = opts.seconds ?? cycle;
  const nFrames = Math.round(seconds * fps);
  const cycleFrames = Math.round(cycle * fps);
  const threads = opts.threads ?? 1;
  const seed = streamSeed(stream, opts.seed ?? 1);
  const rand = prng(seed);
  const schedule = stream.schedule;
  const damage = opts.damage;
  if (!damage && schedule.some((it) => it.type === 'corruption')) {
    throw new Error(`stream ${stream.id}: corruption needs the damage functions (RenderOptions.damage)`);
  }

  const content = stream.content;
  let video: VideoSource;
  let audio: AudioSource | null = null;
  const audioCfg = stream.audio === false ? null : stream.audio;
  // Interlaced: the pictures are read at the field rate and woven in pairs (weaveFields).
  const interlaced = stream.video.interlaced;
  const pictureSource: ScenarioStream = interlaced ? { ...stream, video: { ...stream.video, fps: 2 * fps } } : stream;
  if (content.source === 'syncpattern') {
    video = syncPatternVideo(width, height, pictureSource.video.fps);
    if (audioCfg) {
      const beepMs = 'beepMs' in content ? content.beepMs : undefined;
      const beep = Math.max(1, Math.round(((beepMs ?? 1000 / fps) / 1000) * audioCfg.sampleRate));
      audio = syncPatternAudio(audioCfg.sampleRate, audioCfg.channels, beep, seed);
    }
  } else if ('path' in content) {
    const path: string = content.path;
    video = await clipVideo(pictureSource, path);
    if (audioCfg) audio = await clipAudio(path, audioCfg.sampleRate, audioCfg.channels);
  } else {
    video = await lavfiVideo(pictureSource, content.source, 'options' in content ? content.options : undefined);
  }
  if (interlaced) video = weaveFields(video, width, height);
  if (audioCfg && !audio) {
    audio =
      audioCfg.signal === 'programme'
        ? programmeAudio(audioCfg.sampleRate, audioCfg.channels, seed)
        : await lavfiAudio(audioCfg.sampleRate, audioCfg.channels, audioCfg.toneHz);
  }
  const offsets = schedule.filter((it): it is ItemOf<'av_offset'> => it.type === 'av_offset');
  const sr = audioCfg?.sampleRate ?? 48000;
  const ch = audioCfg?.channels ?? 2;
  const delayLine =
    audio && offsets.length
      ? new AudioDelayLine(
          audio,
          ch,
          Math.round((Math.max(...offsets.map((o) => Math.abs(o.offsetMs))) / 1000) * sr) + 4096,
        )
      : undefined;

  const venc = openVideoEncoder(stream, !!opts.globalHeader, threads);
  const aenc = audioCfg ? openAudioEncoder(audioCfg, !!opts.globalHeader) : null;
  const frameSize = aenc ? aenc.frameSize : 1024;

  // A forward timestamp jump (transport discontinuity), whole frames; live loops carry it on.
  const jumps = schedule
    .filter((it): it is ItemOf<'transport'> => it.type === 'transport' && it.discontinuityMs !== undefined)
    .map((it) => ({ at: frameSpan(it, fps).first / fps, frames: Math.round((it.discontinuityMs! / 1000) * fps) }));
  const jumpFramesPerCycle = jumps.reduce((n, j) => n + j.frames, 0);

  // Codec parameters for muxers (available once the encoders are open).
  const vpar = new CodecParameters();
  vpar.alloc();
  check(vpar.fromContext(venc.ctx), 'video parameters');
  const vTrack: EncodedTrack = {
    kind: 'video',
    par: vpar,
    timeBase: venc.timeBase,
    cycleTicks: BigInt(cycleFrames + jumpFramesPerCycle),
  };
  let aTrack: EncodedTrack | undefined;
  if (aenc) {
    const apar = new CodecParameters();
    apar.alloc();
    check(apar.fromContext(aenc.ctx), 'audio parameters');
    // The priming packet (pts < 0) is dropped below, so no decoder delay must be skipped either.
    apar.initialPadding = 0;
    aTrack = {
      kind: 'audio',
      par: apar,
      timeBase: aenc.timeBase,
      cycleTicks: BigInt(Math.round(cycle * sr + (jumpFramesPerCycle / fps) * sr)),
    };
  }

  // Ground truth follows from the schedule: keyframes are on every whole second (GOP = fps
  // frames, and an I-frame is forced on the first picture of each second), so anything that
  // must resume on a keyframe resumes at the next whole second.
  const truth: GroundTruthEntry[] = [];
  const truthOfItem = new Map<ScheduleItem, GroundTruthEntry>();
  for (const it of schedule) {
    const e = truthOf(stream, it);
    if (!e) continue;
    truth.push(e);
    truthOfItem.set(it, e);
  }
  for (const [kind, cfg] of [
    ['video', stream.video],
    ['audio', audioCfg],
  ] as const) {
    if (cfg?.missing) {
      truth.push({ streamId: stream.id, type: `${kind}_missing`, start: 0, end: cycle, whole: true });
    }
  }
  truth.sort((a, b) => a.start - b.start);
  /** Per repetition (rep > 0) copies of entries whose extent was measured while encoding. */
  const repTruth = new Map<number, Map<GroundTruthEntry, GroundTruthEntry>>();

  const losses = schedule
    .filter((it) => it.type === 'signal_loss')
    .map((it) => truthOfItem.get(it)!)
    .map((e) => ({ start: e.start, end: e.end! }));
  const videoGaps = schedule
    .filter((it) => it.type === 'video_missing')
    .map((it) => truthOfItem.get(it)!)
    .map((e) => ({ start: e.start, end: e.end! }));
  const audioGaps = schedule
    .filter((it) => it.type === 'audio_missing')
    .map((it) => ({ start: it.at, end: it.at + it.duration }));
  const drifts = schedule.filter((it): it is ItemOf<'timestamp_drift'> => it.type === 'timestamp_drift');
  const decoderDamage = schedule
    .filter((it): it is ItemOf<'corruption'> => it.type === 'corruption' && it.variant === 'decoder')
    .map((it) => ({ it, ...frameSpan(it, fps) }));
  const inRange = (rs: readonly { start: number; end: number }[], tc: number) =>
    rs.some((l) => tc >= l.start - 1e-6 && tc < l.end - 1e-6);

  const packets: EncodedPacket[] = [];
  let freed = false;
  let aborted = false;
  const enc: ProgressiveRender['enc'] = {
    stream,
    cycleSeconds: cycle,
    video: vTrack,
    audio: aTrack,
    packets,
    truth,
    truthFor(rep: number) {
      const over = repTruth.get(rep);
      return truth.map((e) => ({ ...(over?.get(e) ?? e) }));
    },
    complete: false,
    encodedSeconds: 0,
    free() {
      if (freed) return;
      freed = true;
      aborted = true;
      for (const p of packets) p.pkt.free();
      packets.length = 0;
      vpar.free();
      aTrack?.par.free();
    },
  };

  // Decoder damage bookkeeping, per item and repetition of the cycle.
  interface DamageState {
    index: number;
    first?: number;
    lastDamaged?: number;
    end?: number;
  }
  const damageState = new Map<string, DamageState>();
  const damageKey = (i: number, rep: number) => `${i}:${rep}`;
  const truthEntryFor = (e: GroundTruthEntry, rep: number): GroundTruthEntry => {
    if (rep === 0) return e;
    let m = repTruth.get(rep);
    if (!m) repTruth.set(rep, (m = new Map<GroundTruthEntry, GroundTruthEntry>()));
    let c = m.get(e);
    if (!c) m.set(e, (c = { ...e }));
    return c;
  };

  const secs = (v: bigint, tb: IRational) => (Number(v) * tb.num) / tb.den;
  const pending: EncodedPacket[] = [];
  let lastV = -1;
  let lastA = aenc ? -1 : Infinity;
  const totalSamples = Math.round(seconds * sr);
  /** Jump (in seconds) applied to media time t (absolute, seconds since frame 0). */
  const jumpAt = (t: number) => {
    if (!jumps.length) return 0;
    const rep = Math.floor(t / cycle + 1e-9);
    const tc = t - rep * cycle;
    let frames = rep * jumpFramesPerCycle;
    for (const j of jumps) if (tc >= j.at - 1e-6) frames += j.frames;
    return frames / fps;
  };

  const damageVideo = (p: EncodedPacket): void => {
    const tc = p.t - Math.floor(p.t / cycle + 1e-9) * cycle;
    const rep = Math.floor(p.t / cycle + 1e-9);
    const fi = Math.round(tc * fps);
    decoderDamage.forEach(({ it, first, end }, n) => {
      const key = damageKey(n, rep);
      let st = damageState.get(key);
      if (fi >= first && fi < end) {
        if (!st) damageState.set(key, (st = { index: 0 }));
        const data = p.pkt.data;
        if (!data) return;
        const out = damage!.damagePacket(Buffer.from(data), st.index++, {
          mode: it.mode,
          rate: it.rate,
          seed: seed + n,
        });
        const changed = out === null || !out.equals(data);
        if (out === null) p.omit = true;
        else if (changed) p.pkt.data = out;
        if (changed) {
          st.first ??= tc;
          st.lastDamaged = tc;
          st.end = undefined;
        } else if (p.key && st.lastDamaged !== undefined && st.end === undefined) {
          st.end = tc;
        }
      } else if (st && p.key && st.lastDamaged !== undefined && st.end === undefined && fi >= end) {
        st.end = tc;
      }
      if (st) {
        const e = truthEntryFor(truthOfItem.get(it)!, rep);
        if (st.first === undefined) {
          e.end = e.start; // nothing hit (yet)
        } else {
          e.start = round6(st.first);
          e.end = round6(st.end ?? Math.min(cycle, nextKey(st.lastDamaged! + 1 / fps)));
        }
      }
    });
  };

  /** Move encoder output to `pending`, then publish everything that can no longer be preceded. */
  const commit = (final: boolean) => {
    for (const p of venc.out.splice(0)) {
      const t = secs(p.dts, venc.timeBase);
      lastV = Math.max(lastV, t);
      pending.push({
        pkt: p,
        kind: 'video',
        pts: p.pts,
        dts: p.dts,
        duration: p.duration || 1n,
        key: p.isKeyframe,
        t,
        drop: false,
      });
    }
    if (aenc) {
      for (const p of aenc.out.splice(0)) {
        const dur = p.duration || BigInt(frameSize);
        // Drop encoder priming (negative pts) and the packet that would straddle the end.
        if (p.pts < 0n || Number(p.pts + dur) > totalSamples) {
          p.free();
          continue;
        }
        const t = secs(p.dts, aenc.timeBase);
        lastA = Math.max(lastA, t);
        pending.push({ pkt: p, kind: 'audio', pts: p.pts, dts: p.dts, duration: dur, key: true, t, drop: false });
      }
    }
    const safe = final ? Infinity : Math.min(lastV, lastA);
    pending.sort((a, b) => a.t - b.t || (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1));
    let n = 0;
    while (n < pending.length && pending[n]!.t <= safe) n++;
    for (const p of pending.splice(0, n)) {
      const tc = p.t % cycle;
      p.drop = inRange(losses, tc);
      if (p.kind === 'video') {
        if (stream.video.missing || inRange(videoGaps, tc)) p.omit = true;
        else if (decoderDamage.length && !p.drop) damageVideo(p);
      } else {
        if (audioCfg?.missing || inRange(audioGaps, tc)) p.omit = true;
        for (const d of drifts) {
          const a = d.at;
          const b = d.at + d.duration;
          const rate = d.ppm !== undefined ? d.ppm * 1e-6 : d.driftMs! / 1000 / d.duration;
          if (tc >= a - 1e-6 && tc < b - 1e-6) {
            const shift = BigInt(Math.round((tc - a) * rate * sr));
            p.pts += shift;
            p.dts += shift;
          } else if (tc >= b - 1e-6 && rate > 0 && tc < b + rate * d.duration - 1e-6) {
            // Back in step after the window: packets the drifted ones already cover are not sent.
            p.omit = true;
          }
        }
      }
      const j = jumpAt(p.t);
      if (j) {
        const tb = p.kind === 'video' ? venc.timeBase : aenc!.timeBase;
        const shift = BigInt(Math.round((j * tb.den) / tb.num));
        p.pts += shift;
        p.dts += shift;
      }
      packets.push(p);
      enc.encodedSeconds = p.t;
    }
  };

  const ySize = width * height;
  const cSize = ySize / 4;
  let snapshot: Uint8Array | undefined;
  let snapshotItem: ScheduleItem | undefined;
  let lastPic: Uint8Array | undefined;
  let lastKeySecond = -1;
  let audioPos = 0; // samples produced
  const names = channelNames(ch);
  const cycleSamples = Math.round(cycle * sr);
  /** Pictures held back for upstream (re-encoded) damage: [frame index, picture]. */
  let held: { item: ItemOf<'corruption'>; frames: { i: number; pic: Uint8Array }[] } | undefined;

  const encodePicture = async (pic: Uint8Array, i: number) => {
    const frame = Frame.fromVideoBuffer(Buffer.from(pic.buffer, pic.byteOffset, pic.byteLength), {
      width,
      height,
      format: AV_PIX_FMT_YUV420P,
      timeBase: venc.timeBase,
    });
    frame.pts = BigInt(i);
    if (interlaced) frame.setFlags(AV_FRAME_FLAG_INTERLACED | AV_FRAME_FLAG_TOP_FIELD_FIRST);
    const sec = Math.floor(i / fps);
    if (sec !== lastKeySecond) {
      frame.pictType = AV_PICTURE_TYPE_I;
      lastKeySecond = sec;
    }
    await encode(venc, frame);
    frame.free();
  };

  const flushHeld = async () => {
    if (!held) return;
    const h = held;
    held = undefined;
    const frames = h.frames.map(({ pic }) =>
      Frame.fromVideoBuffer(Buffer.from(pic.buffer, pic.byteOffset, pic.byteLength), {
        width,
        height,
        format: AV_PIX_FMT_YUV420P,
        timeBase: venc.timeBase,
      }),
    );
    h.frames.forEach((f, k) => (frames[k]!.pts = BigInt(f.i)));
    let damaged: Frame[];
    try {
      damaged = await damage!.damageFrames(frames, {
        mode: h.item.mode,
        rate: h.item.rate,
        seed: seed + schedule.indexOf(h.item),
        codec: h.item.upstreamCodec,
        width,
        height,
        fps,
      });
    } finally {
      for (const f of frames) f.free();
    }
    for (let k = 0; k < h.frames.length; k++) {
      const f = damaged[Math.min(k, damaged.length - 1)];
      const pic = f ? new Uint8Array(f.toBuffer()) : h.frames[k]!.pic;
      await encodePicture(pic, h.frames[k]!.i);
    }
    for (const f of damaged) f.free();
  };

  /** Read `n` source samples for output position `pos`, shifted by any av_offset covering it. */
  const readAudio = async (pos: number, n: number): Promise<Float32Array> => {
    if (!delayLine) return audio!.read(n);
    const out = new Float32Array(n * ch);
    let s = 0;
    while (s < n) {
      const p = pos + s;
      const pc = p % cycleSamples;
      let d = 0;
      let runEnd = n; // samples (from s) with the same delay
      for (const o of offsets) {
        const a = Math.round(o.at * sr);
        const b = Math.round((o.at + o.duration) * sr);
        if (pc >= a && pc < b) {
          d = Math.round((o.offsetMs / 1000) * sr);
          runEnd = Math.min(runEnd, s + (b - pc));
        } else if (pc < a) runEnd = Math.min(runEnd, s + (a - pc));
      }
      runEnd = Math.min(runEnd, s + (cycleSamples - pc));
      out.set(await delayLine.readAt(p - d, runEnd - s), s * ch);
      s = runEnd;
    }
    return out;
  };

  const run = async () => {
    try {
      for (let i = 0; i < nFrames; i++) {
        if (aborted) throw new Error('render aborted');
        const ci = i % cycleFrames; // frame index inside the cycle
        let pic = await video.next();
        const item = videoItemAt(schedule, fps, ci);
        if (item && (item.type === 'freeze' || (item.type === 'clean' && item.variant === 'static'))) {
          if (snapshotItem !== item || ci === frameSpan(item, fps).first) {
            snapshot = pic.slice();
            snapshotItem = item;
          }
          pic = snapshot!.slice();
          if (item.type === 'freeze' && item.grain) {
            // Per-frame noise: a random window into a precomputed noise table (cheap, still varies per frame).
            const g = item.grain;
            const table = noiseTable();
            let off = Math.floor(rand() * NOISE_LEN);
            for (let p = 0; p < ySize; p++) {
              const v = pic[p]! + Math.round(table[off]! * g);
              pic[p] = v < 0 ? 0 : v > 255 ? 255 : v;
              if (++off === NOISE_LEN) off = 0;
            }
          }
          if (item.type === 'clean') {
            // A small pointer sweeping across a still slide, line by line like a presenter's:
            // localized motion that keeps reaching new parts of the picture.
            const s = Math.max(2, Math.floor(height / 60));
            const k = ci - frameSpan(item, fps).first;
            const sweepFrames = 2 * fps;
            const line = Math.floor(k / sweepFrames);
            const cx = Math.round(width * (0.1 + (0.8 * (k % sweepFrames)) / sweepFrames));
            const cy = Math.round(height * (0.55 + 0.15 * (line % 3)));
            for (let y = Math.max(0, cy - s); y < Math.min(height, cy + s); y++) {
              for (let x = Math.max(0, cx - s); x < Math.min(width, cx + s); x++) pic[y * width + x] = 235;
            }
          }
        } else {
          snapshotItem = undefined;
        }
        if (item?.type === 'black') {
          pic.fill(16, 0, ySize);
          pic.fill(128, ySize, ySize + 2 * cSize);
        } else if (item?.type === 'clean' && item.variant === 'dark') {
          const k = item.level ?? 0.15;
          for (let p = 0; p < ySize; p++) pic[p] = 16 + Math.round(Math.max(0, pic[p]! - 16) * k);
          for (let p = ySize; p < ySize + 2 * cSize; p++) pic[p] = 128 + Math.round((pic[p]! - 128) * k);
        }
        if (stream.clock) drawClock(pic, width, height, clockText(ci, fps));

        const stutter = itemAtFrame(schedule, 'stutter', fps, ci);
        const stutterHit = stutter && hitByRate(ci - frameSpan(stutter, fps).first, stutter.rate);
        const reenc = itemAtFrame(schedule, 'corruption', fps, ci);
        if (held && held.item !== reenc) await flushHeld();
        if (stutterHit && stutter.mode === 'drop') {
          // Not encoded: the stream shows a timestamp gap, and the content moves on.
          lastPic = pic;
        } else {
          if (stutterHit && stutter.mode === 'duplicate' && lastPic) pic = lastPic.slice();
          lastPic = pic;
          if (reenc && reenc.variant === 'reencoded') {
            held ??= { item: reenc, frames: [] };
            held.frames.push({ i, pic });
          } else {
            await encodePicture(pic, i);
          }
        }
        if (i === nFrames - 1 || (i + 1) % cycleFrames === 0) await flushHeld();

        // Audio up to the end of this video frame.
        if (aenc && audio) {
          const until = Math.min(totalSamples + frameSize, Math.round(((i + 1) / fps) * sr));
          while (audioPos + frameSize <= until || (i === nFrames - 1 && audioPos < totalSamples)) {
            const inter = await readAudio(audioPos, frameSize);
            const planar = new Float32Array(frameSize * ch);
            for (let c = 0; c < ch; c++) {
              const o = c * frameSize;
              for (let s = 0; s < frameSize; s++) planar[o + s] = inter[s * ch + c]!;
            }
            applyAudioDefects(planar, frameSize, ch, audioPos, sr, cycleSamples, schedule, names);
            const af = aenc.makeFrame(planar, frameSize, BigInt(audioPos));
            await encode(aenc, af);
            af.free();
            audioPos += frameSize;
          }
        }
        commit(false);
      }
      await flushHeld();
      await encode(venc, null);
      if (aenc) await encode(aenc, null);
      commit(true);
      // Decoder damage still open at the end: clean again only at the next cycle's keyframe.
      enc.complete = true;
      enc.encodedSeconds = seconds;
    } finally {
      venc.ctx.freeContext();
      aenc?.ctx.freeContext();
      for (const p of [...venc.out, ...(aenc?.out ?? []), ...pending]) ('pkt' in p ? p.pkt : p).free();
      await video.close();
      if (delayLine) await delayLine.close();
      else if (audio) await audio.close();
    }
  };
  return { enc, done: run(), abort: () => void (aborted = true) };
}

/**
 * Audio defects on one planar chunk starting at absolute sample `pos`: silence, dead or
 * phase-inverted channel, loudness gain, clipping (gain, then hard clip at full scale).
 */
function applyAudioDefects(
  planar: Float32Array,
  n: number,
  ch: number,
  pos: number,
  sr: number,
  cycleSamples: number,
  schedule: readonly ScheduleItem[],
  names: readonly string[],
): void {
  const base = pos % cycleSamples;
  for (const it of schedule) {
    if (it.type !== 'silence' && it.type !== 'channel_loss' && it.type !== 'loudness' && it.type !== 'clipping')
      continue;
    // The item in this cycle, or in the next one when the chunk crosses the cycle's end.
    for (const off of [0, cycleSamples]) {
      const a = Math.max(0, Math.round(it.at * sr) + off - base);
      const b = Math.min(n, Math.round((it.at + it.duration) * sr) + off - base);
      if (b <= a) continue;
      let mask = ~0;
      if ((it.type === 'silence' || it.type === 'channel_loss') && it.channel !== undefined) {
        mask = 1 << (typeof it.channel === 'number' ? it.channel : names.indexOf(it.channel));
      }
      for (let c = 0; c < ch; c++) {
        if (!(mask & (1 << c))) continue;
        const o = c * n;
        if (it.type === 'silence' || (it.type === 'channel_loss' && it.variant === 'dead')) {
          planar.fill(0, o + a, o + b);
        } else if (it.type === 'channel_loss') {
          for (let s = a; s < b; s++) planar[o + s] = -planar[o + s]!;
        } else if (it.type === 'loudness') {
          const g = 10 ** (it.gainDb / 20);
          for (let s = a; s < b; s++) planar[o + s] = planar[o + s]! * g;
        } else {
          const g = 10 ** (it.gainDb / 20);
          for (let s = a; s < b; s++) {
            const v = planar[o + s]! * g;
            planar[o + s] = v > 1 ? 1 : v < -1 ? -1 : v;
          }
        }
      }
    }
  }
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
