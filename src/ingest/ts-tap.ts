import { closeSync, fstatSync, openSync, readSync as fsReadSync } from 'node:fs';
import { Demuxer } from 'node-av/api';
import {
  AVERROR_EOF,
  AVIO_FLAG_READ,
  AVSEEK_CUR,
  AVSEEK_END,
  AVSEEK_FORCE,
  AVSEEK_SIZE,
  type AVSeekWhence,
} from 'node-av/constants';
import { FFmpegError, IOContext } from 'node-av/lib';
import { localPath } from './protocol-options.ts';
import { TsAnalyzer, type TsAnalyzerOptions, type TsFinding } from './ts-analyzer.ts';

/**
 * Ingest's tee for MPEG-TS inputs: the input is opened with libavformat's own protocol
 * (avio_open2; a local file read on the main thread with Node's fs instead, see FileReader), and
 * every byte the MPEG-TS demuxer reads passes through a TsAnalyzer on the way (TR 101 290 checks
 * the demuxer does not report). Nothing is read twice: the analyzer looks at each read's buffer
 * before it is handed to the demuxer.
 *
 * Which inputs: local files named .ts, .m2t, .trp or .tp, udp:// (MPEG-TS over UDP, unicast or
 * multicast) and srt:// in caller mode (MPEG-TS over SRT, the monitor connecting to the sender;
 * SRT's own retransmission repairs network loss, so what the checks see there is what the sender
 * sent). Other inputs (HLS, whose segments the HLS demuxer fetches itself; SRT in listener or
 * rendezvous mode, whose open waits for the other side with no way to interrupt it through avio;
 * RTP, RTSP, RTMP, HTTP) are opened as before and get the demuxer-level checks only.
 */

/** 188-byte MPEG-TS files. Not .m2ts / .mts: BDAV and AVCHD files carry 192-byte packets. */
const TS_FILE = /\.(ts|m2t|trp|tp)$/i;

/** The URL to open through the tap, or undefined when the input is not tapped. */
export function tapUrl(url: string, protocolOptions: Readonly<Record<string, string>>): string | undefined {
  const udp = url.startsWith('udp://');
  if (udp || url.startsWith('srt://')) {
    // avio_open2 takes no options dictionary: FFmpeg's UDP and SRT protocols read the same
    // options from the URL's query string. Options the URL already sets win.
    const q = url.indexOf('?');
    const given = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    if (!udp && (given.get('mode') ?? 'caller') !== 'caller') return undefined;
    const extra = Object.entries(protocolOptions).filter(([k]) => !given.has(k));
    if (extra.length === 0) return url;
    return url + (q >= 0 ? '&' : '?') + extra.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  }
  const path = localPath(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return undefined;
  return TS_FILE.test(path) ? path : undefined;
}

export interface TappedInput {
  readonly demuxer: Demuxer;
  readonly analyzer: TsAnalyzer;
  /**
   * Stop feeding the analyzer (its programme map stays as read while the demuxer probed): for a
   * stream where no detector takes TR 101 290 findings, the tap is kept for the programme choice only.
   */
  stopAnalysis(): void;
  /** Close the demuxer, then the protocol. */
  close(): Promise<void>;
}

/**
 * Each read is a round trip from the demuxer's thread through the event loop (about 50 us of
 * CPU, measured: 3 436 reads of 9 KB cost 0.15 s more than 35 reads of 1 MB over the same 60 s
 * of 720p). A file is read 256 KB at a time (1 MB reads held 20-28 MB more peak RSS in the
 * bench). A live read waits until its size has arrived, so it asks for about 100 ms of the stream at the bitrate the PCRs give: 7 UDP datagrams at least
 * (low bitrates are not held back), 256 KB at most.
 */
const FILE_READ = 1 << 18;
const DATAGRAM = 7 * 188;
const LIVE_MIN = 7 * DATAGRAM;
const LIVE_MAX = 199 * DATAGRAM;
const liveReadSize = (bitrate: number): number =>
  Math.max(LIVE_MIN, Math.min(LIVE_MAX, Math.round((bitrate * 0.1) / 8 / DATAGRAM) * DATAGRAM));

/**
 * Open `url` (from tapUrl) as MPEG-TS with every byte read going through a TsAnalyzer.
 * Seekable inputs (files) may be read out of order while the demuxer probes (it reads the end
 * of a file for its duration): only bytes that continue what the analyzer has seen are fed, so
 * it sees the file once, in order.
 */
export async function openTapped(
  url: string,
  opts: {
    readonly live: boolean;
    /**
     * Answer the demuxer's reads and seeks synchronously (local files): needed when packets are
     * read with av_read_frame on the main thread (PacketReader `sync`), whose read callback cannot
     * wait for a promise.
     */
    readonly sync?: boolean;
    readonly signal: AbortSignal;
    readonly onFinding: (f: TsFinding) => void;
    readonly analyzer?: TsAnalyzerOptions;
  },
): Promise<TappedInput> {
  // A local file read on this thread goes through Node's fs into one reused buffer (FileReader);
  // anything else through libavformat's protocol.
  const file = opts.sync ? FileReader.open(url) : undefined;
  const io = file ? undefined : new IOContext();
  if (io) FFmpegError.throwIfError(await io.open2(url, AVIO_FLAG_READ), `cannot open ${url}`);
  const analyzer = new TsAnalyzer(opts.onFinding, opts.analyzer);
  /** Our position in the input, and how far the analyzer has been fed. */
  let pos = 0n;
  let fed = 0n;
  let analysing = true;
  /**
   * The protocol read in flight. A read waiting on a silent sender cannot be interrupted (it ends
   * at the protocol's timeout, 5 s for UDP): on abort the demuxer gets EOF at once, and the
   * protocol is closed when that read ends (close() below), so stopping a source is prompt.
   */
  let inflight: Promise<Buffer | number> | undefined;
  /** `pending`, or EOF as soon as the source is stopped; the abort listener lives as long as the read. */
  const untilAbort = (pending: Promise<Buffer | number>): Promise<Buffer | number> =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => resolve(AVERROR_EOF);
      opts.signal.addEventListener('abort', onAbort, { once: true });
      pending.then(
        (v) => {
          opts.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          opts.signal.removeEventListener('abort', onAbort);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  /** Hands a read's bytes to the analyzer (those that continue what it has seen) and moves our position. */
  const took = (r: Buffer | number): Buffer | number => {
    if (typeof r === 'number') return r;
    if (r.length === 0) return AVERROR_EOF;
    const end = pos + BigInt(r.length);
    if (analysing && pos <= fed && end > fed) {
      analyzer.push(r.subarray(Number(fed - pos)));
      fed = end;
    }
    pos = end;
    return r;
  };
  const readSize = (size: number): number =>
    opts.live ? Math.min(size, liveReadSize(analyzer.transportBitrate)) : size;
  const readAsync = async (size: number): Promise<Buffer | number> => {
    if (opts.signal.aborted) return AVERROR_EOF;
    const pending = io!.read(readSize(size));
    inflight = pending;
    const r = await untilAbort(pending);
    if (opts.signal.aborted) return AVERROR_EOF;
    inflight = undefined;
    return took(r);
  };
  const readSync = (size: number): Buffer | number =>
    opts.signal.aborted ? AVERROR_EOF : took(file ? file.read(pos, size) : io!.readSync(readSize(size)));
  const seekTo = (to: bigint): bigint => {
    if (to >= 0n) pos = to;
    return to;
  };
  const how = (whence: AVSeekWhence): AVSeekWhence => (whence & ~(AVSEEK_FORCE as number)) as AVSeekWhence;
  const seekAsync = async (offset: bigint, whence: AVSeekWhence): Promise<bigint> =>
    how(whence) === AVSEEK_SIZE ? io!.size() : seekTo(await io!.seek(offset, how(whence)));
  const seekSync = (offset: bigint, whence: AVSeekWhence): bigint =>
    file
      ? how(whence) === AVSEEK_SIZE
        ? file.size()
        : seekTo(file.seek(pos, offset, how(whence)))
      : how(whence) === AVSEEK_SIZE
        ? io!.sizeSync()
        : seekTo(io!.seekSync(offset, how(whence)));
  const read = opts.sync ? readSync : readAsync;
  const seek = opts.sync ? seekSync : seekAsync;
  let demuxer: Demuxer;
  try {
    demuxer = await Demuxer.open(opts.live ? { read } : { read, seek }, {
      format: 'mpegts',
      copyTs: true,
      bufferSize: opts.live ? LIVE_MAX : FILE_READ,
    });
  } catch (err) {
    file?.close();
    await io?.closep();
    throw err;
  }
  return {
    demuxer,
    analyzer,
    stopAnalysis() {
      analysing = false;
    },
    async close() {
      await demuxer.close();
      if (file) return file.close();
      const pending = inflight;
      if (!pending) return void (await io!.closep());
      // A read left behind on abort: the protocol (its socket) is closed once it ends.
      void pending
        .catch(() => 0)
        .then(() => io!.closep())
        .catch(() => {});
    },
  };
}

/**
 * A local file answered synchronously with Node's fs, every read into the same buffer. The demuxer
 * copies what a read returns into its own buffer before it asks again, and the analyzer copies
 * what it keeps (a cut-off packet, a PSI section), so one buffer serves the whole file. Reading
 * through libavformat's file protocol instead (IOContext.readSync) hands back a new buffer for
 * every read: about 100 ms of CPU per 32 MB (60 s of 720p at 4 Mbit/s), most of it the kernel
 * mapping fresh pages, against about 5 ms this way (measured on the 2-core machine).
 */
class FileReader {
  private buf = Buffer.alloc(0);

  private constructor(private fd: number | undefined) {}

  static open(path: string): FileReader {
    try {
      return new FileReader(openSync(path, 'r'));
    } catch (err) {
      throw new Error(`cannot open ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Up to `size` bytes at `at`: a view of the reused buffer, valid until the next read; EOF at the end. */
  read(at: bigint, size: number): Buffer | number {
    if (this.fd === undefined) return AVERROR_EOF;
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(size);
    const n = fsReadSync(this.fd, this.buf, 0, size, Number(at));
    return n > 0 ? this.buf.subarray(0, n) : AVERROR_EOF;
  }

  size(): bigint {
    return this.fd === undefined ? -1n : BigInt(fstatSync(this.fd).size);
  }

  /** The position a seek from `from` lands on (SEEK_SET, SEEK_CUR, SEEK_END), or -1 before the start. */
  seek(from: bigint, offset: bigint, whence: AVSeekWhence): bigint {
    const base = whence === AVSEEK_CUR ? from : whence === AVSEEK_END ? this.size() : 0n;
    const to = base + offset;
    return to >= 0n ? to : -1n;
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}
