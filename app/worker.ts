/**
 * The idflow worker: runs automation workflows and their step activities on one task queue.
 * `idflow dev` starts one in-process; production runs `idflow worker` (scalable: start many).
 */
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { stepRegistry } from '../steps/registry.js';
import type { Store } from '../store/types.js';

export const DEFAULT_TASK_QUEUE = 'idflow';

export interface IdflowWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  store: Store;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** For the functions' secrets master key (`<dataDir>/master.key`) when IDFLOW_MASTER_KEY(_FILE) is unset. */
  dataDir?: string;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/**
 * Modules each workflow thread evaluates once and shares between workflows (Temporal's
 * `preloadModules`), where it would otherwise evaluate them again for every workflow: building
 * every step type's zod schema and the CEL environment per run was most of idflow's CPU per run
 * (bench/engine.ts). Temporal deep-freezes what it shares, and a frozen zod schema cannot parse
 * (zod fills in members on first use), so only schemas the workflow never parses are shared: the
 * activity step types'. The workflow step types (wait, run_automation), whose input the workflow
 * parses, are evaluated per workflow and must build their schemas from `z` alone.
 */
function preloadedModules(): string[] {
  const activitySteps = [...stepRegistry.values()].filter((step) => step.runsIn === 'activity').map((step) => `../steps/${step.type}.ts`);
  return ['@marcbachmann/cel-js', '../cel/template.ts', '../triggers/events.ts', ...activitySteps].map((spec) =>
    spec.startsWith('.') ? fileURLToPath(new URL(spec, import.meta.url)) : spec,
  );
}

/** The workflow bundle, built once per process (webpack takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    preloadModules: preloadedModules(),
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn: (message) => console.warn(message),
      error: (message) => console.error(message),
    },
  });
  return bundle;
}

/**
 * Workflows kept in the worker's cache between their tasks. The SDK's default grows with the heap
 * limit (~2,300 for a 4 GB heap), so memory would follow whatever heap an operator sets. A run
 * waiting on a timer or a long step gains nothing from staying cached: when it wakes, the worker
 * replays its short history. So the cache holds what is in progress, a few hundred runs at once;
 * bench/worker-memory.ts measured ~45 KB per cached run (2,000 runs waiting: 877 MB all cached,
 * 799 MB with 250), the heap limit being the larger lever (docs/decisions.md).
 */
export const MAX_CACHED_WORKFLOWS = 250;

export async function createIdflowWorker(options: IdflowWorkerOptions): Promise<Worker> {
  return Worker.create({
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: await createActivities({ store: options.store, logger: options.logger, env: options.env, dataDir: options.dataDir }),
  });
}
