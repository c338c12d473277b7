/**
 * A tiny MPEG-TS over UDP relay on loopback, standing in for the network between a live
 * encoder (the simulator) and the monitor. It receives on the simulator's port and forwards
 * to another port, and a test steers it:
 * - 'pass': forward everything;
 * - 'drop': forward nothing (a network outage);
 * - 'stall': keep forwarding until the next video keyframe has been sent whole, then forward
 *   nothing live and instead resend that keyframe (its TS packets unchanged, so the same PTS
 *   every time: the last frame's timestamp repeated) at 25 fps, with PAT/PMT, and no audio:
 *   an upstream encoder stuck repeating its last frame;
 * - 'nopat': forward everything but the PAT (PID 0), counters kept continuous: a multiplexer
 *   that stopped sending its PAT.
 */
import { createSocket, type Socket } from 'node:dgram';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';

export type RelayMode = 'pass' | 'drop' | 'stall' | 'nopat';

const TS = 188;

export interface Relay {
  /** URL for the monitor to open. */
  readonly url: string;
  mode: RelayMode;
  /** Wall time (ms) of the last datagram forwarded from the live input. */
  readonly lastForwardAt: number;
  /** Wall time (ms) the stall actually began (the last live packet was forwarded), 0 before. */
  readonly stalledAt: number;
  /** Datagrams sent while stalled. */
  readonly stallSends: number;
  close(): Promise<void>;
}

/** A free UDP port on 127.0.0.1 (bound and released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export async function startRelay(fromUrl: string): Promise<Relay> {
  const inPort = Number(new URL(fromUrl).port);
  const outPort = await freeUdpPort();
  const rx: Socket = createSocket({ type: 'udp4', reuseAddr: false });
  const tx: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => rx.bind(inPort, '127.0.0.1', resolve));

  // TS bookkeeping for 'stall': per-PID continuity counters for what we send, the latest
  // PSI packet of each non-PES PID, and the TS packets of the last complete video keyframe.
  const cc = new Map<number, number>();
  const psi = new Map<number, Buffer>();
  const pesPids = new Set<number>();
  let videoPid = -1;
  let current: Buffer[] = [];
  let currentKey = false;
  let lastKey: Buffer[] = [];

  /** Tracks PSI and video PES boundaries; true when this packet starts a PES right after a complete keyframe. */
  function inspect(pkt: Buffer): boolean {
    if (pkt[0] !== 0x47) return false;
    const pusi = (pkt[1]! & 0x40) !== 0;
    const pid = ((pkt[1]! & 0x1f) << 8) | pkt[2]!;
    const afc = (pkt[3]! >> 4) & 3;
    const afLen = afc & 2 ? pkt[4]! : -1;
    const rai = afc & 2 && afLen > 0 ? (pkt[5]! & 0x40) !== 0 : false;
    const payload = 4 + (afc & 2 ? 1 + afLen : 0);
    if (pusi && payload + 4 <= TS) {
      const isPes = pkt[payload] === 0 && pkt[payload + 1] === 0 && pkt[payload + 2] === 1;
      if (isPes) {
        pesPids.add(pid);
        const sid = pkt[payload + 3]!;
        if (sid >= 0xe0 && sid <= 0xef) videoPid = pid;
      } else if (!pesPids.has(pid)) {
        psi.set(pid, Buffer.from(pkt));
      }
    }
    if (pid !== videoPid) return false;
    let keyDone = false;
    if (pusi) {
      if (currentKey && current.length > 0) {
        lastKey = current;
        keyDone = true;
      }
      current = [];
      currentKey = rai;
    }
    current.push(Buffer.from(pkt));
    return keyDone;
  }

  /** Rewrites continuity counters so the output is a continuous stream whatever we resend. */
  function restamp(pkt: Buffer): Buffer {
    const out = Buffer.from(pkt);
    const pid = ((out[1]! & 0x1f) << 8) | out[2]!;
    if (((out[3]! >> 4) & 1) === 0) return out; // no payload: counter does not advance
    const next = ((cc.get(pid) ?? -1) + 1) & 0xf;
    cc.set(pid, next);
    out[3] = (out[3]! & 0xf0) | next;
    return out;
  }

  function send(pkts: Buffer[]): void {
    for (let i = 0; i < pkts.length; i += 7) {
      tx.send(Buffer.concat(pkts.slice(i, i + 7).map(restamp)), outPort, '127.0.0.1');
    }
  }

  let mode: RelayMode = 'pass';
  /** 'stall' asked for, waiting for a keyframe to end. */
  let stalled = false;
  const relay = {
    url: `udp://127.0.0.1:${outPort}`,
    get mode(): RelayMode {
      return mode;
    },
    set mode(m: RelayMode) {
      mode = m;
      if (m !== 'stall') {
        stalled = false;
        relay.stalledAt = 0;
      }
    },
    lastForwardAt: 0,
    stalledAt: 0,
    stallSends: 0,
    close: async (): Promise<void> => {
      clearInterval(stallTimer);
      await new Promise<void>((resolve) => rx.close(() => resolve()));
      await new Promise<void>((resolve) => tx.close(() => resolve()));
    },
  };

  rx.on('message', (msg: Buffer) => {
    if (mode === 'drop' || stalled) return;
    const pkts: Buffer[] = [];
    for (let o = 0; o + TS <= msg.length; o += TS) {
      const p = msg.subarray(o, o + TS);
      if (inspect(p) && mode === 'stall') {
        // The keyframe just completed is the last frame this 'encoder' ever sends.
        stalled = true;
        relay.stalledAt = Date.now();
        break;
      }
      if (mode === 'nopat' && ((p[1]! & 0x1f) << 8 | p[2]!) === 0) continue;
      pkts.push(p);
    }
    if (pkts.length === 0) return;
    relay.lastForwardAt = Date.now();
    send(pkts);
  });

  let tick = 0;
  const stallTimer = setInterval(() => {
    if (!stalled || lastKey.length === 0) return;
    const tables = tick++ % 5 === 0 ? [...psi.values()] : [];
    send([...tables, ...lastKey]);
    relay.stallSends++;
  }, 40);

  return relay;
}

/** One small live simulator stream (320x180 at 200 kbit/s, mono audio, no defects) behind a relay. */
export async function relayedStream(id: string): Promise<{ sim: SimulationHandle; relay: Relay; close(): Promise<void> }> {
  const sim = await startSimulation(
    parseScenario({
      streams: [
        {
          id,
          output: { type: 'udp', port: 0 },
          clock: false,
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 200 },
          audio: { sampleRate: 48000, channels: 1, bitrateKbps: 32 },
          cycle: 60,
          schedule: [],
        },
      ],
    }),
  );
  const relay = await startRelay(sim.streams[0]!.url);
  return {
    sim,
    relay,
    async close() {
      await relay.close();
      await sim.stop();
    },
  };
}
