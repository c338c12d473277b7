/**
 * Shared by the bench child scripts: each one runs a single configuration over one input
 * in a fresh process and prints one `BENCH_RESULT {json}` line that bench/run.ts parses.
 *
 * CPU is process.cpuUsage() (user + system, all threads of the process: decoder, filter
 * and libuv threads included) over the work only, after modules are loaded; the
 * whole-process figure (startup included) is reported too. Peak RSS is the process's
 * lifetime maximum (process.resourceUsage().maxRSS), startup included.
 */
import '../src/shared/polyfill.ts';
import { setMediaLogLevel } from '../src/ingest/media-log.ts';

export const RESULT_TAG = 'BENCH_RESULT ';

export interface ChildResult {
  readonly config: string;
  readonly input: string;
  /** User + system CPU seconds over the measured work. */
  readonly cpuWork: number;
  readonly cpuWorkUser: number;
  readonly cpuWorkSystem: number;
  /** User + system CPU seconds of the whole process, startup and module loading included. */
  readonly cpuTotal: number;
  readonly wallWork: number;
  /** Peak resident set size of the process, bytes. */
  readonly maxRss: number;
  /** RSS after modules loaded, before the work, bytes. */
  readonly rssBefore: number;
  /** Whatever the configuration reports about what it saw (frames, events, incidents). */
  readonly info: Record<string, unknown>;
}

export async function measure(config: string, work: (input: string) => Promise<Record<string, unknown>>): Promise<void> {
  const input = process.argv[2];
  if (!input) {
    process.stderr.write(`usage: node --import tsx bench/<config>.ts <input>\n`);
    process.exit(2);
  }
  // FFmpeg's own logging (blackdetect & co. log at info level) off for every configuration alike.
  setMediaLogLevel('error');
  const rssBefore = process.memoryUsage.rss();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const info = await work(input);
  const wallWork = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const total = process.cpuUsage();
  const result: ChildResult = {
    config,
    input,
    cpuWork: (cpu.user + cpu.system) / 1e6,
    cpuWorkUser: cpu.user / 1e6,
    cpuWorkSystem: cpu.system / 1e6,
    cpuTotal: (total.user + total.system) / 1e6,
    wallWork,
    maxRss: process.resourceUsage().maxRSS * 1024,
    rssBefore,
    info,
  };
  process.stdout.write(RESULT_TAG + JSON.stringify(result) + '\n');
}
