/**
 * Render one cycle of a stream's content with its scripted defects and encode it once
 * (libx264 + AAC) into in-memory packets. The live replayer and renderToFile both use it.
 *
 * Content comes from FFmpeg: lavfi sources (testsrc2, smptebars, sine, ...) through the
 * lavfi input device, or a real clip decoded and scaled through a filter graph, looped
 * to fill the cycle. Defects are applied in JS on the raw planes before encoding.
 */
import '../shared/polyfill.ts';
import { Decoder, Demuxer, FilterAPI } from 'node-av';
import {
  AV_CHANNEL_ORDER_NATIVE,
  AV_CODEC_FLAG_GLOBAL_HEADER,
  AV_PIX_FMT_YUV420P,
  AV_SAMPLE_FMT_FLTP,
  AVERROR_EAGAIN,
  AVERROR_EOF,
  AV_OPT_SEARCH_CHILDREN,
} from 'node-av/constants';
import {
  Codec,
  CodecContext,
  CodecParameters,
  FFmpegError,
  FormatContext,
  Frame,
  InputFormat,
  Option,
  Packet,
} from 'node-av/lib';
import { Rational, type IRational } from 'node-av/lib';
import { FF_ENCODER_AAC, FF_ENCODER_LIBX264 } from 'node-av/constants';
import { clockText, drawClock } from './clock.ts';
import { channelNames, type GroundTruthEntry, type ScenarioStream, type ScheduleItem } from './scenario.ts';
import { prng } from '../shared/index.ts';

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
  /** Packet is inside a scripted signal loss: the replayer does not send it. */
  drop: boolean;
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
  /** Ground truth for one cycle, media seconds relative to the cycle start. */
  truth: GroundTruthEntry[];
  free(): void;
}

const check = (ret: number, what: string): number => {
  FFmpegError.throwIfError(ret, what);
  return ret;
};


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

/** Yields tightly packed yuv420p pictures (W*H*3/2 bytes), one per output frame. */
interface VideoSource {
  next(): Promise<Uint8Array>;
  close(): Promise<void>;
}

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
    dmx = await Demuxer.open(path);
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

/** Yields interleaved float32 samples at the configured rate/channels. */
interface AudioSource {
  read(n: number): Promise<Float32Array>;
  close(): Promise<void>;
}

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

async function clipAudio(path: string, sampleRate: number, channels: number): Promise<AudioSource | null> {
  const probe = await Demuxer.open(path);
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

// ---------------------------------------------------------------- encoders

/** Set an AVOption on a context or its private data (codec/muxer options). */
export function setOpt(obj: CodecContext | FormatContext, name: string, value: string): void {
  check(Option.set(obj.getNative(), name, value, AV_OPT_SEARCH_CHILDREN), `option ${name}=${value}`);
}

interface Enc {
  ctx: CodecContext;
  timeBase: IRational;
  out: Packet[];
}

function openVideoEncoder(stream: ScenarioStream, globalHeader: boolean, threads: number): Enc {
  const { width, height, fps, bitrateKbps, preset } = stream.video;
  const codec = Codec.findEncoderByName(FF_ENCODER_LIBX264);
  if (!codec) throw new Error('libx264 encoder not available in this FFmpeg build');
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.width = width;
  ctx.height = height;
  ctx.pixelFormat = AV_PIX_FMT_YUV420P;
  const timeBase = new Rational(1, fps);
  ctx.timeBase = timeBase;
  ctx.framerate = new Rational(fps, 1);
  ctx.gopSize = fps;
  ctx.maxBFrames = 0;
  ctx.bitRate = BigInt(bitrateKbps * 1000);
  ctx.rcMaxRate = BigInt(Math.round(bitrateKbps * 1500));
  ctx.rcBufferSize = bitrateKbps * 1000;
  ctx.threadCount = threads;
  if (globalHeader) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
  // Private options through AVOptions: passing a Dictionary to open2 double-frees on GC in node-av 6.1.
  setOpt(ctx, 'preset', preset);
  setOpt(ctx, 'x264-params', `keyint=${fps}:min-keyint=${fps}:scenecut=0:bframes=0:rc-lookahead=0:sync-lookahead=0`);
  check(ctx.open2Sync(codec, null), 'open libx264');

  return { ctx, timeBase, out: [] };
}

function openAudioEncoder(sampleRate: number, channels: number, bitrateKbps: number, globalHeader: boolean): Enc {
  const codec = Codec.findEncoderByName(FF_ENCODER_AAC);
  if (!codec) throw new Error('aac encoder not available');
  const ctx = new CodecContext();
  ctx.allocContext3(codec);
  ctx.sampleRate = sampleRate;
  ctx.sampleFormat = AV_SAMPLE_FMT_FLTP;
  ctx.channelLayout = { nbChannels: channels, order: AV_CHANNEL_ORDER_NATIVE, mask: channels === 1 ? 4n : 3n };
  const timeBase = new Rational(1, sampleRate);
  ctx.timeBase = timeBase;
  ctx.bitRate = BigInt(bitrateKbps * 1000);
  if (globalHeader) ctx.setFlags(AV_CODEC_FLAG_GLOBAL_HEADER);
  setOpt(ctx, 'aac_coder', 'fast');
  check(ctx.open2Sync(codec, null), 'open aac');
  return { ctx, timeBase, out: [] };
}

async function drain(enc: Enc): Promise<void> {
  for (;;) {
    const pkt = new Packet();
    pkt.alloc();
    const ret = await enc.ctx.receivePacket(pkt);
    if (ret === AVERROR_EAGAIN || ret === AVERROR_EOF) {
      pkt.free();
      return;
    }
    check(ret, 'receivePacket');
    enc.out.push(pkt);
  }
}

async function encode(enc: Enc, frame: Frame | null): Promise<void> {
  check(await enc.ctx.sendFrame(frame), 'sendFrame');
  await drain(enc);
}

// ---------------------------------------------------------------- defects

const frameSpan = (item: ScheduleItem, fps: number) => ({
  first: Math.ceil(item.at * fps - 1e-6),
  end: Math.ceil((item.at + item.duration) * fps - 1e-6),
});

/** Video-affecting schedule item active at frame index i, if any. */
function videoItemAt(schedule: readonly ScheduleItem[], fps: number, i: number): ScheduleItem | undefined {
  for (const it of schedule) {
    if (it.type === 'silence' || it.type === 'signal_loss') continue;
    if (it.type === 'clean' && it.variant === 'normal') continue;
    const { first, end } = frameSpan(it, fps);
    if (i >= first && i < end) return it;
  }
  return undefined;
}

// ---------------------------------------------------------------- render

export interface RenderOptions {
  /** Seed for noise and pointer motion. */
  seed?: number;
  /** Set GLOBAL_HEADER on encoders (MP4/MKV outputs). */
  globalHeader?: boolean;
  /** Encoder threads (default 1: many streams render side by side). */
  threads?: number;
  /** Stop after this many seconds (renderToFile with duration < cycle). Default: one cycle. */
  seconds?: number;
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

/**
 * Open sources and encoders, then encode in the background: packets become available
 * progressively, so a live replay can start before the whole cycle is encoded.
 */
export async function startRender(stream: ScenarioStream, opts: RenderOptions = {}): Promise<ProgressiveRender> {
  const { width, height, fps } = stream.video;
  const cycle = stream.cycle;
  const seconds = opts.seconds ?? cycle;
  const nFrames = Math.round(seconds * fps);
  const threads = opts.threads ?? 1;
  const rand = prng((opts.seed ?? 1) ^ hashString(stream.id));
  const schedule = stream.schedule;

  const content = stream.content;
  let video: VideoSource;
  let audio: AudioSource | null = null;
  const audioCfg = stream.audio === false ? null : stream.audio;
  if ('path' in content) {
    const path: string = content.path;
    video = await clipVideo(stream, path);
    if (audioCfg) audio = await clipAudio(path, audioCfg.sampleRate, audioCfg.channels);
  } else {
    video = await lavfiVideo(stream, content.source, 'options' in content ? content.options : undefined);
  }
  if (audioCfg && !audio) audio = await lavfiAudio(audioCfg.sampleRate, audioCfg.channels, audioCfg.toneHz);

  const venc = openVideoEncoder(stream, !!opts.globalHeader, threads);
  const aenc = audioCfg
    ? openAudioEncoder(audioCfg.sampleRate, audioCfg.channels, audioCfg.bitrateKbps, !!opts.globalHeader)
    : null;
  const frameSize = aenc ? aenc.ctx.frameSize || 1024 : 1024;

  // Codec parameters for muxers (available once the encoders are open).
  const vpar = new CodecParameters();
  vpar.alloc();
  check(vpar.fromContext(venc.ctx), 'video parameters');
  const vTrack: EncodedTrack = {
    kind: 'video',
    par: vpar,
    timeBase: venc.timeBase,
    cycleTicks: BigInt(Math.round(cycle * fps)),
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
      cycleTicks: BigInt(Math.round(cycle * (audioCfg?.sampleRate ?? 48000))),
    };
  }

  // Ground truth and signal-loss ranges follow from the schedule: keyframes are every
  // second exactly (keyint = fps, no scenecut), so a loss resumes at the next whole second.
  const truth: GroundTruthEntry[] = [];
  const losses: { start: number; end: number }[] = [];
  const chNames = channelNames(audioCfg?.channels ?? 2);
  for (const it of schedule) {
    let start = it.at;
    let end = it.at + it.duration;
    if (it.type !== 'silence' && it.type !== 'signal_loss') {
      const { first, end: e } = frameSpan(it, fps);
      start = first / fps;
      end = e / fps;
    }
    if (it.type === 'signal_loss') {
      end = Math.min(cycle, Math.ceil(end - 1e-6));
      losses.push({ start, end });
    }
    const entry: GroundTruthEntry = { streamId: stream.id, type: it.type, start: round6(start), end: round6(end) };
    if (it.type === 'silence' && it.channel !== undefined) {
      entry.channel = typeof it.channel === 'number' ? chNames[it.channel] : it.channel;
    }
    if (it.type === 'clean') entry.variant = it.variant;
    truth.push(entry);
  }
  truth.sort((a, b) => a.start - b.start);

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

  const secs = (v: bigint, tb: IRational) => (Number(v) * tb.num) / tb.den;
  const pending: EncodedPacket[] = [];
  let lastV = -1;
  let lastA = aenc ? -1 : Infinity;
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
      p.drop = losses.some((l) => tc >= l.start - 1e-6 && tc < l.end - 1e-6);
      packets.push(p);
      enc.encodedSeconds = p.t;
    }
  };

  const ySize = width * height;
  const cSize = ySize / 4;
  let snapshot: Uint8Array | undefined;
  let snapshotItem: ScheduleItem | undefined;
  let audioPos = 0; // samples produced
  const sr = audioCfg?.sampleRate ?? 48000;
  const ch = audioCfg?.channels ?? 2;
  const totalSamples = Math.round(seconds * sr);
  const names = channelNames(ch);

  const run = async () => {
    try {
      for (let i = 0; i < nFrames; i++) {
        if (aborted) throw new Error('render aborted');
        const ci = i % Math.round(cycle * fps); // frame index inside the cycle
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

        const frame = Frame.fromVideoBuffer(Buffer.from(pic.buffer, pic.byteOffset, pic.byteLength), {
          width,
          height,
          format: AV_PIX_FMT_YUV420P,
          timeBase: venc.timeBase,
        });
        frame.pts = BigInt(i);
        await encode(venc, frame);
        frame.free();

        // Audio up to the end of this video frame.
        if (aenc && audio) {
          const until = Math.min(totalSamples + frameSize, Math.round(((i + 1) / fps) * sr));
          while (audioPos + frameSize <= until || (i === nFrames - 1 && audioPos < totalSamples)) {
            const inter = await audio.read(frameSize);
            const planar = new Float32Array(frameSize * ch);
            const cycleSamples = Math.round(cycle * sr);
            const base = audioPos % cycleSamples;
            // Silence items overlapping this frame, as sample ranges relative to the frame.
            const mutes: { a: number; b: number; mask: number }[] = [];
            for (const it of schedule) {
              if (it.type !== 'silence') continue;
              const a = Math.round(it.at * sr) - base;
              const b = Math.round((it.at + it.duration) * sr) - base;
              if (b <= 0 || a >= frameSize) continue;
              const mask =
                it.channel === undefined
                  ? ~0
                  : 1 << (typeof it.channel === 'number' ? it.channel : names.indexOf(it.channel));
              mutes.push({ a: Math.max(0, a), b: Math.min(frameSize, b), mask });
            }
            for (let c = 0; c < ch; c++) {
              const o = c * frameSize;
              for (let s = 0; s < frameSize; s++) planar[o + s] = inter[s * ch + c]!;
              for (const m of mutes) if (m.mask & (1 << c)) planar.fill(0, o + m.a, o + m.b);
            }
            const af = Frame.fromAudioBuffer(Buffer.from(planar.buffer), {
              nbSamples: frameSize,
              format: AV_SAMPLE_FMT_FLTP,
              sampleRate: sr,
              channelLayout: { nbChannels: ch, order: AV_CHANNEL_ORDER_NATIVE, mask: ch === 1 ? 4n : 3n },
              timeBase: aenc.timeBase,
            });
            af.pts = BigInt(audioPos);
            await encode(aenc, af);
            af.free();
            audioPos += frameSize;
          }
        }
        commit(false);
      }
      await encode(venc, null);
      if (aenc) await encode(aenc, null);
      commit(true);
      enc.complete = true;
      enc.encodedSeconds = seconds;
    } finally {
      venc.ctx.freeContext();
      aenc?.ctx.freeContext();
      for (const p of [...venc.out, ...(aenc?.out ?? []), ...pending]) ('pkt' in p ? p.pkt : p).free();
      await video.close();
      if (audio) await audio.close();
    }
  };
  return { enc, done: run(), abort: () => void (aborted = true) };
}

export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
