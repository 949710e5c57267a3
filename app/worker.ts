/**
 * The idflow worker: runs automation workflows and their step activities on one task queue.
 * `idflow dev` starts one in-process; production runs `idflow worker` (scalable: start many).
 */
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import type { Store } from '../store/types.js';
import { workflowBundle } from './workflow-bundle.js';

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

/**
 * Workflows kept in the worker's cache between their tasks. The SDK's default grows with the heap
 * limit (~2,300 for a 4 GB heap), so memory would follow whatever heap an operator sets. A run
 * waiting on a timer or a long step gains nothing from staying cached: when it wakes, the worker
 * replays its short history. So the cache holds what is in progress. Measured with 10,000 runs
 * waiting (bench/worker-memory.ts, docs/decisions.md): worker peak RSS 310 MB with 250 cached,
 * 254 MB with 100 (~370 KB per cached run, native memory included), and bench/engine.ts's
 * throughput (75 runs at once per round) the same at 100.
 */
export const MAX_CACHED_WORKFLOWS = 100;

/**
 * How the worker runs workflow code, shared with the replayer (app/history-replay.ts): a history
 * is checked against exactly the code and options that would run it.
 */
export async function workflowCodeOptions(): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  return { workflowBundle: await workflowBundle() };
}

export async function createIdflowWorker(options: IdflowWorkerOptions): Promise<Worker> {
  return Worker.create({
    ...(await workflowCodeOptions()),
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities: await createActivities({ store: options.store, logger: options.logger, env: options.env, dataDir: options.dataDir }),
  });
}
