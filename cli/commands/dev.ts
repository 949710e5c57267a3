/**
 * `idflow dev`: everything in one process tree for a laptop: the Temporal dev server (SQLite
 * file, Web UI), the worker, the HTTP API, and the examples applied.
 * `idflow worker` and `idflow api`: the production processes, against TEMPORAL_ADDRESS.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatBytes, parseByteSize } from '../../api/byte-size.js';
import { DEFAULT_LINK_TTL_MS, DEFAULT_SESSION_TTL_MS } from '../../api/routes/console.js';
import { DEFAULT_IMPORT_LIMIT_BYTES } from '../../api/routes/directory.js';
import { DEFAULT_BODY_LIMIT_BYTES } from '../../api/server.js';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../app/logger.js';
import { startRuntime, type Runtime, type RuntimeOptions } from '../../app/runtime.js';
import type { IdflowEngine } from '../../engine/engine.js';
import type { ApplyResult } from '../../engine/types.js';
import type { EventRecord } from '../../store/types.js';
import { DURATION_HINT, formatDuration, parseDuration } from '../../core/duration.js';
import { diffUser } from '../../directory/service.js';
import { UserInputSchema, toUserFields } from '../../directory/users.js';
import { temporalSettingsFromEnv, type TemporalSettings } from '../../temporal/connection.js';
import { formatRun } from '../output.js';
import { dataDirFrom, storeFlags, storeLocationFrom, type StoreFlags } from '../store.js';
import { describeStoreLocation } from '../../store/index.js';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`"${value}" is not a port number (0-65535)`);
  return parsed;
}

function printApplied(result: ApplyResult): void {
  if (!result.ok) {
    console.error('The definitions have errors; nothing was applied:');
    for (const error of result.errors)
      console.error(`  ${error.file}:${error.line ?? 0}:${error.column ?? 0}: ${error.path}: ${error.message}`);
    return;
  }
  for (const applied of result.applied) {
    console.log(`  ${applied.created ? '✓ applied  ' : '= unchanged'} ${applied.kind}/${applied.name} v${applied.version}`);
  }
}

/**
 * What `idflow dev` applies unless told otherwise: every example that needs nothing outside idflow.
 * examples/connectors/ talk to apps and identity sources (a SCIM server, a CRM, an HR system): each
 * is applied by hand once its counterpart runs (docs/connectors.md).
 */
export function selfContainedExamples(): string[] {
  try {
    return readdirSync('examples', { withFileTypes: true })
      .filter((entry) => entry.name !== 'connectors' && (entry.isDirectory() || /\.ya?ml$/.test(entry.name)))
      .map((entry) => join('examples', entry.name))
      .sort();
  } catch {
    return ['examples']; // not in a checkout: the apply names the missing folder
  }
}

const DEMO_EVENT = 'examples/events/new-engineer.event.json';
const DEMO_EVENT_ID = 'demo-new-engineer';

/**
 * Adds the example's new engineer to the directory, as an HR import would: the change's
 * user.created event goes through the outbox to the triggers. The event, with what it matched.
 */
export async function sendDemoEvent(engine: IdflowEngine): Promise<EventRecord> {
  const { newUser } = JSON.parse(await readFile(DEMO_EVENT, 'utf8')) as { newUser: unknown };
  const input = UserInputSchema.parse(newUser);
  const existing = await engine.store.directory.getUser(input.id);
  const manager = input.manager === undefined ? undefined : await engine.store.directory.getUserByEmail(input.manager);
  const change = diffUser(
    existing,
    toUserFields(input, existing, () => manager?.id),
    new Date().toISOString(),
  );
  if (change) await engine.directory.write((tx) => tx.saveUser(change, DEMO_EVENT_ID));
  await engine.outbox.drain();
  const event = await engine.store.events.get(DEMO_EVENT_ID);
  if (!event) throw new Error(`the demo event ${DEMO_EVENT_ID} was not delivered`);
  return event;
}

/** `--demo`: sends the demo event and prints the runs it starts. */
async function runDemo(runtime: Runtime): Promise<void> {
  console.log(`\ndemo: a new engineer joins (${DEMO_EVENT}), as \`idflow directory import\` would add them`);
  const { engine } = runtime;
  const event = await sendDemoEvent(engine);
  for (const match of event.matches)
    console.log(match.matched ? `  ✓ ${match.automation} matched → run ${match.runId}` : `  · ${match.automation}: ${match.reason}`);
  for (const match of event.matches) {
    if (!match.runId) continue;
    const finished = await engine.waitForRun(match.runId, 120_000);
    console.log(formatRun({ ...finished, webUiLink: engine.webUiLink(finished.runId) }));
  }
  console.log(
    '\nTry: npx idflow runs list · npx idflow outbox · npx idflow directory grants list --user u-1001 · npx idflow emit --help   (Ctrl-C stops)',
  );
  printConsoleLink(runtime);
}

/** The web console's line of `idflow dev`: a one-time sign-in link for the dev admin token. */
function printConsoleLink(runtime: Runtime): void {
  if (runtime.consoleSignInUrl)
    console.log(
      `  Console   ${runtime.consoleSignInUrl}   (one sign-in, ${formatDuration(DEFAULT_LINK_TTL_MS)}; then: npx idflow console link)`,
    );
}

interface ApiLimitOptions {
  bodyLimit: number;
  importLimit: number;
}

interface ConsoleOptions {
  consoleSessionTtl: number;
}

/** --body-limit and --import-limit (also from the environment) on a command that serves the API. */
function apiLimitOptions(command: Command): Command {
  const size = (value: string): number => {
    try {
      return parseByteSize(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
  return command
    .addOption(
      new Option('--body-limit <size>', 'largest request body, e.g. 1mb')
        .env('IDFLOW_API_BODY_LIMIT')
        .argParser(size)
        .default(DEFAULT_BODY_LIMIT_BYTES, formatBytes(DEFAULT_BODY_LIMIT_BYTES)),
    )
    .addOption(
      new Option('--import-limit <size>', 'largest HR feed of `idflow directory import`, e.g. 64mb')
        .env('IDFLOW_IMPORT_LIMIT')
        .argParser(size)
        .default(DEFAULT_IMPORT_LIMIT_BYTES, formatBytes(DEFAULT_IMPORT_LIMIT_BYTES)),
    );
}

/** --console-session-ttl (also IDFLOW_CONSOLE_SESSION_TTL): how long a web console sign-in lasts. */
function consoleOptions(command: Command): Command {
  return command.addOption(
    new Option('--console-session-ttl <duration>', 'how long a web console sign-in lasts, e.g. 8h')
      .env('IDFLOW_CONSOLE_SESSION_TTL')
      .argParser((value: string) => {
        const ms = parseDuration(value);
        if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`"${value}" is not ${DURATION_HINT}`);
        return ms;
      })
      .default(DEFAULT_SESSION_TTL_MS, formatDuration(DEFAULT_SESSION_TTL_MS)),
  );
}

const apiLimits = (options: ApiLimitOptions): RuntimeOptions['apiLimits'] => ({
  bodyLimitBytes: options.bodyLimit,
  importLimitBytes: options.importLimit,
});

/** The cluster of `idflow worker` and `idflow api`: TEMPORAL_ADDRESS, else the local default. */
export function clusterSettings(): TemporalSettings {
  return temporalSettingsFromEnv() ?? { address: '127.0.0.1:7233', namespace: 'default' };
}

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Resolves at the first stop signal. Listening from the start, so one that comes while starting or during the demo is not lost. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveStop) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      for (const name of STOP_SIGNALS) process.off(name, onSignal);
      console.log(`\n${signal} received: stopping`);
      resolveStop(signal);
    };
    for (const name of STOP_SIGNALS) process.on(name, onSignal);
  });
}

/**
 * Runs until SIGINT/SIGTERM/SIGHUP, then stops everything cleanly. A signal during `ready` (the
 * demo) stops at once instead of waiting for runs; `ready` failing stops it too, instead of
 * leaving it running headless.
 */
async function runUntilSignal(start: () => Promise<Runtime>, ready?: (runtime: Runtime) => Promise<void>): Promise<void> {
  const signalled = stopSignal();
  const runtime = await start();
  try {
    await Promise.race([ready?.(runtime), signalled]);
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  await signalled;
  await runtime.stop();
  console.log('stopped');
}

export function registerRuntimeCommands(program: Command): void {
  storeFlags(consoleOptions(apiLimitOptions(program.command('dev'))))
    .description('Start Temporal (dev server), the worker and the API locally, and apply the examples')
    .option('--api-port <port>', 'HTTP API port', port, 8484)
    .option('--temporal-port <port>', 'Temporal frontend port', port, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', port, 8233)
    .option('--no-ui', 'do not start the Temporal Web UI')
    .option('--apply <path...>', 'definition files or folders to apply at start (default: examples/ but examples/connectors/)')
    .option('--demo', 'once ready, send the example event and print its run')
    .action(
      async (
        options: StoreFlags & {
          apiPort: number;
          temporalPort: number;
          uiPort: number;
          ui: boolean;
          apply?: string[];
          demo?: boolean;
        } & ApiLimitOptions &
          ConsoleOptions,
      ) => {
        const dataDir = dataDirFrom(options);
        const store = storeLocationFrom(options);
        const temporal = temporalSettingsFromEnv();
        console.log(`idflow dev: data in ${dataDir}${'url' in store ? `, store ${describeStoreLocation(store)}` : ''}`);
        const runtimeOptions: RuntimeOptions = {
          dataDir,
          store,
          logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
          temporal,
          devServer: { port: options.temporalPort, uiPort: options.uiPort, ui: options.ui },
          worker: true,
          apiPort: options.apiPort,
          apiLimits: apiLimits(options),
          consoleSessionTtlMs: options.consoleSessionTtl,
          devOutbox: true,
          apiDiscovery: true,
          apply: options.apply ?? selfContainedExamples(),
          onApplied: printApplied,
        };
        await runUntilSignal(
          async () => {
            const runtime = await startRuntime(runtimeOptions);
            console.log(
              `  Temporal  ${runtime.temporalAddress} (namespace ${runtime.namespace})${temporal ? '' : ', state in temporal.sqlite'}`,
            );
            if (runtime.webUiUrl) console.log(`  Web UI    ${runtime.webUiUrl}`);
            console.log(`  API       ${runtime.apiUrl} (token in ${dataDir}/api.json)`);
            printConsoleLink(runtime);
            console.log('ready');
            return runtime;
          },
          options.demo ? runDemo : undefined,
        );
      },
    );

  storeFlags(program.command('worker'))
    .description('Run a worker against TEMPORAL_ADDRESS (default 127.0.0.1:7233); start as many as you need')
    .option('--task-queue <name>', 'Temporal task queue', 'idflow')
    .addOption(
      new Option('--metrics-port <port>', "serve Prometheus metrics (idflow's and the Temporal SDK's) at /metrics on this port")
        .env('IDFLOW_METRICS_PORT')
        .argParser(port),
    )
    .addOption(new Option('--metrics-host <host>', 'listen address of the metrics port').env('IDFLOW_METRICS_HOST').default('127.0.0.1'))
    .action(async (options: StoreFlags & { taskQueue: string; metricsPort?: number; metricsHost: string }) => {
      const temporal = clusterSettings();
      await runUntilSignal(async () => {
        const runtime = await startRuntime({
          dataDir: dataDirFrom(options),
          store: storeLocationFrom(options),
          logger: createLogger({ name: 'idflow-worker' }),
          temporal,
          taskQueue: options.taskQueue,
          worker: true,
          workerMetrics: options.metricsPort === undefined ? undefined : { host: options.metricsHost, port: options.metricsPort },
        });
        console.log(`worker ready on task queue ${options.taskQueue} at ${runtime.temporalAddress}`);
        if (runtime.metricsUrl) console.log(`metrics at ${runtime.metricsUrl}`);
        return runtime;
      });
    });

  storeFlags(consoleOptions(apiLimitOptions(program.command('api'))))
    .description('Run the HTTP API against TEMPORAL_ADDRESS (default 127.0.0.1:7233)')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--port <port>', 'listen port', port, 8484)
    .action(async (options: StoreFlags & { host: string; port: number } & ApiLimitOptions & ConsoleOptions) => {
      const temporal = clusterSettings();
      await runUntilSignal(async () => {
        const runtime = await startRuntime({
          dataDir: dataDirFrom(options),
          store: storeLocationFrom(options),
          logger: createLogger({ name: 'idflow-api' }),
          temporal,
          worker: false,
          apiPort: options.port,
          apiHost: options.host,
          apiLimits: apiLimits(options),
          consoleSessionTtlMs: options.consoleSessionTtl,
        });
        console.log(`API listening on ${runtime.apiUrl} (the web console at /)`);
        return runtime;
      });
    });
}
