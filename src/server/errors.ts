import type { z } from 'zod';
import { formatPath } from '../config/index.ts';

/**
 * Stable error codes of the HTTP API (fastify's FST_ERR_* style). Every error body is
 * `{ error: { code, message, details } }`. Never rename or reuse a code.
 */
export const ServerErrorCodes = {
  BAD_REQUEST: 'VIGIL_ERR_BAD_REQUEST',
  UNAUTHORIZED: 'VIGIL_ERR_UNAUTHORIZED',
  NOT_FOUND: 'VIGIL_ERR_NOT_FOUND',
  CONFLICT: 'VIGIL_ERR_CONFLICT',
  PAYLOAD_TOO_LARGE: 'VIGIL_ERR_PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'VIGIL_ERR_UNSUPPORTED_MEDIA_TYPE',
  NOT_READY: 'VIGIL_ERR_NOT_READY',
  INTERNAL: 'VIGIL_ERR_INTERNAL',
} as const;
export type ServerErrorCode = (typeof ServerErrorCodes)[keyof typeof ServerErrorCodes];

/** An error a route throws on purpose: the error handler sends it as-is. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ServerErrorCode,
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  error: { code: ServerErrorCode; message: string; details: string[] };
}

export function errorBody(code: ServerErrorCode, message: string, details: readonly string[] = []): ErrorBody {
  return { error: { code, message, details: [...details] } };
}

/** One line per zod issue, each naming the field: `body.detectors.black.minDuration: expected a number (s)`. */
export function issueDetails(part: 'params' | 'query' | 'body', error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([part, ...issue.path, key])}: unknown field`);
      continue;
    }
    lines.push(`${formatPath([part, ...issue.path])}: ${issue.message}`);
  }
  return lines;
}

/** Maps an HTTP status fastify itself raised (bad JSON, body too large...) to a stable code. */
export function codeForStatus(status: number): ServerErrorCode {
  if (status === 401) return ServerErrorCodes.UNAUTHORIZED;
  if (status === 404) return ServerErrorCodes.NOT_FOUND;
  if (status === 409) return ServerErrorCodes.CONFLICT;
  if (status === 413) return ServerErrorCodes.PAYLOAD_TOO_LARGE;
  if (status === 415) return ServerErrorCodes.UNSUPPORTED_MEDIA_TYPE;
  if (status === 503) return ServerErrorCodes.NOT_READY;
  if (status >= 500) return ServerErrorCodes.INTERNAL;
  return ServerErrorCodes.BAD_REQUEST;
}
