/**
 * What the repositories and migrations may ask of the database underneath, beyond Kysely's own
 * portable queries. One implementation per dialect: store/sqlite.ts and store/postgres.ts.
 */
import { PostgresAdapter, type Kysely, type Transaction } from 'kysely';
import type { Database } from './db.js';

/** Kinds of writes that must not interleave across processes. */
export type WriteLock = 'directory' | 'definitions';

export interface StoreDialect {
  name: 'sqlite' | 'postgres';
  /** Runs `work` in a transaction that no other one taking the same lock overlaps, in any process. */
  writeTransaction<T>(db: Kysely<Database>, lock: WriteLock, work: (trx: Transaction<Database>) => Promise<T>): Promise<T>;
}

/** For migrations, which see a Kysely<unknown>: which spelling the schema needs. */
export function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
