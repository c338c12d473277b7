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

/** Local files (and file: URLs) are not live: they end. */
export function isLocalFile(url: string): boolean {
  return url.startsWith('file:') || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}
