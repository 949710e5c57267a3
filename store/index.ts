/**
 * The store's entry point. openStore opens the embedded SQLite store or a PostgreSQL database
 * (storeLocation picks one from IDFLOW_DATABASE_URL / --database-url), migrates it and builds the
 * repositories; createStore builds the same Store over any migrated Kysely<Database>.
 */
import { join, resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { approvalsRepository } from './approvals.js';
import { auditRepository } from './audit.js';
import { consoleSessionsRepository } from './console-sessions.js';
import type { Database } from './db.js';
import type { StoreDialect } from './dialect.js';
import { definitionsRepository } from './definitions.js';
import { directoryRepository } from './directory.js';
import { effectsRepository } from './effects.js';
import { secretsRepository } from './secrets.js';
import { sourceDeliveriesRepository } from './source-deliveries.js';
import { eventsRepository } from './events.js';
import { migrateToLatest } from './migrations.js';
import { describePostgresUrl, openPostgres, postgresDialect } from './postgres.js';
import { runsRepository } from './runs.js';
import { openSqlite, sqliteDialect, type SqliteLocation } from './sqlite.js';
import { leasesRepository } from './leases.js';
import { guardRepository } from './guard.js';
import { timelineRepository } from './timeline.js';
import { tokensRepository } from './tokens.js';
import type { Store } from './types.js';

export type * from './types.js';
export type * from './guard-types.js';
export type { Database } from './db.js';
export type { DirectoryOps, DirectoryRepository, PendingDirectoryEvent, UserQuery } from '../directory/repository.js';

/** Where the store lives: a SQLite file, memory (tests), or a PostgreSQL database by URL. */
export type StoreLocation = SqliteLocation | { url: string };

/** The SQLite file's name inside the data dir. */
export const SQLITE_FILE = 'idflow.sqlite';

/**
 * The store a process should open: `databaseUrl` (the --database-url flag), else IDFLOW_DATABASE_URL,
 * else `<dataDir>/idflow.sqlite`.
 */
export function storeLocation(options: { dataDir: string; databaseUrl?: string; env?: NodeJS.ProcessEnv }): StoreLocation {
  const url = options.databaseUrl ?? (options.env ?? process.env).IDFLOW_DATABASE_URL;
  if (url !== undefined && url !== '') {
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new Error(`store: the database URL must start with postgres:// or postgresql:// (got ${describePostgresUrl(url)})`);
    return { url };
  }
  return { file: join(resolve(options.dataDir), SQLITE_FILE) };
}

/** The location as a person should read it (no password). */
export function describeStoreLocation(location: StoreLocation): string {
  if ('url' in location) return describePostgresUrl(location.url);
  return 'memory' in location ? 'the in-memory database' : location.file;
}

/** A connection to the store's database with the dialect that goes with it, not yet migrated. */
export function openDatabase(location: StoreLocation): { db: Kysely<Database>; dialect: StoreDialect } {
  if ('url' in location) return { db: openPostgres(location.url), dialect: postgresDialect() };
  return { db: openSqlite(location), dialect: sqliteDialect };
}

/**
 * Opens the store (creating a SQLite file and its directory when missing) and migrates it.
 * Open one Store per process and share it; many processes may open the same database.
 */
export async function openStore(location: StoreLocation): Promise<Store> {
  const { db, dialect } = openDatabase(location);
  try {
    await migrateToLatest(db, describeStoreLocation(location));
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db, dialect);
}

/** A Store over an already migrated database; close() destroys `db`. */
export function createStore(db: Kysely<Database>, dialect: StoreDialect): Store {
  return {
    dialect: dialect.name,
    definitions: definitionsRepository(db, dialect),
    events: eventsRepository(db),
    runs: runsRepository(db),
    audit: auditRepository(db),
    timeline: timelineRepository(db),
    tokens: tokensRepository(db),
    effects: effectsRepository(db),
    directory: directoryRepository(db, dialect),
    secrets: secretsRepository(db),
    approvals: approvalsRepository(db),
    leases: leasesRepository(db),
    guard: guardRepository(db),
    sourceDeliveries: sourceDeliveriesRepository(db),
    consoleSessions: consoleSessionsRepository(db),
    close: () => db.destroy(),
  };
}
