/**
 * Which video and audio track of an input to monitor, and which to leave unread.
 *
 * Most inputs have one of each. An HLS master playlist has one per rendition of its bitrate
 * ladder: FFmpeg's HLS demuxer opens every variant playlist and tags each stream with its
 * variant's BANDWIDTH (`variant_bitrate`). Vigil monitors one rendition (`variant`) and marks
 * every other stream discarded, so the demuxer stops fetching the other renditions' segments
 * (hls.c checks the discard flags on every read) and the transport demuxer skips their PES.
 */
import { AV_DISPOSITION_ATTACHED_PIC, AVMEDIA_TYPE_AUDIO, AVMEDIA_TYPE_VIDEO } from 'node-av/constants';

/** Which rendition of an HLS master playlist to monitor: by bandwidth, or the highest at or under a bandwidth (bits/s). */
export type VariantChoice = 'highest' | 'lowest' | number;

/** The parts of node-av's Stream this needs (a plain object in tests). */
export interface TrackLike {
  readonly index: number;
  readonly disposition: number;
  readonly codecpar: { readonly codecType: number };
  readonly metadata: { get(key: string): string | null | undefined } | null;
}

export interface TrackSelection<T extends TrackLike> {
  readonly video: T | undefined;
  readonly audio: T | undefined;
  /** Every other stream: set to AVDISCARD_ALL before reading. */
  readonly unused: readonly T[];
  /** The chosen rendition's BANDWIDTH and the bandwidths offered (HLS master playlists only). */
  readonly variant?: { readonly bandwidth: number; readonly offered: readonly number[] };
}

function variantBitrate(t: TrackLike): number | undefined {
  const v = Number(t.metadata?.get('variant_bitrate'));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The bandwidth to monitor among those offered (ascending, non-empty). */
function pick(offered: readonly number[], choice: VariantChoice): number {
  if (choice === 'lowest') return offered[0]!;
  if (choice === 'highest') return offered[offered.length - 1]!;
  // The rendition a player capped at `choice` bits/s would take; the lowest when none fits.
  let best = offered[0]!;
  for (const b of offered) if (b <= choice) best = b;
  return best;
}

/** The kind of track a stream can be monitored as: cover art in a music file is a one-picture "video" stream, not a video track. */
export function trackKind(s: TrackLike): 'video' | 'audio' | undefined {
  const type = s.codecpar.codecType;
  if (type === AVMEDIA_TYPE_VIDEO) return (s.disposition & AV_DISPOSITION_ATTACHED_PIC) === 0 ? 'video' : undefined;
  return type === AVMEDIA_TYPE_AUDIO ? 'audio' : undefined;
}

export function selectTracks<T extends TrackLike>(
  streams: readonly T[],
  choice: VariantChoice = 'highest',
  /** Only these streams may be monitored (a programme of a multi-programme transport stream); the rest are unused. */
  eligible: (s: T) => boolean = () => true,
): TrackSelection<T> {
  const videos = streams.filter((s) => eligible(s) && trackKind(s) === 'video');
  const audios = streams.filter((s) => eligible(s) && trackKind(s) === 'audio');
  const bitrates = (ts: readonly T[]): number[] =>
    [...new Set(ts.map(variantBitrate).filter((b) => b !== undefined))].sort((a, b) => a - b);
  // Renditions with pictures; an audio-only ladder only when there are no pictures at all (an
  // audio-only rendition next to video ones is for players on poor links, not the programme).
  const offered = videos.length > 0 ? bitrates(videos) : bitrates(audios);
  let video: T | undefined;
  let audio: T | undefined;
  let variant: TrackSelection<T>['variant'];
  if (offered.length > 1) {
    const bandwidth = pick(offered, choice);
    variant = { bandwidth, offered };
    video = videos.find((s) => variantBitrate(s) === bandwidth);
    // The rendition's own (muxed) audio; else an audio rendition shared by the variants (no
    // single variant_bitrate); else none: audio of another rendition is another encode.
    audio = audios.find((s) => variantBitrate(s) === bandwidth) ?? audios.find((s) => variantBitrate(s) === undefined);
  } else {
    video = videos[0];
    audio = audios[0];
  }
  const unused = streams.filter((s) => s !== video && s !== audio);
  return { video, audio, unused, ...(variant ? { variant } : {}) };
}
