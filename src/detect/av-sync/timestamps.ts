import type { AudioChunk, PacketInfo } from '../../shared/index.ts';

/** MPEG-TS timestamps wrap at 2^33 ticks of 90 kHz. */
const WRAP = 2 ** 33 / 90000;
/** A timestamp step larger than this (s) on one track is a discontinuity, not drift. */
const MAX_STEP = 10;
/**
 * Packets' A-V timestamp skew is the middle of its range over this much media time (s). Muxers
 * interleave audio in bursts, so the raw skew is a sawtooth (0.65 s period and 660 ms deep in an
 * MP4 of the shared clips); the middle of its envelope (5th to 95th percentile) over 5 s stays
 * within 11 ms of its baseline there, where a 2 s median wobbled by 80 ms.
 */
const SKEW_SPAN = 5;
/** Seconds of smoothed skew learnt as the baseline after a (re)start. */
const BASELINE_SPAN = 1;
/** A step of one track's timestamps this far (s) off its packet duration is a jump. */
const JUMP_STEP = 0.05;
/** An audio timestamp step against the sample clock larger than this (s) is a gap/overlap, not drift. */
const AUDIO_GAP = 0.02;
/**
 * A track with no packet for this long (s of arrival time) has stalled: it went missing (the
 * audio_missing / video_missing detectors' business), not out of sync. Longer than a muxer's
 * interleaving burst (1 s in MP4 chunks; 0.65 s in the shared clips).
 */
const STALL = 1.5;
/** Seconds a stalled track must flow again before skew samples resume (a muxer releases held packets of the other track meanwhile). */
const SETTLE = 1;

export interface TimestampState {
  /** Change of the A-V packet timestamp skew against its baseline (s), positive = audio timestamps ahead. */
  readonly skewChange: number;
  /** Audio timestamps minus the audio sample clock since the last gap (s). */
  readonly audioClock: number;
  /** Seconds over which the audio clock comparison runs. */
  readonly audioSpan: number;
  /** Seconds since the skew baseline was learnt. */
  readonly skewSpan: number;
  /** Media time of the latest timestamp step off a track's packet-duration grid (NaN: none). */
  readonly lastJump: number;
  /** Its size (s): the step minus the packet duration, positive = audio ahead (video steps count negative). */
  readonly lastJumpSize: number;
  /** Rate of the audio timestamps against the sample clock over the last 5 s (s per s). */
  readonly audioClockRate: number;
  /** Rate of change of the skew over the last 10 s (least squares; s per s, x1e6 = ppm). */
  readonly skewRate: number;
  readonly ready: boolean;
}

interface TrackTs {
  lastRaw: number;
  unwrapped: number;
  /** Duration of the last packet (s), 0 when unknown. */
  lastDuration: number;
  /** Arrival (ingest media time) of the last packet, and of the first after the last stall (-Infinity: none). */
  lastArrival: number;
  resumedAt: number;
}

/**
 * Container timestamp consistency, from what ingest saw before decoding:
 * - A-V skew: the latest audio timestamp minus the latest video timestamp (decode order,
 *   unwrapped per track) at each video packet's arrival, the middle of its range over 5 s of media. A muxer
 *   or encoder writes tracks interleaved by capture time, so the skew is steady; when one
 *   track's timestamps start running at another rate, or jump, the skew moves away from the
 *   baseline learnt in the first seconds.
 * - Audio clock: audio chunk timestamps against the count of samples decoded since the last
 *   gap; a rate difference accumulates here even without video.
 * Per-track jumps over 10 s (HLS discontinuities, reconnects) restart both measurements; the
 * 33-bit MPEG-TS wrap is unwrapped.
 */
export class TimestampWatch {
  private audio: TrackTs | undefined;
  private video: TrackTs | undefined;
  /** (media time, skew) samples in the smoothing span. */
  private readonly raw: { t: number; s: number }[] = [];
  /** (media time, smoothed skew) history for baseline and step detection. */
  private readonly smooth: { t: number; s: number }[] = [];
  private baseline = Number.NaN;
  private baselineAt = Number.NaN;
  private firstT = Number.NaN;
  private lastJump = Number.NaN;
  private lastJumpSize = 0;
  /** (media time, audio clock drift) every 0.25 s, the last 5 s. */
  private readonly clockHistory: { t: number; s: number }[] = [];
  // Audio clock.
  private clockStart = Number.NaN;
  private clockSamples = 0;
  private clockRate = 0;
  /** Timestamp minus sample clock of the latest chunk, since clockStart (s). */
  private clockErr = 0;
  /** Drift measured before the last gap (s). */
  private clockCarried = 0;
  private clockSpan = 0;

  packet(p: PacketInfo): void {
    const raw = Number.isFinite(p.dts) ? p.dts : p.pts;
    if (!Number.isFinite(raw)) return;
    const track = p.track === 'audio' ? this.audio : this.video;
    if (!track) {
      const t = { lastRaw: raw, unwrapped: raw, lastDuration: p.duration, lastArrival: p.mediaTime, resumedAt: -Infinity };
      if (p.track === 'audio') this.audio = t;
      else this.video = t;
    } else {
      if (p.mediaTime - track.lastArrival > STALL) track.resumedAt = p.mediaTime;
      track.lastArrival = p.mediaTime;
      let d = raw - track.lastRaw;
      if (d < -WRAP / 2) d += WRAP;
      else if (d > WRAP / 2) d -= WRAP;
      track.lastRaw = raw;
      if (Math.abs(d) > MAX_STEP) {
        // Discontinuity on one track: the other will jump too (or not); start over.
        this.restart();
        const t = { lastRaw: raw, unwrapped: raw, lastDuration: p.duration, lastArrival: p.mediaTime, resumedAt: -Infinity };
        if (p.track === 'audio') this.audio = t;
        else this.video = t;
        return;
      }
      track.unwrapped += d;
      const off = d - track.lastDuration;
      if (track.lastDuration > 0 && Math.abs(off) > JUMP_STEP && d !== 0) {
        this.lastJump = p.mediaTime;
        this.lastJumpSize = p.track === 'audio' ? off : -off;
      }
      track.lastDuration = p.duration;
    }
    // One skew sample per video packet (video packets pace the stream).
    if (!this.audio || !this.video || p.track !== 'video') return;
    const t = p.mediaTime;
    if (t - this.audio.lastArrival > STALL) {
      // Audio stopped arriving: the samples since its last packet measured a missing track, not a
      // skew. Take them back (and the smoothed values made from them), and take none until it flows.
      const since = this.audio.lastArrival;
      while (this.raw.length > 0 && this.raw[this.raw.length - 1]!.t > since) this.raw.pop();
      while (this.smooth.length > 0 && this.smooth[this.smooth.length - 1]!.t > since) this.smooth.pop();
      return;
    }
    if (t - this.audio.resumedAt < SETTLE || t - this.video.resumedAt < SETTLE) return;
    if (Number.isNaN(this.firstT)) this.firstT = t;
    this.raw.push({ t, s: this.audio.unwrapped - this.video.unwrapped });
    let drop = 0;
    while (drop < this.raw.length && this.raw[drop]!.t < t - SKEW_SPAN) drop++;
    if (drop) this.raw.splice(0, drop);
    const last = this.smooth[this.smooth.length - 1];
    if (t - this.firstT < SKEW_SPAN || (last && t - last.t < 0.25)) return;
    // 5th and 95th percentiles: the envelope without the odd transient at a discontinuity.
    const sorted = this.raw.map((r) => r.s).sort((a, b) => a - b);
    const lo = sorted[Math.floor((sorted.length - 1) * 0.05)]!;
    const hi = sorted[Math.ceil((sorted.length - 1) * 0.95)]!;
    this.smooth.push({ t, s: (lo + hi) / 2 });
    drop = 0;
    while (drop < this.smooth.length && this.smooth[drop]!.t < t - 10) drop++;
    if (drop) this.smooth.splice(0, drop);
    if (Number.isNaN(this.baseline) && t - this.firstT >= SKEW_SPAN + BASELINE_SPAN) {
      const base = this.smooth.map((x) => x.s).sort((a, b) => a - b);
      this.baseline = base[base.length >> 1]!;
      this.baselineAt = t;
    }
  }

  audioChunk(a: AudioChunk): void {
    if (a.nbSamples === 0) return;
    if (Number.isNaN(this.clockStart) || a.sampleRate !== this.clockRate) {
      this.clockStart = a.mediaTime;
      this.clockRate = a.sampleRate;
      this.clockSamples = 0;
      this.clockErr = 0;
      this.clockCarried = 0;
      this.clockSpan = 0;
    } else {
      const err = a.mediaTime - (this.clockStart + this.clockSamples / this.clockRate);
      if (Math.abs(err - this.clockErr) > AUDIO_GAP) {
        // A gap or overlap, not drift: keep the drift measured so far and compare afresh from here.
        this.clockCarried += this.clockErr;
        this.clockSpan += this.clockSamples / this.clockRate;
        this.clockStart = a.mediaTime;
        this.clockSamples = 0;
        this.clockErr = 0;
      } else {
        this.clockErr = err;
      }
    }
    this.clockSamples += a.nbSamples;
    const h = this.clockHistory;
    const lastH = h[h.length - 1];
    if (!lastH || a.mediaTime - lastH.t >= 0.25) {
      h.push({ t: a.mediaTime, s: this.clockCarried + this.clockErr });
      while (h.length && h[0]!.t < a.mediaTime - 5) h.shift();
    }
  }

  /** Where things stand at media time `t`. */
  state(t: number): TimestampState {
    const last = this.smooth[this.smooth.length - 1];
    return {
      skewChange: !Number.isNaN(this.baseline) && last ? last.s - this.baseline : 0,
      skewSpan: Number.isNaN(this.baselineAt) ? 0 : t - this.baselineAt,
      audioClock: this.clockCarried + this.clockErr,
      audioSpan: this.clockSpan + (Number.isNaN(this.clockStart) ? 0 : this.clockSamples / this.clockRate),
      lastJump: this.lastJump,
      lastJumpSize: this.lastJumpSize,
      audioClockRate: slope(this.clockHistory),
      skewRate: slope(this.smooth),
      ready: !Number.isNaN(this.baseline),
    };
  }

  /** Discontinuity: forget everything. */
  restart(): void {
    this.audio = undefined;
    this.video = undefined;
    this.raw.length = 0;
    this.smooth.length = 0;
    this.baseline = Number.NaN;
    this.baselineAt = Number.NaN;
    this.firstT = Number.NaN;
  }

  restartClock(): void {
    this.clockHistory.length = 0;
    this.clockStart = Number.NaN;
    this.clockErr = 0;
    this.clockCarried = 0;
    this.clockSpan = 0;
  }
}

/** Least-squares slope of s over t. */
function slope(pts: readonly { t: number; s: number }[]): number {
  const n = pts.length;
  if (n < 3) return 0;
  let st = 0;
  let ss = 0;
  for (const p of pts) {
    st += p.t;
    ss += p.s;
  }
  const mt = st / n;
  const ms = ss / n;
  let num = 0;
  let den = 0;
  for (const p of pts) {
    num += (p.t - mt) * (p.s - ms);
    den += (p.t - mt) ** 2;
  }
  return den > 0 ? num / den : 0;
}
