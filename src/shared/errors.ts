/** Stable error codes (fastify's FST_ERR_* style). Never renumber or rename. */
export const ErrorCodes = {
  CONFIG_INVALID: 'VIGIL_ERR_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'VIGIL_ERR_CONFIG_UNREADABLE',
  INPUT_UNREADABLE: 'VIGIL_ERR_INPUT_UNREADABLE',
  NO_MEDIA_STREAMS: 'VIGIL_ERR_NO_MEDIA_STREAMS',
  PROGRAM_NOT_FOUND: 'VIGIL_ERR_PROGRAM_NOT_FOUND',
  SCENARIO_INVALID: 'VIGIL_ERR_SCENARIO_INVALID',
  WORKER_DIED: 'VIGIL_ERR_WORKER_DIED',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(code: ErrorCode, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
    this.details = details;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
