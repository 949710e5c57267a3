/**
 * The store's entry point. openStore gives the embedded SQLite store; createStore builds the same
 * Store over any migrated Kysely<Database>, which is where a PostgreSQL dialect would plug in.
 */
import type { Kysely } from 'kysely';
import { auditRepository } from './audit.js';
import type { Database } from './db.js';
import { definitionsRepository } from './definitions.js';
import { directoryRepository } from './directory.js';
import { effectsRepository } from './effects.js';
import { secretsRepository } from './secrets.js';
import { eventsRepository } from './events.js';
import { migrateToLatest } from './migrations.js';
import { runsRepository } from './runs.js';
import { openSqlite, type SqliteLocation } from './sqlite.js';
import { tokensRepository } from './tokens.js';
import type { Store } from './types.js';

export type * from './types.js';
export type { Database } from './db.js';
export { migrateToLatest } from './migrations.js';
export type { DirectoryOps, DirectoryRepository, PendingDirectoryEvent, UserQuery } from '../directory/repository.js';

/**
 * Opens the SQLite store at `file` (creating it and its directory) or in memory, and migrates it.
 * Open one Store per process and share it; several processes may open the same file.
 */
export async function openStore(options: SqliteLocation): Promise<Store> {
  const db = openSqlite(options);
  try {
    await migrateToLatest(db, 'memory' in options ? 'the in-memory database' : options.file);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createStore(db);
}

/** A Store over an already migrated database; close() destroys `db`. */
export function createStore(db: Kysely<Database>): Store {
  return {
    definitions: definitionsRepository(db),
    events: eventsRepository(db),
    runs: runsRepository(db),
    audit: auditRepository(db),
    tokens: tokensRepository(db),
    effects: effectsRepository(db),
    directory: directoryRepository(db),
    secrets: secretsRepository(db),
    close: () => db.destroy(),
  };
}
