/**
 * The HTTP API over a real store with no Temporal server behind it (the client points at a
 * closed port): for tests of routes that answer before reaching Temporal.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApiServer, type ApiServerOptions } from '../../api/server.js';
import { IdflowEngine } from '../../engine/engine.js';
import { openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import { silentLogger } from './engine.js';

export interface OfflineApi {
  app: FastifyInstance;
  engine: IdflowEngine;
  store: Store;
  close(): Promise<void>;
}

/** `file` is the store's SQLite file (default: in memory); `env` the engine's (the secrets' master key). */
export async function startOfflineApi(
  options: { file?: string; env?: NodeJS.ProcessEnv } & Omit<ApiServerOptions, 'engine'> = {},
): Promise<OfflineApi> {
  const { file, env, ...serverOptions } = options;
  const store = await openStore(file === undefined ? { memory: true } : { file });
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
