/** A StreamSource watched in process: records edges and when media (fresh frames) arrived. */
import { createServer } from 'node:net';
import { StreamSource, setMediaLogLevel, type SourceOptions } from '../../src/ingest/index.ts';
import type { IntervalEdge, StreamInfo, TsEvent } from '../../src/shared/index.ts';

export interface Watched {
  readonly source: StreamSource;
  readonly edges: (IntervalEdge & { receivedAt: number })[];
  /** Wall times (ms) of every video frame and audio chunk handed to the sink. */
  readonly media: number[];
  /** The same, with kind and media time (and, for video, the decoder's damage flag, keyframe and interlace flag). */
  readonly log: { kind: 'video' | 'audio'; wall: number; media: number; decodeError?: boolean; keyFrame?: boolean; interlaced?: boolean }[];
  /** TR 101 290 findings on the raw bytes (MPEG-TS files and UDP are read through the analyzer). */
  readonly ts: TsEvent[];
  /** Each connection's StreamInfo. */
  readonly infos: StreamInfo[];
  readonly done: Promise<void>;
}

export function watchSource(opts: SourceOptions): Watched {
  setMediaLogLevel('quiet');
  const edges: Watched['edges'] = [];
  const media: number[] = [];
  const log: Watched['log'] = [];
  const ts: TsEvent[] = [];
  const infos: StreamInfo[] = [];
  const source = new StreamSource(opts, {
    video: (v) => {
      media.push(Date.now());
      log.push({ kind: 'video', wall: Date.now(), media: v.mediaTime, decodeError: v.decodeError, keyFrame: v.keyFrame, interlaced: v.interlaced });
    },
    audio: (a) => {
      media.push(Date.now());
      log.push({ kind: 'audio', wall: Date.now(), media: a.mediaTime });
    },
    edge: (e) => void edges.push({ ...e, receivedAt: Date.now() }),
    discontinuity: () => {},
    ts: (e) => void ts.push(e),
    info: (i) => void infos.push(i),
  });
  const done = source.run().catch(() => {});
  return { source, edges, media, log, ts, infos, done };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** A TCP port on loopback that was free a moment ago. */
export async function freeTcpPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
