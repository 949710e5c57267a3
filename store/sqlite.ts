/**
 * Everything SQLite-specific lives here: opening the file, pragmas, write transactions and
 * statement reuse. The repositories only see a Kysely<Database>.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import type { Database } from './db.js';
import type { StoreDialect } from './dialect.js';
import { Mutex } from './mutex.js';
import { PRIVATE_DIR_MODE, createPrivateFile } from './private-files.js';

export type SqliteLocation = { file: string } | { memory: true };

/** How long a write waits for another process's write lock before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** Distinct SQL texts kept prepared; the store issues a few dozen shapes. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * One lock per database file per process. better-sqlite3 is synchronous: if two connections of
 * one process interleaved (one inside a transaction awaiting, the other waiting on busy_timeout),
 * the waiting one would block the event loop the holder needs to commit, and fail with
 * SQLITE_BUSY after the timeout. Serialising them in-process avoids that; other processes are
 * handled by busy_timeout. Entries are never removed: one small object per file ever opened.
 */
const fileLocks = new Map<string, Mutex>();

function fileLock(path: string): Mutex {
  let lock = fileLocks.get(path);
  if (!lock) {
    lock = new Mutex();
    fileLocks.set(path, lock);
  }
  return lock;
}

class IdflowSqliteDriver extends SqliteDriver {
  readonly #fileLock: Mutex | undefined;
  #release: (() => void) | undefined;

  constructor(config: SqliteDialectConfig, lock: Mutex | undefined) {
    super(config);
    this.#fileLock = lock;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const release = this.#fileLock ? await this.#fileLock.lock() : undefined;
    const connection = await super.acquireConnection();
    this.#release = release;
    return connection;
  }

  override async releaseConnection(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    await super.releaseConnection();
    release?.();
  }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, where busy_timeout applies. A deferred BEGIN
   * that reads and then writes can fail at once with SQLITE_BUSY when another process wrote in
   * between. Every store transaction writes, so none is slowed by this.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * Kysely's SqliteAdapter says SQLite has no transactional DDL and takes no migration lock
 * (kysely#729), so two processes opening a new file at once would both run the migrations and
 * one would fail. SQLite does support DDL in transactions: with this, the Migrator runs in one
 * BEGIN IMMEDIATE transaction, which serialises concurrent migrators and makes each run atomic.
 */
class IdflowSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class IdflowSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #fileLock: Mutex | undefined;

  constructor(config: SqliteDialectConfig, lock: Mutex | undefined) {
    super(config);
    this.#config = config;
    this.#fileLock = lock;
  }

  override createDriver(): Driver {
    return new IdflowSqliteDriver(this.#config, this.#fileLock);
  }

  override createAdapter(): DialectAdapter {
    return new IdflowSqliteAdapter();
  }
}

/** Reuses prepared statements by SQL text (Kysely prepares on every call), least recently used out first. */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql);
      } else {
        statement = sqlite.prepare(sql);
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}

/**
 * SQLite does not call the busy handler for every lock it meets (switching the journal mode while
 * another process creates or recovers the file returns SQLITE_BUSY at once), so retry those here,
 * within the same time budget as busy_timeout.
 */
function retryWhileBusy<T>(operation: () => T): T {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      return operation();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw error;
      Atomics.wait(pause, 0, 0, 20); // a synchronous 20 ms pause: opening the store is synchronous
    }
  }
}

/** Opens (creating when missing) the SQLite database and returns a Kysely instance over it. */
export function openSqlite(location: SqliteLocation): Kysely<Database> {
  let sqlite: BetterSqlite3.Database;
  let lock: Mutex | undefined;
  if ('memory' in location) {
    sqlite = new BetterSqlite3(':memory:');
  } else {
    const path = resolve(location.file);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
      // Owner-only: SQLite would create it 0644; its -wal and -shm files copy the database's mode.
      createPrivateFile(path);
      sqlite = new BetterSqlite3(path);
    } catch (error) {
      throw new Error(`store: cannot open SQLite database ${path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      // Order matters: busy_timeout first, so switching to WAL waits for other processes' locks.
      sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // WAL: readers never block the writer, and the API and workers can share the file.
      retryWhileBusy(() => sqlite.pragma('journal_mode = WAL'));
      // NORMAL is safe against corruption in WAL mode; a power loss may drop the last commits.
      sqlite.pragma('synchronous = NORMAL');
      lock = fileLock(realpathSync(path));
    } catch (error) {
      sqlite.close();
      throw new Error(`store: cannot configure SQLite database ${path}: ${(error as Error).message}`, { cause: error });
    }
  }
  sqlite.pragma('foreign_keys = ON');
  return new Kysely<Database>({ dialect: new IdflowSqliteDialect({ database: withStatementCache(sqlite) }, lock) });
}

/** SQLite has one writer at a time: every transaction begins IMMEDIATE, so there is nothing more to lock. */
export const sqliteDialect: StoreDialect = {
  name: 'sqlite',
  writeTransaction: (db, _lock, work) => db.transaction().execute(work),
};
