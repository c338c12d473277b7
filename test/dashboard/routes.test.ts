import { afterAll, describe, expect, it } from 'vitest';
import { createServer } from '../../src/server/index.ts';
import { FakeDeps } from '../server/fake-deps.ts';

const server = createServer(new FakeDeps());
afterAll(() => server.close());

describe('dashboard routes', () => {
  it('serves the page at / and its modules, styles and uPlot, with a CSP', async () => {
    const page = await server.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('<script type="module" src="/dashboard/app.js">');
    for (const [url, type] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/charts.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/assets/uplot.esm.js', 'text/javascript; charset=utf-8'],
      ['/assets/uPlot.min.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toBe(type);
      expect(res.body.length, url).toBeGreaterThan(100);
    }
  });

  it('every module the page imports is served (no bundler: the import graph is the file list)', async () => {
    const seen = new Set<string>();
    const queue = ['/dashboard/app.js'];
    while (queue.length) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      for (const m of res.body.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        const spec = m[1]!;
        queue.push(spec.startsWith('/') ? spec : new URL(spec, `http://x${url}`).pathname);
      }
    }
    expect(seen).toContain('/assets/uplot.esm.js');
    expect(seen).toContain('/dashboard/store.js');
  });

  it('serves nothing outside its folder, and JSON 404s for unknown files', async () => {
    for (const url of [
      '/dashboard/nope.js',
      '/dashboard/..%2Fserver.ts',
      '/dashboard/%2E%2E%2Fdashboard.ts',
      '/assets/uPlot.cjs.js',
    ]) {
      const res = await server.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code, url).toBe('VIGIL_ERR_NOT_FOUND');
    }
  });

  it('can be turned off', async () => {
    const bare = createServer(new FakeDeps(), { dashboard: false });
    expect((await bare.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
    await bare.close();
  });
});
