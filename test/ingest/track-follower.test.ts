/**
 * TrackFollower's rule for inputs whose PMT ingest does not read (HLS, RTMP, RTSP, MPEG-TS without
 * the analyzer), on the packet sequences alone: a later stream takes a kind's place only once the
 * monitored track has been silent for UNHEARD of its packets in a row, and gets those packets back
 * to decode first. (The whole path, with real encodes, demuxers and decoders, is in
 * programme-change.test.ts; here the sequences a real input rarely shows: interleaved languages.)
 */
import { AVMEDIA_TYPE_AUDIO, AVMEDIA_TYPE_VIDEO } from 'node-av/constants';
import type { FormatContext, Packet, Stream } from 'node-av/lib';
import { describe, expect, it } from 'vitest';
import { TrackFollower, UNHEARD } from '../../src/ingest/track-follower.ts';

const stream = (index: number, id: number, type: number): Stream =>
  ({ index, id, disposition: 0, codecpar: { codecType: type }, metadata: null, discard: 0 }) as unknown as Stream;

/** Packets as the follower reads them: stream index, position, a clone that counts frees. */
function packet(streamIndex: number, freed: number[]): Packet {
  const p = { streamIndex, pos: -1n, clone: () => p, free: () => void freed.push(streamIndex) };
  return p as unknown as Packet;
}

function setup(): { follower: TrackFollower; video: Stream; audio: Stream; later: Stream[] } {
  const video = stream(0, 256, AVMEDIA_TYPE_VIDEO);
  const audio = stream(1, 257, AVMEDIA_TYPE_AUDIO);
  const later = [stream(2, 0x1e1, AVMEDIA_TYPE_VIDEO), stream(3, 0x1e2, AVMEDIA_TYPE_AUDIO)];
  const all = [video, audio, ...later];
  const formatContext = { nbStreams: all.length, streams: all } as unknown as FormatContext;
  const follower = new TrackFollower({ streams: [video, audio], formatContext, variant: 'highest' });
  follower.video = video;
  follower.audio = audio;
  return { follower, video, audio, later };
}

describe('TrackFollower without a PMT', () => {
  it('a second audio stream interleaved with the monitored one never takes its place', () => {
    const { follower } = setup();
    const freed: number[] = [];
    for (let i = 0; i < 500; i++) {
      // Bursts of the later language shorter than UNHEARD, the monitored one in between.
      for (let k = 0; k < UNHEARD - 1; k++) expect(follower.check(packet(3, freed), false)).toBeUndefined();
      expect(follower.check(packet(1, freed), true)).toBeUndefined();
    }
    // What was held back for a switch that never came is freed, not kept.
    expect(freed.length).toBe(500 * (UNHEARD - 1));
  });

  it('a silent monitored video gives way after UNHEARD packets of a later one, which get their held packets back', () => {
    const { follower, audio, later } = setup();
    const freed: number[] = [];
    for (let k = 0; k < UNHEARD - 1; k++) expect(follower.check(packet(2, freed), false)).toBeUndefined();
    const choice = follower.check(packet(2, freed), false)!;
    expect(choice.video).toBe(later[0]);
    expect(choice.audio).toBe(audio);
    expect(choice.why).toBe('PID 256 silent');
    expect(choice.replay).toHaveLength(UNHEARD - 1);
    expect(freed).toEqual([]);
  });

  it('a later stream of a kind with no track is taken at once', () => {
    const { follower, video, later } = setup();
    follower.audio = undefined;
    const choice = follower.check(packet(3, []), false)!;
    expect(choice).toMatchObject({ video, audio: later[1], why: 'a new track', replay: [] });
  });
});
