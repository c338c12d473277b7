/**
 * False-alarm check for the stream-level detectors (stutter, transport, tracks) on every real
 * clip in ../shared/media (see SOURCES.md there): normal-cadence MP4/WebM, the 10 fps and
 * 12.5 fps clips, the VP9 clip without audio, MPEG-TS (MPEG-2/MP2, HEVC/AAC 5.1), and HLS
 * including the 33-bit PTS rollover and an EXT-X-DISCONTINUITY. None of them has a dropped
 * frame, a transport error or a missing track, so any stutter, transport, audio_missing or
 * video_missing incident is a false alarm. Other detectors are switched off (speed only).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../../src/detect/index.ts';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));
if (!HAVE_MEDIA) console.warn(`stream-level real clips: skipped, no clips at ${MEDIA}`);

const MINE = new Set(['stutter', 'transport', 'audio_missing', 'video_missing']);
const CLIPS = [
  'speech_his_girl_friday_bw_640x480.mp4',
  'static_parking_lot_overhead_768x432.mp4',
  'static_room_people_one_by_one_10fps.mp4',
  'static_water_stream_480x360.mp4',
  'flower_closeup_silent_audio_540p.mp4',
  'chaplin_bw_pillarbox_640x360.mp4',
  'handheld_crystal_toy_480p.mp4',
  'sintel_256x110_lowbitrate_blocky.mp4',
  'bbb_720p_vp8_vorbis_0-30s.webm',
  'bbb_180p_vp9_opus.webm',
  'bear_vp9_320x240_noaudio.webm',
  'bbb_mpeg2_1080p_fadein_mp2.ts',
  'bbb_hevc_1080p_fadein_aac51.ts',
  'hls/tears_of_steel_360p_ptsrollover/playlist.m3u8',
  'hls/tears_of_steel_360p_discontinuity/index.m3u8',
  'hls/bbb_180p_h264_aac/playlist.m3u8',
];

const onlyMine: Record<string, Record<string, number | boolean>> = {};
for (const d of DETECTORS) if (!['stutter', 'transport', 'tracks'].includes(d.name)) onlyMine[d.name] = { enabled: false };

const show = (list: Incident[]) =>
  list.map((i) => `${i.type} ${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join(', ');

describe.skipIf(!HAVE_MEDIA)('stutter, transport, tracks on real clips', () => {
  beforeAll(() => setMediaLogLevel('quiet'));

  it.each(CLIPS)('%s: no stream-level incident', async (clip) => {
    const res = await analyze({ input: join(MEDIA, clip), detectors: onlyMine });
    expect(res.videoFrames).toBeGreaterThan(0);
    expect(show(res.incidents.filter((i) => MINE.has(i.type)))).toBe('');
  }, 30_000);

  it('control: the detectors do run on these clips (audio required, after 1 s, on the clips without audio)', async () => {
    for (const clip of ['bear_vp9_320x240_noaudio.webm', 'static_room_people_one_by_one_10fps.mp4']) {
      const res = await analyze({ input: join(MEDIA, clip), detectors: { ...onlyMine, tracks: { requireAudio: true, after: 1 } } });
      const found = res.incidents.filter((i) => MINE.has(i.type));
      expect(found.map((i) => i.type), `${clip}: ${show(found)}`).toEqual(['audio_missing']);
    }
  }, 30_000);
});
