/**
 * ETSI TR 101 290 priority 1 and 2 checks on the raw bytes of an MPEG transport stream.
 *
 * libavformat's MPEG-TS demuxer parses the 188-byte packets, PAT, PMT and PCR itself and says
 * little about them (a corrupt flag on PES packets with a continuity break). Ingest therefore
 * tees the bytes it reads for MPEG-TS inputs (files, UDP) through this analyzer before the
 * demuxer sees them. It keeps no copy of the media: per PID a few counters, and the PSI section
 * being assembled.
 *
 * Checks (TR 101 290 numbering):
 * - 1.1 `sync_loss`: two or more consecutive sync bytes wrong; sync is found again after five
 *   consecutive correct ones (the standard's hysteresis);
 * - 1.2 `sync_byte`: a sync byte other than 0x47 while in sync;
 * - 1.3 `pat`: no PAT section on PID 0 for more than `patInterval` (0.5 s), a section other than
 *   table_id 0x00 on PID 0, or PID 0 scrambled;
 * - 1.4 `cc`: a continuity-counter error on any PID (lost packets, wrong order, a packet
 *   repeated more than once), unless the discontinuity_indicator announces it;
 * - 1.5 `pmt`: no PMT section for more than `pmtInterval` (0.5 s) on a program_map_PID the PAT
 *   lists, or such a PID scrambled;
 * - 1.6 `pid`: an elementary PID a PMT lists that has had no packet for `pidTimeout`, for
 *   streams sent continuously (video, audio, teletext and VBI: continuousStream); SCTE-35 cues,
 *   DVB subtitles, metadata and other data are sent only when there is something to say;
 * - 2.1 `tei`: transport_error_indicator set (the packet is not parsed further);
 * - 2.2 `crc`: a CRC_32 mismatch in a PSI/SI section (PAT, CAT, PMT, and PIDs 0x10-0x14);
 * - 2.3 `pcr_repetition`: two consecutive PCRs of a PID more than `pcrInterval` (40 ms) apart;
 *   `pcr_discontinuity`: a PCR step below 0 or over `pcrDiscontinuity` (100 ms) without the
 *   discontinuity_indicator;
 * - 2.5 `pts`: on an elementary PID whose PES packets carry PTS, PES packets without one for
 *   more than `ptsInterval` (700 ms) of stream time (a hole with no PES at all is left to the
 *   transport detector's PTS-gap count on the demuxed packets, and a PID gone to `pid`);
 * - 2.6 `cat`: scrambled packets with no CAT seen, or a section other than table_id 0x01 on PID 1.
 * - 2.4 `pcr_accuracy`: on a constant-bitrate multiplex, a PCR more than `pcrAccuracy` (500 ns)
 *   away from the value its byte position gives at the multiplex rate (PcrFit below). A VBR
 *   stream's byte positions are no clock, and its PCRs are not judged.
 *
 * Time for the interval checks is the stream's own clock: the PCR of the first PID that carries
 * one, and between PCRs the bytes read at the bitrate the PCRs give. It runs at media speed
 * whether the input is a live feed or a file read as fast as it decodes, and stops when no bytes
 * arrive (an outage is a signal loss, not a table error).
 */
import type { TsCheck } from '../shared/index.ts';

export type { TsCheck } from '../shared/index.ts';

export interface TsFinding {
  readonly check: TsCheck;
  /** The PID concerned (-1 for sync findings). */
  readonly pid: number;
  /** What was seen, for people: "no PAT for 1.20 s", "CC 5 after 3 (1 packet lost)". */
  readonly detail: string;
  /** Byte offset in the input (from the first byte pushed) of the packet where it was seen. */
  readonly offset: number;
  /** For PCR interval findings, the step between the two PCRs (s); for pcr_accuracy, the PCR's distance from its byte position (s, signed). */
  readonly value?: number;
}

export interface TsAnalyzerOptions {
  /** Longest gap between PAT sections (s). TR 101 290: 0.5. */
  readonly patInterval?: number;
  /** Longest gap between PMT sections on each program_map_PID (s). TR 101 290: 0.5. */
  readonly pmtInterval?: number;
  /** Longest gap between two PCRs of a PID (s). TR 101 290: 0.04. */
  readonly pcrInterval?: number;
  /** A PCR step beyond this (or backwards) without the discontinuity_indicator is a discontinuity (s). TR 101 290: 0.1. */
  readonly pcrDiscontinuity?: number;
  /** An elementary PID silent this long is a PID error (s); 0 turns the check off. */
  readonly pidTimeout?: number;
  /** Longest time between two PTS of an elementary PID whose PES packets keep coming without one (s). TR 101 290: 0.7. */
  readonly ptsInterval?: number;
  /** Largest distance of a PCR from its byte position on a constant-bitrate multiplex (s); 0 turns the check off. TR 101 290: 500e-9. */
  readonly pcrAccuracy?: number;
}

const PACKET = 188;
const SYNC = 0x47;
/** Consecutive correct sync bytes that (re)acquire sync. */
const SYNC_ACQUIRE = 5;
/** Consecutive wrong sync bytes that lose it. */
const SYNC_LOSE = 2;
const NULL_PID = 0x1fff;
/** PCR wraps at 2^33 * 300 ticks of 27 MHz. */
const PCR_WRAP = 2 ** 33 * 300;
const PCR_HZ = 27e6;
/** PCRs of a PID kept for the 2.4 fit (about 1.3 s at one PCR per 40 ms). */
const FIT_WINDOW = 32;
/** PCRs a fit needs before it judges, and the stream time they must span (27 MHz ticks: 0.2 s). */
const FIT_MIN = 12;
const FIT_MIN_SPAN = 0.2 * 27e6;
/**
 * Median distance of the window's PCRs from their line (27 MHz ticks: 2 us) up to which the
 * multiplex counts as constant-bitrate. A CBR multiplexer stamps each PCR from its byte position
 * (FFmpeg's to the tick); in a VBR stream PCRs follow the media and the bytes do not, and the
 * distances are hundreds of microseconds to milliseconds.
 */
const CBR_SPREAD = 54;
/** PCRs in a row off the line after which the fit starts again (the multiplex rate was changed). */
const FIT_RELEARN = 8;

/**
 * TR 101 290 2.4 for one PCR PID: its PCRs against the byte offsets of the packets carrying them.
 * On a constant-bitrate multiplex these lie on a line (the multiplex rate); a line fitted to the
 * last FIT_WINDOW PCRs (least squares, refitted once without the points far off it) predicts each
 * new one, and the difference is its inaccuracy. Byte offsets are only a clock while no packet is
 * lost: the analyzer starts every fit again after a continuity error, a sync loss, or a PCR
 * discontinuity.
 */
export class PcrFit {
  private readonly x = new Float64Array(FIT_WINDOW);
  private readonly y = new Float64Array(FIT_WINDOW);
  private readonly dist = new Float64Array(FIT_WINDOW);
  private n = 0;
  private head = 0;
  private lastRaw = -1;
  private unwrapped = 0;
  private misses = 0;
  /** The analyzer's restart count this fit belongs to. */
  epoch = 0;

  clear(): void {
    this.n = 0;
    this.head = 0;
    this.lastRaw = -1;
    this.unwrapped = 0;
    this.misses = 0;
  }

  /**
   * The PCR `pcr` (27 MHz ticks, as sent) of the packet at byte `offset`: its distance from the
   * line in ticks (signed), or NaN when it is not judged (too few PCRs yet, or not a CBR multiplex).
   */
  add(offset: number, pcr: number, limit: number): number {
    if (this.lastRaw >= 0) {
      let d = pcr - this.lastRaw;
      if (d < -PCR_WRAP / 2) d += PCR_WRAP;
      else if (d > PCR_WRAP / 2) d -= PCR_WRAP;
      this.unwrapped += d;
    }
    this.lastRaw = pcr;
    const y = this.unwrapped;
    let off = Number.NaN;
    if (this.n >= FIT_MIN) {
      const oldest = (this.head - this.n + FIT_WINDOW) % FIT_WINDOW;
      if (y - this.y[oldest]! >= FIT_MIN_SPAN) {
        const line = this.fit();
        if (line && line.spread <= CBR_SPREAD) {
          const trimmed = this.fit(line, Math.max(3 * line.spread, limit)) ?? line;
          off = y - (trimmed.ym + trimmed.slope * (offset - trimmed.xm));
        }
      }
    }
    if (!Number.isNaN(off) && Math.abs(off) > limit) {
      // Kept out of the window, so that one bad PCR does not bend the line for the next ones;
      // many in a row are a new rate (or a re-stamping multiplexer): learn again from here.
      if (++this.misses < FIT_RELEARN) return off;
      const keep = this.unwrapped;
      const raw = this.lastRaw;
      this.clear();
      this.lastRaw = raw;
      this.unwrapped = keep;
    } else this.misses = 0;
    this.x[this.head] = offset;
    this.y[this.head] = y;
    this.head = (this.head + 1) % FIT_WINDOW;
    if (this.n < FIT_WINDOW) this.n++;
    return off;
  }

  /**
   * Least-squares line through the window's points (with `prev`, only those within `within` ticks
   * of that line), and the median distance of all the points from it.
   */
  private fit(
    prev?: { xm: number; ym: number; slope: number },
    within = Number.POSITIVE_INFINITY,
  ): { xm: number; ym: number; slope: number; spread: number } | undefined {
    const { x, y, n } = this;
    let xm = 0;
    let ym = 0;
    let k = 0;
    const use = (i: number): boolean => !prev || Math.abs(y[i]! - (prev.ym + prev.slope * (x[i]! - prev.xm))) <= within;
    // Sums relative to the first point: byte offsets and ticks grow without bound on a long run.
    const x0 = x[(this.head - n + FIT_WINDOW) % FIT_WINDOW]!;
    const y0 = y[(this.head - n + FIT_WINDOW) % FIT_WINDOW]!;
    for (let j = 0; j < n; j++) {
      if (!use(j)) continue;
      xm += x[j]! - x0;
      ym += y[j]! - y0;
      k++;
    }
    if (k < 3) return undefined;
    xm /= k;
    ym /= k;
    let sxy = 0;
    let sxx = 0;
    for (let j = 0; j < n; j++) {
      if (!use(j)) continue;
      const dx = x[j]! - x0 - xm;
      sxy += dx * (y[j]! - y0 - ym);
      sxx += dx * dx;
    }
    if (!(sxx > 0)) return undefined;
    const slope = sxy / sxx;
    const line = { xm: xm + x0, ym: ym + y0, slope };
    const d = this.dist.subarray(0, n);
    for (let j = 0; j < n; j++) d[j] = Math.abs(y[j]! - (line.ym + slope * (x[j]! - line.xm)));
    d.sort();
    return { ...line, spread: d[n >> 1]! };
  }
}

/** A CAT finding at most once per this many seconds of stream time. */
const CAT_REPEAT = 1;
/** Longest PSI section (ISO/IEC 13818-1 private sections: 4096 bytes). */
const MAX_SECTION = 4096 + 3;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection); 0 over a section with its CRC. */
export function crc32Mpeg(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ buf[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

interface PidState {
  cc: number;
  /** Times the current CC value has been seen in a row (a packet may be sent twice). */
  repeats: number;
  /** Stream clock of the last packet (s). */
  seenAt: number;
  /** The partial PSI section being assembled on this PID, if any. */
  section: Uint8Array | undefined;
  sectionFill: number;
  lastPcr: number;
  /** PCRs seen on this PID. */
  pcrs: number;
  /** 2.4: this PID's PCRs against their byte offsets (created with its first PCR). */
  fit: PcrFit | undefined;
  /** Stream clock of the last PES header with a PTS (-1: none yet, or not an elementary PID). */
  lastPtsAt: number;
  /** PES headers without PTS since then, and whether that stretch has been reported. */
  pesWithoutPts: number;
  ptsReported: boolean;
}

/** stream_ids whose PES header has no flags (ISO/IEC 13818-1 2.4.3.7): no PTS expected. */
const NO_PES_HEADER = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xf2, 0xf8, 0xff]);

export class TsAnalyzer {
  private readonly patInterval: number;
  private readonly pmtInterval: number;
  private readonly pcrInterval: number;
  private readonly pcrDiscontinuity: number;
  private readonly pidTimeout: number;
  private readonly ptsInterval: number;
  /** 2.4 limit in 27 MHz ticks (0: off). */
  private readonly pcrAccuracy: number;
  /** Bumped where byte offsets stop being a clock (a continuity error, a sync loss): every PCR fit starts again. */
  private fitEpoch = 0;
  /** Elementary PIDs in a PES stretch without PTS (checked against the clock on every push). */
  private readonly ptsWaiting = new Set<number>();

  private carry: Buffer = Buffer.alloc(0);
  private inSync = false;
  private everSynced = false;
  private badSyncs = 0;
  /** Per PID (13 bits: an array, not a map, on the per-packet path). */
  private readonly pids: (PidState | undefined)[] = new Array<PidState | undefined>(8192).fill(undefined);
  /** program_map_PID -> stream clock of its last PMT section, or of when the PAT listed it. */
  private readonly pmtPids = new Map<number, number>();
  private readonly pmtSeen = new Set<number>();
  /** Elementary PIDs the PMTs list -> stream clock when first listed. */
  private readonly esPids = new Map<number, number>();
  /** Of those, PIDs whose stream type carries data only when there is something to say (see continuousStream): no PID_error. */
  private readonly sparsePids = new Set<number>();
  /**
   * program_number -> its program_map_PID (PAT), the elementary PIDs its PMT lists and what the
   * PMT says of them (PID and stream_type, in order: `layout`, '' before the first PMT).
   */
  private readonly programMap = new Map<number, { pmtPid: number; pids: number[]; pcrPid: number; layout: string }>();
  /** Bumped when a programme's PMT changes its elementary streams (PIDs or stream types) after the first. */
  private pmtChanges = 0;
  /** Byte offset of the PMT section that made the latest such change. */
  private pmtChangeAt = 0;
  /** The PAT dropped or moved a programme whose PMT had been read: the next programme's first PMT is a change. */
  private replaced = false;
  /** Stream clock of the last PAT section (or of the clock's start). */
  private lastPat = 0;
  private patSeen = false;
  private patReported = false;
  private readonly pmtReported = new Set<number>();
  private readonly pidReported = new Set<number>();
  private catSeen = false;
  private lastCatFinding = Number.NEGATIVE_INFINITY;

  // The stream clock.
  private clockPid = -1;
  private clockBase = Number.NaN;
  private bytesSincePcr = 0;
  private bitrate = 0;
  private clockStarted = false;
  /** Longest interpolation between PCRs (s): 1.5 of the last PCR step. */
  private maxStep = 0.06;
  /** The clock never goes back. */
  private clockFloor = Number.NEGATIVE_INFINITY;

  /** Packets parsed since the start (or the last reset). */
  packets = 0;
  /** Bytes pushed before the current buffer (the carry's first byte), and where in it parsing is. */
  private consumed = 0;
  private at = 0;

  constructor(
    private readonly onFinding: (f: TsFinding) => void,
    opts: TsAnalyzerOptions = {},
  ) {
    this.patInterval = opts.patInterval ?? 0.5;
    this.pmtInterval = opts.pmtInterval ?? 0.5;
    this.pcrInterval = opts.pcrInterval ?? 0.04;
    this.pcrDiscontinuity = opts.pcrDiscontinuity ?? 0.1;
    this.pidTimeout = opts.pidTimeout ?? 5;
    this.ptsInterval = opts.ptsInterval ?? 0.7;
    this.pcrAccuracy = (opts.pcrAccuracy ?? 500e-9) * PCR_HZ;
  }

  private found(f: Omit<TsFinding, 'offset'>): void {
    this.onFinding({ ...f, offset: this.at });
  }

  /** Seconds of stream time since the first PCR (NaN before a bitrate is known). */
  get clock(): number {
    if (!this.clockStarted) return Number.NaN;
    // Between PCRs, the bytes at the bitrate, but never more than 1.5 PCR steps on: the bitrate is
    // an average, and a large keyframe after a black stretch (a few kbit/s) would otherwise read
    // as seconds. Never backwards.
    const bytes = this.bitrate > 0 ? (this.bytesSincePcr * 8) / this.bitrate : 0;
    const t = this.clockBase + Math.min(bytes, this.maxStep);
    if (t > this.clockFloor) this.clockFloor = t;
    return this.clockFloor;
  }

  /** The transport bitrate the PCRs give (bits/s; 0 before two PCRs). */
  get transportBitrate(): number {
    return this.bitrate;
  }

  /** How many times a programme's PMT has changed its elementary streams (PIDs or stream types) since its first PMT. */
  get pmtChangeCount(): number {
    return this.pmtChanges;
  }

  /** Byte offset (from the first byte pushed) of the PMT section behind the latest of `pmtChangeCount`. */
  get pmtChangeOffset(): number {
    return this.pmtChangeAt;
  }

  /** Elementary PIDs listed by the PMTs seen. */
  get elementaryPids(): number[] {
    return [...this.esPids.keys()];
  }

  /** The programmes of the multiplex (program_number -> elementary PIDs), as the PAT and PMTs seen list them. */
  get programs(): ReadonlyMap<number, readonly number[]> {
    const out = new Map<number, readonly number[]>();
    for (const [program, p] of this.programMap) out.set(program, p.pids);
    return out;
  }

  /**
   * Whether `pid` is a PID of programmes other than `program` only (their PMT, PCR or elementary
   * PIDs): a finding there concerns those services, not this one. PIDs of no programme (PAT, CAT,
   * SI, unreferenced) and PIDs `program` shares are not.
   */
  ownedElsewhere(pid: number, program: number): boolean {
    let other = false;
    for (const [n, p] of this.programMap) {
      if (p.pmtPid !== pid && p.pcrPid !== pid && !p.pids.includes(pid)) continue;
      if (n === program) return false;
      other = true;
    }
    return other;
  }

  /** Forget everything: a new connection, or a seek. */
  reset(): void {
    this.carry = Buffer.alloc(0);
    this.inSync = false;
    this.everSynced = false;
    this.badSyncs = 0;
    this.pids.fill(undefined);
    this.pmtPids.clear();
    this.esPids.clear();
    this.sparsePids.clear();
    this.programMap.clear();
    this.pmtSeen.clear();
    this.ptsWaiting.clear();
    this.lastPat = 0;
    this.patSeen = false;
    this.patReported = false;
    this.pmtReported.clear();
    this.pidReported.clear();
    this.catSeen = false;
    this.lastCatFinding = Number.NEGATIVE_INFINITY;
    this.clockPid = -1;
    this.clockBase = Number.NaN;
    this.bytesSincePcr = 0;
    this.bitrate = 0;
    this.clockStarted = false;
    this.maxStep = 0.06;
    this.clockFloor = Number.NEGATIVE_INFINITY;
    this.packets = 0;
    this.consumed = 0;
    this.at = 0;
  }

  /** Bytes as read from the input, in order; any size. */
  push(chunk: Uint8Array): void {
    let buf: Uint8Array = chunk;
    let start = this.consumed - this.carry.length;
    if (this.carry.length > 0) {
      if (this.inSync && this.carry.length + chunk.length >= PACKET) {
        // The packet the last chunk cut off: completed alone, not by copying the whole chunk.
        const need = PACKET - this.carry.length;
        const first = Buffer.concat([this.carry, chunk.subarray(0, need)]);
        this.carry = Buffer.alloc(0);
        this.at = start;
        this.onePacket(first, 0);
        start += PACKET;
        buf = chunk.subarray(need);
        this.consumed += need;
        chunk = buf;
      } else buf = Buffer.concat([this.carry, chunk]);
    }
    this.consumed += chunk.length;
    let p = 0;
    const n = buf.length;
    while (n - p >= PACKET) {
      this.at = start + p;
      if (!this.inSync) {
        const at = this.findSync(buf, p);
        if (at < 0) {
          // Keep what could still start a run of sync bytes.
          p = Math.max(p, n - (SYNC_ACQUIRE * PACKET - 1));
          break;
        }
        p = at;
        this.inSync = true;
        this.everSynced = true;
        this.badSyncs = 0;
        continue;
      }
      p += this.onePacket(buf, p) ? PACKET : 1;
    }
    this.carry = p < n ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
    this.at = start + p;
    this.checkIntervals();
  }

  /** One packet at `p` while in sync; false when sync was lost there (go on byte by byte). */
  private onePacket(buf: Uint8Array, p: number): boolean {
    if (buf[p] !== SYNC) {
      this.badSyncs++;
      this.found({ check: 'sync_byte', pid: -1, detail: `sync byte 0x${buf[p]!.toString(16).padStart(2, '0')}` });
      if (this.badSyncs >= SYNC_LOSE) {
        this.inSync = false;
        this.fitEpoch++;
        this.found({ check: 'sync_loss', pid: -1, detail: `${this.badSyncs} consecutive sync bytes wrong` });
        return false;
      }
      // One wrong sync byte: the rest of the packet is most likely intact (a receiver that
      // holds sync reads it).
      this.packet(buf, p);
      return true;
    }
    this.badSyncs = 0;
    this.packet(buf, p);
    return true;
  }

  /** First position from `from` holding SYNC_ACQUIRE sync bytes a packet apart, or -1. */
  private findSync(buf: Uint8Array, from: number): number {
    const last = buf.length - (SYNC_ACQUIRE - 1) * PACKET - 1;
    for (let q = from; q <= last; q++) {
      if (buf[q] !== SYNC) continue;
      let k = 1;
      while (k < SYNC_ACQUIRE && buf[q + k * PACKET] === SYNC) k++;
      if (k === SYNC_ACQUIRE) return q;
    }
    return -1;
  }

  private packet(buf: Uint8Array, o: number): void {
    this.packets++;
    this.bytesSincePcr += PACKET;
    const b1 = buf[o + 1]!;
    const pid = ((b1 & 0x1f) << 8) | buf[o + 2]!;
    if (b1 & 0x80) {
      this.found({ check: 'tei', pid, detail: `transport_error_indicator set (PID ${pid})` });
      // Not parsed further; but a counter that follows on keeps the next packet from reading as lost.
      const st = this.pids[pid];
      if (st && (buf[o + 3]! & 0x0f) === ((st.cc + 1) & 0x0f)) {
        st.cc = buf[o + 3]! & 0x0f;
        st.repeats = 1;
      }
      return;
    }
    if (pid === NULL_PID) return;
    const b3 = buf[o + 3]!;
    const scrambling = b3 >> 6;
    const afc = (b3 >> 4) & 3;
    const cc = b3 & 0x0f;
    const hasPayload = (afc & 1) !== 0;
    let payload = o + 4;
    let discontinuity = false;
    let pcr = -1;
    if (afc & 2) {
      const len = buf[o + 4]!;
      payload = o + 5 + len;
      if (len > 0) {
        const flags = buf[o + 5]!;
        discontinuity = (flags & 0x80) !== 0;
        if (flags & 0x10 && len >= 7) {
          const base =
            buf[o + 6]! * 2 ** 25 + buf[o + 7]! * 2 ** 17 + buf[o + 8]! * 2 ** 9 + buf[o + 9]! * 2 ** 1 + (buf[o + 10]! >> 7);
          const ext = ((buf[o + 10]! & 1) << 8) | buf[o + 11]!;
          pcr = base * 300 + ext;
        }
      }
      if (payload > o + PACKET) payload = o + PACKET;
    }

    let st = this.pids[pid];
    const now = this.nowOrZero();
    if (!st) {
      st = { cc, repeats: 1, seenAt: now, section: undefined, sectionFill: 0, lastPcr: -1, pcrs: 0, fit: undefined, lastPtsAt: -1, pesWithoutPts: 0, ptsReported: false };
      this.pids[pid] = st;
    } else {
      if (!discontinuity) this.checkCc(pid, st, cc, hasPayload);
      else st.repeats = 1;
      st.cc = cc;
      st.seenAt = now;
    }
    if (this.pidReported.size > 0) this.pidReported.delete(pid);

    if (pcr >= 0) this.onPcr(pid, st, pcr, discontinuity);

    if (scrambling !== 0) {
      if (pid === 0) this.found({ check: 'pat', pid, detail: 'PID 0 scrambled' });
      else if (this.pmtPids.has(pid)) this.found({ check: 'pmt', pid, detail: `PMT PID ${pid} scrambled` });
      else if (!this.catSeen && (Number.isNaN(now) || now - this.lastCatFinding >= CAT_REPEAT)) {
        this.lastCatFinding = Number.isNaN(now) ? this.lastCatFinding : now;
        this.found({ check: 'cat', pid, detail: `PID ${pid} scrambled and no CAT received` });
      }
      return;
    }
    if (!hasPayload) return;
    const unitStart = (b1 & 0x40) !== 0;
    if (this.isPsiPid(pid)) this.psiPayload(pid, st, buf, payload, o + PACKET, unitStart);
    else if (unitStart && payload + 8 < o + PACKET && buf[payload] === 0 && buf[payload + 1] === 0 && buf[payload + 2] === 1 && this.esPids.has(pid))
      this.pesHeader(pid, st, buf[payload + 3]!, buf[payload + 7]!);
  }

  /** A PES packet starts on an elementary PID: does it carry a PTS (PTS_DTS_flags '10' or '11')? */
  private pesHeader(pid: number, st: PidState, streamId: number, flags: number): void {
    if (NO_PES_HEADER.has(streamId) || !this.clockStarted) return;
    if (flags & 0x80) {
      st.lastPtsAt = this.clock;
      st.pesWithoutPts = 0;
      st.ptsReported = false;
      this.ptsWaiting.delete(pid);
    } else if (st.lastPtsAt >= 0) {
      st.pesWithoutPts++;
      this.ptsWaiting.add(pid);
    }
  }

  private checkCc(pid: number, st: PidState, cc: number, hasPayload: boolean): void {
    if (!hasPayload) {
      // The counter does not move on packets without payload.
      if (cc !== st.cc) this.ccError(pid, st, `CC ${cc} on a packet without payload after ${st.cc}`);
      return;
    }
    if (cc === st.cc) {
      // One duplicate is allowed (ISO/IEC 13818-1 2.4.3.3); more is an error.
      st.repeats++;
      if (st.repeats > 2) this.ccError(pid, st, `CC ${cc} repeated ${st.repeats - 1} times`);
      return;
    }
    st.repeats = 1;
    const expected = (st.cc + 1) & 0x0f;
    if (cc !== expected) {
      const lost = (cc - expected + 16) & 0x0f;
      this.ccError(pid, st, `CC ${cc} after ${st.cc} (${lost} packet${lost === 1 ? '' : 's'} lost or out of order)`);
    }
  }

  private ccError(pid: number, st: PidState, detail: string): void {
    // A section being assembled across the break is not to be trusted.
    st.section = undefined;
    st.sectionFill = 0;
    // Packets lost (or repeated): byte offsets no longer measure time (2.4).
    this.fitEpoch++;
    this.found({ check: 'cc', pid, detail: `PID ${pid}: ${detail}` });
  }

  private onPcr(pid: number, st: PidState, pcr: number, discontinuity: boolean): void {
    if (this.clockPid < 0) this.clockPid = pid;
    const prev = st.lastPcr;
    st.lastPcr = pcr;
    st.pcrs++;
    let step = Number.NaN;
    let restart = discontinuity;
    if (prev >= 0) {
      let d = pcr - prev;
      if (d < -PCR_WRAP / 2) d += PCR_WRAP;
      step = d / PCR_HZ;
      // The first step is not judged: FFmpeg's muxer writes a PCR with its first packets and the
      // next with the first frame, 250 ms on in one of the shared clips (and a join or a cut
      // can fall between two PCRs).
      if (!discontinuity && st.pcrs > 2) {
        if (step < 0 || step > this.pcrDiscontinuity) {
          restart = true;
          this.found({
            check: 'pcr_discontinuity',
            pid,
            value: step,
            detail: `PCR on PID ${pid} stepped ${(step * 1000).toFixed(0)} ms without discontinuity_indicator`,
          });
        } else if (step > this.pcrInterval) {
          this.found({
            check: 'pcr_repetition',
            pid,
            value: step,
            detail: `PCRs on PID ${pid} ${(step * 1000).toFixed(0)} ms apart`,
          });
        }
      }
    }
    if (this.pcrAccuracy > 0) this.checkAccuracy(pid, st, pcr, restart);
    if (pid !== this.clockPid) return;
    // The clock: PCR steps where they are plausible, else what the bytes read took at the last bitrate.
    const bytes = this.bytesSincePcr;
    const byBytes = this.bitrate > 0 ? (bytes * 8) / this.bitrate : 0;
    if (!this.clockStarted) {
      this.clockBase = 0;
      if (prev >= 0 && !discontinuity && step > 0 && step <= 1) {
        this.bitrate = (bytes * 8) / step;
        this.clockStarted = true;
        this.startClock();
      }
    } else if (!discontinuity && step > 0 && step <= 1) {
      this.clockBase += step;
      if (step <= this.pcrDiscontinuity) {
        const rate = (bytes * 8) / step;
        this.bitrate = this.bitrate > 0 ? this.bitrate * 0.9 + rate * 0.1 : rate;
        this.maxStep = Math.max(0.01, 1.5 * step);
      }
    } else {
      this.clockBase += Math.min(byBytes, this.maxStep);
    }
    this.bytesSincePcr = 0;
    if (this.clockStarted) this.checkIntervals();
  }

  /** 2.4: this PCR against its byte offset, on a constant-bitrate multiplex. */
  private checkAccuracy(pid: number, st: PidState, pcr: number, restart: boolean): void {
    const fit = (st.fit ??= new PcrFit());
    if (restart || fit.epoch !== this.fitEpoch) {
      fit.clear();
      fit.epoch = this.fitEpoch;
    }
    const off = fit.add(this.at, pcr, this.pcrAccuracy);
    if (!(Math.abs(off) > this.pcrAccuracy)) return;
    const us = off / 27;
    this.found({
      check: 'pcr_accuracy',
      pid,
      value: off / PCR_HZ,
      detail: `PCR on PID ${pid} ${us > 0 ? '+' : ''}${us.toFixed(us > -10 && us < 10 ? 2 : 0)} us from its byte position at the multiplex rate (±${(this.pcrAccuracy / 27).toFixed(2)} us allowed)`,
    });
  }

  /** The clock has just started: what was seen before it counts as seen now. */
  private startClock(): void {
    const now = this.clock;
    this.lastPat = now;
    for (const pid of this.pmtPids.keys()) this.pmtPids.set(pid, now);
    for (const pid of this.esPids.keys()) this.esPids.set(pid, now);
    for (const st of this.pids) if (st) st.seenAt = now;
  }

  /** The stream clock, or 0 before it starts (startClock moves such times to its start). */
  private nowOrZero(): number {
    return this.clockStarted ? this.clock : 0;
  }

  private isPsiPid(pid: number): boolean {
    return pid === 0 || pid === 1 || (pid >= 0x10 && pid <= 0x14) || this.pmtPids.has(pid);
  }

  /** Assemble PSI sections from one packet's payload [from, to). */
  private psiPayload(pid: number, st: PidState, buf: Uint8Array, from: number, to: number, unitStart: boolean): void {
    let p = from;
    if (unitStart) {
      const pointer = buf[p]!;
      p += 1;
      if (st.section) this.appendSection(pid, st, buf, p, Math.min(to, p + pointer));
      st.section = undefined;
      st.sectionFill = 0;
      p += pointer;
      while (p < to && buf[p] !== 0xff) {
        if (to - p < 3) {
          this.beginSection(st, buf, p, to);
          return;
        }
        const total = 3 + (((buf[p + 1]! & 0x0f) << 8) | buf[p + 2]!);
        if (to - p >= total) {
          this.section(pid, buf.subarray(p, p + total));
          p += total;
        } else {
          this.beginSection(st, buf, p, to);
          return;
        }
      }
    } else if (st.section) {
      this.appendSection(pid, st, buf, p, to);
    }
  }

  private beginSection(st: PidState, buf: Uint8Array, from: number, to: number): void {
    st.section = new Uint8Array(MAX_SECTION);
    st.section.set(buf.subarray(from, to));
    st.sectionFill = to - from;
  }

  private appendSection(pid: number, st: PidState, buf: Uint8Array, from: number, to: number): void {
    const sec = st.section!;
    const room = Math.min(to - from, MAX_SECTION - st.sectionFill);
    sec.set(buf.subarray(from, from + room), st.sectionFill);
    st.sectionFill += room;
    if (st.sectionFill < 3) return;
    const total = 3 + (((sec[1]! & 0x0f) << 8) | sec[2]!);
    if (st.sectionFill >= total) {
      st.section = undefined;
      st.sectionFill = 0;
      this.section(pid, sec.subarray(0, total));
    }
  }

  private section(pid: number, sec: Uint8Array): void {
    const tableId = sec[0]!;
    const syntax = (sec[1]! & 0x80) !== 0;
    if (syntax) {
      if (sec.length < 12 || crc32Mpeg(sec) !== 0) {
        this.found({ check: 'crc', pid, detail: `CRC_32 mismatch in table_id 0x${tableId.toString(16).padStart(2, '0')} on PID ${pid}` });
        return;
      }
    }
    if (pid === 0) {
      if (tableId !== 0x00) {
        this.found({ check: 'pat', pid, detail: `table_id 0x${tableId.toString(16).padStart(2, '0')} on PID 0` });
        return;
      }
      this.lastPat = this.nowOrZero();
      this.patSeen = true;
      this.patReported = false;
      // Entries: program_number (16), reserved (3), PID (13); program 0 is the network PID.
      const programs = new Set<number>();
      const numbers = new Set<number>();
      for (let i = 8; i + 4 <= sec.length - 4; i += 4) {
        const program = (sec[i]! << 8) | sec[i + 1]!;
        const mapPid = ((sec[i + 2]! & 0x1f) << 8) | sec[i + 3]!;
        if (program === 0) continue;
        programs.add(mapPid);
        numbers.add(program);
        const known = this.programMap.get(program);
        if (!known || known.pmtPid !== mapPid) {
          if (known && known.layout !== '') this.replaced = true;
          this.programMap.set(program, { pmtPid: mapPid, pids: [], pcrPid: -1, layout: '' });
        }
      }
      for (const program of [...this.programMap.keys()]) {
        const entry = this.programMap.get(program)!;
        if (numbers.has(program) && programs.has(entry.pmtPid)) continue;
        // A programme the PAT no longer lists: whatever comes in its place is a change (a new PMT).
        if (entry.layout !== '') this.replaced = true;
        this.programMap.delete(program);
      }
      for (const mapPid of programs) if (!this.pmtPids.has(mapPid)) this.pmtPids.set(mapPid, this.nowOrZero());
      for (const mapPid of [...this.pmtPids.keys()]) {
        if (programs.has(mapPid)) continue;
        this.pmtPids.delete(mapPid);
        this.pmtSeen.delete(mapPid);
      }
      return;
    }
    if (pid === 1) {
      if (tableId !== 0x01) this.found({ check: 'cat', pid, detail: `table_id 0x${tableId.toString(16).padStart(2, '0')} on PID 1` });
      else this.catSeen = true;
      return;
    }
    if (this.pmtPids.has(pid) && tableId === 0x02 && sec.length >= 16) {
      this.pmtPids.set(pid, this.nowOrZero());
      this.pmtSeen.add(pid);
      this.pmtReported.delete(pid);
      const infoLen = ((sec[10]! & 0x0f) << 8) | sec[11]!;
      const pids: number[] = [];
      let layout = '';
      for (let i = 12 + infoLen; i + 5 <= sec.length - 4; ) {
        const esPid = ((sec[i + 1]! & 0x1f) << 8) | sec[i + 2]!;
        const esInfo = ((sec[i + 3]! & 0x0f) << 8) | sec[i + 4]!;
        if (!this.esPids.has(esPid)) this.esPids.set(esPid, this.nowOrZero());
        if (continuousStream(sec[i]!, sec.subarray(i + 5, Math.min(i + 5 + esInfo, sec.length - 4)))) this.sparsePids.delete(esPid);
        else this.sparsePids.add(esPid);
        pids.push(esPid);
        layout += `${esPid}:${sec[i]!},`;
        i += 5 + esInfo;
      }
      const program = (sec[3]! << 8) | sec[4]!;
      const entry = this.programMap.get(program);
      if (entry && entry.pmtPid === pid) {
        entry.pids = pids;
        entry.pcrPid = ((sec[8]! & 0x1f) << 8) | sec[9]!;
        if (entry.layout !== layout) {
          // A new layout of the programme (a splice to another encoder, a re-plumbed multiplex), or
          // the first PMT of a programme that replaced one (another encoder's service): ingest
          // follows it (StreamSource), and a PID no PMT lists any more is not missing.
          if (entry.layout !== '' || this.replaced) {
            this.replaced = false;
            this.pmtChanges++;
            this.pmtChangeAt = this.at;
            const listed = new Set<number>();
            const pcrPids = new Set<number>();
            for (const p of this.programMap.values()) {
              for (const es of p.pids) listed.add(es);
              pcrPids.add(p.pcrPid);
            }
            // The stream clock runs on one PCR PID: when no programme carries its PCR there any
            // more, it goes on from this programme's (bridged by the bytes read until its first PCR).
            if (this.clockPid >= 0 && !pcrPids.has(this.clockPid) && entry.pcrPid !== 0x1fff) this.clockPid = entry.pcrPid;
            for (const es of [...this.esPids.keys()]) {
              if (listed.has(es)) continue;
              this.esPids.delete(es);
              this.sparsePids.delete(es);
              this.pidReported.delete(es);
            }
          }
          entry.layout = layout;
        }
      }
    }
  }

  /** PAT, PMT and PID presence against the stream clock. */
  private checkIntervals(): void {
    if (!this.clockStarted || !this.everSynced) return;
    const now = this.clock;
    const patAge = now - this.lastPat;
    if (!this.patReported && patAge > this.patInterval) {
      this.patReported = true;
      this.found({ check: 'pat', pid: 0, detail: this.patSeen ? `no PAT for ${patAge.toFixed(2)} s` : 'no PAT received' });
    }
    for (const [pid, at] of this.pmtPids) {
      const age = now - at;
      if (age > this.pmtInterval && !this.pmtReported.has(pid)) {
        this.pmtReported.add(pid);
        this.found({
          check: 'pmt',
          pid,
          detail: this.pmtSeen.has(pid) ? `no PMT on PID ${pid} for ${age.toFixed(2)} s` : `no PMT received on PID ${pid}`,
        });
      }
    }
    for (const pid of this.ptsWaiting) {
      const st = this.pids[pid];
      if (!st || st.ptsReported) continue;
      const age = now - st.lastPtsAt;
      if (age > this.ptsInterval) {
        st.ptsReported = true;
        this.found({
          check: 'pts',
          pid,
          value: age,
          detail: `no PTS on PID ${pid} for ${(age * 1000).toFixed(0)} ms (${st.pesWithoutPts} PES without)`,
        });
      }
    }
    if (this.pidTimeout > 0) {
      for (const [pid, listedAt] of this.esPids) {
        if (this.pidReported.has(pid) || this.sparsePids.has(pid)) continue;
        const st = this.pids[pid];
        const age = now - Math.max(listedAt, st ? st.seenAt : Number.NEGATIVE_INFINITY);
        if (age > this.pidTimeout) {
          this.pidReported.add(pid);
          this.found({ check: 'pid', pid, detail: st ? `no packet on PID ${pid} for ${age.toFixed(1)} s` : `PID ${pid} listed in the PMT never received` });
        }
      }
    }
  }
}

/** ISO/IEC 13818-1 and ATSC stream_type values of video and audio elementary streams. */
const AV_STREAM_TYPES = new Set([
  // video: MPEG-1/2, MPEG-4 part 2, H.264 (and SVC, MVC), HEVC (and temporal sub-streams), VVC, AVS, AVS2/3, Dirac, VC-1
  0x01, 0x02, 0x10, 0x1b, 0x1f, 0x20, 0x24, 0x25, 0x33, 0x42, 0xd2, 0xd4, 0xd1, 0xea,
  // audio: MPEG-1/2 audio, AAC (ADTS, LATM, raw), MPEG-H 3D audio, ATSC AC-3 and E-AC-3
  0x03, 0x04, 0x0f, 0x11, 0x1c, 0x2d, 0x2e, 0x81, 0x87,
]);
/** DVB descriptors that make a private (0x06) PES a continuous stream: AC-3, E-AC-3, DTS, AAC, teletext, VBI data. */
const CONTINUOUS_DESCRIPTORS = new Set([0x6a, 0x7a, 0x7b, 0x7c, 0x56, 0x45]);
/** registration_descriptor format identifiers of continuous private streams: Opus, AC-3, E-AC-3, SMPTE 302M PCM, DTS. */
const CONTINUOUS_REGISTRATIONS = new Set(['Opus', 'AC-3', 'EAC3', 'BSSD', 'DTS1', 'DTS2', 'DTS3']);

/**
 * Whether an elementary stream of this stream_type and ES_info descriptors is sent continuously
 * (video, audio, teletext, VBI), so that a PID silent for seconds is a fault (TR 101 290 1.6).
 * Everything else is sent when there is something to say and may be silent for minutes: SCTE-35
 * splice information (0x86), DVB subtitles (0x06 with a subtitling descriptor), ID3 and KLV
 * metadata, private sections, DSM-CC; a PID_error on those would be a false alarm on every
 * stream that carries ad-insertion cues.
 */
export function continuousStream(streamType: number, esInfo: Uint8Array): boolean {
  if (AV_STREAM_TYPES.has(streamType)) return true;
  if (streamType !== 0x06) return false;
  for (let i = 0; i + 2 <= esInfo.length; i += 2 + esInfo[i + 1]!) {
    const tag = esInfo[i]!;
    if (CONTINUOUS_DESCRIPTORS.has(tag)) return true;
    if (tag === 0x05 && esInfo[i + 1]! >= 4 && i + 6 <= esInfo.length) {
      const id = String.fromCharCode(esInfo[i + 2]!, esInfo[i + 3]!, esInfo[i + 4]!, esInfo[i + 5]!);
      if (CONTINUOUS_REGISTRATIONS.has(id)) return true;
    }
  }
  return false;
}
