/**
 * Maps each track's presentation timestamps onto one monotonic media timeline, in
 * seconds since the first decoded frame of the input. Real inputs wrap (33-bit MPEG-TS
 * PTS), jump at HLS discontinuities and restart after reconnects; none of that may make
 * time run backwards or leap, or every interval downstream would be wrong.
 *
 * A step off a track's trajectory (back, or ahead by more than ACCEPT_FACTOR times the track's
 * usual step) is believed only once the next frame of the track follows on from it: a damaged
 * packet can carry a garbled timestamp and still decode, and taking one such frame's timestamp as
 * a jump would move the rest of the track (a 28 s "gap" from 20% of TS packets garbled; one video
 * timestamp garbled 0.5 s ahead left the video 0.5 s behind the audio for good). Until confirmed,
 * the frame is placed one frame on; a frame back on the old trajectory (within CONFIRM_STEP or
 * STEP_FACTOR usual steps of it: a few dropped frames, sparse variable-frame-rate video) drops it.
 *
 * Live inputs: a jump ahead is a real gap as far as the wall clock also moved (an outage), or as
 * far as another track already went (the track's last packet before the outage came late); beyond
 * that it is a discontinuity (an encoder restart), bridged with the wall time that passed.
 */
/** Seconds a live track's timestamps may run ahead of the wall clock across one step (buffering, bursts). */
const LIVE_SLACK = 2;
/** A forward step up to this many times the track's usual step is taken at once; a longer one waits for the next frame. */
const ACCEPT_FACTOR = 1.5;
/** Seconds ahead of the trajectory a frame may be and still count as on it (after a provisional step, or a few lost frames). */
const CONFIRM_STEP = 1;
/** ... or this many times the track's usual step (its moving average), whichever is more. */
const STEP_FACTOR = 4;
/** Weight of each accepted step in the usual step's moving average. */
const STEP_WEIGHT = 0.25;

interface TrackState {
  /** Last timestamp on the track's trajectory, and its media time and wall time. */
  lastPts: number;
  lastMedia: number;
  lastWall: number;
  /** Last media time handed out on the track (a provisional frame's included), and when. */
  emitted: number;
  emittedWall: number;
  /** Moving average of the steps accepted on the trajectory (s). */
  usual: number;
  /** Nominal duration of the last frame or chunk on the trajectory (s): the step expected next (audio chunks vary in size). */
  lastDuration: number;
  /** A step off the trajectory waiting for the next frame: its timestamp, wall time and media time. */
  pending: { pts: number; wall: number; media: number } | undefined;
}

/** Seconds of media within which tracks restarted mid-stream count as one change (restartTrack). */
const EPOCH_SPAN = 5;

export class MediaTimeline {
  private origin = Number.NaN;
  private readonly tracks = new Map<number, TrackState>();
  /** Latest media time handed out on any track. */
  private latest = 0;
  private latestWall = 0;
  /** Media time at which tracks first seen after a rebase start. */
  private base = 0;
  /** Tracks taken mid-stream whose first frame is still to come, with their restart's origin (restartTrack). */
  private readonly restarted = new Map<number, { origin: number; base: number }>();
  private epoch: { origin: number; base: number } | undefined;

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
      // A second track starts where its timestamps say, if they are plausibly aligned. A track
      // taken mid-stream (restartTrack) likewise against the first track of its restart, which
      // starts where the media has got to.
      const epoch = this.restarted.get(track);
      if (epoch) {
        this.restarted.delete(track);
        if (Number.isNaN(epoch.origin) || !Number.isFinite(pts)) {
          if (Number.isNaN(epoch.origin) && Number.isFinite(pts)) epoch.origin = pts;
          epoch.base = this.latest;
          media = this.latest;
        } else {
          const r = pts - epoch.origin;
          media = r >= -1 && r <= 10 ? epoch.base + Math.max(0, r) : this.latest;
        }
      } else media = Number.isFinite(rel) && rel >= -1 && rel <= 10 ? this.base + Math.max(0, rel) : this.latest;
      this.tracks.set(track, {
        lastPts: pts,
        lastMedia: media,
        lastWall: wall,
        emitted: media,
        emittedWall: wall,
        usual: duration > 0 ? duration : 0,
        lastDuration: duration > 0 ? duration : 0,
        pending: undefined,
      });
    } else {
      media = this.step(state, pts, duration, wall);
    }
    if (media > this.latest) {
      this.latest = media;
      this.latestWall = wall;
    }
    return media;
  }

  private step(s: TrackState, pts: number, duration: number, wall: number): number {
    // Bridged: one frame on from the last one handed out, or the wall time since, if longer.
    const bridged = s.emitted + Math.max(duration, Math.max(0, (wall - s.emittedWall) / 1000));
    if (!Number.isFinite(pts)) return this.emit(s, bridged, wall);
    if (!Number.isFinite(s.lastPts)) return this.accept(s, pts, bridged, wall, Number.NaN, duration);
    const delta = pts - s.lastPts;
    const onTrack = Math.max(CONFIRM_STEP, STEP_FACTOR * s.usual);
    // The next frame, as expected (or before a usual step is known): taken at once. A longer step
    // (frames lost, or a garbled timestamp) waits for the frame after it, unless a step is pending:
    // then a frame near the old trajectory settles it (the pending one was a stray timestamp).
    const expected = Math.max(s.usual, s.lastDuration);
    const immediate = s.pending || !(expected > 0) ? onTrack : ACCEPT_FACTOR * expected;
    if (delta >= 0 && delta <= immediate) {
      s.pending = undefined;
      return this.accept(s, pts, Math.max(s.lastMedia + delta, s.emitted), wall, delta, duration);
    }
    const p = s.pending;
    const fromPending = p ? pts - p.pts : Number.NaN;
    // (A forward step confirms with a next step up to its own size: a stream turning sparse.)
    if (p && fromPending >= 0 && fromPending <= Math.max(onTrack, p.pts - s.lastPts)) {
      // Confirmed: the timestamps really moved at the pending frame. A forward jump within the
      // limit is a real gap; anything else a discontinuity, continued from where that frame went.
      const jump = p.pts - s.lastPts;
      // The wall time the jump took: to the pending frame, or to this one less the media time
      // between the two, whichever is more. A frame can come out before the outage it follows
      // (a multiplexer's audio buffering puts the first packet after a hole ahead of video from
      // before it; a reader releases it early): then only the frame confirming it shows the hole.
      const wallGap = Math.max(0, (p.wall - s.lastWall) / 1000, (wall - s.lastWall) / 1000 - fromPending);
      const limit = this.live ? Math.min(this.maxGap, Math.max(duration, wallGap) + LIVE_SLACK) : this.maxGap;
      // Live: also a real gap where it only brings the track level with another that already took
      // it. An MPEG-TS demuxer hands out a video track's last packet before an outage only when the
      // next one arrives, so that track's own wall clock sees no gap; the audio, on time, does.
      const level = this.live && jump >= 0 && jump <= this.maxGap && s.lastMedia + jump <= this.latest + LIVE_SLACK;
      const at = (jump >= 0 && jump <= limit) || level ? Math.max(s.lastMedia + jump, p.media) : p.media;
      s.pending = undefined;
      // A long step confirmed by another long one: the cadence itself changed (a stream turning
      // sparse), and the new step is the usual one from here.
      if (fromPending > ACCEPT_FACTOR * Math.max(s.usual, duration)) s.usual = fromPending;
      return this.accept(s, pts, Math.max(at + fromPending, s.emitted), wall, fromPending, duration);
    }
    // Off the trajectory: provisional until the next frame says which way.
    s.pending = { pts, wall, media: bridged };
    return this.emit(s, bridged, wall);
  }

  /** `step`: the step on the trajectory this frame made (NaN: none known), for the usual step; `duration`: this frame's. */
  private accept(s: TrackState, pts: number, media: number, wall: number, step: number, duration: number): number {
    if (step > 0) s.usual += STEP_WEIGHT * (step - s.usual);
    if (duration > 0) s.lastDuration = duration;
    s.lastPts = pts;
    s.lastMedia = media;
    s.lastWall = wall;
    return this.emit(s, media, wall);
  }

  private emit(s: TrackState, media: number, wall: number): number {
    s.emitted = media;
    s.emittedWall = wall;
    return media;
  }

  /**
   * `track` is taken mid-stream (the input moved the programme to it: a new PMT, an ad break on
   * other PIDs), and its timestamps may be anywhere: it goes on from the latest media time handed
   * out, its own steps from there. The other tracks keep their trajectories.
   */
  restartTrack(track: number): void {
    this.tracks.delete(track);
    // Tracks restarted within a few seconds of each other (video and audio of one change, taken
    // one after the other) share their timestamps' origin.
    const e = this.epoch;
    if (!e || (!Number.isNaN(e.origin) && this.latest - e.base > EPOCH_SPAN)) this.epoch = { origin: Number.NaN, base: this.latest };
    this.restarted.set(track, this.epoch!);
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
    this.restarted.clear();
    this.epoch = undefined;
    this.origin = Number.NaN;
  }
}
