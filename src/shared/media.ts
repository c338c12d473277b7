/**
 * Media types shared by every module. Frames are read-only views over memory
 * owned by ingest: a detector must not keep a reference past `process()`.
 */

/** A decoded video frame as detectors see it: the 8-bit luma plane at native resolution. */
export interface VideoFrameView {
  readonly kind: 'video';
  /** Seconds of media time since the first decoded frame of the input (monotonic, unwrapped). */
  readonly mediaTime: number;
  /** Wall-clock time (ms since epoch) at which the frame was decoded. */
  readonly wallTime: number;
  readonly width: number;
  readonly height: number;
  /** Luma plane, `lumaStride` bytes per row (ingest's copy of the decoded plane, copied on first access; valid until the next frame). */
  readonly luma: Uint8Array;
  readonly lumaStride: number;
  /** Nominal frame duration in seconds (from the stream's frame rate). */
  readonly frameDuration: number;
  /**
   * A small luma preview (160 pixels wide), scaled by ingest at most once per frame, on first access:
   * each pixel is a fast-bilinear sample (about a 2x2 neighbourhood) on a regular grid. Detectors that need
   * picture statistics rather than full detail read this instead of the full plane.
   */
  readonly preview: PreviewPlane;
  /** True when the luma range is full (JPEG) rather than limited (16..235). */
  readonly fullRange: boolean;
  /** The decoder flagged this frame as damaged or concealed. */
  readonly decodeError: boolean;
  readonly keyFrame: boolean;
  /**
   * The picture is interlaced (AV_FRAME_FLAG_INTERLACED): its even and odd rows are two fields
   * captured half a frame apart, so anything that moves shows both positions, row by row.
   */
  readonly interlaced: boolean;
}

/** A tightly packed 8-bit plane (stride = width). */
export interface PreviewPlane {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Decoded audio as float32 planar PCM, one view per channel. */
export interface AudioChunk {
  readonly kind: 'audio';
  readonly mediaTime: number;
  readonly wallTime: number;
  readonly sampleRate: number;
  readonly nbSamples: number;
  /** One Float32Array per channel, each `nbSamples` long. */
  readonly channels: readonly Float32Array[];
  /** Channel names in layout order, e.g. ['FL', 'FR']. */
  readonly channelNames: readonly string[];
}

/**
 * What ingest saw of one compressed packet, before decoding: what transport, cadence and
 * track-presence checks need. One per demuxed audio or video packet.
 */
export interface PacketInfo {
  readonly kind: 'packet';
  readonly track: 'video' | 'audio';
  /** Latest media time handed out on any track when the packet arrived (s). */
  readonly mediaTime: number;
  readonly wallTime: number;
  /** Raw presentation / decoding timestamps in seconds of the stream's time base (NaN when absent); not unwrapped. */
  readonly pts: number;
  readonly dts: number;
  /** Packet duration in seconds (0 when unknown). */
  readonly duration: number;
  readonly size: number;
  readonly keyFrame: boolean;
  /** The demuxer flagged the packet as damaged (MPEG-TS: continuity-counter error in its PES). */
  readonly corrupt: boolean;
}

/**
 * A TR 101 290 check that failed on the raw MPEG-TS bytes (ingest's TsAnalyzer: MPEG-TS files
 * and UDP inputs). Priority 1: sync_loss, sync_byte, pat, cc, pmt, pid; priority 2: tei, crc,
 * pcr_repetition, pcr_discontinuity, pcr_accuracy, pts, cat.
 */
export type TsCheck =
  | 'sync_loss'
  | 'sync_byte'
  | 'pat'
  | 'cc'
  | 'pmt'
  | 'pid'
  | 'tei'
  | 'crc'
  | 'pcr_repetition'
  | 'pcr_discontinuity'
  | 'pts'
  | 'cat'
  | 'pcr_accuracy';

export const TS_CHECKS: readonly TsCheck[] = [
  'sync_loss',
  'sync_byte',
  'pat',
  'cc',
  'pmt',
  'pid',
  'tei',
  'crc',
  'pcr_repetition',
  'pcr_discontinuity',
  'pts',
  'cat',
  'pcr_accuracy',
];

/** One failed TR 101 290 check, as ingest read the bytes. */
export interface TsEvent {
  readonly kind: 'ts';
  readonly check: TsCheck;
  /** The PID concerned (-1 for sync findings). */
  readonly pid: number;
  /** What was seen, for people ("no PAT for 0.62 s"). */
  readonly detail: string;
  /** For PCR findings, the step between the two PCRs (s). */
  readonly value?: number;
  /** Latest media time handed out when the bytes were read (s). */
  readonly mediaTime: number;
  readonly wallTime: number;
}

/**
 * Sent once per (re)connection, before any media of it: the tracks the input declares. Sent again
 * (`changed`) when the input changes them within a connection.
 */
export interface StreamInfo {
  readonly kind: 'info';
  readonly mediaTime: number;
  readonly wallTime: number;
  /**
   * True when sent within a connection: the programme moved to other tracks (a new PMT: other PIDs,
   * ingest followed them after a discontinuity) or a track's codec changed (a splice to another
   * encoder; the connection's timing goes on).
   */
  readonly changed?: boolean;
  /** Container format name(s) as FFmpeg reports them, e.g. 'mpegts', 'hls', 'mov,mp4,m4a,3gp,3g2,mj2'. */
  readonly format: string;
  /** The monitored tracks as declared; a number is 0 where it is not known (in a `changed` info: until media of the new track arrives). */
  readonly video?: { readonly codec: string; readonly width: number; readonly height: number; readonly fps: number };
  readonly audio?: { readonly codec: string; readonly sampleRate: number; readonly channels: number };
  /** The rendition monitored, for an HLS master playlist: its BANDWIDTH and those offered (bits/s, ascending). */
  readonly variant?: { readonly bandwidth: number; readonly offered: readonly number[] };
  /**
   * Present when ingest reads the raw MPEG-TS bytes (TsEvent): the PIDs of the monitored tracks
   * (their continuity errors come from here then, not from the demuxer's corrupt flag).
   */
  readonly tsAnalysis?: {
    readonly videoPid?: number;
    readonly audioPid?: number;
    /** The programme numbers the multiplex's PAT lists, and the one monitored (when one was asked for). */
    readonly programs?: readonly number[];
    readonly program?: number;
  };
}

export type MediaInput = VideoFrameView | AudioChunk | PacketInfo | StreamInfo | TsEvent;
