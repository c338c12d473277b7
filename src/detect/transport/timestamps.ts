/**
 * Timestamp arithmetic shared by the packet-level detectors (transport, stutter).
 * PacketInfo carries raw pts/dts in seconds, not unwrapped: MPEG-TS timestamps are 33-bit
 * counts of a 90 kHz clock, so they wrap every 2^33 / 90000 s (about 26.5 hours).
 */

/** Length of the MPEG-TS timestamp cycle (s). */
export const TS_WRAP_SECONDS = 2 ** 33 / 90000;

/**
 * The step from `prev` to `next` (s), taking the 33-bit wrap into account: a step of more
 * than half a cycle in either direction is read as a wrap. NaN when either is unknown.
 */
export function timestampStep(prev: number, next: number): number {
  const d = next - prev;
  if (d < -TS_WRAP_SECONDS / 2) return d + TS_WRAP_SECONDS;
  if (d > TS_WRAP_SECONDS / 2) return d - TS_WRAP_SECONDS;
  return d;
}

/** Formats whose packets come from an MPEG transport stream (what TR 101 290 applies to). */
export function isTransportStream(format: string): boolean {
  return /(^|,)(mpegts|mpegtsraw|hls)(,|$)/.test(format);
}
