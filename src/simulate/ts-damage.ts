/**
 * Transport damage: MPEG-TS packets (188 bytes) of the audio/video PIDs dropped or corrupted
 * inside scheduled windows, after muxing (file .ts, HLS segments, UDP datagrams).
 *
 * Time of a TS packet = the PTS of the last PES that started on its PID, relative to the first
 * PTS seen in the stream (so 0 = the first frame), 33-bit wrap handled. Windows are given in
 * that PTS time and repeat every `period` seconds (a live cycle, plus any timestamp jump).
 *
 * drop: the packet is removed (the receiver sees a continuity-counter error on that PID);
 * corrupt: the transport_error_indicator bit is set and 8 payload bytes are overwritten
 * (FFmpeg's demuxer marks the PES it lands in AV_PKT_FLAG_CORRUPT);
 * tables: PAT and PMT packets (PID 0 and the PMT PIDs the PAT lists) are removed and the ones
 * sent renumbered, so the counters stay continuous: a multiplexer that stopped repeating its
 * tables (TR 101 290 1.3 / 1.5). Their time is the video's.
 * pcr: PCR values moved 1-20 us off (either way), as a remultiplexer that moves packets without
 * re-stamping them leaves them (TR 101 290 2.4; only a constant-bitrate multiplex shows it: the
 * output's muxrateKbps). `rate` is the share of PCRs hit.
 */
import { prng } from '../shared/index.ts';
import type { ScheduleItem } from './scenario.ts';

export const TS_PACKET = 188;

export interface TsDamageWindow {
  /** PTS seconds (since the first PTS) where damage starts / stops. */
  start: number;
  end: number;
  mode: 'drop' | 'corrupt' | 'tables' | 'pcr';
  rate: number;
}

const WRAP = 2 ** 33;

export class TsDamager {
  private readonly rand: () => number;
  private firstPts: number | undefined;
  private readonly pidTime = new Map<number, number>();
  private readonly pesPids = new Set<number>();
  /** PMT PIDs from the PAT, and the next continuity counter sent per table PID (tables mode). */
  private readonly pmtPids = new Set<number>();
  private readonly tableCc = new Map<number, number>();
  private lastPesTime = 0;
  /** Packets dropped / corrupted so far (for tests and logs). */
  dropped = 0;
  corrupted = 0;
  /** PCRs moved (pcr mode). */
  restamped = 0;

  constructor(
    private readonly windows: readonly TsDamageWindow[],
    private readonly period: number,
    seed: number,
  ) {
    this.rand = prng(seed ^ 0x7ada);
  }

  /** Damage a buffer of whole TS packets (length a multiple of 188); returns the bytes to send. */
  process(buf: Buffer): Buffer {
    const out: Buffer[] = [];
    let keepFrom = 0;
    for (let off = 0; off + TS_PACKET <= buf.length; off += TS_PACKET) {
      if (buf[off] !== 0x47) continue; // not aligned: pass through untouched
      const pid = ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
      const pusi = (buf[off + 1]! & 0x40) !== 0;
      const afc = (buf[off + 3]! >> 4) & 3;
      let p = off + 4;
      if (afc === 2 || afc === 3) p += 1 + buf[off + 4]!;
      const hasPayload = afc === 1 || afc === 3;
      if (pusi && hasPayload && p + 14 <= off + TS_PACKET) {
        if (buf[p] === 0 && buf[p + 1] === 0 && buf[p + 2] === 1) {
          this.pesPids.add(pid);
          const flags = buf[p + 7]!;
          if (flags & 0x80) {
            const b = buf.subarray(p + 9, p + 14);
            const pts =
              (b[0]! >> 1) * 2 ** 30 + ((b[1]! << 7) | (b[2]! >> 1)) * 2 ** 15 + ((b[3]! << 7) | (b[4]! >> 1));
            this.firstPts ??= pts;
            let d = pts - this.firstPts;
            if (d < -WRAP / 2) d += WRAP;
            this.pidTime.set(pid, d / 90000);
          }
        }
      }
      if (afc >= 2 && buf[off + 4]! >= 7 && buf[off + 5]! & 0x10 && this.hasPcrDamage) {
        const w = this.windowAt(this.pidTime.get(pid) ?? this.lastPesTime);
        if (w?.mode === 'pcr' && this.rand() < w.rate) {
          this.movePcr(buf, off, Math.round((1 + this.rand() * 19) * 27) * (this.rand() < 0.5 ? -1 : 1));
          this.restamped++;
        }
      }
      if ((pid === 0 || this.pmtPids.has(pid)) && hasPayload && this.hasTables) {
        if (pid === 0 && pusi) this.readPat(buf, p, off + TS_PACKET);
        const w = this.windowAt(this.lastPesTime);
        if (w?.mode === 'tables' && this.rand() < w.rate) {
          if (off > keepFrom) out.push(buf.subarray(keepFrom, off));
          keepFrom = off + TS_PACKET;
          this.dropped++;
          continue;
        }
        const cc = this.tableCc.get(pid) ?? (buf[off + 3]! & 0x0f);
        buf[off + 3] = (buf[off + 3]! & 0xf0) | cc;
        this.tableCc.set(pid, (cc + 1) & 0x0f);
        continue;
      }
      if (!this.pesPids.has(pid) || !hasPayload) continue;
      const t = this.pidTime.get(pid);
      if (t === undefined) continue;
      this.lastPesTime = t;
      const w = this.windowAt(t);
      if (!w || w.mode === 'tables' || w.mode === 'pcr' || !(this.rand() < w.rate)) continue;
      if (w.mode === 'drop') {
        if (off > keepFrom) out.push(buf.subarray(keepFrom, off));
        keepFrom = off + TS_PACKET;
        this.dropped++;
      } else {
        buf[off + 1] = buf[off + 1]! | 0x80;
        const start = p < off + TS_PACKET ? p : off + 4;
        for (let k = 0; k < 8; k++) {
          const at = start + Math.floor(this.rand() * (off + TS_PACKET - start));
          buf[at] = Math.floor(this.rand() * 256);
        }
        this.corrupted++;
      }
    }
    if (keepFrom === 0) return buf;
    if (keepFrom < buf.length) out.push(buf.subarray(keepFrom));
    return Buffer.concat(out);
  }

  private get hasTables(): boolean {
    return this.windows.some((w) => w.mode === 'tables');
  }

  private get hasPcrDamage(): boolean {
    return this.windows.some((w) => w.mode === 'pcr');
  }

  /** Adds `ticks` (27 MHz) to the PCR in the adaptation field of the packet at `off`. */
  private movePcr(buf: Buffer, off: number, ticks: number): void {
    const o = off + 6;
    const base = buf[o]! * 2 ** 25 + buf[o + 1]! * 2 ** 17 + buf[o + 2]! * 2 ** 9 + buf[o + 3]! * 2 + (buf[o + 4]! >> 7);
    const wrap = 2 ** 33 * 300;
    const pcr = (((base * 300 + (((buf[o + 4]! & 1) << 8) | buf[o + 5]!) + ticks) % wrap) + wrap) % wrap;
    const b = Math.floor(pcr / 300);
    const ext = pcr - b * 300;
    buf[o] = Math.floor(b / 2 ** 25) & 0xff;
    buf[o + 1] = Math.floor(b / 2 ** 17) & 0xff;
    buf[o + 2] = Math.floor(b / 2 ** 9) & 0xff;
    buf[o + 3] = Math.floor(b / 2) & 0xff;
    buf[o + 4] = ((b % 2) << 7) | 0x7e | (ext >> 8);
    buf[o + 5] = ext & 0xff;
  }

  /** PMT PIDs listed in a PAT section starting in this packet's payload [p, end). */
  private readPat(buf: Buffer, p: number, end: number): void {
    const s = p + 1 + buf[p]!; // pointer field
    if (s + 8 > end || buf[s] !== 0x00) return;
    const len = ((buf[s + 1]! & 0x0f) << 8) | buf[s + 2]!;
    for (let i = s + 8; i + 4 <= Math.min(end, s + 3 + len - 4); i += 4) {
      const program = (buf[i]! << 8) | buf[i + 1]!;
      if (program !== 0) this.pmtPids.add(((buf[i + 2]! & 0x1f) << 8) | buf[i + 3]!);
    }
  }

  private windowAt(t: number): TsDamageWindow | undefined {
    const tc = this.period > 0 ? t - Math.floor(t / this.period + 1e-9) * this.period : t;
    return this.windows.find((w) => tc >= w.start - 1e-6 && tc < w.end - 1e-6);
  }
}

/**
 * libavformat's MPEG-TS muxer options for the simulator's outputs: PAT and PMT with every video
 * frame (well within TR 101 290's 0.5 s), and with `muxrateKbps` a constant-bitrate multiplex
 * (null-packet padding, each PCR stamped from its byte position).
 */
export function tsMuxOptions(muxrateKbps: number | undefined): Record<string, string> {
  return {
    mpegts_flags: '+pat_pmt_at_frames',
    ...(muxrateKbps !== undefined ? { muxrate: String(muxrateKbps * 1000) } : {}),
  };
}

/** The transport damager for a stream, or undefined when its schedule has no TS damage. */
export function tsDamagerFor(
  stream: { video: { fps: number }; cycle: number; schedule: readonly ScheduleItem[] },
  seed: number,
): TsDamager | undefined {
  const fps = stream.video.fps;
  const items = stream.schedule.filter(
    (it): it is Extract<ScheduleItem, { type: 'transport' }> => it.type === 'transport',
  );
  if (!items.some((it) => it.rate > 0)) return undefined;
  // PTS time runs ahead of content time by the jumps already passed (whole frames).
  const jumps = items
    .filter((it) => it.discontinuityMs !== undefined)
    .map((it) => ({
      at: Math.ceil(it.at * fps - 1e-6) / fps,
      s: Math.round((it.discontinuityMs! / 1000) * fps) / fps,
    }));
  const ptsOf = (tc: number) => tc + jumps.filter((j) => tc >= j.at - 1e-6).reduce((n, j) => n + j.s, 0);
  const period = stream.cycle + jumps.reduce((n, j) => n + j.s, 0);
  const windows = items
    .filter((it) => it.rate > 0)
    .map((it) => ({ start: ptsOf(it.at), end: ptsOf(it.at) + it.duration, mode: it.mode, rate: it.rate }));
  return new TsDamager(windows, period, seed);
}
