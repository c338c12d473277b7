import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured logs go to stderr so stdout stays clean for `analyze --format jsonl`. */
export function createLogger(level: string = process.env.VIGIL_LOG_LEVEL ?? 'warn', name = 'vigil'): Logger {
  return pino({ name, level }, pino.destination(2));
}
