/**
 * The web console in a real browser: Debian's Chromium (never a downloaded one) driven by
 * playwright-core; a context signed in the way a person is, through a one-time sign-in link; light
 * or dark (`prefers-color-scheme`); axe-core's check of a page; screenshots kept in
 * test-output/screenshots/ (git-ignored) for people to look at and for the docs.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AxeResults } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's package; IDFLOW_CHROMIUM points elsewhere (another distribution's path). */
export const CHROMIUM = process.env.IDFLOW_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

export type ColorScheme = 'light' | 'dark';

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** What the pages' scripts threw, and what the browser refused them (a CSP violation is a console error). */
const pageErrors = new WeakMap<Page, string[]>();

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true }).catch((error: Error) => {
    throw new Error(`cannot start Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium package): ${error.message}`);
  });
}

/**
 * A page in a fresh browser context (its own cookies) that opened `link`, a one-time sign-in link
 * (POST /v1/console/links, `idflow console link`, or what `idflow dev` prints), and landed on the
 * console's first page, signed in.
 */
export async function signInWithLink(browser: Browser, link: string, colorScheme: ColorScheme = 'light'): Promise<Page> {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 800 }, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    // A failed request's own line (a 403 the test forged on purpose) is the test's business, not the page's;
    // an email's inline styles refused inside the dev outbox's sandboxed frame are the email's (docs/console.md).
    if (message.type() !== 'error' || message.text().startsWith('Failed to load resource') || message.location().url === 'about:srcdoc')
      return;
    errors.push(`${page.url()}: ${message.text()}`);
  });
  const response = await page.goto(link);
  assert.equal(new URL(page.url()).pathname, '/', `the sign-in link leads to the console's first page (${response?.status()})`);
  await page.getByText('Signed in as').waitFor();
  return page;
}

/** Waits until the page shows its heading and no loading state: every query's data, or its error, is on screen. */
export async function settled(page: Page): Promise<void> {
  await page
    .locator('main h1')
    .first()
    .waitFor({ timeout: 15_000 })
    .catch((error: Error) => {
      throw new Error(`no heading on ${page.url()}: ${error.message}\n${error.message.includes('Timeout') ? 'the page shows no h1' : ''}`);
    });
  const loading = page.locator('[aria-busy="true"]').or(page.getByText('Loading…'));
  for (const deadline = Date.now() + 15_000; (await loading.count()) > 0;) {
    assert.ok(Date.now() < deadline, `${page.url()} is still loading after 15 s`);
    await page.waitForTimeout(50);
  }
}

/** axe-core over the page as shown: no serious or critical violation; a failure names each rule, its help and the nodes. */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP (no inline script) does not govern.
  if (!(await page.evaluate<boolean>(`typeof axe === 'object'`))) await page.evaluate(await AXE_SOURCE);
  const results = await page.evaluate<AxeResults>(`axe.run(document, { resultTypes: ['violations'] })`);
  const grave = results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  const report = grave
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help} — ${violation.helpUrl}\n` +
        violation.nodes.map((node) => `    ${node.target.join(' ')}: ${node.failureSummary?.replace(/\s+/g, ' ') ?? ''}`).join('\n'),
    )
    .join('\n');
  assert.equal(grave.length, 0, `axe found serious or critical violations on ${what}:\n${report}`);
}

/** The page's scripts ran without an error or a refusal from the browser. */
export function assertNoPageErrors(page: Page): void {
  assert.deepEqual(pageErrors.get(page) ?? [], [], 'errors in the pages this tab showed');
}

/** A screenshot of the whole page, test-output/screenshots/<name>-<light|dark>.png; its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dark = await page.evaluate<boolean>(`matchMedia('(prefers-color-scheme: dark)').matches`);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}-${dark ? 'dark' : 'light'}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** What every page must pass once it has settled: no script error, axe, and its screenshot. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await settled(page);
  assertNoPageErrors(page);
  await assertAccessible(page, `${name} (${page.url()})`);
  await screenshot(page, name);
}
