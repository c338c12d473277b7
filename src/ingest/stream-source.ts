import '../shared/polyfill.ts';
import { Decoder, Demuxer } from 'node-av/api';
import {
  AVDISCARD_ALL,
  AVDISCARD_DEFAULT,
  AVCOL_RANGE_JPEG,
  AV_NOPTS_VALUE,
  AV_PIX_FMT_YUVJ420P,
  AV_PIX_FMT_YUVJ422P,
  AV_PIX_FMT_YUVJ440P,
  AV_PIX_FMT_YUVJ444P,
  AV_PKT_FLAG_CORRUPT,
  AV_SAMPLE_FMT_FLTP,
  AVMEDIA_TYPE_AUDIO,
  AVMEDIA_TYPE_VIDEO,
  type AVCodecID,
  type AVPixelFormat,
} from 'node-av/constants';
import { avGetCodecName, type Frame, type Packet, type Rational, type Stream } from 'node-av/lib';
import {
  ErrorCodes,
  VigilError,
  errorMessage,
  type AudioChunk,
  type IntervalEdge,
  type Logger,
  type PacketInfo,
  type StreamInfo,
  type TsEvent,
  type VideoFrameView,
} from '../shared/index.ts';
import { AudioViewBuilder, VideoViewBuilder } from './frame-views.ts';
import { MediaTimeline } from './media-timeline.ts';
import { LISTEN_WAIT, isLocalFile, isRegularFile, openOptions } from './protocol-options.ts';
import { ThumbnailEncoder } from './thumbnail-encoder.ts';
import { EvidenceClipRecorder, type EvidenceClip } from './evidence-clip.ts';
import { LUMA_FIRST_FORMATS, VideoDecoder } from './video-decoder.ts';
import { selectTracks, type VariantChoice } from './select-tracks.ts';
import { TrackFollower } from './track-follower.ts';
import { PacketReader } from './packet-reader.ts';
import { openTapped, tapUrl } from './ts-tap.ts';
import type { TsAnalyzerOptions, TsFinding } from './ts-analyzer.ts';

const FULL_RANGE_FORMATS = new Set<number>([
  AV_PIX_FMT_YUVJ420P,
  AV_PIX_FMT_YUVJ422P,
  AV_PIX_FMT_YUVJ444P,
  AV_PIX_FMT_YUVJ440P,
]);

export type SourceState = 'connecting' | 'live' | 'lost' | 'ended' | 'stopped';

export interface SourceStatus {
  readonly state: SourceState;
  readonly fps: number;
  /** Input bitrate over the last second, bits/s. */
  readonly bitrate: number;
  /** Wall time (ms) of the last fresh frame, 0 when none yet. */
  readonly lastFrameAt: number;
  /** Media time (s) of the latest frame. */
  readonly mediaTime: number;
  /** Seconds between a frame's wall time and where pacing says it should be (live lag). */
  readonly decodeLag: number;
  readonly reconnects: number;
  /** Pictures the decoder flagged as damaged (delivered with `decodeError`) plus packets it refused. */
  readonly decodeErrors: number;
  readonly width: number;
  readonly height: number;
  readonly lastError?: string;
}

export interface SourceOptions {
  readonly id: string;
  readonly url: string;
  /**
   * Live sources reconnect with backoff and report signal loss; files opened for `analyze`
   * are read once as fast as they decode. Default: live unless the URL is a local file.
   */
  readonly live?: boolean;
  /** Pace reading at 1x media time (a local file monitored as a channel). Default: live && local file. */
  readonly realtime?: boolean;
  /** Seconds without fresh media before `signal_loss` opens. */
  readonly signalLossAfter?: number;
  /** Seconds of media flowing again before `signal_loss` closes. */
  readonly signalRecovery?: number;
  readonly reconnectDelay?: { readonly initial: number; readonly max: number };
  readonly decoderThreads?: number;
  /** Which rendition of an HLS master playlist to monitor (default: the highest bandwidth); the others are not read. */
  readonly variant?: VariantChoice;
  /** Called each time the input is opened, with its duration in seconds when the container knows it. */
  readonly onOpen?: (info: { duration: number | undefined }) => void;
  /** Seconds between live thumbnails (0 = none; evidence requested with requestThumbnail still works). */
  readonly thumbnailInterval?: number;
  /**
   * Read MPEG-TS files and udp:// inputs byte by byte through the TR 101 290 analyzer (TsEvent)
   * on their way to the demuxer. Default true; false opens them with the demuxer alone.
   */
  readonly tsAnalysis?: boolean;
  /** The analyzer's limits (PAT/PMT/PCR intervals, PID timeout). */
  readonly tsLimits?: TsAnalyzerOptions;
  /**
   * FFmpeg options for opening the input (protocol and demuxer options, as ffmpeg's `-option value`
   * before `-i`), over Vigil's defaults for its scheme (protocolOptions): `listen: '1'` to receive an
   * RTMP push, `rtsp_transport: 'udp'`, `user_agent`, `headers`...
   */
  readonly inputOptions?: Readonly<Record<string, string>>;
  /**
   * In a multi-programme transport stream, the programme (program_number) to monitor: its first
   * video and audio. Needs an input read byte by byte (tsAnalysis: MPEG-TS files, udp://, srt://),
   * whose PAT and PMTs say which streams belong to it. Default: the first programme the PAT lists
   * (on inputs not read byte by byte, the first video and audio FFmpeg lists).
   */
  readonly program?: number;
  readonly logger?: Logger;
}

/** A JPEG of one decoded frame, and why it was taken. */
export interface Thumbnail {
  readonly jpeg: Buffer;
  readonly mediaTime: number;
  readonly wallTime: number;
  /** 'live' for the periodic ones, else what requestThumbnail() was given. */
  readonly reasons: readonly string[];
}

export interface SourceSink {
  video(view: VideoFrameView): void;
  audio(chunk: AudioChunk): void;
  /** Per-packet facts, before decoding (optional: only transport/cadence checks need them). */
  packet?(info: PacketInfo): void;
  /** TR 101 290 checks that failed on the raw bytes (MPEG-TS files and UDP; optional). */
  ts?(event: TsEvent): void;
  /** The tracks the input declares, once per (re)connection, before any of its media. */
  info?(info: StreamInfo): void;
  /** Signal-loss interval edges (ingest's own observation of the source's health). */
  edge(edge: IntervalEdge): void;
  /** Media stopped or restarted: downstream should close what it has open. */
  discontinuity(mediaTime: number, wallTime: number): void;
  status?(status: SourceStatus): void;
  thumbnail?(thumb: Thumbnail): void;
  /** Evidence clips asked for with requestClip(); with this set, the source keeps a packet ring buffer. */
  clip?(clip: EvidenceClip): void;
}

/** Seconds a live-read file's timestamps may run ahead of its pace (a gap to wait out) or step back before the pace re-anchors. */
const PACE_MAX_STEP = 30;
/**
 * A live-read file's packet more than this many seconds ahead of the pace is waited for only when
 * the packet after it follows on from it: one garbled timestamp in a damaged file is not a gap.
 */
const PACE_CONFIRM = 1;


/**
 * A stream's time base, read from node-av once per stream object (a connection's streams keep
 * theirs): its getter is a native call that builds a new Rational, which on every packet and
 * frame cost about 1% of decoding a 720p stream.
 */
const timeBases = new WeakMap<Stream, Rational>();
function timeBaseOf(stream: Stream): Rational {
  let tb = timeBases.get(stream);
  if (!tb) {
    tb = stream.timeBase;
    timeBases.set(stream, tb);
  }
  return tb;
}

/** A packet's decode timestamp (pts where there is none) in seconds, if it has one. */
function packetSeconds(pkt: Packet, stream: Stream): number | undefined {
  const raw = pkt.dts !== AV_NOPTS_VALUE ? pkt.dts : pkt.pts;
  if (raw === AV_NOPTS_VALUE) return undefined;
  const tb = timeBaseOf(stream);
  return (Number(raw) * tb.num) / tb.den;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function toSeconds(ts: bigint, tb: Rational): number {
  if (ts === AV_NOPTS_VALUE || tb.den === 0) return Number.NaN;
  return (Number(ts) * tb.num) / tb.den;
}

/** Decoders that resample or rescale retime frames (audio to 1/sample_rate): trust the frame's own time base. */
function frameTimeBase(frame: Frame, stream: Stream): Rational {
  const tb = frame.timeBase;
  return tb.num > 0 && tb.den > 0 ? tb : timeBaseOf(stream);
}

function packetInfo(pkt: Packet, stream: Stream, track: 'video' | 'audio', mediaTime: number): PacketInfo {
  const tb = timeBaseOf(stream);
  return {
    kind: 'packet',
    track,
    mediaTime,
    wallTime: Date.now(),
    pts: toSeconds(pkt.pts, tb),
    dts: toSeconds(pkt.dts, tb),
    duration: Math.max(0, toSeconds(pkt.duration, tb) || 0),
    size: pkt.size,
    keyFrame: pkt.isKeyframe,
    corrupt: (pkt.flags & AV_PKT_FLAG_CORRUPT) !== 0,
  };
}

function frameRate(stream: Stream): number {
  for (const r of [stream.avgFrameRate, stream.rFrameRate]) {
    if (r.den > 0 && r.num > 0) {
      const fps = r.num / r.den;
      if (fps >= 1 && fps <= 240) return fps;
    }
  }
  return 25;
}

/** node-av's audio Decoder, resampling every frame to planar float (what AudioViewBuilder reads). */
function openAudioDecoder(as: Stream): Promise<Decoder> {
  return Decoder.create(as, {
    exitOnError: false,
    threadCount: 1,
    resample: { sampleFormat: AV_SAMPLE_FMT_FLTP },
  });
}

/**
 * One input, demuxed and decoded in process with node-av. Produces read-only frame views
 * and audio chunks on one media timeline, reconnects live sources with backoff, and
 * watches for signal loss: no fresh media (a repeated timestamp is not fresh) for
 * `signalLossAfter` seconds.
 */
export class StreamSource {
  private readonly abort = new AbortController();
  private readonly timeline: MediaTimeline;
  private readonly videoViews = new VideoViewBuilder((f) => this.isFullRange(f));
  private readonly audioViews = new AudioViewBuilder();
  private readonly live: boolean;
  private readonly realtime: boolean;
  private readonly lossAfter: number;
  private readonly recovery: number;
  private state: SourceState = 'connecting';
  private watchdog: NodeJS.Timeout | undefined;
  private lastFresh = 0;
  private lost: { since: number; media: number } | undefined;
  private resumedAt: { media: number; wall: number } | undefined;
  private lastPts = new Map<number, number>();
  private lastVideoPts = Number.NaN;
  private reconnects = 0;
  /** The current connection's input was opened (a listening input: an encoder connected). */
  private opened = false;
  private decodeErrors = 0;
  private audioDecoderRebuilds = 0;
  private lastAudioError: string | undefined;
  private lastError: string | undefined;
  private fullRangeStream = false;
  private width = 0;
  private height = 0;
  // Rolling one-second counters for fps and bitrate.
  private frameCount = 0;
  private byteCount = 0;
  private windowStart = Date.now();
  private fps = 0;
  private bitrate = 0;
  private lag = 0;
  /** Live-read files: the timestamp (s) and wall time the pace is anchored on, and the latest timestamp read. */
  private pace: { media: number; wall: number; top: number } | undefined;
  private running: Promise<void> | undefined;
  private readonly thumbnails = new ThumbnailEncoder();
  private readonly pendingThumbs: string[] = [];
  private lastThumbAt = 0;
  private clips: EvidenceClipRecorder | undefined;
  /** Tracks taken mid-stream whose parameters the evidence clips take from their first decoded frame (onVideo, onAudio). */
  private readonly unprobed = new Set<Stream>();

  constructor(
    private readonly opts: SourceOptions,
    private readonly sink: SourceSink,
  ) {
    const local = isLocalFile(opts.url);
    this.live = opts.live ?? !local;
    this.realtime = opts.realtime ?? (this.live && local);
    this.timeline = new MediaTimeline(undefined, this.live);
    this.lossAfter = opts.signalLossAfter ?? 3;
    this.recovery = opts.signalRecovery ?? 2;
  }

  /** Runs until stopped (live) or until the input ends (not live). Rejects only for a non-live input that cannot be read. */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.watchdog) clearInterval(this.watchdog);
    await this.running?.catch(() => {});
    this.setState('stopped');
  }

  /**
   * Take a thumbnail of the next decoded frame (evidence for an incident edge). The reason
   * comes back with the thumbnail. Cheap: one small JPEG.
   */
  requestThumbnail(reason: string): void {
    if (this.pendingThumbs.length < 16) this.pendingThumbs.push(reason);
  }

  /** Cut an evidence clip of the original packets around `onset` (media time, s); see EvidenceClipRecorder. */
  requestClip(reason: string, onset: number): void {
    this.clips?.request(reason, onset);
  }

  status(): SourceStatus {
    return {
      state: this.state,
      fps: this.fps,
      bitrate: this.bitrate,
      lastFrameAt: this.lastFresh,
      mediaTime: this.timeline.now,
      decodeLag: this.lag,
      reconnects: this.reconnects,
      decodeErrors: this.decodeErrors,
      width: this.width,
      height: this.height,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    if (this.live) this.watchdog = setInterval(() => this.checkSignal(), 200);
    const delays = this.opts.reconnectDelay ?? { initial: 0.5, max: 10 };
    let delay = delays.initial;
    let first = true;
    const { listening } = openOptions(this.opts.url, this.opts.inputOptions);
    while (!signal.aborted) {
      const openedAt = Date.now();
      this.opened = false;
      try {
        await this.readOnce();
        if (!this.live) break;
      } catch (err) {
        if (signal.aborted) break;
        // A listening input whose wait for the encoder ran out (not a fast failure: a port in use
        // fails at once): listen again at once, quietly. Nothing was connected, nothing was lost.
        if (this.live && listening && !this.opened && Date.now() - openedAt >= LISTEN_WAIT * 500) {
          this.lastError = `waiting for a push: ${errorMessage(err)}`;
          continue;
        }
        if (!this.live) {
          if (err instanceof VigilError) throw err;
          throw new VigilError(ErrorCodes.INPUT_UNREADABLE, `cannot read ${this.opts.url}: ${errorMessage(err)}`, [], {
            cause: err,
          });
        }
        this.lastError = errorMessage(err);
        this.opts.logger?.warn({ stream: this.opts.id, err: this.lastError }, 'source failed; reconnecting');
      }
      if (signal.aborted) break;
      const now = Date.now();
      this.sink.discontinuity(this.timeline.now, now);
      // A connection that delivered media for a while earns a fresh, short backoff.
      if (now - openedAt > 10_000) delay = delays.initial;
      if (!first || this.lastFresh === 0) this.setState(this.lost ? 'lost' : 'connecting');
      first = false;
      await sleep(delay * 1000 * (0.75 + Math.random() * 0.5), signal);
      delay = Math.min(delays.max, delay * 2);
      this.reconnects++;
      this.timeline.rebase(Date.now());
      this.lastPts.clear();
      this.pace = undefined;
    }
    if (this.watchdog) clearInterval(this.watchdog);
    this.videoViews.close();
    this.audioViews.close();
    this.thumbnails.close();
    this.clips?.close();
    if (!this.live) {
      this.sink.discontinuity(this.timeline.now, Date.now());
      this.setState('ended');
    }
  }

  private async readOnce(): Promise<void> {
    const signal = this.abort.signal;
    // copyTs: node-av's Demuxer would otherwise correct MPEG-TS timestamp jumps the way the ffmpeg
    // CLI does: a step back of more than 0.1 s (or 10 s either way) shifts every later packet of
    // every track by that step, for good. One garbled PES timestamp in a damaged burst then moved
    // the rest of the stream seconds into the future (+5.9 s from 5% of TS packets corrupted for
    // 5 s). The timestamps are taken as they are; MediaTimeline bridges real discontinuities.
    const tsSink = this.sink.ts?.bind(this.sink);
    // Findings wait for the demuxer to hand out the packet at their byte offset: the demuxer reads
    // ahead of what has been decoded (up to a buffer's worth, seconds at low bitrates), and media
    // time is where decoding is. Those made while it probes come after the connection's info.
    const heldTs: TsFinding[] = [];
    /** On a multi-programme multiplex: findings on PIDs of the other services only, which are theirs (set once the programme is chosen). */
    let foreign: ((pid: number) => boolean) | undefined;
    // A finding on a monitored track's PID waits for that track's packet (the demuxer may complete
    // the other track's PES first), so the detector has seen that packet's timestamps.
    const releaseTs = (upTo: number, pid: number, tracked: (pid: number) => boolean): void => {
      for (let i = 0; i < heldTs.length; ) {
        const f = heldTs[i]!;
        if (f.offset > upTo || (f.pid !== pid && tracked(f.pid))) {
          i++;
          continue;
        }
        heldTs.splice(i, 1);
        if (foreign?.(f.pid)) continue;
        tsSink!({
          kind: 'ts',
          check: f.check,
          pid: f.pid,
          detail: f.detail,
          ...(f.value !== undefined ? { value: f.value } : {}),
          mediaTime: this.timeline.now,
          wallTime: Date.now(),
        });
      }
    };
    const { options: inputOptions } = openOptions(this.opts.url, this.opts.inputOptions);
    // The tap also reads the multiplex's programme map (PAT/PMT) for the programme choice: without a
    // consumer of its findings it stops analysing once the demuxer is open.
    const tapped = this.opts.tsAnalysis !== false ? tapUrl(this.opts.url, inputOptions) : undefined;
    // A regular local file is read on this thread (PacketReader `sync`): its reads do not wait on a
    // network or a device, and av_read_frame per packet through the thread pool cost more than the
    // demuxing itself. Network inputs and devices are read asynchronously.
    const syncReads = isRegularFile(this.opts.url);
    let tap: Awaited<ReturnType<typeof openTapped>> | undefined;
    if (tapped) {
      try {
        tap = await openTapped(tapped, {
          live: this.live,
          sync: syncReads,
          signal,
          ...(this.opts.tsLimits ? { analyzer: this.opts.tsLimits } : {}),
          onFinding: (f) => {
            if (tsSink) heldTs.push(f);
          },
        });
      } catch (err) {
        // Not MPEG-TS after all (a misnamed file), or the protocol refused: open it as FFmpeg
        // would, by probing, without the byte-level checks.
        if (signal.aborted) throw err;
        heldTs.length = 0;
        this.opts.logger?.info({ stream: this.opts.id, err: errorMessage(err) }, 'not read as MPEG-TS; opening without TR 101 290 byte checks');
      }
    }
    const demuxer =
      tap?.demuxer ??
      (await Demuxer.open(this.opts.url, {
        options: inputOptions,
        signal,
        copyTs: true,
      }));
    this.opened = true;
    if (!tsSink) tap?.stopAnalysis();
    try {
      const program = this.opts.program;
      // The multiplex's programmes as the analyzer read them while the demuxer probed (built once here).
      const programs = tap?.analyzer.programs;
      let programPids: ReadonlySet<number> | undefined;
      if (program !== undefined) {
        if (!programs) {
          throw new VigilError(
            ErrorCodes.PROGRAM_NOT_FOUND,
            `${this.opts.url}: programme ${program} asked for, but only MPEG-TS read byte by byte (files, udp://, srt:// as caller, with ingest.tsAnalysis on) is told apart by programme`,
          );
        }
        const pids = programs.get(program);
        if (!pids || pids.length === 0) {
          const offered = [...programs.keys()];
          throw new VigilError(
            ErrorCodes.PROGRAM_NOT_FOUND,
            `${this.opts.url}: no programme ${program} in this multiplex (its PAT lists ${offered.length > 0 ? offered.join(', ') : 'none'})`,
          );
        }
        programPids = new Set(pids);
      } else if (programs && programs.size > 1) {
        // A multiplex of several programmes: the first one its PAT lists (FFmpeg's own stream order
        // follows whichever PMT it parsed first).
        const first = [...programs.values()][0]!;
        if (first.length > 0) programPids = new Set(first);
      }
      // This stream's service of a multiplex of several: a continuity error, a PMT missing or a PID
      // gone on another service's PIDs is that service's incident, not this one's (PAT, sync, CAT
      // and PIDs of no programme concern every service).
      const own = program ?? (programs && programs.size > 1 ? [...programs.keys()][0] : undefined);
      if (tap && own !== undefined) {
        const analyzer = tap.analyzer;
        foreign = (pid) => pid >= 0 && analyzer.ownedElsewhere(pid, own);
      }
      const tracks = selectTracks(demuxer.streams, this.opts.variant ?? 'highest', programPids ? (s) => programPids.has(s.id) : undefined);
      let vs = tracks.video;
      let as = tracks.audio;
      /** The analyzer reads the programme's PMTs (an MPEG-TS input read byte by byte, findings consumed): ingest follows a new one. */
      const analyzer = tap && tsSink ? tap.analyzer : undefined;
      // Streams not monitored are not read: other renditions of an HLS master playlist are not
      // downloaded, other programmes' PES are not assembled. With the PMT followed, the programme's
      // other streams stay readable: after a PMT change they are where its tracks went (and in a
      // short file the demuxer may have read the new PMT while it probed).
      for (const s of tracks.unused) if (!analyzer || (programPids && !programPids.has(s.id))) s.discard = AVDISCARD_ALL;
      if (tracks.variant) {
        this.opts.logger?.info(
          { stream: this.opts.id, bandwidth: tracks.variant.bandwidth, offered: tracks.variant.offered },
          'monitoring one rendition of the master playlist',
        );
      }
      const duration = demuxer.duration;
      this.opts.onOpen?.({ duration: Number.isFinite(duration) && duration > 0 ? duration : undefined });
      if (!vs && !as)
        throw new VigilError(ErrorCodes.NO_MEDIA_STREAMS, `${this.opts.url} has no audio or video stream`);
      const threads = this.opts.decoderThreads ?? 1;
      let vdec: VideoDecoder | undefined;
      let adec: Decoder | undefined;
      let vdur = 0;
      /** The codecs the decoders were opened for: libavformat changes a stream's codec when a PMT changes its stream_type. */
      let vcodec: AVCodecID | undefined;
      let acodec: AVCodecID | undefined;
      /** The declared frame rate; 0 (unknown) for a track taken mid-stream, whose stream parameters are not probed or are the old codec's. */
      let vfps = 0;
      const openVideo = (midStream = false): void => {
        if (!vs) return;
        const fmt = vs.codecpar.format as AVPixelFormat;
        vcodec = vs.codecpar.codecId;
        vdec = undefined;
        if (midStream) {
          // A stream_type this track cannot be decoded as (no decoder, or no longer video): its
          // packets go undecoded, which the tracks detector reports as a missing track.
          try {
            if (vs.codecpar.codecType !== AVMEDIA_TYPE_VIDEO) throw new Error('the stream is no longer video');
            vdec = new VideoDecoder(vs, threads);
          } catch (err) {
            this.opts.logger?.warn({ stream: this.opts.id, pid: vs.id, err: errorMessage(err) }, 'cannot decode the new video codec');
            return;
          }
        } else vdec = new VideoDecoder(vs, threads);
        vfps = midStream ? 0 : frameRate(vs);
        // Unknown: each frame's own duration.
        vdur = vfps > 0 ? 1 / vfps : 0;
        // Not for formats ingest converts (RGB, 10-bit...): converted frames carry their own range.
        const converted = fmt >= 0 && !LUMA_FIRST_FORMATS.has(fmt);
        this.fullRangeStream =
          !converted && (vs.codecpar.colorRange === AVCOL_RANGE_JPEG || FULL_RANGE_FORMATS.has(fmt));
      };
      const openAudio = async (midStream = false): Promise<void> => {
        if (!as) return;
        acodec = as.codecpar.codecId;
        adec = undefined;
        if (!midStream) return void (adec = await openAudioDecoder(as));
        try {
          if (as.codecpar.codecType !== AVMEDIA_TYPE_AUDIO) throw new Error('the stream is no longer audio');
          adec = await openAudioDecoder(as);
        } catch (err) {
          this.opts.logger?.warn({ stream: this.opts.id, pid: as.id, err: errorMessage(err) }, 'cannot decode the new audio codec');
        }
      };
      openVideo();
      await openAudio();
      const onVideo = (f: Frame, damaged: boolean): void => this.onVideo(f, damaged, vs!, vdur);
      this.lastVideoPts = Number.NaN;
      /** The tracks monitored, to the sink: once per connection, and again when the programme changes them. */
      const announce = (changed = false): void =>
        this.sink.info?.({
          kind: 'info',
          mediaTime: this.timeline.now,
          wallTime: Date.now(),
          ...(changed ? { changed } : {}),
          format: demuxer.formatName,
          ...(tracks.variant ? { variant: tracks.variant } : {}),
          ...(tap
            ? {
                tsAnalysis: {
                  ...(vs ? { videoPid: vs.id } : {}),
                  ...(as ? { audioPid: as.id } : {}),
                  programs: [...tap.analyzer.programs.keys()],
                  ...(program !== undefined ? { program } : {}),
                },
              }
            : {}),
          // A change announces the codecs; sizes, rates and channels come with its media (0: not known yet).
          ...(vs
            ? {
                video: {
                  codec: avGetCodecName(vs.codecpar.codecId) ?? 'unknown',
                  width: changed ? 0 : vs.codecpar.width,
                  height: changed ? 0 : vs.codecpar.height,
                  fps: vfps,
                },
              }
            : {}),
          ...(as
            ? {
                audio: {
                  codec: avGetCodecName(as.codecpar.codecId) ?? 'unknown',
                  sampleRate: changed ? 0 : as.codecpar.sampleRate,
                  channels: changed ? 0 : as.codecpar.channelLayout.nbChannels,
                },
              }
            : {}),
        });
      announce();
      const packetSink = this.sink.packet?.bind(this.sink);
      if (this.sink.clip) {
        const onClip = this.sink.clip.bind(this.sink);
        this.clips ??= new EvidenceClipRecorder(onClip, {
          streamId: this.opts.id,
          ...(this.opts.logger ? { logger: this.opts.logger } : {}),
        });
        this.clips.setStreams(vs, as);
      }
      const isTracked = (pid: number): boolean => pid === vs?.id || pid === as?.id;
      const reader = new PacketReader(demuxer, { sync: syncReads, signal });
      const trackOf = (pkt: Packet): Stream | undefined =>
        vs && pkt.streamIndex === vs.index ? vs : as && pkt.streamIndex === as.index ? as : undefined;
      // The pacer may read one packet ahead (to confirm a timestamp jump); it is handled next.
      let ahead: { pkt: Packet | undefined } | undefined;
      const peek = async (): Promise<Packet | undefined> => {
        ahead ??= { pkt: await reader.next() };
        return ahead.pkt;
      };
      // Mid-stream changes of what the input carries (a splice to another encoder, a re-plumbed
      // multiplex, an ad break packaged on other PIDs): a new PMT that moves the programme to other
      // PIDs or changes a stream's type, or tracks that appear later. Without following them the
      // old tracks fall silent (a missing track, a signal loss, or on HLS the break simply not
      // seen) while the programme plays on.
      const follower = new TrackFollower({
        streams: demuxer.streams,
        formatContext: demuxer.getFormatContext(),
        ...(analyzer ? { analyzer } : {}),
        ...(program !== undefined ? { program } : {}),
        variant: this.opts.variant ?? 'highest',
      });
      follower.video = vs;
      follower.audio = as;
      /** A track taken mid-stream: read it, restart it on the media clock, fill its parameters from its first frames. */
      const adopt = (st: Stream): void => {
        this.unprobed.add(st);
        this.timeline.restartTrack(st.index);
        this.lastPts.delete(st.index);
        st.discard = AVDISCARD_DEFAULT;
      };
      /** Take `nv` / `na` as the monitored tracks (the same objects: nothing to do). */
      const switchTracks = async (nv: Stream | undefined, na: Stream | undefined, why: string): Promise<void> => {
        if (nv === vs && na === as) return;
        const from = `video ${vs ? `PID ${vs.id}` : 'none'}, audio ${as ? `PID ${as.id}` : 'none'}`;
        if (nv !== vs) {
          if (vdec) {
            this.decodeVideo(vdec, null, onVideo);
            vdec.close();
          }
          vs = nv!;
          adopt(vs);
          openVideo(true);
          this.lastVideoPts = Number.NaN;
        }
        if (na !== as) {
          if (adec) {
            if (as) this.decodeAudio(adec, as, null);
            adec.close();
          }
          as = na!;
          adopt(as);
          await openAudio(true);
        }
        follower.video = vs;
        follower.audio = as;
        this.opts.logger?.warn(
          { stream: this.opts.id, from, to: `video ${vs ? `PID ${vs.id}` : 'none'}, audio ${as ? `PID ${as.id}` : 'none'}`, why },
          'the programme moved to other tracks mid-stream; following it',
        );
        // The new tracks' timestamps may start anywhere: they go on from where the media clock is
        // (restartTrack above). No discontinuity for the detectors: the connection goes on, and
        // what happened to its transport at the change (continuity, timestamps) is for them to judge.
        this.pace = undefined;
        this.clips?.endConnection();
        this.clips?.setStreams(vs, as);
        announce(true);
      };
      /** A monitored track's codec changed under it (libavformat follows a PMT's new stream_type): new decoder. */
      const recodec = async (video: boolean): Promise<void> => {
        const old = video ? vcodec : acodec;
        const from = old !== undefined ? (avGetCodecName(old) ?? 'unknown') : 'none';
        if (video) {
          if (vdec) {
            this.decodeVideo(vdec, null, onVideo);
            vdec.close();
          }
          openVideo(true);
        } else {
          if (adec) {
            this.decodeAudio(adec, as!, null);
            adec.close();
          }
          await openAudio(true);
        }
        const stream = video ? vs! : as!;
        this.opts.logger?.warn(
          { stream: this.opts.id, pid: stream.id, from, to: avGetCodecName(stream.codecpar.codecId) ?? 'unknown' },
          `the ${video ? 'video' : 'audio'} codec changed mid-stream; new decoder`,
        );
        // The same track goes on (a splice to another encoder): the connection's state stays.
        announce(true);
      };
      try {
        for (;;) {
          let pkt: Packet | undefined;
          if (ahead) {
            pkt = ahead.pkt;
            ahead = undefined;
          } else pkt = await reader.next();
          if (signal.aborted || !pkt) break;
          let track = trackOf(pkt);
          const choice = follower.check(pkt, track !== undefined);
          if (choice) {
            await switchTracks(choice.video, choice.audio, choice.why);
            // The new track's packets that came while it was waited for: its first keyframe is among them.
            for (const p of choice.replay) {
              if (vdec && p.streamIndex === vs?.index) this.decodeVideo(vdec, p, onVideo);
              else if (adec && as && p.streamIndex === as.index) this.decodeAudio(adec, as, p);
              p.free();
            }
            track = trackOf(pkt);
          }
          if (track !== undefined && track.codecpar.codecId !== (track === vs ? vcodec : acodec)) await recodec(track === vs);
          // A file read as a live channel is released at the pace of its timestamps, before the packet
          // is handled: across a timestamp gap the wait comes first, so the media clock stays where the
          // media stopped while nothing arrives (as on a live feed), not already past the gap.
          if (this.realtime && track) {
            await this.paceTo(pkt, track, signal, peek, trackOf);
            if (signal.aborted) break;
          }
          this.byteCount += pkt.size;
          if (packetSink && track)
            packetSink(packetInfo(pkt, track, track === vs ? 'video' : 'audio', this.timeline.now));
          if (vs && vdec && onVideo && pkt.streamIndex === vs.index) {
            this.decodeVideo(vdec, pkt, onVideo);
          } else if (as && adec && pkt.streamIndex === as.index) {
            // Synchronous as a rule: a promise per audio packet only where the decoder failed.
            if (!this.decodeAudio(adec, as, pkt)) adec = await this.rebuildAudioDecoder(adec, as, pkt);
          }
          this.clips?.push(pkt, this.timeline.now);
          if (tap && heldTs.length > 0) {
            const pos = Number(pkt.pos);
            if (pos >= 0) releaseTs(pos, track?.id ?? -1, isTracked);
          }
          pkt.free();
        }
        if (!signal.aborted) {
          if (vdec && onVideo) this.decodeVideo(vdec, null, onVideo);
          if (as && adec && !this.decodeAudio(adec, as, null)) adec = await this.rebuildAudioDecoder(adec, as, null);
          if (tap) releaseTs(Number.POSITIVE_INFINITY, -1, () => false);
        }
      } finally {
        ahead?.pkt?.free();
        follower.close();
        reader.close();
        vdec?.close();
        adec?.close();
        this.clips?.endConnection();
      }
    } finally {
      await (tap ? tap.close() : demuxer.close()).catch(() => {});
    }
  }

  private isFullRange(frame: Frame): boolean {
    return this.fullRangeStream || frame.colorRange === AVCOL_RANGE_JPEG;
  }

  /** Whether this frame advances its track; a repeated timestamp is a stalled source, not media. */
  private fresh(track: number, ptsSec: number): boolean {
    const last = this.lastPts.get(track);
    if (Number.isFinite(ptsSec)) {
      if (last !== undefined && ptsSec === last) return false;
      this.lastPts.set(track, ptsSec);
    }
    return true;
  }

  /** One packet into the video decoder (null: drain); packets the decoder refuses count as decode errors. */
  private decodeVideo(vdec: VideoDecoder, pkt: Packet | null, onVideo: (f: Frame, damaged: boolean) => void): void {
    const refused = vdec.counters.sendErrors;
    vdec.decode(pkt, onVideo);
    this.decodeErrors += vdec.counters.sendErrors - refused;
  }

  /**
   * The audio decoder threw on `pkt` (null: drain). A damaged stream can change what its audio
   * decodes to mid-stream (channel layout, sample rate): node-av's resampler, set up once from the
   * first frame, then refuses the frame (AVERROR_INPUT_CHANGED) and that decoder is of no further
   * use. It is rebuilt and given the packet again; what still fails is dropped and counted as a
   * decode error. The audio goes on in its new format, and nothing else of the stream stops.
   * Returns the decoder to use from now on.
   */
  private async rebuildAudioDecoder(adec: Decoder, as: Stream, pkt: Packet | null): Promise<Decoder> {
    this.decodeErrors++;
    this.audioDecoderRebuilds++;
    if (this.audioDecoderRebuilds === 1 || this.audioDecoderRebuilds % 100 === 0) {
      this.opts.logger?.warn(
        { stream: this.opts.id, err: this.lastAudioError, rebuilds: this.audioDecoderRebuilds },
        'audio decoder failed (format changed mid-stream?); rebuilt it',
      );
    }
    adec.close();
    const fresh = await openAudioDecoder(as);
    if (!this.decodeAudio(fresh, as, pkt)) this.decodeErrors++;
    return fresh;
  }

  /** One packet into the audio decoder (null: drain), its frames to the sink; false when the decoder (or its resampler) threw. */
  private decodeAudio(adec: Decoder, as: Stream, pkt: Packet | null): boolean {
    let frames: Frame[];
    try {
      frames = adec.decodeAllSync(pkt);
    } catch (err) {
      this.lastAudioError = errorMessage(err);
      return false;
    }
    for (const f of frames) this.onAudio(f, as);
    return true;
  }

  /** `frame` belongs to the decoder and is reused once this returns. */
  private onVideo(frame: Frame, damaged: boolean, stream: Stream, nominal: number): void {
    // A track taken mid-stream was never probed: its size from its first picture, for the evidence
    // clips' muxer, which refuses a stream without one (libavformat keeps resetting the stream's own).
    if (this.unprobed.size > 0 && this.unprobed.delete(stream)) this.clips?.learn(stream.index, { width: frame.width, height: frame.height });
    const tb = timeBaseOf(stream);
    let pts = toSeconds(frame.bestEffortTimestamp, tb);
    const dur = nominal > 0 ? nominal : Math.max(0.001, toSeconds(frame.duration, tb) || 0.04);
    // No timestamp at all: one frame after the previous one (as node-av's Decoder extrapolated).
    if (!Number.isFinite(pts) && Number.isFinite(this.lastVideoPts)) pts = this.lastVideoPts + dur;
    if (!this.fresh(stream.index, pts)) return;
    if (Number.isFinite(pts)) this.lastVideoPts = pts;
    const wall = Date.now();
    const media = this.timeline.map(stream.index, pts, dur, wall);
    if (damaged) this.decodeErrors++;
    this.width = frame.width;
    this.height = frame.height;
    this.onFresh(media, wall);
    this.frameCount++;
    this.maybeThumbnail(frame, media, wall);
    const view = this.videoViews.build(frame, media, wall, dur, damaged);
    if (view) {
      try {
        this.sink.video(view);
      } finally {
        this.videoViews.release();
      }
    }
  }

  private maybeThumbnail(frame: Frame, media: number, wall: number): void {
    const interval = (this.opts.thumbnailInterval ?? 0) * 1000;
    const live = interval > 0 && wall - this.lastThumbAt >= interval;
    if (!live && this.pendingThumbs.length === 0) return;
    const reasons = this.pendingThumbs.splice(0);
    if (live) {
      reasons.push('live');
      this.lastThumbAt = wall;
    }
    try {
      const jpeg = this.thumbnails.encode(frame);
      if (jpeg) this.sink.thumbnail?.({ jpeg, mediaTime: media, wallTime: wall, reasons });
    } catch (err) {
      this.opts.logger?.warn({ stream: this.opts.id, err: errorMessage(err) }, 'thumbnail failed');
    }
  }

  private onAudio(frame: Frame, stream: Stream): void {
    // As for video (onVideo): a muxer refuses audio without a sample rate and channels.
    if (this.unprobed.size > 0 && this.unprobed.delete(stream))
      this.clips?.learn(stream.index, { sampleRate: frame.sampleRate, channelLayout: frame.channelLayout });
    try {
      const pts = toSeconds(frame.bestEffortTimestamp, frameTimeBase(frame, stream));
      if (!this.fresh(stream.index, pts)) return;
      const wall = Date.now();
      const dur = frame.sampleRate > 0 ? frame.nbSamples / frame.sampleRate : 0;
      const media = this.timeline.map(stream.index, pts, dur, wall);
      this.onFresh(media, wall);
      const chunk = this.audioViews.build(frame, media, wall);
      if (chunk) this.sink.audio(chunk);
    } finally {
      frame.free();
    }
  }

  private onFresh(media: number, wall: number): void {
    if (this.lastFresh === 0 || this.state === 'connecting') this.setState('live');
    this.lastFresh = wall;
    if (this.lost && !this.resumedAt) this.resumedAt = { media, wall };
    const elapsed = wall - this.windowStart;
    if (elapsed >= 1000) {
      this.fps = (this.frameCount * 1000) / elapsed;
      this.bitrate = (this.byteCount * 8000) / elapsed;
      this.frameCount = 0;
      this.byteCount = 0;
      this.windowStart = wall;
      this.sink.status?.(this.status());
    }
  }

  /**
   * Wait until the packet is due: its decode timestamp (pts where there is none) against the first
   * packet's, at 1x from when that one was read. Only forward moves count (audio and video interleave
   * a little out of order); a step back, or one more than PACE_MAX_STEP ahead of the pace (a loop
   * restart, the 33-bit wrap, a discontinuity), re-anchors the pace instead of waiting. A step more
   * than PACE_CONFIRM ahead is waited for only when the next packet (read ahead with `peek`) lies
   * nearer to it than to the pace: otherwise it is one garbled timestamp, released at once.
   */
  private async paceTo(
    pkt: Packet,
    stream: Stream,
    signal: AbortSignal,
    peek: () => Promise<Packet | undefined>,
    trackOf: (pkt: Packet) => Stream | undefined,
  ): Promise<void> {
    const t = packetSeconds(pkt, stream);
    if (t === undefined) return;
    const wall = Date.now();
    const p = this.pace;
    if (!p || t < p.top - PACE_MAX_STEP || p.wall + (t - p.media) * 1000 - wall > PACE_MAX_STEP * 1000) {
      this.pace = { media: t, wall, top: t };
      return;
    }
    if (t > p.top + PACE_CONFIRM) {
      const next = await peek();
      const nextTrack = next && trackOf(next);
      const tn = next && nextTrack ? packetSeconds(next, nextTrack) : undefined;
      // The end of the file, or a packet back near the pace: nothing to wait for.
      if (!next || (tn !== undefined && tn < (p.top + t) / 2)) return;
    }
    p.top = Math.max(p.top, t);
    const due = p.wall + (p.top - p.media) * 1000;
    this.lag = Math.max(0, (wall - due) / 1000);
    if (due - wall > 5) await sleep(due - wall, signal);
  }

  /** Runs every 200 ms on live sources. */
  private checkSignal(): void {
    const now = Date.now();
    if (!this.lost) {
      const since = this.lastFresh;
      if (since > 0 && now - since >= this.lossAfter * 1000) {
        this.lost = { since, media: this.timeline.now };
        this.resumedAt = undefined;
        this.setState('lost');
        this.sink.discontinuity(this.timeline.now, now);
        this.sink.edge({
          streamId: this.opts.id,
          type: 'signal_loss',
          phase: 'open',
          mediaTime: this.timeline.now,
          wallTime: since,
          measurements: { silentForSeconds: Math.round((now - since) / 100) / 10 },
        });
      }
      return;
    }
    // Recovery needs media to keep flowing: a pause longer than this restarts the count.
    const continuityGap = Math.min(this.lossAfter * 1000, 500);
    if (this.resumedAt && now - this.lastFresh < continuityGap) {
      if (now - this.resumedAt.wall >= this.recovery * 1000) {
        const lostFor = (this.resumedAt.wall - this.lost.since) / 1000;
        this.sink.edge({
          streamId: this.opts.id,
          type: 'signal_loss',
          phase: 'close',
          // Sources that resume with unbroken timestamps hide the gap in media time: wall time knows it.
          mediaTime: Math.max(this.resumedAt.media, this.lost.media + lostFor),
          wallTime: this.resumedAt.wall,
          measurements: { lostForSeconds: Math.round(lostFor * 10) / 10 },
        });
        this.lost = undefined;
        this.resumedAt = undefined;
        this.setState('live');
      }
    } else if (this.resumedAt) {
      // Media came back only briefly (a reconnect storm): still one loss.
      this.resumedAt = undefined;
    }
    this.decayRates(now);
  }

  /** With no media arriving, fps and bitrate must fall to zero rather than freeze at their last values. */
  private decayRates(now: number): void {
    if (now - this.windowStart < 2000 || now - this.lastFresh < 1000) return;
    this.fps = 0;
    this.bitrate = 0;
    this.frameCount = 0;
    this.byteCount = 0;
    this.windowStart = now;
    this.sink.status?.(this.status());
  }

  private setState(s: SourceState): void {
    if (this.state === s) return;
    this.state = s;
    this.sink.status?.(this.status());
  }
}
