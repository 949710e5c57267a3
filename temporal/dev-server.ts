/**
 * The local Temporal server: `temporal server start-dev` with its state in a SQLite file in the
 * data dir (runs survive a restart), bound to loopback, its output in a log file.
 */
import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, restrictToOwner } from '../store/private-files.js';
import { resolveTemporalCli } from './binaries.js';

export interface DevServerOptions {
  dataDir: string;
  port: number;
  /** Web UI port; defaults to port + 1000 like the CLI. */
  uiPort?: number;
  ui: boolean;
  namespace?: string;
  /** Defaults to <dataDir>/temporal.log. */
  logFile?: string;
  quiet?: boolean;
  /** How long to wait for the frontend to answer. */
  startTimeoutMs?: number;
  /** SQLite pragmas of the server's database, `NAME=VALUE`; defaults to DEV_SERVER_SQLITE_PRAGMAS. */
  sqlitePragmas?: readonly string[];
}

/**
 * WAL with synchronous=NORMAL: a commit survives the server process crashing or being killed (the
 * WAL is in the OS's page cache), a power loss may drop the last commits. Measured in
 * bench/temporal-pragmas.ts: bare Temporal's throughput on the dev server nearly doubles over the
 * rollback journal with synchronous=FULL that it uses by default (docs/decisions.md).
 */
export const DEV_SERVER_SQLITE_PRAGMAS: readonly string[] = ['journal_mode=wal', 'synchronous=normal'];

export interface DevServer {
  address: string;
  uiUrl?: string;
  namespace: string;
  pid: number;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** A port that was free a moment ago on loopback. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/**
 * Fails when something already listens on the port: the readiness probe would otherwise find
 * that other server (another idflow dev, say) and take it for ours.
 */
export async function assertPortFree(port: number, what: string, flag: string): Promise<void> {
  const server = createServer();
  const result = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen(port, HOST, () => resolve(undefined));
  });
  if (!result) {
    await new Promise((resolve) => server.close(resolve));
    return;
  }
  const reason =
    result.code === 'EADDRINUSE'
      ? 'is already in use (another idflow dev or Temporal server?)'
      : `cannot be used (${result.code ?? result.message})`;
  throw new Error(`${what} port ${HOST}:${port} ${reason}: choose another with ${flag}`);
}

function tail(file: string, lines = 20): string {
  try {
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => line.trimEnd())
      .filter(Boolean);
    return text.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function waitUntilServing(
  address: string,
  namespace: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `the Temporal dev server exited (${child.exitCode ?? child.signalCode}) while starting; its log (${logFile}) ends with:\n${tail(logFile)}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(
    `the Temporal dev server did not answer on ${address} within ${timeoutMs} ms (${String(lastError)}); its log (${logFile}) ends with:\n${tail(logFile)}`,
  );
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = resolveTemporalCli({ quiet: options.quiet });
  const namespace = options.namespace ?? 'default';
  const uiPort = options.uiPort ?? options.port + 1000;
  const logFile = options.logFile ?? join(options.dataDir, 'temporal.log');
  await assertPortFree(options.port, 'the Temporal', '--temporal-port');
  if (options.ui) await assertPortFree(uiPort, 'the Web UI', '--ui-port (or --no-ui)');
  const dbFile = join(options.dataDir, 'temporal.sqlite');
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    dbFile,
    '--ip',
    HOST,
    '--port',
    String(options.port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  args.push(...(options.ui ? ['--ui-ip', HOST, '--ui-port', String(uiPort)] : ['--headless']));
  for (const pragma of options.sqlitePragmas ?? DEV_SERVER_SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);

  const log = openSync(logFile, 'a', PRIVATE_FILE_MODE);
  // Its own process group: a Ctrl-C in the terminal (or a signal to our group) reaches only us, and
  // we stop the server last, after the worker and everything else that talks to it.
  const child = spawn(cli, args, { stdio: ['ignore', log, log], env: { ...process.env, TEMPORAL_ADDRESS: '' }, detached: true });
  closeSync(log);
  // The server must not outlive us: kill it when this process exits, however it exits normally.
  // (A SIGKILLed parent cannot run handlers; the server then keeps running until stopped.)
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const address = `${HOST}:${options.port}`;
  try {
    await waitUntilServing(address, namespace, child, logFile, options.startTimeoutMs ?? 60_000);
    // The server creates its database 0644 and sets up its schema only in a new file, so it
    // cannot be created 0600 beforehand: made owner-only once serving (the data dir already is).
    restrictToOwner(dbFile, PRIVATE_FILE_MODE);
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    throw error;
  }

  return {
    address,
    uiUrl: options.ui ? `http://${HOST}:${uiPort}` : undefined,
    namespace,
    pid: child.pid ?? -1,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
