/**
 * Which tracks to monitor when an input changes what it carries mid-stream (ADR 0008): a new PMT
 * that moves the programme to other PIDs or replaces it by another service, an HLS ad break
 * packaged on other PIDs, a track that appears later. StreamSource asks at every packet, before it
 * handles it; a `TrackChoice` back means "switch to these tracks" (StreamSource swaps the decoders
 * and the media clock). Decisions only: nothing here decodes. Codec changes on a monitored track
 * are StreamSource's own (the decoder follows the stream's codec id).
 */
import { AVDISCARD_ALL, AVDISCARD_DEFAULT } from 'node-av/constants';
import type { FormatContext, Packet, Stream } from 'node-av/lib';
import { selectTracks, trackKind, type VariantChoice } from './select-tracks.ts';
import type { TsAnalyzer } from './ts-analyzer.ts';

/**
 * Packets in a row of another stream of its kind after which a silent monitored track gives way to
 * it, on inputs whose PMT ingest does not read (about half a second of video at 25-30 fps, a
 * quarter of AAC audio).
 */
export const UNHEARD = 12;

export interface TrackChoice {
  readonly video: Stream | undefined;
  readonly audio: Stream | undefined;
  /** For the log: 'PMT', 'PID 256 silent', 'a new track'. */
  readonly why: string;
  /** Packets of the new track that came before the choice (its first keyframe among them), to decode first; the caller frees them. */
  readonly replay: readonly Packet[];
}

export interface TrackFollowerOptions {
  /** The connection's streams as opened (stable wrappers), and its format context (streams that appear later). */
  readonly streams: readonly Stream[];
  readonly formatContext: FormatContext;
  /** The input's TR 101 290 analyzer, when it reads the PMTs (MPEG-TS read byte by byte, findings consumed). */
  readonly analyzer?: TsAnalyzer;
  /** The programme asked for (default: the first one the PAT lists). */
  readonly program?: number;
  readonly variant: VariantChoice;
}

export class TrackFollower {
  /** The monitored tracks: the caller sets them after it switched (and at the start). */
  video: Stream | undefined;
  audio: Stream | undefined;
  private knownStreams: number;
  /** From 0: a PMT change the demuxer read while it probed is followed once its packets come out. */
  private pmtChanges = 0;
  private readonly late = new Map<number, Stream>();
  /** Without the PMT: packets of another stream of each kind since the monitored track's last one. */
  private readonly unheard = { video: 0, audio: 0 };
  /** And those packets (copies, by stream), replayed to the new decoder if that stream is taken. */
  private readonly held = { video: new Map<number, Packet[]>(), audio: new Map<number, Packet[]>() };

  constructor(private readonly opts: TrackFollowerOptions) {
    this.knownStreams = opts.formatContext.nbStreams;
  }

  /**
   * `pkt` was read and is about to be handled; `tracked` when it belongs to a monitored track.
   * Returns the tracks to switch to, if this packet shows the programme moved.
   */
  check(pkt: Packet, tracked: boolean): TrackChoice | undefined {
    const analyzer = this.opts.analyzer;
    if (analyzer && analyzer.pmtChangeCount !== this.pmtChanges) {
      // Once the demuxer hands out what follows the new PMT (it reads ahead of its output).
      const pos = Number(pkt.pos);
      if (pos < 0 || pos >= analyzer.pmtChangeOffset) {
        this.pmtChanges = analyzer.pmtChangeCount;
        const choice = this.followPmt(analyzer);
        if (choice) return choice;
      }
    }
    if (tracked) {
      const kind = pkt.streamIndex === this.video?.index ? 'video' : 'audio';
      this.unheard[kind] = 0;
      if (this.held[kind].size > 0) forget(this.held[kind]);
      return undefined;
    }
    return analyzer ? undefined : this.unmonitored(pkt);
  }

  /** Frees what is held (end of the connection). */
  close(): void {
    forget(this.held.video);
    forget(this.held.audio);
  }

  /** Stable wrappers of the streams, by index (those of the connection's start are the opened ones). */
  private streamAt(index: number): Stream | undefined {
    if (index < this.opts.streams.length) return this.opts.streams[index];
    if (index >= this.knownStreams) this.knownStreams = this.opts.formatContext.nbStreams;
    let st = this.late.get(index);
    if (!st) {
      st = this.opts.formatContext.streams[index];
      if (st) this.late.set(index, st);
    }
    return st;
  }

  /**
   * A new PMT: a monitored track whose PID the programme's PMT no longer lists gives way to the
   * programme's new one of its kind; a track still listed stays, even silent (that is a missing
   * track, not a change). Only other programmes' streams are left unread: a PID this programme
   * dropped sends nothing anyway, and a later PMT may list it again (a splice back), whose packets
   * must then come out to be followed.
   */
  private followPmt(analyzer: TsAnalyzer): TrackChoice | undefined {
    const fc = this.opts.formatContext;
    this.knownStreams = fc.nbStreams;
    const streams = fc.streams.map((st) => this.streamAt(st.index) ?? st);
    const map = analyzer.programs;
    const own = this.opts.program ?? [...map.keys()][0];
    const listed = own !== undefined ? map.get(own) : undefined;
    if (own === undefined || !listed) return undefined;
    const eligible = (st: Stream): boolean => listed.includes(st.id);
    const pick = selectTracks(streams, this.opts.variant, eligible);
    for (const st of streams) st.discard = analyzer.ownedElsewhere(st.id, own) ? AVDISCARD_ALL : AVDISCARD_DEFAULT;
    const { video, audio } = this;
    const nv = video && eligible(video) ? video : (pick.video ?? video);
    const na = audio && eligible(audio) ? audio : (pick.audio ?? audio);
    if (nv === video && na === audio) return undefined;
    return { video: nv, audio: na, why: 'PMT', replay: [] };
  }

  /**
   * Without the PMT (HLS, RTMP, RTSP, MPEG-TS read without the analyzer): a packet of a stream that
   * is not monitored. Its track is taken once the monitored one of its kind has been silent for
   * UNHEARD of its packets in a row (an HLS ad break packaged on other PIDs, and back), or at once
   * for a kind with no track (audio that starts later). Only streams that appeared after the
   * start, or were monitored before, are read at all: the start's unmonitored streams stay unread
   * (other renditions of an HLS master playlist are not fetched).
   */
  private unmonitored(pkt: Packet): TrackChoice | undefined {
    const st = this.streamAt(pkt.streamIndex);
    const kind = st && trackKind(st);
    if (!st || !kind) return undefined;
    const current = this[kind];
    const held = this.held[kind];
    if (current && ++this.unheard[kind] < UNHEARD) {
      const list = held.get(pkt.streamIndex) ?? [];
      const copy = pkt.clone();
      if (copy) list.push(copy);
      held.set(pkt.streamIndex, list);
      return undefined;
    }
    const replay = held.get(pkt.streamIndex) ?? [];
    held.delete(pkt.streamIndex);
    forget(held);
    this.unheard[kind] = 0;
    return {
      video: kind === 'video' ? st : this.video,
      audio: kind === 'audio' ? st : this.audio,
      why: current ? `PID ${current.id} silent` : 'a new track',
      replay,
    };
  }
}

function forget(m: Map<number, Packet[]>): void {
  for (const list of m.values()) for (const p of list) p.free();
  m.clear();
}
