/**
 * transport (TR 101 290 as far as libavformat shows it) on real encoded MPEG-TS (simulator's
 * libx264 + AAC), damaged at the 188-byte packet level: lost TS packets (continuity-counter
 * errors), timestamps shifted backwards or forwards mid-stream, and the 33-bit PTS wrap.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { DetectorChain } from '../../src/detect/index.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { TS_PACKET, TsFile } from '../helpers/ts-damage.ts';

const DURATION = 14;
const TOL = 0.4;
const CLOCK = 90000;

const STREAM = parseScenario({
  seed: 5,
  streams: [
    {
      id: 'tr',
      output: { type: 'udp' },
      content: { source: 'testsrc2' },
      video: { width: 160, height: 90, fps: 25 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: DURATION,
      schedule: [],
    },
  ],
}).streams[0]!;

const mine = (list: Incident[]) => list.filter((i) => i.type === 'transport');
const show = (list: Incident[]) =>
  list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join(', ');

async function transportIncidents(input: string, options?: Record<string, number | boolean>, tsAnalysis?: boolean) {
  const res = await analyze({
    input,
    ...(options ? { detectors: { transport: options } } : {}),
    ...(tsAnalysis !== undefined ? { tsAnalysis } : {}),
  });
  return mine(res.incidents);
}

/** Shift PTS and DTS of every PES (all PIDs) whose PTS is at or after `from` s by `delta` s. */
async function shiftFrom(src: string, dst: string, from: number, delta: number) {
  const ts = await TsFile.read(src);
  const units = ts.pesUnits();
  let n = 0;
  for (const u of units) {
    if (ts.secondsOf(u, units) < from) continue;
    ts.setTimestamps(u, u.pts + delta * CLOCK, u.dts + delta * CLOCK);
    n++;
  }
  expect(n).toBeGreaterThan(0);
  await ts.write(dst);
}

describe('transport detector on damaged MPEG-TS', () => {
  let dir: string;
  let clean: string;

  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-transport-'));
    clean = join(dir, 'clean.ts');
    await renderToFile(STREAM, clean, { duration: DURATION });
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports nothing on the clean file', async () => {
    expect(show(await transportIncidents(clean))).toBe('');
  });

  it('lost video TS packets from 4 s to 6 s (continuity errors): one incident from about 4 s to 6 s + window', async () => {
    const ts = await TsFile.read(clean);
    const vpid = ts.pidOf('video');
    const units = ts.pesUnits();
    const lost: number[] = [];
    let next = 4;
    for (const u of units) {
      if (u.pid !== vpid || u.packets.length < 3) continue;
      const t = ts.secondsOf(u, units);
      if (t < next || t >= 6) continue;
      lost.push(u.packets[1]!); // a packet inside the PES: the PES is kept but damaged
      next = t + 0.25;
    }
    expect(lost.length).toBeGreaterThanOrEqual(6);
    ts.drop(lost, { renumber: false });
    const f = join(dir, 'cc.ts');
    await ts.write(f);
    const found = await transportIncidents(f);
    expect(found.length, show(found)).toBe(1);
    const i = found[0]!;
    expect(Math.abs(i.start - 4), show(found)).toBeLessThanOrEqual(TOL);
    // It closes `window` (5 s) after the last error.
    expect(Math.abs(i.end! - (6 + 5)), show(found)).toBeLessThanOrEqual(0.6);
    expect(i.measurements?.ccErrors).toBeGreaterThanOrEqual(1);
    expect(i.measurements?.ptsDiscontinuities).toBe(0);
  });

  it('transport_error_indicator set on video TS packets from 4 s to 6 s (TR 101 290 2.1): one incident from about 4 s', async () => {
    const ts = await TsFile.read(clean);
    const vpid = ts.pidOf('video');
    const units = ts.pesUnits();
    const flagged = units
      .filter((u) => u.pid === vpid && u.packets.length >= 3)
      .filter((u) => {
        const t = ts.secondsOf(u, units);
        return t >= 4 && t < 6;
      })
      .filter((_, k) => k % 8 === 0)
      .map((u) => u.packets[1]!);
    ts.setTransportError(flagged);
    const f = join(dir, 'tei.ts');
    await ts.write(f);
    const found = await transportIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 4), show(found)).toBeLessThanOrEqual(TOL);
    // Read byte by byte (the default for MPEG-TS files), TEI is told apart from continuity errors.
    expect(found[0]!.measurements?.transportErrors).toBeGreaterThanOrEqual(1);
    expect(found[0]!.measurements?.ccErrors).toBe(0);
    // The demuxer alone flags TEI and continuity errors alike: both count as ccErrors.
    const demuxerOnly = await transportIncidents(f, undefined, false);
    expect(demuxerOnly.length, show(demuxerOnly)).toBe(1);
    expect(Math.abs(demuxerOnly[0]!.start - 4), show(demuxerOnly)).toBeLessThanOrEqual(TOL);
    expect(demuxerOnly[0]!.measurements?.ccErrors).toBeGreaterThanOrEqual(1);
    expect(demuxerOnly[0]!.measurements?.transportErrors).toBeUndefined();
  });

  it('the same losses renumbered (no continuity break, frames simply damaged) are not a transport error', async () => {
    const ts = await TsFile.read(clean);
    const vpid = ts.pidOf('video');
    const units = ts.pesUnits();
    const lost = units.filter((u) => u.pid === vpid && u.packets.length >= 3).slice(100, 110).map((u) => u.packets[1]!);
    ts.drop(lost, { renumber: true });
    const f = join(dir, 'renumbered.ts');
    await ts.write(f);
    expect(show(await transportIncidents(f))).toBe('');
  });

  it('a threshold of 2 events/s ignores one 2 s burst of about 9 losses (1.8 per second over the 5 s window)', async () => {
    const ts = await TsFile.read(clean);
    const vpid = ts.pidOf('video');
    const units = ts.pesUnits();
    const lost = units
      .filter((u) => u.pid === vpid && u.packets.length >= 3)
      .filter((u) => {
        const t = ts.secondsOf(u, units);
        return t >= 4 && t < 6;
      })
      .filter((_, k) => k % 6 === 0)
      .map((u) => u.packets[1]!);
    ts.drop(lost, { renumber: false });
    const f = join(dir, 'cc-burst.ts');
    await ts.write(f);
    expect((await transportIncidents(f)).length).toBe(1);
    expect(show(await transportIncidents(f, { threshold: 2 }))).toBe('');
  });

  it('timestamps stepping back 2 s at 6 s: one incident from about 6 s, counted as PTS discontinuities', async () => {
    const f = join(dir, 'back.ts');
    await shiftFrom(clean, f, 6, -2);
    const found = await transportIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 6), show(found)).toBeLessThanOrEqual(TOL);
    expect(found[0]!.measurements?.ptsDiscontinuities).toBeGreaterThanOrEqual(1);
    expect(found[0]!.measurements?.ccErrors).toBe(0);
  });

  it('timestamps leaping 3 s forward at 6 s: one incident from about 6 s', async () => {
    const f = join(dir, 'fwd.ts');
    await shiftFrom(clean, f, 6, 3);
    const found = await transportIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 6), show(found)).toBeLessThanOrEqual(TOL);
    const m = found[0]!.measurements ?? {};
    expect(Number(m.ptsDiscontinuities) + Number(m.ptsGaps), show(found)).toBeGreaterThanOrEqual(1);
  });

  it('the 33-bit PTS wrap in mid-stream is not an error', async () => {
    const ts = await TsFile.read(clean);
    const units = ts.pesUnits();
    // Put the wrap 5 s in: every timestamp moved so that 5 s maps to 2^33 ticks.
    const v0 = units.find((u) => u.streamId >= 0xe0 && Number.isFinite(u.pts))!.pts;
    const delta = 2 ** 33 - (v0 + 5 * CLOCK);
    for (const u of units) ts.setTimestamps(u, u.pts + delta, u.dts + delta);
    const f = join(dir, 'wrap.ts');
    await ts.write(f);
    // The wrap really is in the file: some PTS near the top of the range, some near 0.
    const after = new TsFile(await import('node:fs/promises').then((m) => m.readFile(f))).pesUnits();
    expect(after.some((u) => u.pts > 2 ** 33 - CLOCK)).toBe(true);
    expect(after.some((u) => u.pts < CLOCK)).toBe(true);
    expect(show(await transportIncidents(f))).toBe('');
  });

  it('HLS whose segments restart their continuity counters: nothing by default, counted with hlsContinuity', async () => {
    const ts = await TsFile.read(clean);
    const vpid = ts.pidOf('video');
    const units = ts.pesUnits();
    // Cut every 2 s at the start of a video PES, as a packager cuts at frames.
    const starts: number[] = [];
    let next = 2;
    for (const u of units) {
      if (u.pid !== vpid || ts.secondsOf(u, units) < next) continue;
      starts.push(u.packets[0]!);
      next += 2;
    }
    const pieces = ts.split(starts);
    expect(pieces.length).toBeGreaterThanOrEqual(6);
    const hls = join(dir, 'hls');
    await mkdir(hls, { recursive: true });
    let playlist = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:0\n';
    for (const [k, p] of pieces.entries()) {
      await p.write(join(hls, `seg${k}.ts`));
      playlist += `#EXTINF:2.0,\nseg${k}.ts\n`;
    }
    playlist += '#EXT-X-ENDLIST\n';
    const m3u8 = join(hls, 'index.m3u8');
    await writeFile(m3u8, playlist);
    expect(show(await transportIncidents(m3u8))).toBe('');
    const counted = await transportIncidents(m3u8, { hlsContinuity: true });
    expect(counted.length, show(counted)).toBe(1);
    expect(counted[0]!.measurements?.ccErrors).toBeGreaterThanOrEqual(1);
  });

  it('the TS packet size is what the helper assumes', () => {
    expect(TS_PACKET).toBe(188);
  });

  it('raw-byte checks: PAT missing 4-6 s and a PCR step at 9 s each open an incident; tableChecks / pcrChecks off silence them', async () => {
    const buf = (await import('node:fs')).readFileSync(clean);
    const n = buf.length / TS_PACKET;
    const pidAt = (i: number) => ((buf[i * TS_PACKET + 1]! & 0x1f) << 8) | buf[i * TS_PACKET + 2]!;
    const keep: Buffer[] = [];
    // Byte position is close to media time at this constant-ish bitrate.
    for (let i = 0; i < n; i++) {
      if (!(pidAt(i) === 0 && i > (n * 4) / DURATION && i < (n * 6) / DURATION)) keep.push(Buffer.from(buf.subarray(i * TS_PACKET, (i + 1) * TS_PACKET)));
    }
    // A multiplexer that stops sending its PAT: the PAT packets it does send count on without a break.
    let cc = 0;
    for (const p of keep) if ((((p[1]! & 0x1f) << 8) | p[2]!) === 0) p[3] = (p[3]! & 0xf0) | (cc++ & 0x0f);
    const noPat = join(dir, 'nopat.ts');
    await writeFile(noPat, Buffer.concat(keep));
    const pat = await transportIncidents(noPat);
    expect(pat.length, show(pat)).toBe(1);
    expect(pat[0]!.start, show(pat)).toBeGreaterThan(4);
    expect(pat[0]!.start, show(pat)).toBeLessThan(5.2);
    expect(pat[0]!.measurements?.patErrors).toBe(1);
    expect(pat[0]!.measurements?.lastTsError).toMatch(/no PAT for 0\.5/);
    expect(show(await transportIncidents(noPat, { tableChecks: false }))).toBe('');

    const jump = Buffer.from(buf);
    const hasPcr = (i: number) => {
      const o = i * TS_PACKET;
      return (jump[o + 3]! & 0x20) !== 0 && jump[o + 4]! >= 7 && (jump[o + 5]! & 0x10) !== 0;
    };
    let k = Math.floor((n * 9) / DURATION);
    while (!hasPcr(k)) k++;
    jump[k * TS_PACKET + 7]! ^= 0x10; // PCR base + 2^21 ticks (23 s): far ahead, then back
    const stepped = join(dir, 'pcrstep.ts');
    await writeFile(stepped, jump);
    const pcr = await transportIncidents(stepped);
    expect(pcr.length, show(pcr)).toBe(1);
    expect(Math.abs(pcr[0]!.start - 9), show(pcr)).toBeLessThanOrEqual(0.6);
    expect(pcr[0]!.measurements?.pcrDiscontinuities).toBeGreaterThanOrEqual(1);
    expect(show(await transportIncidents(stepped, { pcrChecks: false }))).toBe('');
  });

  it('PCRs 60-100 ms apart are within ISO/IEC 13818-1 (default pcrInterval 0.1 s), a TR 101 290 error at pcrInterval 0.04', async () => {
    const buf = Buffer.from((await import('node:fs')).readFileSync(clean));
    const n = buf.length / TS_PACKET;
    const pcrAt = (i: number): number => {
      const o = i * TS_PACKET;
      if (!((buf[o + 3]! & 0x20) !== 0 && buf[o + 4]! >= 7 && (buf[o + 5]! & 0x10) !== 0)) return Number.NaN;
      return (buf[o + 6]! * 2 ** 25 + buf[o + 7]! * 2 ** 17 + buf[o + 8]! * 2 ** 9 + buf[o + 9]! * 2 + (buf[o + 10]! >> 7)) / CLOCK;
    };
    const pcrs = [...Array(n).keys()].filter((i) => !Number.isNaN(pcrAt(i)));
    // From 5 s to 8 s keep only PCRs at least 60 ms after the last one kept (clear the flag of the others).
    let kept = Number.NEGATIVE_INFINITY;
    let cleared = 0;
    for (const i of pcrs) {
      const t = pcrAt(i);
      if (i < (n * 5) / DURATION || i > (n * 8) / DURATION || t - kept >= 0.06) {
        kept = t;
        continue;
      }
      buf[i * TS_PACKET + 5]! &= ~0x10;
      cleared++;
    }
    expect(cleared).toBeGreaterThan(10);
    const f = join(dir, 'pcrsparse.ts');
    await writeFile(f, buf);
    expect(show(await transportIncidents(f))).toBe('');
    const dvb = await transportIncidents(f, { pcrInterval: 0.04 });
    expect(dvb.length, show(dvb)).toBe(1);
    expect(Math.abs(dvb[0]!.start - 5), show(dvb)).toBeLessThanOrEqual(0.6);
    expect(dvb[0]!.measurements?.pcrRepetitionErrors).toBeGreaterThanOrEqual(1);
  });

  it('PCRs re-stamped off their byte position on a constant-bitrate multiplex (TR 101 290 2.4): one incident over the window; pcrAccuracy and pcrChecks govern it', async () => {
    const cbr = { ...STREAM, output: { type: 'file' as const, muxrateKbps: 800 } };
    const ok = join(dir, 'cbr.ts');
    await renderToFile(cbr, ok, { duration: DURATION });
    expect(show(await transportIncidents(ok))).toBe('');
    const off = join(dir, 'cbr-pcr.ts');
    await renderToFile(
      { ...cbr, schedule: [{ type: 'transport', at: 5, duration: 3, mode: 'pcr', rate: 0.2 }] },
      off,
      { duration: DURATION },
    );
    const found = await transportIncidents(off);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 5), show(found)).toBeLessThanOrEqual(0.6);
    expect(found[0]!.end! - 8, show(found)).toBeLessThanOrEqual(5 + 0.6); // the 5 s window after the last
    expect(found[0]!.measurements?.pcrAccuracyErrors).toBeGreaterThanOrEqual(1);
    expect(found[0]!.measurements?.lastTsError).toMatch(/us from its byte position at the multiplex rate/);
    // The simulator moves PCRs by 1-20 us: a 25 us limit lets them through, as does pcrChecks off.
    expect(show(await transportIncidents(off, { pcrAccuracy: 25_000 }))).toBe('');
    expect(show(await transportIncidents(off, { pcrChecks: false }))).toBe('');
  });

  it('a pcrInterval stricter than 40 ms applies to the raw bytes too (the analyzer judges by it)', async () => {
    // This render carries a PCR with every video frame (40 ms at 25 fps). Before the analyzer took
    // its limit from the detector's options it judged by 40 ms whatever pcrInterval said.
    const strict = await transportIncidents(clean, { pcrInterval: 0.02 });
    expect(strict.length, show(strict)).toBe(1);
    expect(strict[0]!.measurements?.pcrRepetitionErrors).toBeGreaterThanOrEqual(1);
    expect(strict[0]!.measurements?.lastTsError).toMatch(/PCRs on PID \d+ 40 ms apart/);
  });

  it('PES packets without PTS on the audio PID from 4 s to 5.5 s (TR 101 290 2.5 PTS_error): one incident; ptsInterval 2 s accepts it', async () => {
    const ts = await TsFile.read(clean);
    const apid = ts.pidOf('audio');
    const units = ts.pesUnits();
    let stripped = 0;
    for (const u of units) {
      if (u.pid !== apid) continue;
      const t = ts.secondsOf(u, units);
      if (t < 4 || t >= 5.5) continue;
      ts.removeTimestamps(u);
      stripped++;
    }
    expect(stripped).toBeGreaterThan(20);
    const f = join(dir, 'nopts.ts');
    await ts.write(f);
    const found = await transportIncidents(f);
    expect(found.length, show(found)).toBe(1);
    expect(Math.abs(found[0]!.start - 4.7), show(found)).toBeLessThanOrEqual(0.3);
    expect(found[0]!.measurements).toMatchObject({ ptsErrors: 1, ptsGaps: 0, ccErrors: 0 });
    expect(found[0]!.measurements?.lastTsError).toMatch(/no PTS on PID \d+ for 7\d\d ms/);
    expect(show(await transportIncidents(f, { ptsInterval: 2 }))).toBe('');
    // FFmpeg's parser carries the audio on by interpolating its timestamps: nothing else is reported.
    const all = (await analyze({ input: f })).incidents.filter((i) => i.type !== 'transport');
    expect(show(all)).toBe('');
  });

  it('a file named .ts that is not MPEG-TS (an MP4) is still read, without the byte-level checks', async () => {
    const mp4 = join(dir, 'really.mp4');
    await renderToFile(STREAM, mp4, { duration: 4 });
    const misnamed = join(dir, 'misnamed.ts');
    await writeFile(misnamed, (await import('node:fs')).readFileSync(mp4));
    const res = await analyze({ input: misnamed });
    expect(res.videoFrames).toBeGreaterThan(90);
    expect(show(mine(res.incidents))).toBe('');
  });

  it('publishes per-check totals since the connection as gauges (tr101290_<check>), zero from the start', () => {
    const edges: unknown[] = [];
    const chain = new DetectorChain({ streamId: 's', only: ['transport'], onEdge: (e) => edges.push(e) });
    chain.process({ kind: 'info', mediaTime: 0, wallTime: 1000, format: 'mpegts', tsAnalysis: { videoPid: 256, audioPid: 257 } });
    expect(chain.gauges.get('tr101290_pat')).toBe(0);
    expect(chain.gauges.get('tr101290_cc')).toBe(0);
    const ts = (check: 'pat' | 'cc', pid: number, t: number) =>
      chain.process({ kind: 'ts', check, pid, detail: check, mediaTime: t, wallTime: 1000 + t * 1000 });
    ts('pat', 0, 2);
    ts('cc', 256, 3);
    ts('cc', 256, 4);
    expect(chain.gauges.get('tr101290_pat')).toBe(1);
    expect(chain.gauges.get('tr101290_cc')).toBe(2);
    expect(chain.gauges.get('tr101290_crc')).toBe(0);
    expect(edges.length).toBe(1);
    // A new connection starts the totals again.
    chain.process({ kind: 'info', mediaTime: 5, wallTime: 6000, format: 'mpegts', tsAnalysis: { videoPid: 256 } });
    expect(chain.gauges.get('tr101290_cc')).toBe(0);
  });
});
