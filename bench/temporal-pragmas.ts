/**
 * The Temporal dev server's SQLite pragmas (a benchmark: it prints figures and gates nothing).
 * Bare Temporal — one workflow with one no-op activity — 300 workflows started at once, then
 * waited for; each round starts a fresh server (a new database file) with the server's own
 * defaults (rollback journal, synchronous=FULL) and one with DEV_SERVER_SQLITE_PRAGMAS (WAL,
 * synchronous=NORMAL), in alternating order so neither gains from going first.
 * `node --import tsx bench/temporal-pragmas.ts`; ROUNDS=3 and WORKFLOWS=300 by default.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEV_SERVER_SQLITE_PRAGMAS, findFreePort, startDevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { bareBundle } from './baseline/bundle.js';
import { bareWorkflow } from './baseline/workflows.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const WORKFLOWS = Number(process.env.WORKFLOWS ?? 300);

interface Setting {
  label: string;
  pragmas: readonly string[];
}

const SETTINGS: Setting[] = [
  { label: 'server defaults', pragmas: [] },
  { label: DEV_SERVER_SQLITE_PRAGMAS.join(' '), pragmas: DEV_SERVER_SQLITE_PRAGMAS },
];

/** Workflows completed per second by a fresh server with these pragmas. */
async function measure(setting: Setting, workflowBundle: WorkflowBundleWithSourceMap): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-bench-pragmas-'));
  const server = await startDevServer({ dataDir, port: await findFreePort(), ui: false, quiet: true, sqlitePragmas: setting.pragmas });
  const connection = await Connection.connect({ address: server.address });
  const native = await NativeConnection.connect({ address: server.address });
  const taskQueue = `pragmas-${randomUUID()}`;
  const worker = await Worker.create({
    connection: native,
    namespace: server.namespace,
    taskQueue,
    workflowBundle,
    activities: { deliver: async () => 0 },
  });
  const running = worker.run();
  try {
    const client = new Client({ connection, namespace: server.namespace });
    const batch = async (count: number, prefix: string): Promise<number> => {
      const started = performance.now();
      const handles = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          client.workflow.start(bareWorkflow, { taskQueue, workflowId: `${prefix}-${i}`, args: ['', {}] }),
        ),
      );
      await Promise.all(handles.map((handle) => handle.result()));
      return performance.now() - started;
    };
    await batch(20, 'warm-up'); // the worker's first polls and workflow context, uncounted
    return WORKFLOWS / ((await batch(WORKFLOWS, 'measured')) / 1000);
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function benchTemporalPragmas(): Promise<Map<string, number[]>> {
  installTemporalRuntime();
  const workflowBundle = await bareBundle();
  const figures = new Map<string, number[]>(SETTINGS.map((setting) => [setting.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? SETTINGS : [...SETTINGS].reverse();
    for (const setting of order) figures.get(setting.label)?.push(await measure(setting, workflowBundle));
  }
  return figures;
}

export function describeTemporalPragmas(figures: Map<string, number[]>): string {
  return [...figures]
    .map(([label, rates]) => `bare Temporal, ${WORKFLOWS} workflows at once, ${label}: ${rates.map((r) => r.toFixed(1)).join(', ')} wf/s`)
    .join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchTemporalPragmas()
    .then((figures) => console.log(describeTemporalPragmas(figures)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
