/**
 * A whole engine for end-to-end tests: a real Temporal dev server, a real store in the dialect under
 * test (test/helpers/store.ts; SQLite in a temp dir), a real worker on its own task queue, and the
 * engine on top.
 */
import { Client, Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { IdflowEngine } from '../../engine/engine.js';
import type { ApplyResult } from '../../engine/types.js';
import type { RunRecord, Store } from '../../store/types.js';
import { createIdflowWorker } from '../../app/worker.js';
import { createTestDatabase, openTestStore, type TestDatabase } from './store.js';
import { startTestTemporal } from './temporal.js';

export interface TestEngine {
  engine: IdflowEngine;
  store: Store;
  client: Client;
  address: string;
  namespace: string;
  taskQueue: string;
  dataDir: string;
  /** The store's database, for processes spawned on it (`database.env`) and reads around the store. */
  database: TestDatabase;
  /** Applies YAML text and fails the test on errors. */
  apply(yaml: string): Promise<ApplyResult>;
  /** Waits (up to 30 s) for the run to leave "running". */
  finished(runId: string): Promise<RunRecord>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  stop(): Promise<void>;
}

export const silentLogger = pino({ level: 'silent' });

/** A logger whose JSON lines are kept in `lines`, to check what reaches the logs. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (line: string) => lines.push(line) }), lines };
}

export interface TestEngineOptions {
  env?: NodeJS.ProcessEnv;
  worker?: boolean;
  logger?: Logger;
  /** The engine's client's workflow interceptors: to make its calls fail as a network would. */
  clientInterceptors?: WorkflowClientInterceptor[];
  /** The task queue of the engine and its worker; default one of the test's own. */
  taskQueue?: string;
}

export async function startTestEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
  const logger = options.logger ?? silentLogger;
  const temporal = await startTestTemporal();
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-test-'));
  const database = await createTestDatabase({ dir: dataDir });
  const store = await openTestStore(database);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, namespace: temporal.namespace, interceptors: { workflow: options.clientInterceptors } });
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const engine = new IdflowEngine({
    store,
    client,
    namespace: temporal.namespace,
    taskQueue,
    logger,
    webUiUrl: 'http://127.0.0.1:8233',
    env: options.env ?? {},
    dataDir,
  });

  let worker: { worker: Worker; running: Promise<void> } | undefined;
  const startWorker = async (): Promise<void> => {
    const created = await createIdflowWorker({
      connection: nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      store,
      logger,
      env: options.env ?? {},
      dataDir,
    });
    worker = { worker: created, running: created.run() };
  };
  const stopWorker = async (): Promise<void> => {
    if (!worker) return;
    worker.worker.shutdown();
    await worker.running;
    worker = undefined;
  };
  if (options.worker ?? true) await startWorker();
  engine.startDelivery();

  return {
    engine,
    store,
    client,
    address: temporal.address,
    namespace: temporal.namespace,
    taskQueue,
    dataDir,
    database,
    async apply(yaml) {
      const result = await engine.apply([{ path: 'test.yaml', content: yaml }], { dryRun: false, actor: 'test' });
      assert.deepEqual(result.errors, [], 'the test definitions should apply cleanly');
      return result;
    },
    async finished(runId) {
      const run = await engine.waitForRun(runId, 30_000);
      assert.notEqual(run.status, 'running', `run ${runId} did not finish in time`);
      return run;
    },
    startWorker,
    stopWorker,
    async stop() {
      engine.functions.close();
      await engine.stopDelivery();
      await stopWorker();
      await nativeConnection.close();
      await connection.close();
      await store.close();
      await temporal.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
