/**
 * MediaTimeline: each track's timestamps onto one monotonic media clock. Gaps in a file are
 * what its timestamps say; steps back, and (live) jumps ahead of the wall clock, are
 * discontinuities bridged with the wall time that passed.
 */
import { describe, expect, it } from 'vitest';
import { MediaTimeline } from '../../src/ingest/index.ts';

const FRAME = 0.04;

/** Maps `n` frames of track 0 from pts `from`, `wallStep` ms apart from `wall`; returns their media times. */
function frames(t: MediaTimeline, from: number, n: number, wall: number, wallStep = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(t.map(0, from + i * FRAME, FRAME, wall + i * wallStep));
  return out;
}

describe('MediaTimeline', () => {
  it('follows continuous timestamps from the first one', () => {
    const t = new MediaTimeline();
    const m = frames(t, 1000, 5, 0);
    expect(m[0]).toBe(0);
    expect(m[4]).toBeCloseTo(0.16, 9);
  });

  it('file: a forward jump up to maxGap is a real gap in media time, from the frame that confirms it', () => {
    const t = new MediaTimeline();
    const before = frames(t, 10, 10, 0);
    const after = frames(t, 10 + 9 * FRAME + 5, 3, 0);
    // The first frame after the jump could be a stray timestamp: placed one frame on until the next follows it.
    expect(after[0]).toBeCloseTo(before[9]! + FRAME, 9);
    expect(after[1]).toBeCloseTo(9 * FRAME + 5 + FRAME, 9);
    expect(after[2]).toBeCloseTo(9 * FRAME + 5 + 2 * FRAME, 9);
  });

  // Until 2026-11-27 a step ahead of up to 1 s was taken at once: the frame after it, back on the
  // old trajectory, then read as a step back and the track continued from the stray time, shifted
  // for good (0.5 s and 3 frames ahead failed).
  for (const [what, stray] of [
    ['25 s ahead', 25],
    ['0.5 s ahead', 0.5],
    ['3 frames ahead', 3 * FRAME],
    ['6 s back', -6],
  ] as const) {
    it(`one garbled timestamp ${what}, then the track carries on: no jump, no shift`, () => {
      const t = new MediaTimeline();
      const before = frames(t, 10, 10, 0);
      const odd = t.map(0, 10 + 10 * FRAME + stray, FRAME, 0);
      const after = frames(t, 10 + 11 * FRAME, 5, 0);
      expect(odd).toBeCloseTo(before[9]! + FRAME, 9);
      expect(after[0]).toBeCloseTo(11 * FRAME, 9);
      expect(after[4]).toBeCloseTo(15 * FRAME, 9);
    });
  }

  it('frames lost in a file: the gap is kept from the frame after the first one past it', () => {
    const t = new MediaTimeline();
    frames(t, 10, 10, 0);
    // Frames 10-12 lost: the next timestamp is 4 frames on, the one after that 5.
    const after = frames(t, 10 + 13 * FRAME, 3, 0);
    expect(after[0]).toBeCloseTo(10 * FRAME, 9); // provisional: one frame on
    expect(after[1]).toBeCloseTo(14 * FRAME, 9);
    expect(after[2]).toBeCloseTo(15 * FRAME, 9);
  });

  it('a step back continues from the last time plus a frame (no time running backwards)', () => {
    const t = new MediaTimeline();
    const before = frames(t, 10, 10, 0);
    const after = frames(t, 3, 3, 0);
    expect(after[0]).toBeCloseTo(before[9]! + FRAME, 9);
    expect(after[2]).toBeCloseTo(before[9]! + 3 * FRAME, 9);
  });

  it('live: a jump ahead of the wall clock (an encoder restart) is bridged, not a 20 s gap', () => {
    const t = new MediaTimeline(30, true);
    const before = frames(t, 10, 10, 0, 40);
    const after = frames(t, 10 + 9 * FRAME + 20, 3, 400, 40);
    // 40 ms of wall time passed between the two frames, not 20 s.
    expect(after[0]).toBeCloseTo(before[9]! + FRAME, 9);
    expect(after[2]! - after[0]!).toBeCloseTo(2 * FRAME, 9);
  });

  it('live: a gap the wall clock also shows (an outage) is kept', () => {
    const t = new MediaTimeline(30, true);
    const before = frames(t, 10, 10, 0, 40);
    const after = frames(t, 10 + 9 * FRAME + 5, 2, 360 + 5000, 40);
    expect(after[0]).toBeCloseTo(before[9]! + 5, 9);
  });

  it('live: a frame that came out before the outage it follows (read early) still has the gap kept, by the frame confirming it', () => {
    // Seen in an MPEG-2 + MP2 transport stream played at 1x: the multiplexer had put the first audio
    // packet after a 4.9 s hole ahead of the last video packet before it, and the reader released
    // it at once, before waiting out the hole for the next one. Its own wall time showed no gap, so
    // the jump was bridged and every later media time ran 4.9 s behind the stream's timestamps.
    const t = new MediaTimeline(30, true);
    const A = 1024 / 48000;
    let last = 0;
    for (let i = 0; i * A < 3; i++) last = t.map(1, 100 + i * A, A, i * A * 1000);
    const early = t.map(1, 100 + 3 + 4.9, A, 3000); // the packet after the hole, out before it
    const confirming = t.map(1, 100 + 3 + 4.9 + A, A, 7900 + A * 1000);
    expect(early).toBeCloseTo(last + A, 6); // provisional, one chunk on
    expect(confirming).toBeCloseTo(3 + 4.9 + A, 1);
  });

  it('sparse frames (2 s apart, variable frame rate) keep their spacing once it is the usual step', () => {
    const t = new MediaTimeline();
    frames(t, 10, 25, 0);
    const sparse: number[] = [];
    for (let i = 1; i <= 8; i++) sparse.push(t.map(0, 10 + 24 * FRAME + 2 * i, FRAME, 0));
    // The first long step waits for confirmation; from then on each frame is 2 s after the last.
    for (let i = 2; i < sparse.length; i++) expect(sparse[i]! - sparse[i - 1]!).toBeCloseTo(2, 9);
    expect(sparse[7]).toBeCloseTo(24 * FRAME + 16, 9);
  });

  it('live: an outage seen on time by audio and late by video (its last packet held until the next) keeps both tracks together', () => {
    // MPEG-TS video PES packets have no length: the demuxer hands out the last one before a hole
    // only when the next one starts, so the video track's own wall clock sees no gap, while the
    // audio (PES packets of known length, handed out at once) shows the 5 s outage. Video used to
    // be bridged from where it stopped and ran 5 s behind audio for the rest of the connection.
    const t = new MediaTimeline(30, true);
    const A = 1024 / 48000;
    const events: [number, number, number, number][] = []; // wall ms, track, pts, duration
    for (let i = 0; i < 124; i++) events.push([i * 40, 0, 100 + i * FRAME, FRAME]); // to 4.92 s; 4.96 held
    for (let i = 0; i * A < 5; i++) events.push([i * A * 1000, 1, 100 + i * A, A]);
    events.sort((a, b) => a[0] - b[0]);
    for (const [wall, track, pts, dur] of events) t.map(track, pts, dur, wall);
    // Outage: nothing from 5 s to 10 s of wall time. Audio resumes on time at 10 s.
    const resumed = t.map(1, 110, A, 10_000);
    expect(resumed).toBeCloseTo(10, 1);
    // Then the held last picture from before the outage, and the pictures after it.
    t.map(0, 100 + 124 * FRAME, FRAME, 10_001);
    const after = [0, 1, 2, 3].map((i) => t.map(0, 110 + i * FRAME, FRAME, 10_002 + i * 40));
    expect(after[3]).toBeCloseTo(10 + 3 * FRAME, 1);
  });
  it('tracks taken mid-stream (restartTrack) go on from the latest media time, video and audio of one change on their shared origin', () => {
    const t = new MediaTimeline();
    // Video (track 0) and audio (track 1) of the programme, 8 s.
    for (let i = 0; i < 200; i++) {
      t.map(0, 1.4 + i * FRAME, FRAME, 0);
      t.map(1, 1.4 + i * FRAME, FRAME, 0);
    }
    expect(t.now).toBeCloseTo(7.96, 6);
    // The programme moves to tracks 2 and 3, whose timestamps start again at 1.4 s: audio is taken
    // first, video half a second later (its first pictures were held back meanwhile).
    t.restartTrack(3);
    const audio = [];
    for (let i = 0; i < 12; i++) audio.push(t.map(3, 1.4 + i * FRAME, FRAME, 0));
    t.restartTrack(2);
    const video = [];
    for (let i = 0; i < 12; i++) video.push(t.map(2, 1.4 + i * FRAME, FRAME, 0));
    expect(audio[0]).toBeCloseTo(7.96, 6);
    expect(audio[11]).toBeCloseTo(7.96 + 11 * FRAME, 6);
    // On the audio's origin, not where the media had got to when video was taken.
    expect(video[0]).toBeCloseTo(7.96, 6);
    expect(video[11]).toBeCloseTo(7.96 + 11 * FRAME, 6);
    // A restart well after that one is a change of its own, from where the media is then.
    for (let i = 12; i < 300; i++) t.map(2, 1.4 + i * FRAME, FRAME, 0);
    t.restartTrack(0);
    expect(t.map(0, 50, FRAME, 0)).toBeCloseTo(7.96 + 299 * FRAME, 6);
  });
});
