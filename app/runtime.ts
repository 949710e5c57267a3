/**
 * Brings up the parts of idflow in one process: the local Temporal dev server (unless
 * TEMPORAL_ADDRESS points at a cluster), the store, the worker, the engine and the HTTP API.
 * `idflow dev` runs all of them; production runs `idflow worker` and `idflow api` separately.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_LINK_TTL_MS } from '../api/routes/console.js';
import { buildApiServer, type ApiServerOptions } from '../api/server.js';
import { builtConsole } from './console-build.js';
import { collectDefinitionFiles } from '../definitions/files.js';
import { openStore, storeLocation, type StoreLocation } from '../store/index.js';
import { ensurePrivateDir } from '../store/private-files.js';
import type { Store } from '../store/types.js';
import { connectionOptions, type TemporalSettings } from '../temporal/connection.js';
import { findFreePort, startDevServer, type DevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { DEFAULT_TASK_QUEUE, createIdflowWorker } from './worker.js';
import { DevOutbox, startSmtpCatcher } from '../dev/outbox.js';
import { countingRuns } from '../metrics/runs.js';
import { startMetricsServer } from '../metrics/server.js';
import { devRoutes } from '../dev/routes.js';
import { IdflowEngine } from '../engine/engine.js';
import type { ApplyResult } from '../engine/types.js';

export interface RuntimeOptions {
  /** Local state: the SQLite store unless `store` says otherwise, the dev server's files, api.json, master.key. */
  dataDir: string;
  /** The store (cli/store.ts resolves the flags); default `<dataDir>/idflow.sqlite`. */
  store?: StoreLocation;
  logger: Logger;
  /** An existing cluster; when absent a local dev server is started in the data dir. */
  temporal?: TemporalSettings;
  devServer?: { port: number; uiPort: number; ui: boolean };
  taskQueue?: string;
  worker: boolean;
  /** Port for the HTTP API (0: any free port); no API when absent. */
  apiPort?: number;
  apiHost?: string;
  /** The API's body limits (buildApiServer's defaults when absent). */
  apiLimits?: Pick<ApiServerOptions, 'bodyLimitBytes' | 'importLimitBytes'>;
  /** How long a web console sign-in lasts (IDFLOW_CONSOLE_SESSION_TTL); the API's default when absent. */
  consoleSessionTtlMs?: number;
  /**
   * Dev mode: mount the webhook sink, the Slack endpoint and the outbox on the API, and point
   * the worker's email and Slack at them when SMTP_URL / SLACK_BOT_TOKEN are not set.
   */
  devOutbox?: boolean;
  /**
   * idflow dev: an admin token and the API's URL in `<data dir>/api.json`, for the CLI on this
   * machine. Off for `idflow api`: a production API mints no token (each start of a fresh
   * container would add an admin token to the shared store, its secret on the container's disk).
   */
  apiDiscovery?: boolean;
  /** Definition files or folders applied at start. */
  apply?: string[];
  /** Called with the result of applying `apply`. */
  onApplied?: (result: ApplyResult) => void;
  /** Serve the worker's metrics (idflow's and the Temporal SDK's) on host:port (0: any free port). */
  workerMetrics?: { host: string; port: number };
}

export interface Runtime {
  engine: IdflowEngine;
  store: Store;
  temporalAddress: string;
  namespace: string;
  apiUrl?: string;
  apiToken?: string;
  /** idflow dev: a one-time sign-in link to the web console for the dev admin token. */
  consoleSignInUrl?: string;
  webUiUrl?: string;
  /** The worker's metrics endpoint, when asked for. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

/** What `idflow dev` leaves in the data dir so other CLI commands find the API with no configuration. */
export interface ApiDiscovery {
  url: string;
  token: string;
}

export const API_DISCOVERY_FILE = 'api.json';
const DEV_TOKEN_NAME = 'dev-admin';

async function devToken(store: Store, dataDir: string): Promise<{ token: string; name: string }> {
  const known = await readFile(join(dataDir, API_DISCOVERY_FILE), 'utf8')
    .then((text) => (JSON.parse(text) as Partial<ApiDiscovery>).token)
    .catch(() => undefined);
  const verdict = known ? await store.tokens.verify(known) : undefined;
  if (known && verdict?.valid) return { token: known, name: verdict.token.name };
  // Token names are unique: a lost api.json gets a fresh token under a new name.
  const name = `${DEV_TOKEN_NAME}-${new Date().toISOString()}`;
  return { token: await store.tokens.create(name, ['admin']), name };
}

/** A one-time sign-in link to the web console for the dev admin token, as POST /v1/console/links makes them. */
async function devConsoleLink(store: Store, dev: { token: string; name: string }, baseUrl: string): Promise<string | undefined> {
  const created = await store.consoleSessions.createLink({ token: dev.token }, DEFAULT_LINK_TTL_MS);
  if (created === undefined) return undefined;
  await store.audit.record({
    actor: 'idflow dev',
    action: 'console.link.create',
    target: `token:${dev.name}`,
    details: { expiresAt: created.expiresAt },
  });
  return `${baseUrl.replace(/\/+$/, '')}/console/signin/${created.link}`;
}

/**
 * The worker's environment in dev mode: email to a local SMTP catcher and Slack to the API's
 * Slack endpoint, unless the environment configures real ones.
 */
async function devOutboxEnv(
  outbox: DevOutbox,
  apiUrl: string,
  env: NodeJS.ProcessEnv,
  cleanups: (() => Promise<unknown>)[],
): Promise<NodeJS.ProcessEnv> {
  const overrides: NodeJS.ProcessEnv = {};
  if (!env.SMTP_URL && !env.SMTP_HOST) {
    const catcher = await startSmtpCatcher(outbox);
    cleanups.push(() => catcher.close());
    overrides.SMTP_URL = catcher.url;
  }
  if (!env.SLACK_BOT_TOKEN) {
    overrides.SLACK_BOT_TOKEN = 'xoxb-idflow-dev-outbox';
    overrides.SLACK_API_URL = `${apiUrl}/v1/dev/slack/api/`;
  }
  return { ...env, ...overrides };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { logger } = options;
  // The SDK's exporter stays on loopback: the worker's metrics endpoint serves its metrics with idflow's.
  const sdkMetricsPort = options.workerMetrics ? await findFreePort() : undefined;
  installTemporalRuntime({ prometheusBindAddress: sdkMetricsPort === undefined ? undefined : `127.0.0.1:${sdkMetricsPort}` });
  const dataDir = resolve(options.dataDir);
  const widerMode = ensurePrivateDir(dataDir);
  if (widerMode !== undefined)
    logger.warn({ dataDir, was: widerMode.toString(8) }, 'the data dir was readable by other users: made it owner-only (0700)');
  // Undone last first: the worker and the API stop before the store and the Temporal server they use.
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const cleanup of [...cleanups].reverse()) {
        await cleanup().catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
      }
    })());

  try {
    let devServer: DevServer | undefined;
    let settings = options.temporal;
    if (!settings) {
      const dev = options.devServer ?? { port: 7233, uiPort: 8233, ui: true };
      logger.info({ port: dev.port }, 'starting the local Temporal dev server');
      devServer = await startDevServer({ dataDir, port: dev.port, uiPort: dev.uiPort, ui: dev.ui, logFile: join(dataDir, 'temporal.log') });
      cleanups.push(() => (devServer as DevServer).stop());
      settings = { address: devServer.address, namespace: devServer.namespace };
    }

    const store = countingRuns(await openStore(options.store ?? storeLocation({ dataDir, env: {} })));
    cleanups.push(() => store.close());

    // With the worker in this process, the client shares its native connection so runs start eagerly.
    const nativeConnection = options.worker ? await NativeConnection.connect(connectionOptions(settings)) : undefined;
    const connection = nativeConnection ?? (await Connection.connect(connectionOptions(settings)));
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: settings.namespace });
    const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    const engine = new IdflowEngine({
      store,
      client,
      namespace: settings.namespace,
      taskQueue,
      logger,
      webUiUrl: devServer?.uiUrl ?? process.env.TEMPORAL_UI_URL,
      eagerStart: nativeConnection !== undefined,
      dataDir,
    });
    cleanups.push(async () => engine.functions.close());
    // Converge Temporal's schedules with the store, in case a crash came between the two. Only
    // where the API runs: it is what changes definitions, and workers may be many.
    if (options.apiPort !== undefined) {
      await engine.schedules.reconcile();
      // Directory events (from imports here and from steps in any worker) reach the triggers from here.
      engine.startDelivery();
      cleanups.push(() => engine.stopDelivery());
    }

    let workerEnv: NodeJS.ProcessEnv = process.env;
    let apiUrl: string | undefined;
    let apiToken: string | undefined;
    let consoleSignInUrl: string | undefined;
    if (options.apiPort !== undefined) {
      const outbox = options.devOutbox ? new DevOutbox() : undefined;
      const api = await buildApiServer({
        engine,
        logger,
        routes: outbox ? [devRoutes(outbox)] : [],
        ...options.apiLimits,
        console: {
          dir: await builtConsole(logger),
          sessionTtlMs: options.consoleSessionTtlMs,
          publicUrl: process.env.IDFLOW_PUBLIC_URL || undefined,
        },
      });
      const host = options.apiHost ?? '127.0.0.1';
      await api.listen({ host, port: options.apiPort }).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE'
          ? new Error(`the API port ${host}:${options.apiPort} is already in use: choose another with --api-port`)
          : error;
      });
      cleanups.push(() => api.close());
      const address = api.server.address();
      const port = typeof address === 'object' && address ? address.port : options.apiPort;
      apiUrl = `http://${host}:${port}`;
      if (options.apiDiscovery) {
        const dev = await devToken(store, dataDir);
        apiToken = dev.token;
        const discovery: ApiDiscovery = { url: apiUrl, token: apiToken };
        await writeFile(join(dataDir, API_DISCOVERY_FILE), `${JSON.stringify(discovery, null, 2)}\n`, { mode: 0o600 });
        consoleSignInUrl = await devConsoleLink(store, dev, process.env.IDFLOW_PUBLIC_URL || apiUrl);
      }
      if (outbox) workerEnv = await devOutboxEnv(outbox, apiUrl, workerEnv, cleanups);
      // Approvers' links point at this API unless the deployment names its public address.
      if (!workerEnv.IDFLOW_PUBLIC_URL) workerEnv = { ...workerEnv, IDFLOW_PUBLIC_URL: apiUrl };
    }

    if (nativeConnection) {
      const worker: Worker = await createIdflowWorker({
        connection: nativeConnection,
        namespace: settings.namespace,
        taskQueue,
        store,
        logger,
        env: workerEnv,
        dataDir,
      });
      const running = worker.run();
      running.catch((error: unknown) => logger.error({ err: error }, 'worker stopped with an error'));
      cleanups.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running.catch(() => undefined);
      });
    }

    let metricsUrl: string | undefined;
    if (options.workerMetrics) {
      const metrics = await startMetricsServer({ ...options.workerMetrics, sdkUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics` });
      cleanups.push(() => metrics.close());
      metricsUrl = metrics.url;
    }

    if (options.apply && options.apply.length > 0) {
      const files = await collectDefinitionFiles(options.apply);
      const result = await engine.apply(files, { dryRun: false, actor: 'idflow dev' });
      options.onApplied?.(result);
    }

    return {
      engine,
      store,
      temporalAddress: settings.address,
      namespace: settings.namespace,
      apiUrl,
      apiToken,
      consoleSignInUrl,
      webUiUrl: devServer?.uiUrl,
      metricsUrl,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
