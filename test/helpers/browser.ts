/**
 * A page in Debian's Chromium (playwright-core; no downloaded browser) for the dashboard tests,
 * with page errors and console errors collected. Failed resource loads (401 before a token is
 * given, 404 for a thumbnail or clip not there yet) are expected and not collected.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots go here (git-ignored). */
export const ARTIFACTS = 'test-artifacts';

export interface DashboardPage {
  readonly browser: Browser;
  readonly page: Page;
  /** Uncaught page errors and console errors, in order. */
  readonly pageErrors: string[];
}

export async function openDashboard(url: string, viewport: { width: number; height: number }): Promise<DashboardPage> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set VIGIL_CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport });
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().includes('Failed to load resource')) pageErrors.push(msg.text());
  });
  await page.goto(url);
  return { browser, page, pageErrors };
}
