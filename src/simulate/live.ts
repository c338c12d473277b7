/**
 * Live replay: every stream's cycle is encoded once at start (render.ts), then its packets
 * are replayed in real time, looping, with timestamps shifted by cycle * loopIndex so the
 * output is one continuous live stream. Replay only muxes (no decoding, no encoding).
 *
 * Outputs: MPEG-TS over UDP (FFmpeg's udp protocol through the muxer), MPEG-TS over SRT (the
 * muxer's datagrams relayed through FFmpeg's srt protocol, listening for the monitor to call), FLV
 * published over RTMP (to a monitor or server that accepts it), or live HLS (MPEG-TS segments cut at keyframes, a sliding-window playlist served over node:http).
 *
 * Timing: one shared interval ticks every TICK_MS and sends every packet whose DTS
 * (relative to the first packet) is due against the wall clock since start.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AV_LOG_ERROR, AVIO_FLAG_WRITE } from 'node-av/constants';
import { IOContext, Log } from 'node-av/lib';
import { createLogger, ErrorCodes, VigilError, type Logger } from '../shared/index.ts';
import * as damage from './damage.ts';
import { PacketMuxer } from './mux.ts';
import { TS_PACKET, tsDamagerFor, tsMuxOptions, type TsDamager } from './ts-damage.ts';
import {
  round6,
  startRender,
  streamSeed,
  type EncodedCycle,
  type EncodedPacket,
  type ProgressiveRender,
} from './render.ts';
import type { GroundTruthEntry, Scenario, ScenarioStream } from './scenario.ts';

const TICK_MS = 20;

export interface SimulationHandle {
  streams: { id: string; url: string; output: 'udp' | 'srt' | 'rtmp' | 'rtsp' | 'hls' }[];
  /** Ground truth so far: entries are added as playback reaches them. */
  truth(): GroundTruthEntry[];
  stop(): Promise<void>;
}

export interface SimulationOptions {
  /** Keep a JSON array of the ground truth at this path (atomic rewrite, at least every second and on stop). */
  truthPath?: string;
  logger?: Logger;
}

/** Keep FFmpeg quiet unless something is wrong (x264/aac print stats at info level). */
export function quietFfmpegLogs(): void {
  if (Log.getLevel() > AV_LOG_ERROR) Log.setLevel(AV_LOG_ERROR);
}

interface Sink {
  write(ep: EncodedPacket, shift: bigint, tAbs: number): void;
  /** Playback entered a signal loss (nothing is sent until it ends). */
  lossStarted(): void;
  close(): void;
}

class UdpSink implements Sink {
  private mux: PacketMuxer;
  private failed = false;
  constructor(
    url: string,
    enc: EncodedCycle,
    private readonly log: Logger,
    private readonly relay?: Socket,
    muxrateKbps?: number,
  ) {
    const tracks = enc.audio ? [enc.video, enc.audio] : [enc.video];
    // PAT and PMT with every video frame: libavformat's VBR muxer otherwise spaces them by the
    // timestamps of the PES it happens to write, and audio interleaved ahead of the video leaves
    // gaps of 0.5-0.7 s, over TR 101 290's 0.5 s (ingest's TsAnalyzer reports those).
    this.mux = new PacketMuxer(url, 'mpegts', tracks, { pes_payload_size: '0', ...tsMuxOptions(muxrateKbps) }).open();
  }
  write(ep: EncodedPacket, shift: bigint): void {
    try {
      this.mux.write(ep, shift);
    } catch (e) {
      if (!this.failed) this.log.warn({ err: e }, 'udp write failed');
      this.failed = true;
    }
  }
  lossStarted(): void {}
  close(): void {
    try {
      this.mux.close();
    } catch {
      /* closing: nothing to report */
    }
    this.relay?.close();
  }
}

/**
 * The muxer sends its datagrams to a relay socket on loopback, which damages the TS packets
 * (transport damage, if any) and hands what is left on: to the real UDP destination, or to an
 * SRT sender.
 */
async function startRelay(
  forward: (sock: Socket, datagram: Buffer) => void,
  damager: TsDamager | undefined,
  log: Logger,
): Promise<{ sock: Socket; port: number }> {
  const sock = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, '127.0.0.1', () => res());
  });
  sock.on('error', (e) => log.warn({ err: e }, 'udp relay error'));
  sock.on('message', (msg) => {
    const whole = msg.length - (msg.length % TS_PACKET);
    const out = damager ? damager.process(msg.subarray(0, whole)) : msg.subarray(0, whole);
    if (out.length) forward(sock, out);
  });
  return { sock, port: sock.address().port };
}

/**
 * MPEG-TS over SRT, as a live encoder offers it: listening on a port (FFmpeg's srt protocol in
 * listener mode, through avio), sending to whichever caller connects. Datagrams handed over before
 * a caller connects, or while the last one is being written, are not sent (a live stream does not
 * wait); a caller that goes away is replaced by the next one. Listening waits at most a second at
 * a time, so stop() never waits on a caller that never comes.
 */
class SrtSender {
  private io: IOContext | undefined;
  private queue: Buffer[] = [];
  private writing = false;
  private closed = false;
  private readonly done: Promise<void>;
  /** Datagrams sent to callers, for tests and logs. */
  sent = 0;

  constructor(
    private readonly port: number,
    private readonly latencyMs: number,
    private readonly log: Logger,
  ) {
    this.done = this.listen();
  }

  private async listen(): Promise<void> {
    const url = `srt://127.0.0.1:${this.port}?mode=listener&listen_timeout=1000000&latency=${this.latencyMs * 1000}&payload_size=${7 * TS_PACKET}`;
    while (!this.closed) {
      if (this.io) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const io = new IOContext();
      const ret = await io.open2(url, AVIO_FLAG_WRITE);
      if (ret < 0) continue; // no caller within the second (or a refused handshake): listen again
      if (this.closed) {
        await io.closep();
        break;
      }
      this.queue = [];
      this.io = io;
      this.log.info({ port: this.port }, 'srt caller connected');
    }
  }

  send(datagram: Buffer): void {
    if (!this.io || this.closed) return;
    // About a second of a 2 Mbit/s stream: a caller that stops reading is a caller gone.
    if (this.queue.length > 200) this.queue.shift();
    this.queue.push(Buffer.from(datagram));
    if (!this.writing) void this.pump();
  }

  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (this.io && this.queue.length > 0) {
        const io = this.io;
        const buf = this.queue.shift()!;
        await io.write(buf);
        await io.flush();
        if (io.error < 0) {
          // The caller went away: listen for the next one.
          this.io = undefined;
          this.log.info({ port: this.port }, 'srt caller gone');
          await io.closep();
        } else this.sent++;
      }
    } finally {
      this.writing = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.done;
    while (this.writing) await new Promise((r) => setTimeout(r, 10));
    const io = this.io;
    this.io = undefined;
    await io?.closep();
  }
}

/**
 * A stream published to a URL as an encoder pushes it: FLV over RTMP (FFmpeg's rtmp protocol as a
 * client) or RTP over RTSP (FFmpeg's rtsp muxer: ANNOUNCE and RECORD, interleaved over TCP), to a
 * monitor listening there or a server. The connection is made on a video keyframe (a player needs
 * one first); while nothing accepts it (the monitor not up yet, or gone) it is tried again every
 * second, and the packets in between are not sent. The connect is synchronous: meant for loopback
 * or a near server.
 */
class PublishSink implements Sink {
  private mux: PacketMuxer | undefined;
  private nextTry = 0;
  private warned = false;

  constructor(
    private readonly url: string,
    private readonly format: 'flv' | 'rtsp',
    private readonly enc: EncodedCycle,
    private readonly log: Logger,
  ) {}

  write(ep: EncodedPacket, shift: bigint): void {
    const now = performance.now();
    if (!this.mux) {
      if (now < this.nextTry || ep.kind !== 'video' || !ep.key) return;
      const tracks = this.enc.audio ? [this.enc.video, this.enc.audio] : [this.enc.video];
      try {
        const options: Record<string, string> = this.format === 'rtsp' ? { rtsp_transport: 'tcp' } : {};
        this.mux = new PacketMuxer(this.url, this.format, tracks, options).open();
        this.warned = false;
        this.log.info({ url: this.url }, 'publishing');
      } catch (e) {
        this.nextTry = now + 1000;
        if (!this.warned) this.log.warn({ err: e, url: this.url }, 'publish connect failed; retrying every second');
        this.warned = true;
        return;
      }
    }
    try {
      this.mux.write(ep, shift);
    } catch (e) {
      this.log.warn({ err: e, url: this.url }, 'publish write failed; reconnecting');
      this.drop();
      this.nextTry = now + 1000;
    }
  }

  lossStarted(): void {}

  private drop(): void {
    const mux = this.mux;
    this.mux = undefined;
    try {
      mux?.close();
    } catch {
      /* the connection is gone already */
    }
  }

  close(): void {
    this.drop();
  }
}

interface Segment {
  seq: number;
  name: string;
  duration: number;
}

class HlsSink implements Sink {
  private segs: Segment[] = [];
  private seq = 0;
  private cur: { mux: PacketMuxer; seq: number; start: number; end: number; tmp: string } | null = null;
  private waiters: (() => void)[] = [];
  playlist = '';
  private closed = false;
  /** Media time of the last video packet written (audio-only stretches cut on time instead). */
  private lastVideo = -Infinity;

  constructor(
    readonly dir: string,
    private readonly enc: EncodedCycle,
    private readonly segmentSeconds: number,
    private readonly windowSize: number,
    private readonly log: Logger,
    private readonly damager?: TsDamager,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  write(ep: EncodedPacket, shift: bigint, tAbs: number): void {
    if (this.closed) return;
    if (ep.kind === 'video') this.lastVideo = tAbs;
    // Video missing (audio goes on): segments start and cut on audio packets, on time.
    const audioOnly = ep.kind === 'audio' && tAbs - this.lastVideo > 0.5;
    const isKey = (ep.kind === 'video' && ep.key) || audioOnly;
    if (this.cur && isKey && tAbs - this.cur.start >= this.segmentSeconds - 1e-6) this.cut();
    if (!this.cur) {
      if (!isKey) return; // a segment starts on a keyframe
      const seq = this.seq++;
      const tmp = join(this.dir, `seg${seq}.ts.tmp`);
      const tracks = this.enc.audio ? [this.enc.video, this.enc.audio] : [this.enc.video];
      this.cur = { mux: new PacketMuxer(tmp, 'mpegts', tracks).open(), seq, start: tAbs, end: tAbs, tmp };
    }
    try {
      this.cur.mux.write(ep, shift);
    } catch (e) {
      this.log.warn({ err: e }, 'hls segment write failed');
    }
    const track = ep.kind === 'video' ? this.enc.video : this.enc.audio!;
    const end = tAbs + (Number(ep.duration) * track.timeBase.num) / track.timeBase.den;
    if ((ep.kind === 'video' || audioOnly) && end > this.cur.end) this.cur.end = end;
  }

  lossStarted(): void {
    if (this.cur) this.cut();
  }

  /** Finish the open segment, publish it, slide the window and delete old files. */
  private cut(): void {
    const c = this.cur;
    if (!c) return;
    this.cur = null;
    try {
      c.mux.close();
      if (this.damager) writeFileSync(c.tmp, this.damager.process(readFileSync(c.tmp)));
      const name = `seg${c.seq}.ts`;
      renameSync(c.tmp, join(this.dir, name));
      this.segs.push({ seq: c.seq, name, duration: Math.max(0.04, c.end - c.start) });
    } catch (e) {
      this.log.warn({ err: e }, 'hls segment close failed');
      return;
    }
    while (this.segs.length > this.windowSize) this.segs.shift();
    // Keep two segments behind the window on disk for slow readers, delete older ones.
    const old = c.seq - this.windowSize - 2;
    if (old >= 0) {
      try {
        unlinkSync(join(this.dir, `seg${old}.ts`));
      } catch {
        /* already gone */
      }
    }
    const target = Math.max(Math.ceil(this.segmentSeconds), ...this.segs.map((s) => Math.ceil(s.duration - 1e-3)));
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${target}`,
      `#EXT-X-MEDIA-SEQUENCE:${this.segs[0]!.seq}`,
    ];
    for (const s of this.segs) lines.push(`#EXTINF:${s.duration.toFixed(3)},`, s.name);
    this.playlist = lines.join('\n') + '\n';
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolve once the playlist has a segment (or after `ms`). */
  ready(ms: number): Promise<void> {
    if (this.playlist) return Promise.resolve();
    return new Promise((res) => {
      const t = setTimeout(res, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        res();
      });
    });
  }

  close(): void {
    this.closed = true;
    if (this.cur) {
      try {
        this.cur.mux.close();
      } catch {
        /* closing */
      }
      this.cur = null;
    }
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Ask the OS for a free UDP port on loopback. */
async function freeUdpPort(host: string): Promise<number> {
  const sock = createSocket('udp4');
  await new Promise<void>((res, rej) => {
    sock.once('error', rej);
    sock.bind(0, host === '127.0.0.1' || host === 'localhost' ? host : '127.0.0.1', () => res());
  });
  const port = sock.address().port;
  await new Promise<void>((res) => sock.close(() => res()));
  return port;
}

class LiveStream {
  private idx = 0;
  private loop = 0;
  private inLoss = false;
  /** Media position (s since the first frame) of the last packet handled. */
  private pos = -1;
  private pendingTruth: { tpl: GroundTruthEntry; loop: number; entry?: GroundTruthEntry }[] = [];
  readonly truth: GroundTruthEntry[] = [];
  changed = false;
  stalled = false;
  onStall?: (id: string, at: number) => void;

  constructor(
    readonly enc: EncodedCycle & { complete: boolean },
    readonly sink: Sink,
    readonly url: string,
  ) {
    this.queueLoop(0);
  }

  get id(): string {
    return this.enc.stream.id;
  }

  private queueLoop(loop: number): void {
    for (const tpl of this.enc.truth) this.pendingTruth.push({ tpl, loop });
  }

  /** Send everything due at `elapsed` seconds since start. */
  tick(elapsed: number): void {
    const { packets, cycleSeconds, video, audio } = this.enc;
    for (;;) {
      if (this.idx >= packets.length) {
        if (!this.enc.complete || packets.length === 0) {
          // The encoder fell behind the replay (should not happen: see waitForLead).
          if (!this.stalled) {
            this.stalled = true;
            this.onStall?.(this.id, elapsed);
          }
          break;
        }
        this.idx = 0;
        this.loop++;
        this.queueLoop(this.loop);
      }
      const p = packets[this.idx]!;
      const tAbs = this.loop * cycleSeconds + p.t;
      if (tAbs > elapsed) break;
      this.idx++;
      if (p.drop) {
        if (!this.inLoss) {
          this.inLoss = true;
          this.sink.lossStarted();
        }
      } else if (p.omit) {
        // Not sent (missing track, dropped frame), without a loss of signal.
      } else {
        this.inLoss = false;
        const track = p.kind === 'video' ? video : audio!;
        this.sink.write(p, track.cycleTicks * BigInt(this.loop), tAbs);
      }
      if (p.kind === 'video') this.pos = tAbs;
    }
    this.updateTruth();
  }

  private updateTruth(): void {
    const cycle = this.enc.cycleSeconds;
    const now = new Date().toISOString();
    const rest: typeof this.pendingTruth = [];
    for (const pt of this.pendingTruth) {
      const start = round6(pt.loop * cycle + pt.tpl.start);
      const end = round6(pt.loop * cycle + (pt.tpl.end ?? pt.tpl.start));
      if (!pt.entry && this.pos >= start - 1e-6) {
        const { end: _end, ...tpl } = pt.tpl;
        void _end;
        pt.entry = { ...tpl, start, loop: pt.loop, wallStart: now };
        this.truth.push(pt.entry);
        this.changed = true;
      }
      if (pt.entry && this.pos >= end - 1e-6) {
        pt.entry.end = end;
        pt.entry.wallEnd = now;
        this.changed = true;
        continue;
      }
      rest.push(pt);
    }
    this.pendingTruth = rest;
  }
}

export async function startSimulation(scenario: Scenario, opts: SimulationOptions = {}): Promise<SimulationHandle> {
  const log = (opts.logger ?? createLogger(undefined, 'vigil')).child({ module: 'simulate' });
  quietFfmpegLogs();

  const fileOnly = scenario.streams.find((s) => s.output.type === 'file');
  if (fileOnly) {
    throw new VigilError(
      ErrorCodes.SCENARIO_INVALID,
      `stream ${fileOnly.id} has output type file: it is rendered to a file (vigil render --scenario <file> --out <dir>), not played live`,
    );
  }
  const hlsStreams = scenario.streams.filter((s) => s.output.type === 'hls');
  let tmpRoot: string | undefined;
  let server: Server | undefined;
  let httpPort = 0;
  const hlsSinks = new Map<string, HlsSink>();

  // Encode every stream's cycle in the background (in parallel). Replay starts, for all
  // streams together, once the encoders are far enough ahead never to be caught up.
  const t0Render = performance.now();
  const renders: ProgressiveRender[] = [];
  try {
    // FLV wants the codecs' headers out of band (global header), as MP4 does.
    for (const s of scenario.streams)
      renders.push(await startRender(s, { seed: scenario.seed, threads: 1, damage, globalHeader: s.output.type === 'rtmp' || s.output.type === 'rtsp' }));
  } catch (e) {
    for (const r of renders) r.abort();
    await Promise.allSettled(renders.map((r) => r.done));
    for (const r of renders) r.enc.free();
    throw e;
  }
  let renderError: unknown;
  let stopping = false;
  for (const r of renders) {
    r.done.catch((e: unknown) => {
      if (stopping) return; // aborted by stop()
      renderError ??= e;
      log.error({ err: e, stream: r.enc.stream.id }, 'encoding failed');
    });
  }
  const encoded: EncodedCycle[] = renders.map((r) => r.enc);
  try {
    await waitForLead(renders, () => renderError);
  } catch (e) {
    stopping = true;
    for (const r of renders) r.abort();
    await Promise.allSettled(renders.map((r) => r.done));
    for (const r of renders) r.enc.free();
    throw e;
  }
  log.info(
    { ms: Math.round(performance.now() - t0Render), streams: encoded.length },
    'encoders ahead; starting replay',
  );

  const lives: LiveStream[] = [];
  const srtSenders: SrtSender[] = [];
  const cleanup = async () => {
    stopping = true;
    for (const l of lives) l.sink.close();
    await Promise.allSettled(srtSenders.map((x) => x.close()));
    for (const r of renders) r.abort();
    await Promise.allSettled(renders.map((r) => r.done));
    for (const enc of encoded) enc.free();
    if (server) {
      const s = server;
      await new Promise<void>((res) => {
        s.close(() => res());
        s.closeAllConnections();
      });
    }
    if (tmpRoot) await rm(tmpRoot, { recursive: true, force: true });
  };

  try {
    if (hlsStreams.length) {
      tmpRoot = await mkdtemp(join(tmpdir(), 'vigil-sim-'));
      server = createServer((req, res) => void serveHls(req, res, hlsSinks));
      const srv = server;
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(scenario.hlsPort, '127.0.0.1', () => res());
      });
      httpPort = (srv.address() as AddressInfo).port;
    }
    for (const enc of encoded) {
      const s: ScenarioStream = enc.stream;
      if (s.output.type === 'udp') {
        const port = s.output.port || (await freeUdpPort(s.output.host));
        const host = s.output.host;
        const url = `udp://${host}:${port}`;
        const damager = tsDamagerFor(s, streamSeed(s, scenario.seed));
        const relay = damager ? await startRelay((sock, out) => sock.send(out, port, host), damager, log) : undefined;
        const sendTo = relay ? `udp://127.0.0.1:${relay.port}` : url;
        const sink = new UdpSink(`${sendTo}?pkt_size=1316`, enc, log, relay?.sock, s.output.muxrateKbps);
        lives.push(new LiveStream(enc as ProgressiveRender['enc'], sink, url));
      } else if (s.output.type === 'srt') {
        const port = s.output.port || (await freeUdpPort('127.0.0.1'));
        const sender = new SrtSender(port, s.output.latency, log);
        srtSenders.push(sender);
        const relay = await startRelay((_, out) => sender.send(out), tsDamagerFor(s, streamSeed(s, scenario.seed)), log);
        const sink = new UdpSink(`udp://127.0.0.1:${relay.port}?pkt_size=1316`, enc, log, relay.sock);
        lives.push(new LiveStream(enc as ProgressiveRender['enc'], sink, `srt://127.0.0.1:${port}`));
      } else if (s.output.type === 'rtmp') {
        lives.push(new LiveStream(enc as ProgressiveRender['enc'], new PublishSink(s.output.url, 'flv', enc, log), s.output.url));
      } else if (s.output.type === 'rtsp') {
        lives.push(new LiveStream(enc as ProgressiveRender['enc'], new PublishSink(s.output.url, 'rtsp', enc, log), s.output.url));
      } else if (s.output.type === 'hls') {
        const damager = tsDamagerFor(s, streamSeed(s, scenario.seed));
        const sink = new HlsSink(join(tmpRoot!, s.id), enc, s.output.segmentSeconds, s.output.windowSize, log, damager);
        hlsSinks.set(s.id, sink);
        lives.push(
          new LiveStream(enc as ProgressiveRender['enc'], sink, `http://127.0.0.1:${httpPort}/${s.id}/index.m3u8`),
        );
      }
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  for (const l of lives)
    l.onStall = (id, at) => log.warn({ stream: id, at }, 'replay caught up with the encoder: output stalls');
  // Replay clock: all streams share one start instant, startDelay after we return.
  const start = performance.now() + scenario.startDelay * 1000;
  const tickAll = () => {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed < 0) return;
    for (const l of lives) {
      try {
        l.tick(elapsed);
      } catch (e) {
        log.error({ err: e, stream: l.id }, 'replay tick failed');
      }
    }
  };
  tickAll();
  const timer = setInterval(tickAll, TICK_MS);

  const allTruth = () =>
    lives
      .flatMap((l) => l.truth)
      .sort((a, b) => (a.wallStart ?? '').localeCompare(b.wallStart ?? '') || a.start - b.start);

  let writing: Promise<void> = Promise.resolve();
  const writeTruth = (force: boolean) => {
    const path = opts.truthPath;
    if (!path) return writing;
    if (!force && !lives.some((l) => l.changed)) return writing;
    for (const l of lives) l.changed = false;
    const json = JSON.stringify(allTruth(), null, 2) + '\n';
    writing = writing.then(async () => {
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, json);
        await rename(tmp, path);
      } catch (e) {
        log.warn({ err: e, path }, 'cannot write ground truth file');
      }
    });
    return writing;
  };
  const truthTimer = opts.truthPath ? setInterval(() => void writeTruth(false), 1000) : undefined;
  if (opts.truthPath) await writeTruth(true);

  let stopped: Promise<void> | undefined;
  return {
    streams: lives.map((l) => ({ id: l.id, url: l.url, output: l.enc.stream.output.type as 'udp' | 'srt' | 'rtmp' | 'rtsp' | 'hls' })),
    truth: () => allTruth().map((e) => ({ ...e })),
    stop() {
      stopped ??= (async () => {
        clearInterval(timer);
        if (truthTimer) clearInterval(truthTimer);
        await writeTruth(true);
        await cleanup();
      })();
      return stopped;
    },
  };
}

/**
 * Wait until replay can start without catching up with any encoder. With an encoder at
 * `r` media seconds per wall second, a cycle finishes at cycle/r; replay started at wall
 * time W reaches the end at W + cycle, so W >= cycle/r - cycle (with margin) suffices.
 */
async function waitForLead(renders: ProgressiveRender[], failed: () => unknown): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const err = failed();
    if (err) throw err instanceof Error ? err : new Error('encoding failed', { cause: err });
    const e = (performance.now() - t0) / 1000;
    const ready = renders.every(({ enc }) => {
      if (enc.complete) return true;
      const lead = Math.min(enc.cycleSeconds, 2);
      if (enc.encodedSeconds < lead || e < 1) return false;
      const rate = enc.encodedSeconds / e;
      const remaining = (enc.cycleSeconds - enc.encodedSeconds) / rate; // wall seconds to finish
      // Replay needs cycle - encodedSeconds media seconds more before it would reach the end.
      return remaining * 1.3 + 0.5 < enc.cycleSeconds - 0.5;
    });
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function serveHls(req: IncomingMessage, res: ServerResponse, sinks: Map<string, HlsSink>): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const m = /^\/([A-Za-z0-9_-]+)\/([A-Za-z0-9_.-]+)$/.exec(url.pathname);
  const sink = m ? sinks.get(m[1]!) : undefined;
  if (!m || !sink || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404).end();
    return;
  }
  const file = m[2]!;
  if (file === 'index.m3u8') {
    await sink.ready(10_000);
    if (!sink.playlist) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : sink.playlist);
    return;
  }
  if (!/^seg\d+\.ts$/.test(file)) {
    res.writeHead(404).end();
    return;
  }
  const path = join(sink.dir, file);
  if (!existsSync(path)) {
    res.writeHead(404).end();
    return;
  }
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': size, 'cache-control': 'no-cache' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const rs = createReadStream(path);
  rs.on('error', () => res.destroy());
  rs.pipe(res);
}
