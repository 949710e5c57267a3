/**
 * Where a command finds the store: `--database-url` / IDFLOW_DATABASE_URL (PostgreSQL), else the
 * SQLite file in `--data-dir` / IDFLOW_DATA_DIR / ./.data. Every command that opens the store
 * (the runtime, tokens, db, local function runs) takes the same two flags through here.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { openStore, storeLocation, type StoreLocation } from '../store/index.js';
import type { Store } from '../store/types.js';
import { CliError } from './output.js';

export interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
}

export function dataDirFrom(flags: StoreFlags): string {
  return resolve(flags.dataDir ?? process.env.IDFLOW_DATA_DIR ?? '.data');
}

/** Adds --data-dir and --database-url to `command`. */
export function storeFlags(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'where local state lives, the SQLite store among it (also IDFLOW_DATA_DIR; default ./.data)')
    .option('--database-url <url>', 'a PostgreSQL store instead of SQLite: postgres://user:pass@host:5432/db (also IDFLOW_DATABASE_URL)');
}

export function storeLocationFrom(flags: StoreFlags): StoreLocation {
  try {
    return storeLocation({ dataDir: dataDirFrom(flags), databaseUrl: flags.databaseUrl });
  } catch (error) {
    throw new CliError((error as Error).message, 2);
  }
}

/** The store the flags name; a SQLite file that does not exist yet gives `missing` instead of creating one. */
export function existingStoreLocation(flags: StoreFlags, missing: StoreLocation): StoreLocation {
  const location = storeLocationFrom(flags);
  return 'file' in location && !existsSync(location.file) ? missing : location;
}

export async function withStore<T>(flags: StoreFlags, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeLocationFrom(flags));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
