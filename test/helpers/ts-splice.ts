/**
 * Transport streams that change what they carry mid-stream, made at the 188-byte packet level
 * from single-programme files as libavformat writes them (PAT on PID 0, one PMT, pointer field 0):
 * - `remapPids`: the same stream on other PIDs (every packet and the PMT rewritten, the PMT's
 *   version bumped), so that a file followed by its remapped copy is a programme whose PMT moves
 *   it to new PIDs, as a multiplexer re-plumbed mid-stream or a splice to another encoder sends;
 * - concatenating two files with the same PIDs but other codecs is a PMT changing a PID's
 *   stream_type (a splice to an encoder with another codec).
 * `sendPaced` plays a file over UDP on loopback at a steady rate, as a live encoder sends.
 */
import { createSocket } from 'node:dgram';
import { crc32Mpeg } from '../../src/ingest/ts-analyzer.ts';

const P = 188;
const pidOf = (b: Buffer, o: number): number => ((b[o + 1]! & 0x1f) << 8) | b[o + 2]!;

function setPid(b: Buffer, o: number, pid: number): void {
  b[o + 1] = (b[o + 1]! & 0xe0) | (pid >> 8);
  b[o + 2] = pid & 0xff;
}

/** The PMT PID the (first) PAT section lists. */
function pmtPidOf(b: Buffer): number {
  for (let o = 0; o + P <= b.length; o += P) {
    if (pidOf(b, o) !== 0 || !(b[o + 1]! & 0x40)) continue;
    const at = o + 5 + b[o + 4]!;
    return ((b[at + 10]! & 0x1f) << 8) | b[at + 11]!;
  }
  throw new Error('ts-splice: no PAT');
}

/** Bumps a PSI section's version_number. */
function bumpVersion(b: Buffer, at: number): void {
  b[at + 5] = (b[at + 5]! & 0xc1) | ((((b[at + 5]! >> 1) + 1) & 0x1f) << 1);
}

/**
 * A copy of `ts` with PIDs moved (`map`: old -> new) in every packet and in every PMT section (and
 * in the PAT, where the map moves the PMT's PID); `program` renumbers the programme (PAT and PMT),
 * as another encoder's service would be.
 */
export function remapPids(ts: Buffer, map: Readonly<Record<number, number>>, program?: number): Buffer {
  const b = Buffer.from(ts);
  const pmtPid = pmtPidOf(b);
  const moved = (pid: number): number => map[pid] ?? pid;
  for (let o = 0; o + P <= b.length; o += P) {
    const pid = pidOf(b, o);
    if (map[pid] !== undefined) setPid(b, o, map[pid]);
    if (!(b[o + 1]! & 0x40) || (pid !== pmtPid && pid !== 0)) continue;
    // A section starting in this packet (no adaptation field, pointer field 0: as libavformat writes).
    const at = o + 5 + b[o + 4]!;
    const end = at + 3 + (((b[at + 1]! & 0x0f) << 8) | b[at + 2]!);
    if (pid === 0) {
      if (map[pmtPid] === undefined && program === undefined) continue;
      for (let i = at + 8; i + 4 <= end - 4; i += 4) {
        const number = (b[i]! << 8) | b[i + 1]!;
        if (number === 0) continue;
        if (program !== undefined) b.writeUInt16BE(program, i);
        const to = moved(((b[i + 2]! & 0x1f) << 8) | b[i + 3]!);
        b[i + 2] = (b[i + 2]! & 0xe0) | (to >> 8);
        b[i + 3] = to & 0xff;
      }
      bumpVersion(b, at);
      b.writeUInt32BE(crc32Mpeg(b, at, end - 4), end - 4);
      continue;
    }
    bumpVersion(b, at);
    if (program !== undefined) b.writeUInt16BE(program, at + 3);
    const pcr = moved(((b[at + 8]! & 0x1f) << 8) | b[at + 9]!);
    b[at + 8] = (b[at + 8]! & 0xe0) | (pcr >> 8);
    b[at + 9] = pcr & 0xff;
    const infoLen = ((b[at + 10]! & 0x0f) << 8) | b[at + 11]!;
    for (let i = at + 12 + infoLen; i + 5 <= end - 4;) {
      const es = moved(((b[i + 1]! & 0x1f) << 8) | b[i + 2]!);
      b[i + 1] = (b[i + 1]! & 0xe0) | (es >> 8);
      b[i + 2] = es & 0xff;
      i += 5 + (((b[i + 3]! & 0x0f) << 8) | b[i + 4]!);
    }
    b.writeUInt32BE(crc32Mpeg(b, at, end - 4), end - 4);
  }
  return b;
}

/** Sends `ts` to 127.0.0.1:`port` in datagrams of 7 packets, spread evenly over `seconds`. */
export function sendPaced(ts: Buffer, port: number, seconds: number): { readonly done: Promise<void>; stop(): void } {
  const sock = createSocket('udp4');
  const DG = 7 * P;
  const count = Math.ceil(ts.length / DG);
  const start = Date.now();
  let i = 0;
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    const tick = (): void => {
      if (stopped) return void sock.close(() => resolve());
      const due = Math.min(count, Math.floor(((Date.now() - start) / 1000 / seconds) * count) + 1);
      for (; i < due; i++) sock.send(ts.subarray(i * DG, Math.min(ts.length, (i + 1) * DG)), port, '127.0.0.1');
      if (i >= count) return void sock.close(() => resolve());
      setTimeout(tick, 5);
    };
    tick();
  });
  return {
    done,
    stop() {
      stopped = true;
    },
  };
}
