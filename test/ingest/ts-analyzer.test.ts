/**
 * TR 101 290 checks on raw MPEG-TS bytes. The input is a real simulator render (libx264 + AAC
 * muxed by libavformat), damaged at the 188-byte packet level the way a network or a broken
 * multiplexer would: PAT packets gone, a PMT section with a bad CRC, sync bytes hit, TEI set,
 * a packet lost, PCRs missing or stepping. Each damage must give its own finding, and the
 * intact file none.
 */
import '../../src/shared/polyfill.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TsAnalyzer, crc32Mpeg, type TsAnalyzerOptions, type TsCheck, type TsFinding } from '../../src/ingest/ts-analyzer.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const P = 188;
const dir = mkdtempSync(join(tmpdir(), 'vigil-tsan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let clean: Buffer;
/** The same stream through a constant-bitrate multiplex (1.5 Mbit/s, null-packet padding). */
let cbr: Buffer;
/** That CBR render with 30 % of its PCRs from 3 s to 5 s moved 1-20 us (transport mode pcr). */
let restamped: Buffer;
beforeAll(async () => {
  const stream = (output: object, schedule: object[] = []) =>
    parseScenario({
      seed: 3,
      streams: [
        {
          id: 's',
          output,
          content: { source: 'testsrc2' },
          video: { width: 320, height: 180, fps: 25, codec: 'h264' },
          audio: { sampleRate: 48000, channels: 2 },
          schedule,
        },
      ],
    }).streams[0]!;
  const render = async (name: string, output: object, schedule?: object[]): Promise<Buffer> => {
    await renderToFile(stream(output, schedule), join(dir, name), { duration: 8 });
    return readFileSync(join(dir, name));
  };
  clean = await render('clean.ts', { type: 'udp' });
  cbr = await render('cbr.ts', { type: 'file', muxrateKbps: 1500 });
  restamped = await render('restamped.ts', { type: 'file', muxrateKbps: 1500 }, [{ type: 'transport', at: 3, duration: 2, mode: 'pcr', rate: 0.3 }]);
}, 60_000);

const pidOf = (b: Buffer, i: number): number => ((b[i * P + 1]! & 0x1f) << 8) | b[i * P + 2]!;
const hasPcr = (b: Buffer, i: number): boolean => {
  const o = i * P;
  return (b[o + 3]! & 0x20) !== 0 && b[o + 4]! >= 7 && (b[o + 5]! & 0x10) !== 0;
};
const count = (b: Buffer): number => b.length / P;
/** PCR of packet i in seconds. */
const pcrValue = (b: Buffer, i: number): number => {
  const o = i * P;
  const base = b[o + 6]! * 2 ** 25 + b[o + 7]! * 2 ** 17 + b[o + 8]! * 2 ** 9 + b[o + 9]! * 2 + (b[o + 10]! >> 7);
  return (base * 300 + (((b[o + 10]! & 1) << 8) | b[o + 11]!)) / 27e6;
};

/** Feed in pieces of awkward sizes (as UDP datagrams and demuxer reads would cut it). */
function analyse(buf: Buffer, piece = 1316 + 37, opts?: TsAnalyzerOptions): { findings: TsFinding[]; analyzer: TsAnalyzer } {
  const findings: TsFinding[] = [];
  const analyzer = new TsAnalyzer((f) => findings.push(f), opts);
  for (let i = 0; i < buf.length; i += piece) analyzer.push(buf.subarray(i, Math.min(buf.length, i + piece)));
  return { findings, analyzer };
}
const checks = (fs: readonly TsFinding[]): TsCheck[] => fs.map((f) => f.check);
/** Moves the PCR of packet i by `ticks` of 27 MHz. */
const movePcr = (b: Buffer, i: number, ticks: number): void => {
  const o = i * P;
  const v = Math.round(pcrValue(b, i) * 27e6) + ticks;
  const base = Math.floor(v / 300);
  const ext = v - base * 300;
  b[o + 6] = Math.floor(base / 2 ** 25) & 0xff;
  b[o + 7] = Math.floor(base / 2 ** 17) & 0xff;
  b[o + 8] = Math.floor(base / 2 ** 9) & 0xff;
  b[o + 9] = Math.floor(base / 2) & 0xff;
  b[o + 10] = ((base % 2) << 7) | 0x7e | (ext >> 8);
  b[o + 11] = ext & 0xff;
};

/** Packet index at about `seconds` into the file (the render's bitrate is roughly constant). */
const at = (b: Buffer, seconds: number): number => Math.floor((count(b) * seconds) / 8);
function without(b: Buffer, drop: (i: number) => boolean): Buffer {
  const keep: Buffer[] = [];
  for (let i = 0; i < count(b); i++) if (!drop(i)) keep.push(b.subarray(i * P, (i + 1) * P));
  return Buffer.concat(keep);
}

describe('TsAnalyzer (TR 101 290 priority 1 and 2)', { timeout: 60_000 }, () => {
  it('finds nothing in an intact render, and follows its clock and tables', () => {
    const { findings, analyzer } = analyse(clean);
    expect(findings).toEqual([]);
    expect(analyzer.clock).toBeGreaterThan(7.5);
    expect(analyzer.clock).toBeLessThan(8.5);
    expect(analyzer.elementaryPids.length).toBe(2);
    expect(analyzer.transportBitrate).toBeGreaterThan(100_000);
  });

  it('reports PAT missing for more than 0.5 s, once per gap', () => {
    const from = at(clean, 3);
    const to = at(clean, 4.5);
    const { findings } = analyse(without(clean, (i) => i >= from && i < to && pidOf(clean, i) === 0));
    // The PAT packets were taken out of the file, so PID 0's continuity counter breaks too.
    expect(checks(findings).filter((c) => c !== 'cc')).toEqual(['pat']);
    expect(findings.filter((f) => f.check === 'cc').every((f) => f.pid === 0)).toBe(true);
    expect(findings.find((f) => f.check === 'pat')!.detail).toMatch(/no PAT for 0\.5\d s/);
  });

  it('reports a PMT missing on its PID, and a PMT section whose CRC does not match', () => {
    const pmtPid = 0x1000; // libavformat's first programme
    const from = at(clean, 2);
    const to = at(clean, 3.5);
    const gone = analyse(without(clean, (i) => i >= from && i < to && pidOf(clean, i) === pmtPid)).findings;
    expect(checks(gone).filter((c) => c !== 'cc')).toEqual(['pmt']);
    expect(gone.every((f) => f.pid === pmtPid)).toBe(true);

    const bad = Buffer.from(clean);
    const i = [...Array(count(bad)).keys()].find((k) => k > at(bad, 5) && pidOf(bad, k) === pmtPid)!;
    bad[i * P + 4 + 1 + 10]! ^= 0x01; // a byte inside the section (pointer field 0, then the section)
    const crc = analyse(bad).findings;
    expect(checks(crc)).toContain('crc');
    expect(crc.find((f) => f.check === 'crc')!.pid).toBe(pmtPid);
  });

  it('reports a wrong sync byte, and a loss of sync after two, then finds sync again', () => {
    const one = Buffer.from(clean);
    one[at(one, 2) * P] = 0x48;
    expect(checks(analyse(one).findings)).toEqual(['sync_byte']);

    const two = Buffer.from(clean);
    const k = at(two, 4);
    two[k * P] = 0x00;
    two[(k + 1) * P] = 0x00;
    const f = analyse(two).findings;
    expect(checks(f).slice(0, 3)).toEqual(['sync_byte', 'sync_byte', 'sync_loss']);
    // Sync comes back at the next packet; what follows is in order (nothing else is found).
    expect(checks(f).slice(3).every((c) => c === 'cc')).toBe(true);
  });

  it('reports transport_error_indicator and a lost packet (continuity counter)', () => {
    const tei = Buffer.from(clean);
    tei[at(tei, 3) * P + 1]! |= 0x80;
    expect(checks(analyse(tei).findings)).toContain('tei');

    const video = pidOf(clean, [...Array(count(clean)).keys()].find((k) => hasPcr(clean, k))!);
    const lost = at(clean, 5);
    const j = [...Array(count(clean)).keys()].find((k) => k > lost && pidOf(clean, k) === video && !hasPcr(clean, k))!;
    const f = analyse(without(clean, (i) => i === j)).findings;
    expect(checks(f)).toEqual(['cc']);
    expect(f[0]!.pid).toBe(video);
    expect(f[0]!.detail).toMatch(/1 packet lost/);
  });

  it('reports PCRs more than 40 ms apart, and a PCR step without discontinuity_indicator', () => {
    const sparse = Buffer.from(clean);
    const pcrs = [...Array(count(sparse)).keys()].filter((k) => hasPcr(sparse, k));
    // Take the PCR out of the packets after the one at about 4 s until the next is 60-100 ms on
    // (clear the PCR flag: the bytes stay, as stuffing).
    const first = pcrs.findIndex((k) => k >= at(sparse, 4));
    let last = first + 1;
    while (pcrValue(sparse, pcrs[last]!) - pcrValue(sparse, pcrs[first]!) < 0.06) last++;
    const gap = pcrValue(sparse, pcrs[last]!) - pcrValue(sparse, pcrs[first]!);
    expect(gap).toBeLessThan(0.1);
    for (const k of pcrs.slice(first + 1, last)) sparse[k * P + 5]! &= ~0x10;
    const rep = analyse(sparse).findings;
    expect(checks(rep)).toEqual(['pcr_repetition']);

    const jump = Buffer.from(clean);
    const k = pcrs.find((x) => x > at(jump, 6))!;
    jump[k * P + 6]! ^= 0x01; // PCR base + 2^25 ticks of 90 kHz: far ahead
    const disc = analyse(jump).findings;
    expect(checks(disc)).toEqual(['pcr_discontinuity', 'pcr_discontinuity']);
    // Announced by the discontinuity_indicator (on the step and on the step back), no error.
    jump[k * P + 5]! |= 0x80;
    jump[pcrs[pcrs.indexOf(k) + 1]! * P + 5]! |= 0x80;
    expect(analyse(jump).findings).toEqual([]);
  });

  it('reports PES packets without PTS for more than 0.7 s on a PID, once per stretch (PTS_error)', () => {
    // The audio PID's PES headers from 3 s to 4.5 s lose their PTS (PTS_DTS_flags cleared, the
    // five bytes left as stuffing): the PES keep coming, their PTS do not.
    const b = Buffer.from(clean);
    // The PID whose PES carry an audio stream_id (0xC0-0xDF).
    const audioPid = pidOf(
      b,
      [...Array(count(b)).keys()].find((i) => {
        const o = i * P;
        const p = o + 4 + ((b[o + 3]! >> 4) & 2 ? 1 + b[o + 4]! : 0);
        return (b[o + 1]! & 0x40) !== 0 && b[p] === 0 && b[p + 1] === 0 && b[p + 2] === 1 && b[p + 3]! >= 0xc0 && b[p + 3]! <= 0xdf;
      })!,
    );
    const from = at(b, 3);
    const to = at(b, 4.5);
    let stripped = 0;
    for (let i = from; i < to; i++) {
      const o = i * P;
      if (pidOf(b, i) !== audioPid || !(b[o + 1]! & 0x40)) continue;
      const afc = (b[o + 3]! >> 4) & 3;
      const p = o + 4 + (afc & 2 ? 1 + b[o + 4]! : 0);
      if (b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1 || !(b[p + 7]! & 0x80)) continue;
      const n = b[p + 7]! & 0x40 ? 10 : 5;
      b[p + 7] = b[p + 7]! & 0x3f;
      b.fill(0xff, p + 9, p + 9 + n);
      stripped++;
    }
    expect(stripped).toBeGreaterThan(20);
    const { findings } = analyse(b);
    expect(checks(findings)).toEqual(['pts']);
    const f = findings[0]!;
    expect(f.pid).toBe(audioPid);
    expect(f.value).toBeGreaterThan(0.7);
    expect(f.value).toBeLessThan(0.9);
    expect(f.detail).toMatch(new RegExp(`no PTS on PID ${audioPid} for 7\\d\\d ms`));
    // A shorter stretch (0.5 s) is within TR 101 290's 700 ms.
    const short = Buffer.from(clean);
    const end = at(short, 3.5);
    for (let i = from; i < end; i++) {
      const o = i * P;
      if (pidOf(short, i) !== audioPid || !(short[o + 1]! & 0x40)) continue;
      const afc = (short[o + 3]! >> 4) & 3;
      const p = o + 4 + (afc & 2 ? 1 + short[o + 4]! : 0);
      if (short[p] === 0 && short[p + 1] === 0 && short[p + 2] === 1 && short[p + 7]! & 0x80) short[p + 7] = short[p + 7]! & 0x3f;
    }
    expect(analyse(short).findings).toEqual([]);
  });

  it('PCR accuracy (2.4): a constant-bitrate multiplex stamps each PCR from its byte position; one PCR 1 us off is reported, 0.4 us off is within 500 ns', () => {
    expect(analyse(cbr).findings).toEqual([]);
    const pcrs = [...Array(count(cbr)).keys()].filter((k) => hasPcr(cbr, k));
    expect(pcrs.length).toBeGreaterThan(300); // FFmpeg's CBR muxer: a PCR every 20 ms
    const off = Buffer.from(cbr);
    const late = pcrs.find((k) => k > at(off, 4))!;
    const early = pcrs.find((k) => k > at(off, 6))!;
    movePcr(off, late, 27); // +1 us
    movePcr(off, early, -11); // -0.41 us
    const f = analyse(off).findings;
    expect(checks(f)).toEqual(['pcr_accuracy']);
    expect(f[0]!.offset).toBe(late * P);
    expect(f[0]!.value! * 1e6).toBeCloseTo(1, 1);
    expect(f[0]!.detail).toMatch(/\+1\.0\d us from its byte position/);
    // The limit is an option (0: off).
    expect(analyse(off, undefined, { pcrAccuracy: 2e-6 }).findings).toEqual([]);
    expect(analyse(off, undefined, { pcrAccuracy: 0 }).findings).toEqual([]);
  });

  it('PCR accuracy: every PCR the simulator re-stamped is reported, none other; a VBR stream is not judged', () => {
    let moved = 0;
    for (let k = 0; k < count(cbr); k++) if (cbr.compare(restamped, k * P, (k + 1) * P, k * P, (k + 1) * P) !== 0) moved++;
    expect(moved).toBeGreaterThan(15);
    const f = analyse(restamped).findings;
    expect(checks(f).every((c) => c === 'pcr_accuracy'), checks(f).join()).toBe(true);
    expect(f.length).toBe(moved);
    expect(f.every((x) => Math.abs(x.value!) >= 0.99e-6 && Math.abs(x.value!) <= 20.01e-6)).toBe(true);
    // In a VBR multiplex the PCRs follow the media, not the bytes: 5 us off is not judged.
    const vbr = Buffer.from(clean);
    const pcrs = [...Array(count(vbr)).keys()].filter((k) => hasPcr(vbr, k));
    for (const k of pcrs.filter((x) => x > at(vbr, 3) && x < at(vbr, 5))) movePcr(vbr, k, 135);
    expect(checks(analyse(vbr).findings).filter((c) => c === 'pcr_accuracy')).toEqual([]);
  });

  it('PCR accuracy: packets lost in transit move byte positions, and are a continuity error, not PCR inaccuracy', () => {
    const video = pidOf(cbr, [...Array(count(cbr)).keys()].find((k) => hasPcr(cbr, k))!);
    const lost = [...Array(count(cbr)).keys()].filter((k) => k > at(cbr, 4) && pidOf(cbr, k) === video && !hasPcr(cbr, k)).slice(0, 1);
    const nulls = [...Array(count(cbr)).keys()].filter((k) => k > at(cbr, 6) && pidOf(cbr, k) === 0x1fff).slice(0, 3);
    expect(nulls.length).toBe(3);
    const f = analyse(without(cbr, (i) => lost.includes(i))).findings;
    expect(checks(f)).toEqual(['cc']);
    // Null packets carry no counter: losing three shifts what follows by 1.5 us at 1.5 Mbit/s, which
    // is what the check can see (a real defect of the delivered multiplex, reported as such).
    const g = analyse(without(cbr, (i) => nulls.includes(i))).findings;
    expect(checks(g).length).toBeGreaterThan(0);
    expect(checks(g).every((c) => c === 'pcr_accuracy')).toBe(true);
  });

  it('computes CRC-32/MPEG-2', () => {
    expect(crc32Mpeg(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('keeps stream time through a burst of bytes after a quiet stretch (a keyframe after black)', () => {
    // A synthetic multiplex: PAT and PMT every 100 ms, a PCR every 40 ms on the video PID, two
    // video packets per 40 ms for 3 s (a black picture), then 2000 packets in one 40 ms interval
    // (the keyframe that follows), then on as before. Until 2026-11-27 the clock interpolated
    // the burst at the quiet stretch's bitrate, 15 s ahead: a false PAT, PMT and PID finding.
    const out: Buffer[] = [];
    const cc = new Map<number, number>();
    const packet = (pid: number, payload: Buffer, pcr?: number, unitStart = false): void => {
      const b = Buffer.alloc(P, 0xff);
      const c = cc.get(pid) ?? 0;
      cc.set(pid, (c + 1) & 15);
      b[0] = 0x47;
      b[1] = (unitStart ? 0x40 : 0) | (pid >> 8);
      b[2] = pid & 0xff;
      let o = 4;
      if (pcr !== undefined) {
        b[3] = 0x30 | c;
        b[4] = 7;
        b[5] = 0x10;
        const base = Math.floor(pcr * 90000);
        b[6] = Math.floor(base / 2 ** 25) & 0xff;
        b[7] = Math.floor(base / 2 ** 17) & 0xff;
        b[8] = Math.floor(base / 2 ** 9) & 0xff;
        b[9] = Math.floor(base / 2) & 0xff;
        b[10] = ((base & 1) << 7) | 0x7e;
        b[11] = 0;
        o = 12;
      } else b[3] = 0x10 | c;
      payload.copy(b, o);
      out.push(b);
    };
    const section = (tableId: number, body: number[]): Buffer => {
      const len = 5 + body.length + 4;
      const sec = Buffer.from([tableId, 0xb0 | (len >> 8), len & 0xff, 0, 1, 0xc1, 0, 0, ...body, 0, 0, 0, 0]);
      sec.writeUInt32BE(crc32Mpeg(sec, 0, sec.length - 4), sec.length - 4);
      return Buffer.concat([Buffer.from([0]), sec]);
    };
    const pat = section(0x00, [0, 1, 0xf0, 0x00]);
    const pmt = section(0x02, [0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00]);
    for (let k = 0; k < 200; k++) {
      const t = k * 0.04;
      if (k % 3 === 0) {
        packet(0, pat, undefined, true);
        packet(0x1000, pmt, undefined, true);
      }
      packet(0x100, Buffer.alloc(0), t);
      const n = k === 80 ? 2000 : k < 80 ? 2 : 20;
      for (let j = 0; j < n; j++) packet(0x100, Buffer.alloc(0));
    }
    const { findings, analyzer } = analyse(Buffer.concat(out));
    expect(findings).toEqual([]);
    expect(analyzer.clock).toBeGreaterThan(7.9);
    expect(analyzer.clock).toBeLessThan(8.1);
  });

  it('PID_error (1.6) on a listed PID that never comes is for continuous streams; SCTE-35 cues, DVB subtitles and metadata may stay silent', () => {
    // Every PMT of the clean render gets extra entries whose PIDs never carry a packet.
    const addEntries = (b: Buffer, entries: readonly { type: number; pid: number; descriptors?: number[] }[]): Buffer => {
      const out = Buffer.from(b);
      const extra = entries.flatMap((e) => {
        const d = e.descriptors ?? [];
        return [e.type, 0xe0 | (e.pid >> 8), e.pid & 0xff, 0xf0 | (d.length >> 8), d.length & 0xff, ...d];
      });
      for (let i = 0; i < count(out); i++) {
        const o = i * P;
        if (pidOf(out, i) !== 0x1000 || (out[o + 1]! & 0x40) === 0 || (out[o + 3]! & 0x20) !== 0) continue;
        const start = o + 5 + out[o + 4]!;
        const len = ((out[start + 1]! & 0x0f) << 8) | out[start + 2]!;
        const body = out.subarray(start, start + 3 + len - 4);
        const sec = Buffer.concat([body, Buffer.from(extra), Buffer.alloc(4)]);
        const newLen = len + extra.length;
        sec[1] = (sec[1]! & 0xf0) | (newLen >> 8);
        sec[2] = newLen & 0xff;
        sec.writeUInt32BE(crc32Mpeg(sec, 0, sec.length - 4), sec.length - 4);
        expect(start - o + sec.length).toBeLessThanOrEqual(P);
        out.fill(0xff, start, o + P);
        sec.copy(out, start);
      }
      return out;
    };
    const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
    const sparse = analyse(
      addEntries(clean, [
        { type: 0x86, pid: 0x1f0 }, // SCTE-35 splice information
        { type: 0x06, pid: 0x1f1, descriptors: [0x59, 8, ...ascii('eng'), 0x10, 0, 1, 0, 1] }, // DVB subtitles
        { type: 0x15, pid: 0x1f2, descriptors: [0x05, 4, ...ascii('ID3 ')] }, // ID3 timed metadata
        { type: 0x06, pid: 0x1f3, descriptors: [0x05, 4, ...ascii('KLVA')] }, // KLV metadata
      ]),
    );
    expect(sparse.findings).toEqual([]);
    expect(sparse.analyzer.elementaryPids).toHaveLength(6);

    const continuous = analyse(
      addEntries(clean, [
        { type: 0x0f, pid: 0x1e0 }, // a second AAC language
        { type: 0x06, pid: 0x1e1, descriptors: [0x56, 5, ...ascii('eng'), 0x09, 0x00] }, // teletext
        { type: 0x06, pid: 0x1e2, descriptors: [0x6a, 1, 0x00] }, // DVB AC-3
        { type: 0x06, pid: 0x1e3, descriptors: [0x05, 4, ...ascii('BSSD')] }, // SMPTE 302M PCM
      ]),
    );
    const pids = continuous.findings.filter((f) => f.check === 'pid');
    expect(checks(continuous.findings).filter((c) => c !== 'pid')).toEqual([]);
    expect(pids.map((f) => f.pid).sort((a, b) => a - b)).toEqual([0x1e0, 0x1e1, 0x1e2, 0x1e3]);
    expect(pids[0]!.detail).toMatch(/listed in the PMT never received/);
  });
});
