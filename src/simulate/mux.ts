/**
 * Thin muxer over node-av's low-level FormatContext: copies already-encoded packets
 * into a container (stream copy, no re-encoding), shifting timestamps per loop.
 */
import { AVFMT_NOFILE } from 'node-av/constants';
import { FFmpegError, FormatContext, Packet, Rational } from 'node-av/lib';
import type { IRational } from 'node-av/lib';
import { setOpt, type EncodedPacket, type EncodedTrack } from './render.ts';

export class PacketMuxer {
  private ctx: FormatContext | null = new FormatContext();
  private scratch = new Packet();
  private trackIndex = new Map<string, { index: number; src: IRational; dst: IRational }>();
  private opened = false;
  private headerWritten = false;

  constructor(
    private readonly url: string,
    private readonly format: string | null,
    private readonly tracks: readonly EncodedTrack[],
    private readonly options: Record<string, string> = {},
  ) {
    this.scratch.alloc();
  }

  /** Open the output and write the header (synchronous: small, local I/O). */
  open(): this {
    const ctx = this.ctx!;
    FFmpegError.throwIfError(ctx.allocOutputContext2(null, this.format, this.url), `open muxer ${this.url}`);
    for (const tr of this.tracks) {
      const st = ctx.newStream(null);
      FFmpegError.throwIfError(tr.par.copy(st.codecpar), 'copy codec parameters');
      st.codecpar.codecTag = 0;
      st.timeBase = new Rational(tr.timeBase.num, tr.timeBase.den);
      this.trackIndex.set(tr.kind, { index: st.index, src: tr.timeBase, dst: tr.timeBase });
    }
    const of = ctx.oformat;
    if (!of || !(of.flags & AVFMT_NOFILE)) {
      FFmpegError.throwIfError(ctx.openOutputSync(), `open ${this.url}`);
      this.opened = true;
    }
    for (const [k, v] of Object.entries(this.options)) setOpt(ctx, k, v);
    FFmpegError.throwIfError(ctx.writeHeaderSync(null), `write header ${this.url}`);
    this.headerWritten = true;
    for (const [kind, v] of this.trackIndex) {
      const st = ctx.streams[v.index]!;
      this.trackIndex.set(kind, { ...v, dst: st.timeBase });
    }
    return this;
  }

  /** Write one stored packet with its timestamps shifted by `shift` ticks of its track. */
  write(ep: EncodedPacket, shift: bigint): void {
    const ctx = this.ctx;
    if (!ctx || !this.headerWritten) return;
    const ti = this.trackIndex.get(ep.kind);
    if (!ti) return;
    const p = this.scratch;
    FFmpegError.throwIfError(p.ref(ep.pkt), 'packet ref');
    p.streamIndex = ti.index;
    p.pts = ep.pts + shift;
    p.dts = ep.dts + shift;
    p.duration = ep.duration;
    p.rescaleTs(ti.src, ti.dst);
    const ret = ctx.writeFrameSync(p);
    p.unref();
    FFmpegError.throwIfError(ret, `write packet ${this.url}`);
  }

  flush(): void {
    if (this.ctx && this.headerWritten) this.ctx.flushSync();
  }

  /** Write the trailer, close I/O and free everything. Safe to call twice. */
  close(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    this.ctx = null;
    try {
      if (this.headerWritten) ctx.writeTrailerSync();
    } finally {
      if (this.opened) ctx.closeOutputSync();
      ctx.freeContext();
      this.scratch.free();
    }
  }
}
