/**
 * Damage a real MPEG-TS file the way networks and broken encoders do, at the 188-byte packet
 * level: drop TS packets (with or without continuity-counter errors), drop whole PES packets
 * (frames), rewrite PES timestamps. Pure byte manipulation, so what the demuxer then sees is
 * exactly what a receiver would.
 */
import { readFile, writeFile } from 'node:fs/promises';

export const TS_PACKET = 188;
const CLOCK = 90000;
const WRAP = 2 ** 33;

/** One PES packet (a frame for video, one or more audio frames) and the TS packets carrying it. */
export interface PesUnit {
  readonly pid: number;
  readonly streamId: number;
  /** Indices of the TS packets that carry it, in order (the first one has PUSI set). */
  readonly packets: number[];
  /** Raw 90 kHz timestamps (NaN when absent). */
  pts: number;
  dts: number;
  /** Byte offsets of the 5-byte PTS / DTS fields in the file (-1 when absent). */
  readonly ptsAt: number;
  readonly dtsAt: number;
}

export class TsFile {
  private buf: Buffer;

  constructor(buf: Buffer) {
    if (buf.length % TS_PACKET !== 0) throw new Error(`TsFile: ${buf.length} bytes is not a whole number of TS packets`);
    for (let i = 0; i < buf.length; i += TS_PACKET) {
      if (buf[i] !== 0x47) throw new Error(`TsFile: no sync byte at packet ${i / TS_PACKET}`);
    }
    this.buf = Buffer.from(buf);
  }

  static async read(path: string): Promise<TsFile> {
    return new TsFile(await readFile(path));
  }

  write(path: string): Promise<void> {
    return writeFile(path, this.buf);
  }

  get packetCount(): number {
    return this.buf.length / TS_PACKET;
  }

  pid(i: number): number {
    const o = i * TS_PACKET;
    return ((this.buf[o + 1]! & 0x1f) << 8) | this.buf[o + 2]!;
  }

  private pusi(i: number): boolean {
    return (this.buf[i * TS_PACKET + 1]! & 0x40) !== 0;
  }

  /** Offset of the payload inside the file, or -1 when the packet carries none. */
  private payloadAt(i: number): number {
    const o = i * TS_PACKET;
    const afc = (this.buf[o + 3]! >> 4) & 3;
    if ((afc & 1) === 0) return -1;
    const at = o + 4 + (afc & 2 ? 1 + this.buf[o + 4]! : 0);
    return at < o + TS_PACKET ? at : -1;
  }

  /** Every PES packet in the file, per PID, in file order. */
  pesUnits(): PesUnit[] {
    const units: PesUnit[] = [];
    const current = new Map<number, PesUnit>();
    for (let i = 0; i < this.packetCount; i++) {
      const pid = this.pid(i);
      const p = this.payloadAt(i);
      if (p < 0) continue;
      const b = this.buf;
      if (this.pusi(i) && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 1) {
        const streamId = b[p + 3]!;
        const flags = b[p + 7]! >> 6;
        const ptsAt = flags & 2 ? p + 9 : -1;
        const dtsAt = flags === 3 ? p + 14 : -1;
        const unit: PesUnit = {
          pid,
          streamId,
          packets: [i],
          pts: ptsAt >= 0 ? readTs(b, ptsAt) : Number.NaN,
          dts: dtsAt >= 0 ? readTs(b, dtsAt) : Number.NaN,
          ptsAt,
          dtsAt,
        };
        current.set(pid, unit);
        units.push(unit);
      } else {
        current.get(pid)?.packets.push(i);
      }
    }
    return units;
  }

  /** PID of the first PES stream whose stream_id is video (0xE0..0xEF) or audio (0xC0..0xDF). */
  pidOf(kind: 'video' | 'audio'): number {
    const u = this.pesUnits().find((x) =>
      kind === 'video' ? x.streamId >= 0xe0 && x.streamId <= 0xef : x.streamId >= 0xc0 && x.streamId <= 0xdf,
    );
    if (!u) throw new Error(`TsFile: no ${kind} PES stream`);
    return u.pid;
  }

  /**
   * Seconds from the first video PTS (which analyze() calls media time 0, give or take the
   * audio's start) to this unit's PTS.
   */
  secondsOf(unit: PesUnit, units: readonly PesUnit[]): number {
    const v = units.find((u) => u.streamId >= 0xe0 && u.streamId <= 0xef && Number.isFinite(u.pts));
    if (!v) throw new Error('TsFile: no video PTS');
    return (unit.pts - v.pts) / CLOCK;
  }

  /** File offset of the first byte of this PES packet's payload (after the PES header), in its first TS packet. */
  pesPayloadAt(unit: PesUnit): number {
    const p = this.payloadAt(unit.packets[0]!);
    return p + 9 + this.buf[p + 8]!;
  }

  /** One byte of the file. */
  byte(offset: number): number {
    return this.buf[offset]!;
  }

  /** Overwrite one byte of the file (bit-level damage inside a payload). */
  patchByte(offset: number, fn: (byte: number) => number): void {
    this.buf[offset] = fn(this.buf[offset]!) & 0xff;
  }

  /**
   * Overwrite the first `bytes` bytes of every PES payload of this PID with a fixed pattern (for
   * video: the access unit delimiter and parameter sets of each frame, so nothing decodes).
   * Returns how many PES packets were hit.
   */
  garblePayloadStarts(pid: number, bytes: number): number {
    let hit = 0;
    for (const u of this.pesUnits()) {
      if (u.pid !== pid) continue;
      const o = this.pesPayloadAt(u);
      for (let i = 0; i < bytes; i++) this.patchByte(o + i, () => (i * 73 + 11) & 0xff);
      hit++;
    }
    return hit;
  }

  /** Set the transport_error_indicator of these TS packets (a demodulator's uncorrectable-error flag). */
  setTransportError(indices: Iterable<number>): void {
    for (const i of indices) this.buf[i * TS_PACKET + 1]! |= 0x80;
  }

  /**
   * Take the PTS (and DTS) out of a unit's PES header, as a muxer that stamps only some PES
   * packets does: PTS_DTS_flags cleared, the timestamp bytes left in the header as stuffing (0xFF).
   */
  removeTimestamps(unit: PesUnit): void {
    if (unit.ptsAt < 0) return;
    const flagsAt = unit.ptsAt - 2;
    this.buf[flagsAt] = this.buf[flagsAt]! & 0x3f;
    this.buf.fill(0xff, unit.ptsAt, unit.ptsAt + (unit.dtsAt >= 0 ? 10 : 5));
    unit.pts = Number.NaN;
    unit.dts = Number.NaN;
  }

  /** Rewrite a unit's PTS and DTS (90 kHz ticks; wrapped to 33 bits). */
  setTimestamps(unit: PesUnit, pts: number, dts: number): void {
    if (unit.ptsAt >= 0) writeTs(this.buf, unit.ptsAt, pts);
    if (unit.dtsAt >= 0) writeTs(this.buf, unit.dtsAt, dts);
    unit.pts = pts;
    unit.dts = dts;
  }

  /**
   * Remove TS packets. With `renumber`, the continuity counters of the PIDs touched are
   * rewritten so the removal is clean (a frame or a stretch of a track simply missing); without
   * it the receiver sees continuity-counter errors, as after loss on the network.
   */
  drop(indices: Iterable<number>, opts: { renumber: boolean }): void {
    const gone = new Set(indices);
    const pids = new Set<number>();
    for (const i of gone) pids.add(this.pid(i));
    const out = Buffer.alloc((this.packetCount - gone.size) * TS_PACKET);
    let w = 0;
    for (let i = 0; i < this.packetCount; i++) {
      if (gone.has(i)) continue;
      this.buf.copy(out, w * TS_PACKET, i * TS_PACKET, (i + 1) * TS_PACKET);
      w++;
    }
    this.buf = out;
    if (opts.renumber) this.renumber(pids);
  }

  /**
   * Send these PES packets twice: a copy of each (same payload, same timestamps) right after
   * the original, continuity counters renumbered so the copy is not a transport error. What a
   * stalled encoder repeating its last frame with the same timestamp looks like.
   */
  repeat(units: readonly PesUnit[]): void {
    const after = new Map<number, number[]>();
    const pids = new Set<number>();
    for (const u of units) {
      after.set(u.packets[u.packets.length - 1]!, u.packets);
      pids.add(u.pid);
    }
    const extra = units.reduce((n, u) => n + u.packets.length, 0);
    const out = Buffer.alloc((this.packetCount + extra) * TS_PACKET);
    let w = 0;
    for (let i = 0; i < this.packetCount; i++) {
      this.buf.copy(out, w++ * TS_PACKET, i * TS_PACKET, (i + 1) * TS_PACKET);
      const copy = after.get(i);
      if (copy) for (const j of copy) this.buf.copy(out, w++ * TS_PACKET, j * TS_PACKET, (j + 1) * TS_PACKET);
    }
    this.buf = out;
    this.renumber(pids);
  }

  /**
   * Cut the file into pieces starting at these packet indices (as an HLS packager cuts
   * segments); each piece's continuity counters restart at 0 on every PID, as packagers that
   * write each segment with a fresh muxer do.
   */
  split(starts: readonly number[]): TsFile[] {
    const bounds = [0, ...starts.filter((s) => s > 0 && s < this.packetCount), this.packetCount];
    const out: TsFile[] = [];
    for (let k = 0; k + 1 < bounds.length; k++) {
      const piece = new TsFile(this.buf.subarray(bounds[k]! * TS_PACKET, bounds[k + 1]! * TS_PACKET));
      const pids = new Set<number>();
      for (let i = 0; i < piece.packetCount; i++) pids.add(piece.pid(i));
      piece.renumber(pids, true);
      out.push(piece);
    }
    return out;
  }

  /** Rewrite continuity counters of these PIDs so they run without a break (from 0 with `fromZero`). */
  private renumber(pids: ReadonlySet<number>, fromZero = false): void {
    const cc = new Map<number, number>();
    for (let i = 0; i < this.packetCount; i++) {
      const pid = this.pid(i);
      if (!pids.has(pid)) continue;
      const o = i * TS_PACKET;
      const afc = (this.buf[o + 3]! >> 4) & 3;
      // The counter only advances on packets with a payload.
      if ((afc & 1) === 0) continue;
      const next = ((cc.get(pid) ?? (fromZero ? -1 : (this.buf[o + 3]! & 0x0f) - 1)) + 1) & 0x0f;
      this.buf[o + 3] = (this.buf[o + 3]! & 0xf0) | next;
      cc.set(pid, next);
    }
  }
}

function readTs(b: Buffer, at: number): number {
  return (
    ((b[at]! >> 1) & 0x07) * 2 ** 30 +
    (b[at + 1]! << 22) +
    ((b[at + 2]! >> 1) << 15) +
    (b[at + 3]! << 7) +
    (b[at + 4]! >> 1)
  );
}

function writeTs(b: Buffer, at: number, value: number): void {
  const v = ((Math.round(value) % WRAP) + WRAP) % WRAP;
  const hi = Math.floor(v / 2 ** 30);
  const lo = v - hi * 2 ** 30;
  b[at] = (b[at]! & 0xf0) | (hi << 1) | 1;
  b[at + 1] = (lo >>> 22) & 0xff;
  b[at + 2] = (((lo >>> 15) & 0x7f) << 1) | 1;
  b[at + 3] = (lo >>> 7) & 0xff;
  b[at + 4] = ((lo & 0x7f) << 1) | 1;
}
