/**
 * One-time input generation for the bench (not measured): H.264 + AAC in MPEG-TS, made
 * with node-av from lavfi sources. testsrc2 (moving pattern) with temporal grain for
 * natural-looking noise, a stretch of black, a freeze (grain frozen too) and a stretch
 * of silence, so every detector has work; the rest is normal moving content and tone.
 */
import '../src/shared/polyfill.ts';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Decoder, Demuxer, Encoder, Muxer } from 'node-av/api';
import { AV_SAMPLE_FMT_FLTP, FF_ENCODER_AAC, FF_ENCODER_LIBX264 } from 'node-av/constants';
import { Rational, type Packet } from 'node-av/lib';
import { setMediaLogLevel } from '../src/ingest/media-log.ts';

export interface InputSpec {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Video bitrate, bits/s. */
  readonly bitrate: number;
  readonly seconds: number;
}

export interface Segments {
  readonly black: readonly [number, number];
  readonly freeze: readonly [number, number];
  readonly silence: readonly [number, number];
}

/** Where the defects are, in media seconds: a few seconds each, most of the input is normal. */
export function segmentsFor(seconds: number): Segments {
  if (seconds >= 40)
    return {
      black: [15, 19],
      freeze: [30, 35],
      silence: [45, 49],
    };
  // Short (--quick) inputs: still longer than the 2 s every detector waits for.
  const s = seconds / 10;
  return { black: [2 * s, 5 * s], freeze: [6 * s, 9 * s], silence: [3 * s, 6.5 * s] };
}

export function lavfiGraph(spec: InputSpec): string {
  const { width, height, fps, seconds } = spec;
  const seg = segmentsFor(seconds);
  const f0 = Math.round(seg.freeze[0] * fps);
  const f1 = Math.round(seg.freeze[1] * fps) - 1;
  const video = [
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    // Temporal + uniform grain: every frame differs a little, as from a real camera/encoder chain.
    'noise=alls=8:allf=t+u',
    // freezeframes repeats one frame (its grain included) over the freeze: a stalled picture.
    `split[a][b];[a][b]freezeframes=first=${f0}:last=${f1}:replace=${f0 - 1}`,
    `drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,${seg.black[0]},${seg.black[1]})'`,
    'format=yuv420p[out0]',
  ].join(',');
  const audio = [
    `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${seconds}`,
    `volume=volume=0:enable='between(t,${seg.silence[0]},${seg.silence[1]})'`,
    'aformat=sample_fmts=flt:channel_layouts=stereo[out1]',
  ].join(',');
  return `${video};${audio}`;
}

/** Writes `path` unless it already exists. Returns true when it generated. */
export async function ensureInput(path: string, spec: InputSpec, log: (s: string) => void = () => {}): Promise<boolean> {
  if (existsSync(path) && statSync(path).size > 0) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial.ts`;
  const t0 = performance.now();
  setMediaLogLevel('error');
  log(`generating ${path} (${spec.width}x${spec.height}@${spec.fps}, ${spec.seconds} s, ${spec.bitrate / 1e6} Mbit/s) ...`);
  const src = await Demuxer.open(lavfiGraph(spec), { format: 'lavfi' });
  const mux = await Muxer.open(tmp, { format: 'mpegts' });
  try {
    const vs = src.video();
    const as = src.audio();
    if (!vs || !as) throw new Error('lavfi graph gave no audio or video stream');
    const vdec = await Decoder.create(vs);
    const adec = await Decoder.create(as, { resample: { sampleFormat: AV_SAMPLE_FMT_FLTP } });
    const gop = spec.fps * 2;
    const venc = await Encoder.create(FF_ENCODER_LIBX264, {
      decoder: vdec,
      context: {
        framerate: new Rational(spec.fps, 1),
        bitRate: String(spec.bitrate),
        rcMaxRate: String(Math.round(spec.bitrate * 1.1)),
        rcBufferSize: String(spec.bitrate * 2),
        gopSize: gop,
      },
      options: { preset: 'veryfast', 'x264-params': `keyint=${gop}:min-keyint=${gop}:scenecut=0` },
    });
    const aenc = await Encoder.create(FF_ENCODER_AAC, { decoder: adec, context: { bitRate: '128000' } });
    const vi = mux.addStream(venc);
    const ai = mux.addStream(aenc);
    const write = async (pkts: Packet[], idx: number): Promise<void> => {
      for (const p of pkts) {
        await mux.writePacket(p, idx);
        p.free();
      }
    };
    for await (const pkt of src.packets()) {
      if (!pkt) break;
      if (pkt.streamIndex === vs.index) {
        for (const f of vdec.decodeAllSync(pkt)) {
          await write(await venc.encodeAll(f), vi);
          f.free();
        }
      } else if (pkt.streamIndex === as.index) {
        for (const f of adec.decodeAllSync(pkt)) {
          await write(await aenc.encodeAll(f), ai);
          f.free();
        }
      }
      pkt.free();
    }
    for (const f of vdec.decodeAllSync(null)) {
      await write(await venc.encodeAll(f), vi);
      f.free();
    }
    for (const f of adec.decodeAllSync(null)) {
      await write(await aenc.encodeAll(f), ai);
      f.free();
    }
    await write(await venc.encodeAll(null), vi);
    await write(await aenc.encodeAll(null), ai);
    vdec.close();
    adec.close();
    venc.close();
    aenc.close();
  } finally {
    await mux.close();
    await src.close();
  }
  renameSync(tmp, path);
  const mbit = (statSync(path).size * 8) / spec.seconds / 1e6;
  log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${mbit.toFixed(2)} Mbit/s overall`);
  return true;
}
