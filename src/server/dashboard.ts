import { readFile, readdir } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ServerErrorCodes, errorBody } from './errors.ts';

/**
 * The operator dashboard: plain HTML, CSS and ES modules from src/server/dashboard/, read from
 * disk per request (no build step), plus uPlot served from node_modules. These routes are the
 * page, not the API, so they are not in /openapi.json; DASHBOARD_ROUTES lists them so the
 * OpenAPI test can tell them apart from an undocumented API route.
 */

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Asset URL → file in uPlot's dist folder. */
const UPLOT_ASSETS: Readonly<Record<string, string>> = {
  '/assets/uplot.esm.js': 'uPlot.esm.js',
  '/assets/uPlot.min.css': 'uPlot.min.css',
};

/** Every METHOD path registerDashboard adds (fastify syntax). */
export const DASHBOARD_ROUTES: readonly string[] = [
  'GET /',
  'GET /dashboard/:file',
  ...Object.keys(UPLOT_ASSETS).map((u) => `GET ${u}`),
];

// style-src needs 'unsafe-inline': uPlot positions its legend and cursor with inline styles.
const CSP =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function send(reply: FastifyReply, path: string, text: Buffer): FastifyReply {
  return reply
    .type(TYPES[extname(path)] ?? 'application/octet-stream')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', CSP)
    .header('referrer-policy', 'no-referrer')
    .send(text);
}

/** Files the dashboard may serve: only plain names with a known type, listed when the server is built. */
function servable(): Set<string> {
  return new Set(readdirSync(DIR).filter((f) => /^[\w.-]+$/.test(f) && extname(f) in TYPES));
}

export function registerDashboard(server: FastifyInstance): void {
  const files = servable();
  const notFound = (reply: FastifyReply, url: string) =>
    reply.code(404).send(errorBody(ServerErrorCodes.NOT_FOUND, `no route GET ${url}`));

  server.get('/', async (_request, reply) => send(reply, 'index.html', await readFile(join(DIR, 'index.html'))));
  server.get<{ Params: { file: string } }>('/dashboard/:file', async (request, reply) => {
    const { file } = request.params;
    // Re-list so a file added while developing shows up without a restart; never a path outside DIR.
    if (!files.has(file)) for (const f of await readdir(DIR)) if (f === file && extname(f) in TYPES) files.add(f);
    if (!files.has(file)) return notFound(reply, `/dashboard/${file}`);
    return send(reply, file, await readFile(join(DIR, file)));
  });
  for (const [url, file] of Object.entries(UPLOT_ASSETS)) {
    server.get(url, async (_request, reply) => send(reply, file, await readFile(join(UPLOT_DIST, file))));
  }
}
