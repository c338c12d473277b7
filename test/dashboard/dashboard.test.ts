/**
 * The operator dashboard in a real browser, with real parts only: the simulator serves two live
 * UDP streams, the monitor (buildApp: worker processes, incident tracker) watches them, the
 * server (startServer, port 0) serves the API and the dashboard, and Debian's Chromium
 * (playwright-core, no downloaded browser) loads the page. Screenshots go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildApp, type VigilApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import type { IncidentEvent } from '../../src/shared/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { ARTIFACTS, openDashboard } from '../helpers/browser.ts';


const video = { width: 320, height: 180, fps: 25, bitrateKbps: 300 };
const audio = { sampleRate: 48000, channels: 2, toneHz: 440 };
const scenario = parseScenario({
  seed: 7,
  streams: [
    {
      id: 'cam-north',
      name: 'North gate camera',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video,
      audio,
      cycle: 120,
      schedule: [{ at: 6, type: 'black', duration: 4 }],
    },
    {
      id: 'studio-b',
      name: 'Studio B program',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video,
      audio: { ...audio, toneHz: 880 },
      cycle: 120,
      schedule: [{ at: 6.5, type: 'silence', duration: 4 }],
    },
  ],
});
const TAGS: Record<string, string[]> = { 'cam-north': ['outdoor', 'gate'], 'studio-b': ['studio'] };

/** Polls until `cond` holds; fails with `what` after `ms`. */
async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('dashboard in Chromium: simulator → monitor → server → page', () => {
  let sim: SimulationHandle;
  let app: VigilApp;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const incidents: (IncidentEvent & { at: number })[] = [];
  let pageErrors: string[] = [];

  beforeAll(async () => {
    sim = await startSimulation(scenario);
    const config = parseConfig({
      notify: { console: false },
      // The test watches an incident close on the page: no flap-window hold.
      incidents: { flapWindow: 0 },
      streams: sim.streams.map((s) => ({
        id: s.id,
        url: s.url,
        name: scenario.streams.find((x) => x.id === s.id)?.name,
        tags: TAGS[s.id] ?? [],
      })),
    });
    app = buildApp(config, { workers: 2 });
    app.events.on('incident', (e) => incidents.push({ ...e, at: Date.now() }));
    await app.start();
    server = await startServer(app, { port: 0 });
    ({ browser, page, pageErrors } = await openDashboard(`${server.url}/`, { width: 1280, height: 800 }));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.stop();
    await sim?.stop();
  }, 20_000);

  it('the wall shows every stream with its name and a live status', async () => {
    for (const id of ['cam-north', 'studio-b']) {
      await page.waitForSelector(`.tile[data-id="${id}"][data-state="live"]`, { timeout: 15_000 });
    }
    const tiles = await page.$$eval('.tile', (els) =>
      els.map((a) => ({
        id: (a as HTMLElement).dataset.id,
        name: a.querySelector('.tile-name')?.textContent,
        state: a.querySelector('.badge')?.textContent,
        fps: a.querySelector('.tile-fps')?.textContent,
        thumb: a.querySelector('.thumb')?.getAttribute('data-thumb'),
        href: a.getAttribute('href'),
        badgeColor: getComputedStyle(a.querySelector('.badge')!).color,
      })),
    );
    expect(tiles.map((t) => [t.id, t.name, t.state, t.href])).toEqual([
      ['cam-north', 'North gate camera', 'live', '#/streams/cam-north'],
      ['studio-b', 'Studio B program', 'live', '#/streams/studio-b'],
    ]);
    for (const t of tiles) {
      expect(t.fps).toMatch(/^\d+\.\d fps$/);
      // A placeholder until /api/streams/:id/thumbnail answers 200 with an image.
      expect(['none', 'image']).toContain(t.thumb);
      expect(t.badgeColor, 'live is green').toBe('rgb(63, 185, 80)');
    }
    await expect(page.textContent('#connection')).resolves.toBe('Live');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-wall.png` });
  }, 20_000);

  /** The tile's border colour, once its short transition is over. */
  async function borderSettles(id: string, color: string): Promise<void> {
    const get = () => page.$eval(`.tile[data-id="${id}"]`, (a) => getComputedStyle(a).borderTopColor);
    await until(`${id}'s border to turn ${color}`, async () => (await get()) === color, 2000).catch(
      async (err: Error) => {
        throw new Error(`${err.message}; it is ${await get()}`);
      },
    );
  }

  it('an injected defect shows as an open incident on the tile and the timeline, then leaves the tile', async () => {
    const opened = () => incidents.find((e) => e.kind === 'incident.opened' && e.incident.streamId === 'cam-north');
    await until('the monitor to open the black incident', () => opened()?.incident.type === 'black', 20_000);
    const open = opened()!;
    const tileIncident = `.tile[data-id="cam-north"] .tile-incident[data-id="${open.incident.id}"]`;
    const timelineItem = `#timeline li[data-id="${open.incident.id}"]`;
    await page.waitForSelector(tileIncident, { timeout: 3000 });
    await page.waitForSelector(`${timelineItem}[data-state="open"]`, { timeout: 3000 });
    const shownAfter = Date.now() - open.at;
    expect(shownAfter, 'on the page within a few seconds of the monitor opening it').toBeLessThan(3000);
    expect(await page.textContent(tileIncident)).toMatch(/critical\s+black since \d\d:\d\d:\d\d/);
    expect(await page.getAttribute('.tile[data-id="cam-north"]', 'data-severity')).toBe('critical');
    await borderSettles('cam-north', 'rgb(255, 92, 82)'); // critical: red
    expect(await page.textContent(timelineItem)).toMatch(/critical\s+black on North gate camera\s+open/);

    // The silence on studio-b is major: amber border (it may open a moment later).
    await page.waitForSelector('.tile[data-id="studio-b"][data-severity="major"]', { timeout: 8000 });
    await borderSettles('studio-b', 'rgb(240, 168, 48)'); // major: amber
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-incident.png` });

    const closed = () => incidents.find((e) => e.kind === 'incident.closed' && e.incident.id === open.incident.id);
    await until('the monitor to close the black incident', () => closed() !== undefined, 15_000);
    await page.waitForSelector(tileIncident, { state: 'detached', timeout: 3000 });
    expect(Date.now() - closed()!.at).toBeLessThan(3000);
    await page.waitForSelector(`${timelineItem}[data-state="closed"]`, { timeout: 3000 });
    const item = await page.textContent(timelineItem);
    expect(item).toMatch(/black on North gate camera\s+closed/);
    expect(item).toMatch(/\d\d:\d\d:\d\d → \d\d:\d\d:\d\d · \d+\.\d s/);
    expect(item, 'measurements').toMatch(/luma/i);
    // Newest first: the timeline is ordered by opening time, descending.
    const opens = await page.$$eval('#timeline li time:first-of-type', (ts) =>
      ts.map((t) => t.getAttribute('datetime') ?? ''),
    );
    expect(opens).toEqual([...opens].sort().reverse());
  }, 45_000);

  it('keyboard: Tab reaches the search box and the tiles (with a visible focus ring); search filters tiles', async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const reached: string[] = [];
    let tileFocus: { outline: string; width: string } | undefined;
    let tileIndex = -1;
    for (let i = 0; i < 20 && !tileFocus; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const a = document.activeElement as HTMLElement;
        const style = getComputedStyle(a);
        return {
          key: a.id || a.className,
          tile: a.classList.contains('tile'),
          outline: style.outlineStyle,
          width: style.outlineWidth,
        };
      });
      reached.push(info.key);
      if (info.tile) {
        tileFocus = info;
        tileIndex = reached.length - 1;
      }
    }
    expect(reached).toContain('search');
    // A tile's class list carries its severity (e.g. 'tile major'), so find it by position.
    expect(reached.indexOf('search')).toBeLessThan(tileIndex);
    expect(tileFocus, `Tab order: ${reached.join(', ')}`).toBeDefined();
    expect(tileFocus!.outline).toBe('solid');
    expect(parseFloat(tileFocus!.width)).toBeGreaterThanOrEqual(2);

    const visible = () =>
      page.$$eval('.tile-item:not([hidden])', (els) => els.map((e) => (e as HTMLElement).dataset.id));
    await page.focus('#search');
    await page.keyboard.type('studio');
    expect(await visible()).toEqual(['studio-b']);
    await page.fill('#search', '');
    await page.keyboard.type('outdoor'); // a tag
    expect(await visible()).toEqual(['cam-north']);
    await page.fill('#search', 'CAM-NO'); // an id, any case
    expect(await visible()).toEqual(['cam-north']);
    await page.fill('#search', 'nothing-like-this');
    expect(await visible()).toEqual([]);
    expect(await page.isVisible('#wall-empty')).toBe(true);
    await page.fill('#search', '');
    expect(await visible()).toEqual(['cam-north', 'studio-b']);
    await page.selectOption('#state-filter', 'lost');
    expect(await visible()).toEqual([]);
    await page.selectOption('#state-filter', 'live');
    expect(await visible()).toEqual(['cam-north', 'studio-b']);
    await page.selectOption('#state-filter', '');

    // Enter on a focused tile opens its page.
    await page.focus('.tile[data-id="studio-b"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/streams/studio-b');
    // Focus moves to the page title once the page has rendered (it may lag the hash change).
    await page.waitForFunction(() => document.activeElement?.id === 'stream-title', undefined, { timeout: 5000 });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('stream-title');
    await page.goBack();
    await page.waitForSelector('#wall-view:not([hidden])');
  }, 20_000);

  it('the per-stream page draws live uPlot charts of the detector gauges', async () => {
    // A direct link, loaded afresh: the charts fill from the status events after the load.
    await page.goto(`${server.url}/#/streams/cam-north`);
    await page.reload();
    await page.waitForSelector('#stream-title:has-text("North gate camera")', { timeout: 5000 });
    await page.waitForSelector('figure.chart[data-gauge="luma_mean"] canvas', { timeout: 5000 });
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('figure.chart[data-gauge="luma_mean"]')?.dataset.points) >= 3,
      undefined,
      { timeout: 8000 },
    );
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const canvas = f.querySelector('canvas')!;
        const ctx = canvas.getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
        let inked = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked++;
        return {
          gauge: (f as HTMLElement).dataset.gauge,
          points: Number((f as HTMLElement).dataset.points),
          inked,
          w: canvas.width,
        };
      }),
    );
    const gauges = charts.map((c) => c.gauge);
    expect(gauges).toEqual(expect.arrayContaining(['luma_mean', 'motion', 'audio_level_db']));
    const luma = charts.find((c) => c.gauge === 'luma_mean')!;
    expect(luma.points).toBeGreaterThanOrEqual(3);
    expect(luma.w).toBeGreaterThan(200);
    expect(luma.inked, 'the series is drawn on the canvas').toBeGreaterThan(200);
    expect(await page.textContent('#stream-facts')).toMatch(/cam-north[\s\S]*320×180/);
    // The thumbnail slot shows the stream's picture once the endpoint has one.
    const thumb = await page.evaluate(async () => (await fetch('/api/streams/cam-north/thumbnail')).status);
    if (thumb === 200) await page.waitForSelector('#stream-thumb[data-thumb="image"] img', { timeout: 12_000 });
    else expect(await page.getAttribute('#stream-thumb', 'data-thumb')).toBe('none');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-stream.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 20_000);
});
