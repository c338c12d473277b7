import { Log } from 'node-av/lib';
import { AV_LOG_ERROR, AV_LOG_QUIET, AV_LOG_WARNING } from 'node-av/constants';

/** FFmpeg's own log chatter goes to stderr; keep it quiet unless asked. */
export function setMediaLogLevel(level: 'quiet' | 'error' | 'warning'): void {
  Log.setLevel(level === 'quiet' ? AV_LOG_QUIET : level === 'error' ? AV_LOG_ERROR : AV_LOG_WARNING);
}
