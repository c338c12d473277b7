import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.ts';
import { loadConfigFile, parseConfig, type VigilConfig } from '../config/index.ts';
import { DETECTORS, type DetectorOverrides } from '../detect/index.ts';
import { analyze } from '../engine/index.ts';
import { setMediaLogLevel, type VariantChoice } from '../ingest/index.ts';
import { ErrorCodes, VigilError, createLogger, errorMessage } from '../shared/index.ts';
import { containerFor, demoScenario, loadScenarioFile, renderToFile, startSimulation } from '../simulate/index.ts';
import { createSinks } from '../notify/index.ts';
import { startServer, type RunningServer } from '../server/index.ts';
import { openStore } from '../store/index.ts';
import { incidentJsonLine, incidentTextLine } from './format.ts';

const HELP = `vigil: live audio/video quality monitor

Usage:
  vigil demo                                  simulated live streams + monitor (npm start)
  vigil monitor --config vigil.yaml           watch the streams in a config file
  vigil analyze <file-or-url> [--format jsonl|text] [--config vigil.yaml] [--variant highest|lowest|<bit/s>] [--program <n>]
                                              run the pipeline over one input as fast as it decodes
  vigil simulate --scenario <file> [--truth truth.json] [--duration <s>]
                                              serve live test streams with scripted defects
  vigil render --scenario <file> --out <dir> [--duration <s>] [--stream <id>]...
                                              write the scenario's streams to files, with ground truth
  vigil config check <file>                   validate a config without starting anything
  vigil detectors                             list detectors and their options
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'demo':
      return demo();
    case 'monitor':
      return monitor(rest);
    case 'analyze':
      return analyzeCommand(rest);
    case 'simulate':
      return simulate(rest);
    case 'render':
      return render(rest);
    case 'config':
      return configCommand(rest);
    case 'detectors':
      return detectorsCommand();
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`vigil: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** Runs until SIGINT/SIGTERM, then stops everything in order. */
function untilSignal(stop: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write('vigil: forced exit\n');
        // Not process.exit(): a demuxer read waiting on a JavaScript read callback (MPEG-TS inputs
        // read through the TR 101 290 analyzer) keeps node-av's exit-time cleanup waiting.
        process.kill(process.pid, 'SIGKILL');
      }
      stopping = true;
      process.stderr.write(`\nvigil: ${sig}, stopping…\n`);
      stop().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`vigil: error while stopping: ${errorMessage(err)}\n`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}

async function monitor(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } } });
  if (!values.config) throw new VigilError('VIGIL_ERR_CONFIG_UNREADABLE', 'monitor needs --config <file>');
  const config = await loadConfigFile(values.config);
  // store.path is relative to the config file's folder, like the default vigil.db next to it.
  return runMonitor(config, resolve(dirname(values.config), config.store.path ?? 'vigil.db'));
}

/** `storePath`: a SQLite file, or ':memory:' (the demo). */
async function runMonitor(config: VigilConfig, storePath: string, before?: () => Promise<void>): Promise<number> {
  const logger = createLogger(config.logLevel);
  const store = openStore(storePath);
  const app = buildApp(config, { logger, store });
  await app.start();
  let server: RunningServer | undefined;
  if (config.server.enabled) {
    const envPort = process.env.PORT ? Number(process.env.PORT) : undefined;
    const port = envPort !== undefined && Number.isInteger(envPort) ? envPort : config.server.port;
    const token = process.env[config.server.tokenEnv] || undefined;
    server = await startServer(app, { port, host: config.server.host, logger, ...(token ? { token } : {}) });
  }
  if (storePath !== ':memory:') process.stderr.write(`vigil: store ${storePath}\n`);
  process.stderr.write(
    `vigil: monitoring ${app.streams().length} stream(s) on ${app.placement().length} worker process(es); Ctrl-C to stop\n`,
  );
  if (server) {
    process.stderr.write(`vigil: dashboard on ${server.url}/\n`);
    process.stderr.write(`vigil: API on ${server.url}/api/streams, metrics on ${server.url}/metrics\n`);
  }
  return untilSignal(async () => {
    await server?.close();
    await app.stop();
    store.close();
    await before?.();
  });
}

async function demo(): Promise<number> {
  const scenario = demoScenario();
  const sim = await startSimulation(scenario, { logger: createLogger('warn', 'vigil-simulate') });
  process.stderr.write('vigil demo: simulated live streams on loopback\n');
  for (const s of sim.streams) process.stderr.write(`  ${s.id.padEnd(14)} ${s.output.padEnd(4)} ${s.url}\n`);
  const config = parseConfig({
    streams: sim.streams.map((s) => ({
      id: s.id,
      url: s.url,
      name: scenario.streams.find((x) => x.id === s.id)?.name,
      tags: ['demo', s.output],
    })),
  });
  return runMonitor(config, ':memory:', () => sim.stop());
}

async function analyzeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f', default: 'text' },
      config: { type: 'string', short: 'c' },
      variant: { type: 'string' },
      program: { type: 'string' },
    },
  });
  const input = positionals[0];
  if (!input) {
    process.stderr.write('vigil analyze: missing <file-or-url>\n');
    return 2;
  }
  if (values.format !== 'jsonl' && values.format !== 'text') {
    process.stderr.write(`vigil analyze: --format must be jsonl or text, got "${values.format}"\n`);
    return 2;
  }
  let variant: VariantChoice | undefined;
  if (values.variant !== undefined) {
    const bps = Number(values.variant);
    if (values.variant === 'highest' || values.variant === 'lowest') variant = values.variant;
    else if (Number.isInteger(bps) && bps > 0) variant = bps;
    else {
      process.stderr.write(`vigil analyze: --variant must be highest, lowest or a bandwidth in bits/s, got "${values.variant}"\n`);
      return 2;
    }
  }
  let program: number | undefined;
  if (values.program !== undefined) {
    program = Number(values.program);
    if (!Number.isInteger(program) || program < 1 || program > 65535) {
      process.stderr.write(`vigil analyze: --program must be a programme number from 1 to 65535, got "${values.program}"\n`);
      return 2;
    }
  }
  const config = values.config ? await loadConfigFile(values.config) : undefined;
  const detectors = config ? (config.detectors as DetectorOverrides) : undefined;
  variant ??= config?.ingest.variant;
  setMediaLogLevel('quiet');
  const jsonl = values.format === 'jsonl';
  const color = !jsonl && process.stdout.isTTY === true;
  const progress = process.stderr.isTTY === true;
  const started = Date.now();
  const result = await analyze({
    input,
    ...(detectors ? { detectors } : {}),
    ...(variant !== undefined ? { variant } : {}),
    ...(config ? { tsAnalysis: config.ingest.tsAnalysis } : {}),
    ...(program !== undefined ? { program } : {}),
    onIncident: (i) => {
      if (progress) process.stderr.write('\r\x1b[K');
      process.stdout.write(`${jsonl ? incidentJsonLine(i) : incidentTextLine(i, color)}\n`);
    },
    ...(progress
      ? {
          onProgress: (t: number, duration: number | undefined) => {
            const speed = t / Math.max(0.001, (Date.now() - started) / 1000);
            const tail = `${t.toFixed(1)} s decoded (${speed.toFixed(1)}x real time)`;
            if (duration) {
              const frac = Math.min(1, t / duration);
              const width = 30;
              const filled = Math.round(frac * width);
              const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
              process.stderr.write(`\r\x1b[K${bar} ${tail} of ${duration.toFixed(1)} s`);
            } else {
              process.stderr.write(`\r\x1b[Kanalyzing ${input}: ${tail}`);
            }
          },
        }
      : {}),
  });
  if (progress) process.stderr.write('\r\x1b[K');
  if (!jsonl) {
    process.stderr.write(
      `${result.incidents.length} incident(s) in ${result.duration.toFixed(2)} s of media (${result.videoFrames} video frames)\n`,
    );
  }
  return 0;
}

async function simulate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { scenario: { type: 'string', short: 's' }, truth: { type: 'string' }, duration: { type: 'string' } },
  });
  const scenario = values.scenario ? await loadScenarioFile(values.scenario) : demoScenario();
  const sim = await startSimulation(scenario, {
    ...(values.truth ? { truthPath: values.truth } : {}),
    logger: createLogger('warn', 'vigil-simulate'),
  });
  for (const s of sim.streams) process.stdout.write(`${s.id}\t${s.output}\t${s.url}\n`);
  if (values.truth) process.stderr.write(`ground truth → ${values.truth}\n`);
  if (values.duration) {
    const secs = Number(values.duration);
    if (!Number.isFinite(secs) || secs <= 0)
      throw new VigilError(
        'VIGIL_ERR_SCENARIO_INVALID',
        `--duration must be a positive number of seconds, got "${values.duration}"`,
      );
    await new Promise((r) => setTimeout(r, secs * 1000));
    await sim.stop();
    return 0;
  }
  return untilSignal(() => sim.stop());
}

/**
 * Renders each stream of a scenario to `<out>/<id>.<container>` (as fast as the encoders go, not
 * in real time) with its ground truth in `<out>/<id>.truth.json`: labelled files for `vigil
 * analyze`, for streams of any output type (a live stream's file carries the same content and
 * randomness as the scenario played live) and for file-only ones (vp9).
 */
async function render(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string', short: 's' },
      out: { type: 'string', short: 'o' },
      duration: { type: 'string' },
      stream: { type: 'string', multiple: true },
    },
  });
  if (!values.scenario || !values.out) {
    process.stderr.write('usage: vigil render --scenario <file> --out <dir> [--duration <s>] [--stream <id>]...\n');
    return 2;
  }
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = Number(values.duration);
    if (!Number.isFinite(duration) || duration <= 0 || duration > 3600) {
      throw new VigilError(
        ErrorCodes.SCENARIO_INVALID,
        `--duration must be a number of seconds in (0, 3600], got "${values.duration}"`,
      );
    }
  }
  const scenario = await loadScenarioFile(values.scenario);
  const wanted = values.stream ?? [];
  for (const id of wanted) {
    if (!scenario.streams.some((s) => s.id === id)) {
      throw new VigilError(
        ErrorCodes.SCENARIO_INVALID,
        `--stream ${id}: no such stream in ${values.scenario} (streams: ${scenario.streams.map((s) => s.id).join(', ')})`,
      );
    }
  }
  const streams = wanted.length > 0 ? scenario.streams.filter((s) => wanted.includes(s.id)) : scenario.streams;
  await mkdir(values.out, { recursive: true });
  for (const s of streams) {
    const container = containerFor(s);
    const path = join(values.out, `${s.id}.${container}`);
    // Rendered under a temporary name (same extension: it picks the muxer) and renamed when
    // complete, so a failed render leaves no file that looks finished.
    const part = join(values.out, `${s.id}.part.${container}`);
    const seconds = duration ?? s.cycle;
    try {
      const truth = await renderToFile(s, part, { duration: seconds, seed: scenario.seed });
      await rename(part, path);
      await writeFile(join(values.out, `${s.id}.truth.json`), `${JSON.stringify(truth, null, 1)}\n`);
      process.stdout.write(`${s.id}\t${path}\t${seconds} s\t${truth.length} ground-truth entries\n`);
    } catch (err) {
      await rm(part, { force: true });
      throw new Error(`render of stream ${s.id} to ${path} failed: ${errorMessage(err)}`, { cause: err });
    }
  }
  return 0;
}

async function configCommand(args: string[]): Promise<number> {
  const [sub, file] = args;
  if (sub !== 'check' || !file) {
    process.stderr.write('usage: vigil config check <file>\n');
    return 2;
  }
  const config = await loadConfigFile(file);
  // Secrets named by *Env keys must be set where the monitor will run: building the sinks checks them.
  createSinks(config.notify, { logger: createLogger('error') });
  process.stdout.write(`${file}: valid (${config.streams.length} stream(s))\n`);
  return 0;
}

function detectorsCommand(): number {
  for (const d of DETECTORS) {
    process.stdout.write(`${d.name}: ${d.description}\n`);
    for (const [k, o] of Object.entries(d.options)) {
      const range = o.type === 'number' ? ` [${o.min}..${o.max}] ${o.unit}` : '';
      process.stdout.write(`  ${k.padEnd(16)} default ${String(o.default)}${range}  ${o.description}\n`);
    }
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof VigilError) {
      // One line per problem; the first line says what and where.
      process.stderr.write(`vigil: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`vigil: ${errorMessage(err)}\n`);
    }
    process.exitCode = err instanceof VigilError && err.code === 'VIGIL_ERR_CONFIG_INVALID' ? 2 : 1;
  },
);
