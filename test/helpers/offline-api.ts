/**
 * The HTTP API over a real store with no Temporal server behind it (the client points at a
 * closed port): for tests of routes that answer before reaching Temporal.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApiServer, type ApiServerOptions } from '../../api/server.js';
import { IdflowEngine } from '../../engine/engine.js';
import type { Store } from '../../store/types.js';
import { silentLogger } from './engine.js';
import { openTestStore, type TestDatabase } from './store.js';

export interface OfflineApi {
  app: FastifyInstance;
  engine: IdflowEngine;
  store: Store;
  close(): Promise<void>;
}

/** `database` is the store's (default: a fresh one, in memory on SQLite); `env` the engine's (the secrets' master key). */
export async function startOfflineApi(
  options: { database?: TestDatabase; env?: NodeJS.ProcessEnv } & Omit<ApiServerOptions, 'engine'> = {},
): Promise<OfflineApi> {
  const { database, env, ...serverOptions } = options;
  const store = await openTestStore(database);
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: silentLogger, env: env ?? {} });
  const app = await buildApiServer({ engine, ...serverOptions });
  return {
    app,
    engine,
    store,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}
