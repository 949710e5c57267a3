/**
 * The console's build (console/build.ts): an index.html that loads only content-hashed files and no
 * inline script (the API's CSP allows 'self' only), the function editor and the diff in lazy chunks,
 * and a first page within its 300 KB gzip budget.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildConsole } from '../console/build.js';

let outDir: string;
let built: Awaited<ReturnType<typeof buildConsole>>;

before(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'idflow-console-'));
  built = await buildConsole({ outDir });
});
after(() => rm(outDir, { recursive: true, force: true }));

test('index.html loads the hashed entry script and stylesheet, preloads the chunks they import, with no inline script', async () => {
  const html = await readFile(join(outDir, 'index.html'), 'utf8');
  const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
  const chunks = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((match) => match[1]);
  assert.equal(sources.length, 2 + chunks.length, html);
  assert.deepEqual(
    chunks.map((url) => url.slice(1)).sort(),
    built.firstPage.files.filter((file) => /^assets\/chunk-/.test(file)),
    "the first page's chunks, no lazy one",
  );
  for (const url of sources) {
    assert.match(url, /^\/assets\/(main|chunk)-[A-Z0-9]{8}\.(js|css)$/, 'a content-hashed asset');
    assert.ok(built.files.includes(url.slice(1)), `${url} was written`);
  }
  // Every <script> names its source: nothing inline for a CSP of default-src 'self' to refuse.
  for (const script of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(script[1], /\bsrc="/);
    assert.equal(script[2].trim(), '');
  }
  assert.doesNotMatch(html, /\bstyle=|\son[a-z]+=/i, 'no inline style or handler');
});

test('a content change changes the names: what was cached immutably is never served stale', async () => {
  const again = await buildConsole({ outDir: `${outDir}-again`, minify: false });
  try {
    const entry = (files: string[]) => files.find((file) => /^assets\/main-.*\.js$/.test(file));
    assert.notEqual(entry(again.files), entry(built.files), 'an unminified build differs, so must its hash');
  } finally {
    await rm(again.outDir, { recursive: true, force: true });
  }
});

test('CodeMirror and the diff are lazy chunks; the first page stays within 300 KB gzip', async () => {
  const firstPage = await Promise.all(built.firstPage.files.map((file) => readFile(join(outDir, file), 'utf8')));
  const lazy = built.files.filter((file) => file.endsWith('.js') && !built.firstPage.files.includes(file));
  const lazyCode = await Promise.all(lazy.map((file) => readFile(join(outDir, file), 'utf8')));
  // Strings each library carries in its minified code.
  for (const marker of ['cm-lineNumbers', 'stripTrailingCr']) {
    assert.ok(!firstPage.some((code) => code.includes(marker)), `${marker} is not in the first page`);
    assert.ok(
      lazyCode.some((code) => code.includes(marker)),
      `${marker} is in a lazy chunk`,
    );
  }
  console.log(`first page: ${(built.firstPage.gzipBytes / 1024).toFixed(1)} KB gzip (${built.firstPage.files.length} files)`);
  assert.ok(built.firstPage.gzipBytes <= 300 * 1024, `${built.firstPage.gzipBytes} bytes gzip`);
});
