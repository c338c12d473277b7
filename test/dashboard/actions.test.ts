/**
 * Operator actions in a real browser: acknowledge and silence from the incident timeline and
 * the per-stream page, with the token prompt of a server that needs a bearer token, and the
 * silences list. Real parts only: simulator (UDP), monitor (buildApp), server, Debian's
 * Chromium through playwright-core. Screenshots go to test-artifacts/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { buildApp, type VigilApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { parseScenario, startSimulation, type SimulationHandle } from '../../src/simulate/index.ts';
import { ARTIFACTS, openDashboard } from '../helpers/browser.ts';

const TOKEN = 'let-me-in';

const scenario = parseScenario({
  seed: 3,
  streams: [
    {
      id: 'cam-east',
      name: 'East camera',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 320, height: 180, fps: 25, bitrateKbps: 300 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 440 },
      cycle: 120,
      // Long enough to stay open for the whole test.
      schedule: [{ at: 3, type: 'black', duration: 60 }],
    },
    {
      // Under a config-file silence: its incident shows, marked silenced.
      id: 'cam-quiet',
      name: 'Quiet camera',
      output: { type: 'udp', port: 0 },
      content: { source: 'testsrc2' },
      clock: true,
      video: { width: 160, height: 90, fps: 25, bitrateKbps: 150 },
      audio: { sampleRate: 48000, channels: 2, toneHz: 880 },
      cycle: 120,
      schedule: [{ at: 3, type: 'black', duration: 60 }],
    },
  ],
});

describe('dashboard actions in Chromium: acknowledge, silence, token prompt', () => {
  let sim: SimulationHandle;
  let app: VigilApp;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];

  beforeAll(async () => {
    sim = await startSimulation(scenario);
    const config = parseConfig({
      notify: { console: false, silences: [{ stream: 'cam-quiet', duration: 3600, comment: 'works' }] },
      streams: sim.streams.map((s) => ({
        id: s.id,
        url: s.url,
        name: s.id === 'cam-east' ? 'East camera' : 'Quiet camera',
        tags: ['outdoor'],
      })),
    });
    app = buildApp(config, { workers: 1 });
    await app.start();
    server = await startServer(app, { port: 0, token: TOKEN });
    ({ browser, page, pageErrors } = await openDashboard(`${server.url}/`, { width: 1280, height: 900 }));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await app?.stop();
    await sim?.stop();
  }, 20_000);

  it('shows an incident under a silence, marked silenced', async () => {
    const quiet = '#timeline li[data-stream="cam-quiet"][data-type="black"]';
    await page.waitForSelector(`${quiet} .badge-silenced`, { timeout: 20_000 });
    expect(await page.textContent(`${quiet} .badge-silenced`)).toBe('silenced');
    await page.waitForSelector('.tile[data-id="cam-quiet"] .tile-incident:has-text("silenced")', { timeout: 3000 });
  }, 25_000);

  it('acknowledges an incident from the timeline, asking for the token first, by keyboard', async () => {
    const item = '#timeline li[data-stream="cam-east"][data-type="black"][data-state="open"]';
    await page.waitForSelector(item, { timeout: 20_000 });
    const id = (await page.getAttribute(item, 'data-id'))!;
    // Keyboard only: focus the button, Enter opens the dialog, type, Enter submits.
    await page.focus(`#timeline li[data-id="${id}"] .btn-ack`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#ack-dialog[open]');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('ack-by');
    await page.keyboard.type('ann');
    await page.focus('#ack-note');
    await page.keyboard.type('checking the encoder');
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-ack-dialog.png` });
    await page.keyboard.press('Enter');
    // The server wants a token: the token dialog opens; the call is retried with it.
    await page.waitForSelector('#token-dialog[open]', { timeout: 5000 });
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#timeline li[data-id="${id}"] .badge-ack`, { timeout: 5000 });
    expect(await page.textContent(`#timeline li[data-id="${id}"] .badge-ack`)).toBe('acknowledged by ann');
    expect(await page.$(`#timeline li[data-id="${id}"] .btn-ack`)).toBeNull();
    await page.waitForSelector(`.tile[data-id="cam-east"] .tile-incident[data-id="${id}"]:has-text("ack ann")`, { timeout: 3000 });
    // Persisted in the app, and the token kept for the next action.
    expect(app.incident(id)).toMatchObject({ acknowledged: { by: 'ann', note: 'checking the encoder' } });
    expect(await page.evaluate(() => localStorage.getItem('vigil:token'))).toBe(TOKEN);
    // Evidence links on the item.
    expect(await page.getAttribute(`#timeline li[data-id="${id}"] .evidence-clip`, 'href')).toBe(`/api/incidents/${id}/clip`);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-acknowledged.png` });
  }, 40_000);

  it('silences this type on this stream from the timeline; the silences list shows it and can end it', async () => {
    const item = '#timeline li[data-stream="cam-east"][data-type="black"]';
    await page.click(`${item} .btn-silence`);
    await page.waitForSelector('#silence-dialog[open]');
    await page.check('#silence-dialog input[value="type"]');
    await page.selectOption('#silence-duration', '900');
    await page.fill('#silence-comment', 'lens cap');
    await page.click('#silence-dialog button[type="submit"]');
    const mine = '#silences li[data-state="active"]:has-text("East camera")';
    await page.waitForSelector(mine, { timeout: 5000 });
    const text = await page.textContent(mine);
    expect(text).toMatch(/stream East camera · type black/);
    expect(text).toMatch(/lens cap/);
    const rules = app.listSilences(['active']).filter((r) => r.source === 'api');
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ stream: 'cam-east', type: 'black', comment: 'lens cap', createdBy: 'ann' });
    expect(Date.parse(rules[0]!.endsAt) - Date.parse(rules[0]!.startsAt)).toBe(900_000);
    // The config-file rule is listed without an End button.
    expect(await page.textContent('#silences li:has-text("Quiet camera")')).toMatch(/config file/);
    expect(await page.$('#silences li:has-text("Quiet camera") button')).toBeNull();
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-silences.png`, fullPage: true });

    await page.click(`${mine} button`);
    await page.waitForSelector(mine, { state: 'detached', timeout: 5000 });
    expect(app.listSilences(['active']).filter((r) => r.source === 'api')).toEqual([]);
  }, 20_000);

  it('silences the whole stream from its page', async () => {
    await page.goto(`${server.url}/#/streams/cam-east`);
    await page.waitForSelector('#stream-title:has-text("East camera")', { timeout: 5000 });
    // The stream page's history carries the same actions.
    await page.waitForSelector('#stream-timeline li[data-type="black"] .btn-silence', { timeout: 5000 });
    await page.focus('#stream-silence');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#silence-dialog[open]');
    expect(await page.isDisabled('#silence-dialog input[value="type"]')).toBe(true);
    await page.selectOption('#silence-duration', '3600');
    await page.click('#silence-dialog button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('#action-status')?.textContent?.startsWith('Silenced'), undefined, {
      timeout: 5000,
    });
    const rules = app.listSilences(['active']).filter((r) => r.source === 'api');
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({ stream: 'cam-east' });
    expect(rules[0]!.type).toBeUndefined();
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-stream-silenced.png`, fullPage: true });
    // The quiet camera's incident is on its page, marked silenced.
    await page.goto(`${server.url}/#/streams/cam-quiet`);
    await page.waitForSelector('#stream-timeline li[data-type="black"] .badge-silenced', { timeout: 5000 });
    expect(pageErrors).toEqual([]);
  }, 20_000);
});
