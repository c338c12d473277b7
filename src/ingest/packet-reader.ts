import type { Demuxer } from 'node-av/api';
import { AVERROR_EAGAIN, AVFMT_TS_DISCONT, AV_NOPTS_VALUE } from 'node-av/constants';
import { Packet, type FormatContext, type Rational } from 'node-av/lib';
import { isRegularFile } from './protocol-options.ts';

/**
 * Packets straight from the demuxer's format context (av_read_frame), one call per packet.
 *
 * Why not node-av's `Demuxer.packets()`: its generator runs a read loop that queues each packet
 * for a consumer and wakes it through a promise, and corrects timestamps in JavaScript per packet
 * (BigInt arithmetic, a native DTS prediction call). Measured on 30 s of 640x360 H.264 + AAC in
 * MPEG-TS (2 156 packets, Intel Xeon, medians of 10): 129 ms of CPU to demux through it, 78 ms
 * with one asynchronous `readFrame` per packet, 10 ms with `readFrameSync`. At these sizes that
 * machinery cost about a third of decoding the file.
 *
 * - `sync`: av_read_frame on the calling (main) thread. Only for local files, whose reads do not
 *   wait on a network; a tapped input's read callback must then answer synchronously
 *   (openTapped's `sync`). Live network inputs read asynchronously (one thread-pool job per
 *   packet), so the event loop never waits on a socket.
 * - Timestamps are as the demuxer gives them (what `copyTs` asked of node-av's Demuxer), except
 *   the wrap of formats with limited timestamp bits (MPEG-TS PTS/DTS are 33 bits, about 26.5 h at
 *   90 kHz): libavformat undoes the first, and TimestampUnwrapper every later one, so that a track's
 *   timestamps keep increasing on a feed read for days (node-av's Demuxer did this in JavaScript).
 * - EAGAIN (no data yet, e.g. device capture) is retried after 10 ms, as FFmpeg's CLI does.
 * - Abort interrupts a read in flight (av_read_frame returns at once) and ends the reading.
 */
/** Seconds a timestamp may be off the previous one plus or minus the counter's range and still count as the wrap. */
const WRAP_NEAR = 60;

export class PacketReader {
  private readonly fc: FormatContext;
  /** Each stream's time base, taken once (node-av's getter builds a new object per call). */
  private readonly timeBases: (Rational | undefined)[];
  /** Per stream index (undefined: timestamps taken as they are). */
  private readonly wraps: (TimestampUnwrapper | undefined)[];
  private readonly onAbort = (): void => this.fc.interrupt();

  constructor(
    demuxer: Demuxer,
    private readonly opts: { readonly sync: boolean; readonly signal: AbortSignal },
  ) {
    this.fc = demuxer.getFormatContext();
    const streams = demuxer.streams;
    this.timeBases = streams.map((s) => s.timeBase);
    const discont = ((this.fc.iformat?.flags ?? 0) & (AVFMT_TS_DISCONT as number)) !== 0;
    this.wraps = streams.map((s) =>
      discont && s.ptsWrapBits > 0 && s.ptsWrapBits < 60 && s.timeBase.num > 0
        ? new TimestampUnwrapper(s.ptsWrapBits, BigInt(Math.round((WRAP_NEAR * s.timeBase.den) / s.timeBase.num)))
        : undefined,
    );
    opts.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The next packet (the caller frees it), or undefined at the end of input, on a read error or once aborted. */
  async next(): Promise<Packet | undefined> {
    const { signal, sync } = this.opts;
    for (;;) {
      if (signal.aborted) return undefined;
      const pkt = new Packet();
      pkt.alloc();
      const ret = sync ? this.fc.readFrameSync(pkt) : await this.fc.readFrame(pkt);
      if (ret >= 0 && !signal.aborted) {
        const tb = this.timeBases[pkt.streamIndex];
        if (tb) {
          pkt.timeBase = tb;
          const w = this.wraps[pkt.streamIndex];
          if (w) {
            const dts = pkt.dts;
            const pts = pkt.pts;
            w.unwrap(dts, pts);
            if (w.dts !== dts) pkt.dts = w.dts;
            if (w.pts !== pts) pkt.pts = w.pts;
          }
        }
        return pkt;
      }
      pkt.free();
      if (ret !== AVERROR_EAGAIN || signal.aborted) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  close(): void {
    this.opts.signal.removeEventListener('abort', this.onAbort);
  }
}

/**
 * One track's timestamps made to keep increasing across the wrap of a counter of `bits` bits.
 * libavformat undoes one wrap relative to the first timestamps of a stream (its pts_wrap_reference),
 * which covers a file; a live feed read for days meets the counter again every 2^33 / 90 kHz
 * (26.5 h), where libavformat's output steps back by the whole range. Each such step adds one
 * range to the offset. The decode timestamp leads (the presentation one where there is none); a
 * presentation timestamp is placed within half the range of its decode timestamp, and a packet
 * that belongs before the last wrap (interleaving) gets one range less.
 */
export class TimestampUnwrapper {
  private readonly range: bigint;
  private readonly half: bigint;
  private readonly near: bigint;
  private offset = 0n;
  private last = AV_NOPTS_VALUE;
  /** The last packet's timestamps, unwrapped (AV_NOPTS_VALUE where absent). */
  dts = AV_NOPTS_VALUE;
  pts = AV_NOPTS_VALUE;

  /**
   * `near`: how far (in ticks) a timestamp may lie from the previous one plus or minus the whole
   * range and still be taken for the counter wrapping. A garbled timestamp (a damaged PES header
   * that still decodes) lands anywhere in the range: only a step back by the range within `near`
   * is a wrap, so one garbled value cannot add a range to everything after it.
   */
  constructor(bits: number, near: bigint) {
    this.range = 1n << BigInt(bits);
    this.half = this.range >> 1n;
    this.near = near;
  }

  unwrap(dts: bigint, pts: bigint): void {
    const raw = dts !== AV_NOPTS_VALUE ? dts : pts;
    this.dts = dts;
    this.pts = pts;
    if (raw === AV_NOPTS_VALUE) return;
    let offset = this.offset;
    const last = this.last;
    this.last = raw;
    if (last !== AV_NOPTS_VALUE) {
      const wrapped = raw + this.range - last;
      if (wrapped >= -this.near && wrapped <= this.near) offset = this.offset += this.range;
      else if (offset > 0n) {
        // A packet that belongs before the last wrap (interleaving): one range less; `last` stays.
        const early = raw - this.range - last;
        if (early >= -this.near && early <= this.near) {
          offset -= this.range;
          this.last = last;
        }
      }
    }
    if (dts !== AV_NOPTS_VALUE) {
      const d = dts + offset;
      this.dts = d;
      if (pts !== AV_NOPTS_VALUE) {
        let p = pts + offset;
        if (p < d - this.half) p += this.range;
        else if (p > d + this.half) p -= this.range;
        this.pts = p;
      }
    } else this.pts = pts + offset;
  }
}

/**
 * Every packet of `demuxer` in order, read the way ingest reads `url` (synchronously for a regular
 * local file): for loops that must demux exactly as Vigil does, such as the benchmark's and the
 * evaluation's decode-only baselines. The caller frees each packet.
 */
export async function* readPackets(demuxer: Demuxer, url: string): AsyncGenerator<Packet> {
  const reader = new PacketReader(demuxer, { sync: isRegularFile(url), signal: new AbortController().signal });
  try {
    for (let pkt = await reader.next(); pkt; pkt = await reader.next()) yield pkt;
  } finally {
    reader.close();
  }
}
