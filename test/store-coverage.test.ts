/**
 * npm test runs a test file on PostgreSQL too only when it reaches test/helpers/store.ts
 * (scripts/test.js). A test that opens a store, reads a database file or picks the test server
 * some other way would run on SQLite alone, or on a database it shares: this finds such files.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, resolveImport, specifiersOf } from './helpers/imports.js';

const HELPER = 'test/helpers/store.ts';
const STORE_ENTRY = 'store/index.ts';
/** What opens a database without the helper: the store's openers, the drivers themselves. */
const OPENERS = /\b(openStore|createStore|openDatabase)\b/;
const DRIVERS = new Set(['better-sqlite3', 'pg']);

function testFiles(): string[] {
  return ['test', 'test/helpers'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((name) => name.endsWith('.ts'))
      .map((name) => `${dir}/${name}`),
  );
}

/** Why `file` opens a database without the helper, if it does. */
function opensOnItsOwn(file: string): string | undefined {
  const source = readFileSync(join(ROOT, file), 'utf8');
  if (source.includes('IDFLOW_TEST_DATABASE_URL')) return 'reads IDFLOW_TEST_DATABASE_URL';
  const specifiers = specifiersOf(file);
  const driver = specifiers.find((specifier) => DRIVERS.has(specifier));
  if (driver) return `imports ${driver}`;
  const importsStore = specifiers.some((specifier) => resolveImport(file, specifier) === STORE_ENTRY);
  if (importsStore && OPENERS.test(source)) return `calls ${OPENERS.exec(source)?.[1]}`;
  return undefined;
}

test('every test that opens a store takes its database from test/helpers/store.ts, so it runs on both stores', () => {
  const offenders = testFiles()
    .filter((file) => file !== HELPER && file !== 'test/store-coverage.test.ts')
    .flatMap((file) => {
      const reason = opensOnItsOwn(file);
      const usesHelper = specifiersOf(file).some((specifier) => resolveImport(file, specifier) === HELPER);
      if (reason === undefined) return [];
      // Opening the store on a location the helper made (store.test.ts, SQLite-only file checks) is fine; a driver or the server's URL is not.
      if (usesHelper && reason.startsWith('calls ')) return [];
      return [`${file} ${reason}`];
    });
  assert.deepEqual(offenders, [], `use createTestDatabase()/openTestStore() from ${HELPER} instead`);
});
