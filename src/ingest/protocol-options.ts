import { statSync } from 'node:fs';

/**
 * FFmpeg protocol options per URL scheme, chosen so that a dead live source makes a read
 * fail within seconds (and so reconnect) instead of blocking forever.
 */
export function protocolOptions(url: string): Record<string, string> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'udp':
    case 'rtp':
      // timeout is in microseconds for udp; a large FIFO rides out event-loop hiccups.
      return { timeout: '5000000', fifo_size: '1000000', overrun_nonfatal: '1', buffer_size: '4194304' };
    case 'http':
    case 'https':
      return { rw_timeout: '10000000', live_start_index: '-3', http_persistent: '1', reconnect: '1' };
    case 'rtsp':
      return { rtsp_transport: 'tcp', timeout: '5000000' };
    case 'rtmp':
    case 'rtmps':
      return { rw_timeout: '5000000' };
    case 'srt':
      return { timeout: '5000000' };
    default:
      return {};
  }
}

/**
 * Seconds one open of a listening input (an RTMP or RTSP push) waits for the encoder before it
 * fails and listens again. FFmpeg's open cannot be interrupted while it waits for a connection, so
 * this is also the longest that stopping such a source can take.
 */
export const LISTEN_WAIT = 2;

const truthy = (v: string | undefined): boolean => v !== undefined && v !== '0' && v.toLowerCase() !== 'false';

/**
 * The options an input is opened with: Vigil's defaults for its scheme, then the stream's own
 * `inputOptions`. An input that listens for a push (RTMP with `listen`, RTSP with
 * `rtsp_flags: listen`) gets a bounded wait for the encoder (LISTEN_WAIT, unless its options set
 * one): FFmpeg's default is to wait forever (and for RTSP, FFmpeg 8's default of -1 is refused
 * by its TCP layer: "listen_timeout out of range").
 */
export function openOptions(url: string, inputOptions: Readonly<Record<string, string>> = {}): { options: Record<string, string>; listening: boolean } {
  const options: Record<string, string> = { ...protocolOptions(url), ...inputOptions };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  let listening = false;
  if ((scheme === 'rtmp' || scheme === 'rtmps') && (truthy(options.listen) || truthy(options.rtmp_listen))) {
    listening = true;
    // rtmp's `timeout` is its listen timeout, in seconds.
    options.timeout ??= String(LISTEN_WAIT);
  } else if (scheme === 'rtsp' && (/\blisten\b/.test(options.rtsp_flags ?? '') || inputOptions.listen_timeout !== undefined)) {
    listening = true;
    options.listen_timeout ??= String(LISTEN_WAIT);
  }
  return { options, listening };
}

/** Local files (and file: URLs) are not live: they end. */
export function isLocalFile(url: string): boolean {
  return url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

/** The path a local input names (a file: URL's path, or the input as given). */
export function localPath(url: string): string {
  return url.startsWith('file:') ? url.replace(/^file:(\/\/)?/, '') : url;
}

/** A local path (or file: URL) naming a regular file: not a network input, not a device or FIFO. */
export function isRegularFile(url: string): boolean {
  if (!isLocalFile(url)) return false;
  try {
    return statSync(localPath(url)).isFile();
  } catch {
    return false;
  }
}
