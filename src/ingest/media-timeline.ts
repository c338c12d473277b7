/**
 * Maps each track's presentation timestamps onto one monotonic media timeline, in
 * seconds since the first decoded frame of the input. Real inputs wrap (33-bit MPEG-TS
 * PTS), jump at HLS discontinuities and restart after reconnects; none of that may make
 * time run backwards or leap, or every interval downstream would be wrong.
 */
/** Seconds a live track's timestamps may run ahead of the wall clock across one step (buffering, bursts). */
const LIVE_SLACK = 2;

export class MediaTimeline {
  private origin = Number.NaN;
  private readonly tracks = new Map<number, { lastPts: number; lastMedia: number; lastWall: number }>();
  /** Latest media time handed out on any track. */
  private latest = 0;
  private latestWall = 0;
  /** Media time at which tracks first seen after a rebase start. */
  private base = 0;

  /**
   * @param maxGap largest forward jump (s) accepted as a real gap in media time; bigger
   *   jumps and any backward step are discontinuities, bridged with wall-clock time.
   * @param live the input is delivered in real time: a forward jump is a real gap only as far as
   *   the wall clock also moved (plus LIVE_SLACK for buffering); beyond that it is a
   *   discontinuity (an encoder restart or splice that moved its timestamps on), bridged with
   *   wall-clock time like a backward step.
   */
  constructor(
    private readonly maxGap = 30,
    private readonly live = false,
  ) {}

  get now(): number {
    return this.latest;
  }

  /**
   * @param track stream index
   * @param pts presentation time in seconds (NaN when unknown)
   * @param duration nominal duration of this frame or chunk (s)
   * @param wall wall time in ms
   */
  map(track: number, pts: number, duration: number, wall: number): number {
    const state = this.tracks.get(track);
    let media: number;
    if (!state) {
      if (Number.isNaN(this.origin) && Number.isFinite(pts)) this.origin = pts;
      const rel = Number.isFinite(pts) ? pts - this.origin : Number.NaN;
      // A second track starts where its timestamps say, if they are plausibly aligned.
      media = Number.isFinite(rel) && rel >= -1 && rel <= 10 ? this.base + Math.max(0, rel) : this.latest;
      this.tracks.set(track, { lastPts: pts, lastMedia: media, lastWall: wall });
    } else {
      const delta = pts - state.lastPts;
      const wallGap = Math.max(0, (wall - state.lastWall) / 1000);
      const limit = this.live ? Math.min(this.maxGap, Math.max(duration, wallGap) + LIVE_SLACK) : this.maxGap;
      if (Number.isFinite(delta) && delta >= 0 && delta <= limit) {
        media = state.lastMedia + delta;
      } else {
        // Discontinuity: continue from this track's last time, plus the wall time that passed.
        media = state.lastMedia + Math.max(duration, wallGap);
      }
      state.lastPts = pts;
      state.lastMedia = media;
      state.lastWall = wall;
    }
    if (media > this.latest) {
      this.latest = media;
      this.latestWall = wall;
    }
    return media;
  }

  /**
   * After a reconnect timestamps may restart anywhere: forget per-track history and
   * continue the timeline from where it was, plus the wall time the outage lasted.
   */
  rebase(wall: number): void {
    if (this.tracks.size === 0) return;
    const gap = Math.max(0, (wall - this.latestWall) / 1000);
    this.base = this.latest + gap;
    this.tracks.clear();
    this.origin = Number.NaN;
  }
}
