/**
 * A multi-programme transport stream (MPTS) made from two single-programme ones at the 188-byte
 * packet level, as a multiplexer combines services: the first keeps its PIDs and programme 1; the
 * second's programme becomes number 2, its PMT and elementary PIDs move up by 0x100 (its PMT
 * rewritten to say so); one PAT lists both; packets are interleaved in proportion (both inputs
 * cover the same time at a steady rate). The second's own PAT and SDT are dropped.
 */
import { crc32Mpeg } from '../../src/ingest/ts-analyzer.ts';

const P = 188;
const SHIFT = 0x100;

const pidOf = (b: Buffer, o: number): number => ((b[o + 1]! & 0x1f) << 8) | b[o + 2]!;
const payloadAt = (b: Buffer, o: number): number => o + 4 + ((b[o + 3]! >> 4) & 2 ? 1 + b[o + 4]! : 0);

/** The first section on a PSI PID (pointer field 0 assumed, as libavformat writes). */
function firstSection(b: Buffer, pid: number): { packet: number; at: number; length: number } {
  for (let o = 0; o < b.length; o += P) {
    if (pidOf(b, o) !== pid || !(b[o + 1]! & 0x40)) continue;
    const at = payloadAt(b, o) + 1 + b[payloadAt(b, o)]!;
    return { packet: o, at, length: 3 + (((b[at + 1]! & 0x0f) << 8) | b[at + 2]!) };
  }
  throw new Error(`mpts: no section on PID ${pid}`);
}

function pmtPidOf(b: Buffer): number {
  const pat = firstSection(b, 0);
  return ((b[pat.at + 10]! & 0x1f) << 8) | b[pat.at + 11]!;
}

function setCrc(sec: Buffer): void {
  sec.writeUInt32BE(crc32Mpeg(sec, 0, sec.length - 4), sec.length - 4);
}

export function multiplex(a: Buffer, b: Buffer): Buffer {
  const pmtA = pmtPidOf(a);
  const pmtB = pmtPidOf(b);
  // A PAT with both programmes: 1 -> A's PMT, 2 -> B's PMT moved up.
  const pat = Buffer.from([0x00, 0xb0, 0x11, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xe0 | (pmtA >> 8), pmtA & 0xff, 0x00, 0x02, 0xe0 | ((pmtB + SHIFT) >> 8), (pmtB + SHIFT) & 0xff, 0, 0, 0, 0]);
  setCrc(pat);
  // B's PMT: programme 2, PCR PID and elementary PIDs moved up.
  const sec = firstSection(b, pmtB);
  const pmt = Buffer.from(b.subarray(sec.at, sec.at + sec.length));
  pmt[3] = 0x00;
  pmt[4] = 0x02;
  const pcrPid = (((pmt[8]! & 0x1f) << 8) | pmt[9]!) + SHIFT;
  pmt[8] = (pmt[8]! & 0xe0) | (pcrPid >> 8);
  pmt[9] = pcrPid & 0xff;
  const infoLen = ((pmt[10]! & 0x0f) << 8) | pmt[11]!;
  const moved = new Set<number>([pmtB]);
  for (let i = 12 + infoLen; i + 5 <= pmt.length - 4; ) {
    const pid = ((pmt[i + 1]! & 0x1f) << 8) | pmt[i + 2]!;
    moved.add(pid);
    pmt[i + 1] = (pmt[i + 1]! & 0xe0) | ((pid + SHIFT) >> 8);
    pmt[i + 2] = (pid + SHIFT) & 0xff;
    i += 5 + (((pmt[i + 3]! & 0x0f) << 8) | pmt[i + 4]!);
  }
  setCrc(pmt);

  const out: Buffer[] = [];
  const fromA = (o: number): void => {
    const pkt = Buffer.from(a.subarray(o, o + P));
    if (pidOf(a, o) === 0 && pkt[1]! & 0x40) {
      const at = payloadAt(pkt, 0);
      pkt.fill(0xff, at);
      pkt[at] = 0; // pointer field
      pat.copy(pkt, at + 1);
    }
    out.push(pkt);
  };
  const fromB = (o: number): void => {
    const pid = pidOf(b, o);
    if (!moved.has(pid)) return; // B's PAT, SDT and anything else of its own
    const pkt = Buffer.from(b.subarray(o, o + P));
    const to = pid + SHIFT;
    pkt[1] = (pkt[1]! & 0xe0) | (to >> 8);
    pkt[2] = to & 0xff;
    if (pid === pmtB && (pkt[1] ?? 0) & 0x40) {
      const at = payloadAt(pkt, 0);
      pkt.fill(0xff, at);
      pkt[at] = 0;
      pmt.copy(pkt, at + 1);
    }
    out.push(pkt);
  };
  const na = a.length / P;
  const nb = b.length / P;
  let i = 0;
  let j = 0;
  while (i < na || j < nb) {
    if (j >= nb || (i < na && i / na <= j / nb)) fromA(i++ * P);
    else fromB(j++ * P);
  }
  return Buffer.concat(out);
}
