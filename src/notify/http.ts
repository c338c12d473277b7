import type { z } from 'zod';
import { ErrorCodes, VigilError, errorMessage, type Logger } from '../shared/index.ts';
import { PermanentDeliveryError } from './sink.ts';

/** Options every HTTP sink factory takes. */
export interface HttpSinkOptions {
  logger?: Logger;
  /** fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Where `*Env` settings are looked up (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Parses a sink config, turning zod issues into a VigilError that names each field. */
export function parseSinkConfig<S extends z.ZodType>(schema: S, config: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    throw new VigilError(
      ErrorCodes.CONFIG_INVALID,
      `invalid ${what} config`,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

/**
 * Reads a secret named by a `*Env` setting. A missing or empty variable is a config error that
 * names the variable and the sink, raised when the sink is created (at startup), never later.
 */
export function requireEnv(
  env: Readonly<Record<string, string | undefined>>,
  variable: string,
  setting: string,
  sinkName: string,
): string {
  const value = env[variable];
  if (value === undefined || value === '') {
    throw new VigilError(
      ErrorCodes.CONFIG_INVALID,
      `notify sink "${sinkName}": environment variable ${variable} (named by ${setting}) is not set`,
      [`${setting}: environment variable ${variable} is not set or empty`],
    );
  }
  return value;
}

export interface PostJsonOptions {
  /** Sink name, for errors and logs. The URL is never logged: it may carry a secret. */
  name: string;
  url: string;
  body: string;
  /** Request headers; content-type is always application/json, user-agent defaults to vigil-notify. */
  headers?: Headers | Record<string, string>;
  timeoutMs: number;
  attempt: number;
  signal?: AbortSignal;
  fetch: typeof fetch;
  /** 4xx statuses that are retried; every other 4xx throws PermanentDeliveryError. */
  retryable4xx: ReadonlySet<number>;
  logger?: Logger;
  incidentId: string;
}

/**
 * POSTs a JSON body. Resolves on 2xx; throws on network errors and 5xx (the Notifier retries)
 * and PermanentDeliveryError on a 4xx outside `retryable4xx` (dropped, not retried).
 */
export async function postJson(o: PostJsonOptions): Promise<void> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const headers = new Headers(o.headers);
  if (!headers.has('user-agent')) headers.set('user-agent', 'vigil-notify');
  headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await o.fetch(o.url, {
      method: 'POST',
      headers,
      body: o.body,
      signal: o.signal ? AbortSignal.any([timeout, o.signal]) : timeout,
    });
  } catch (err) {
    // fetch's own message is just "fetch failed": surface the cause (ECONNREFUSED, timeout, ...).
    const cause = err instanceof Error && err.cause !== undefined ? `: ${errorMessage(err.cause)}` : '';
    throw new Error(`${o.name}: ${errorMessage(err)}${cause} (attempt ${o.attempt})`, { cause: err });
  }
  // Free the connection: we do not read the response body.
  await res.body?.cancel().catch(() => {});
  if (res.ok) {
    o.logger?.debug(
      { sink: o.name, status: res.status, incidentId: o.incidentId, attempt: o.attempt },
      'notification delivered',
    );
    return;
  }
  const msg = `${o.name}: HTTP ${res.status} ${res.statusText} (attempt ${o.attempt})`;
  if (res.status >= 400 && res.status < 500 && !o.retryable4xx.has(res.status)) {
    throw new PermanentDeliveryError(msg);
  }
  throw new Error(msg);
}
