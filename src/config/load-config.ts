import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ErrorCodes, VigilError, errorMessage } from '../shared/index.ts';
import { configSchema, type VigilConfig } from './config-schema.ts';

/** Formats a zod issue path as `streams[0].detectors.black.minDuration`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

export function issueLines(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...issue.path, key])}: unknown key`);
      continue;
    }
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      // A record key that its key schema refused: that schema's own message, not "Invalid key in record".
      lines.push(`${formatPath(issue.path)}: ${issue.issues[0]!.message}`);
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue) {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${issue.message}`);
  }
  return lines;
}

/**
 * Validates a config object. Throws VIGIL_ERR_CONFIG_INVALID with one line per problem,
 * each naming the field path and what was expected.
 */
export function parseConfig(input: unknown, source = 'config'): VigilConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    const details = issueLines(result.error);
    throw new VigilError(ErrorCodes.CONFIG_INVALID, `${source} is invalid:\n  ${details.join('\n  ')}`, details);
  }
  const config = result.data;
  const seen = new Map<string, number>();
  const dup: string[] = [];
  config.streams.forEach((s, i) => {
    const first = seen.get(s.id);
    if (first !== undefined) dup.push(`streams[${i}].id: duplicate id "${s.id}" (also streams[${first}].id)`);
    else seen.set(s.id, i);
  });
  if (dup.length) throw new VigilError(ErrorCodes.CONFIG_INVALID, `${source} is invalid:\n  ${dup.join('\n  ')}`, dup);
  return config;
}

/** Parses YAML text; syntax errors are reported with line and column. */
export function parseConfigText(text: string, source = 'config'): VigilConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const details = doc.errors.map((e) => `${e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}: ` : ''}${e.message.split('\n')[0]}`);
    throw new VigilError(ErrorCodes.CONFIG_INVALID, `${source} is not valid YAML:\n  ${details.join('\n  ')}`, details);
  }
  return parseConfig(doc.toJS(), source);
}

export async function loadConfigFile(path: string): Promise<VigilConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VigilError(ErrorCodes.CONFIG_UNREADABLE, `cannot read config ${path}: ${errorMessage(err)}`);
  }
  return parseConfigText(text, path);
}
