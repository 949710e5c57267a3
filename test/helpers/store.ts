/**
 * The store under test, in the dialect of this pass: `npm test` runs every file on SQLite, then the
 * files that import this helper again on PostgreSQL (scripts/test.js), saying which in
 * IDFLOW_TEST_STORE (default sqlite) and where the server is in IDFLOW_TEST_DATABASE_URL. On
 * PostgreSQL each store is a database of its own, created empty and dropped when the store closes.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { SQLITE_FILE, openStore, type StoreLocation } from '../../store/index.js';
import type { Store } from '../../store/types.js';

export type TestStoreKind = 'sqlite' | 'postgres';

function testStoreKind(): TestStoreKind {
  const kind = process.env.IDFLOW_TEST_STORE ?? 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`IDFLOW_TEST_STORE must be sqlite or postgres, not "${kind}"`);
  return kind;
}

export const TEST_STORE: TestStoreKind = testStoreKind();

/** For `test(name, { skip: onlyOn('sqlite', 'file modes') }, ...)`: runs on one store, says why it skips on the other. */
export function onlyOn(kind: TestStoreKind, what: string): string | false {
  return TEST_STORE === kind ? false : `${what}: ${kind} only`;
}

export interface TestDatabase {
  location: StoreLocation;
  /** What an `idflow` process spawned on this store needs in its environment (IDFLOW_DATABASE_URL on PostgreSQL). */
  env: Record<string, string>;
  /** The same as a command-line flag, for CLI commands run in-process. */
  args: string[];
  /** Removes a PostgreSQL database (and ends connections still open to it); a SQLite file goes with its directory. */
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.IDFLOW_TEST_DATABASE_URL;
  if (!url) throw new Error('IDFLOW_TEST_STORE=postgres needs IDFLOW_TEST_DATABASE_URL (npm test starts a server and sets it)');
  return url;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** One statement on the server's own database (CREATE/DROP DATABASE cannot run in a pool's transaction). */
async function onServer(statement: string): Promise<void> {
  await withClient(serverUrl(), (client) => client.query(statement));
}

/**
 * A fresh, empty database: on SQLite `<dir>/idflow.sqlite` (as `idflow --data-dir <dir>` opens it),
 * or in memory without `dir`; on PostgreSQL a new database on the test server.
 */
export async function createTestDatabase(options: { dir?: string } = {}): Promise<TestDatabase> {
  if (TEST_STORE === 'sqlite') {
    const location: StoreLocation = options.dir === undefined ? { memory: true } : { file: join(options.dir, SQLITE_FILE) };
    // An IDFLOW_DATABASE_URL of the developer's own must not lead a spawned process away from the file.
    return { location, env: { IDFLOW_DATABASE_URL: '' }, args: [], drop: async () => undefined };
  }
  // Random, not numbered: test files run in parallel processes, and a developer's server may keep leftovers.
  const name = `idflow_t_${randomBytes(6).toString('hex')}`;
  await onServer(`create database ${name}`);
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    location: { url: url.toString() },
    env: { IDFLOW_DATABASE_URL: url.toString() },
    args: ['--database-url', url.toString()],
    drop: () => onServer(`drop database if exists ${name} with (force)`),
  };
}

/** A store over `database` (default: a fresh one, in memory on SQLite); close() also drops the database. */
export async function openTestStore(database?: TestDatabase): Promise<Store> {
  const opened = database ?? (await createTestDatabase());
  const store = await openStore(opened.location);
  return {
    ...store,
    close: async () => {
      await store.close();
      await opened.drop();
    },
  };
}

/** The rows of `query`, read around the store (to see what it really wrote); SQLite in memory cannot be reached. */
export async function readRows(database: TestDatabase, query: string): Promise<Record<string, unknown>[]> {
  const { location } = database;
  if ('url' in location) return withClient(location.url, async (client) => (await client.query(query)).rows);
  if ('memory' in location) throw new Error('readRows needs a store in a directory: createTestDatabase({ dir })');
  const raw = new BetterSqlite3(location.file, { readonly: true });
  try {
    return raw.prepare(query).all() as Record<string, unknown>[];
  } finally {
    raw.close();
  }
}
