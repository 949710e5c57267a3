/**
 * The web console in Chromium (prints figures, gates nothing): the JavaScript its first page loads
 * (bytes as served and gzipped; target ≤ 300 KB gzip), and the runs page over 10,000 recorded runs
 * in a SQLite store (bench/runs-list.ts records them): milliseconds from the navigation's start to
 * the first page of runs on screen (target ≤ 500 ms), the median of several loads, each in a fresh
 * browser context (nothing cached) and again with the assets cached (a returning visitor).
 *
 *   node --import tsx bench/console.ts
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { buildApiServer } from '../api/server.js';
import { buildConsole } from '../console/build.js';
import { IdflowEngine } from '../engine/engine.js';
import { SQLITE_FILE, openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { launchChromium, signInWithLink } from '../test/helpers/browser.js';
import { percentile } from './one-step.js';
import { record } from './runs-list.js';

const RUNS = 10_000;
const LOADS = 7;
const FIRST_PAGE_TARGET_KB = 300;
const RUNS_PAGE_TARGET_MS = 500;

export interface ConsoleFigures {
  scripts: number;
  jsBytes: number;
  jsGzipBytes: number;
  coldMs: number;
  warmMs: number;
}

/** A browser page signed in with a fresh one-time link, as a person opening the console. */
async function signedIn(browser: Browser, store: Store, token: string, url: string): Promise<Page> {
  const created = await store.consoleSessions.createLink({ token }, 60_000);
  if (!created) throw new Error('could not create a sign-in link');
  return signInWithLink(browser, `${url}/console/signin/${created.link}`);
}

/** Milliseconds from the navigation's start to the runs table's first row, as the page's own clock has it. */
async function runsPageMs(page: Page, url: string): Promise<number> {
  await page.goto(`${url}/runs`, { waitUntil: 'commit' });
  await page.locator('table.list tbody tr').first().waitFor();
  return page.evaluate<number>('performance.now()');
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export async function benchConsole(): Promise<ConsoleFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bench-console-'));
  const store = await openStore({ file: join(dir, SQLITE_FILE) });
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: pino({ level: 'silent' }) });
  const { outDir } = await buildConsole({ outDir: join(dir, 'console'), minify: true });
  const app = await buildApiServer({ engine, console: { dir: outDir } });
  let browser: Browser | undefined;
  try {
    await record(store, Date.now());
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const token = await store.tokens.create('bench-console', ['admin']);
    browser = await launchChromium();

    // The first page: every script it loads, as served, gzipped as a server would send it.
    const first = await signedIn(browser, store, token, url);
    const scripts = new Map<string, Buffer>();
    first.on('response', (response) => {
      if (response.request().resourceType() === 'script') void response.body().then((body) => scripts.set(response.url(), body));
    });
    await first.goto(`${url}/`, { waitUntil: 'networkidle' });
    await first.locator('main h1').first().waitFor();
    const bodies = [...scripts.values()];
    await first.context().close();

    // Cold loads: each in a context of its own (an empty cache), with the session's cookie.
    const session = await signedIn(browser, store, token, url);
    const cookies = await session.context().cookies(url);
    const cold: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await context.addCookies(cookies);
      cold.push(await runsPageMs(await context.newPage(), url));
      await context.close();
    }
    // Warm loads: one context, the assets in its cache (immutable, a year) from the loads before.
    const warm: number[] = [];
    for (let i = 0; i < LOADS; i++) warm.push(await runsPageMs(session, url));
    await session.context().close();

    return {
      scripts: bodies.length,
      jsBytes: bodies.reduce((sum, body) => sum + body.length, 0),
      jsGzipBytes: bodies.reduce((sum, body) => sum + gzipSync(body).length, 0),
      coldMs: median(cold),
      warmMs: median(warm),
    };
  } finally {
    await browser?.close();
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function describeConsole(f: ConsoleFigures): string {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  return (
    `first page: ${f.scripts} scripts, ${kb(f.jsBytes)} of JavaScript, ${kb(f.jsGzipBytes)} gzip (target ≤ ${FIRST_PAGE_TARGET_KB} KB)\n` +
    `runs page over ${RUNS} runs, navigation → first page of runs shown: ${f.coldMs.toFixed(0)} ms nothing cached, ` +
    `${f.warmMs.toFixed(0)} ms assets cached (target ≤ ${RUNS_PAGE_TARGET_MS} ms; medians of ${LOADS} loads)`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(describeConsole(await benchConsole()));
}
