/**
 * Worker process entry. Each worker owns whole pipelines (ingest → detect) for the
 * streams assigned to it; frames never leave this process. Only interval edges and
 * status cross to the supervisor. A crash here, native ones included, takes down only
 * this worker's streams until the supervisor restarts it.
 */
import { setMediaLogLevel } from '../ingest/index.ts';
import { createLogger } from '../shared/index.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { StreamRunner } from './stream-runner.ts';

const logger = createLogger(process.env.VIGIL_LOG_LEVEL ?? 'warn', 'vigil-worker');
setMediaLogLevel(process.env.VIGIL_FFMPEG_LOG === 'warning' ? 'warning' : 'quiet');
const runners = new Map<string, StreamRunner>();

function send(msg: FromWorker): void {
  if (process.connected) process.send?.(msg);
}

process.on('message', (raw: ToWorker) => {
  switch (raw.type) {
    case 'add': {
      if (runners.has(raw.stream.id)) return;
      const runner = new StreamRunner(
        raw.stream,
        {
          edge: (edge) => send({ type: 'edge', edge }),
          status: (id, status, gauges) => send({ type: 'status', id, status, gauges }),
          thumbnail: (id, t) => send({ type: 'thumbnail', id, jpeg: t.jpeg, mediaTime: t.mediaTime, wallTime: t.wallTime, reasons: t.reasons }),
          clip: (id, c) =>
            send({ type: 'clip', id, reason: c.reason, mime: c.mime, data: c.data, start: c.start, duration: c.duration, onset: c.onset }),
        },
        logger,
      );
      runners.set(raw.stream.id, runner);
      runner.start();
      return;
    }
    case 'remove': {
      const r = runners.get(raw.id);
      runners.delete(raw.id);
      void (r?.stop() ?? Promise.resolve()).then(() => send({ type: 'removed', id: raw.id }));
      return;
    }
    case 'shutdown': {
      void Promise.allSettled([...runners.values()].map((r) => r.stop())).then(() => process.exit(0));
      return;
    }
  }
});
// The supervisor went away: nothing left to report to. Not process.exit(): a demuxer read in
// flight on a libuv thread that waits for a JavaScript read callback (MPEG-TS inputs read
// through ingest's TR 101 290 analyzer) keeps node-av's exit-time cleanup waiting for ever, and
// the worker would outlive its supervisor. Nothing here needs flushing (the store is the
// supervisor's), so the worker ends at once.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
send({ type: 'ready' });
