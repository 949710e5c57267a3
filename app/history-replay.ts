/**
 * `idflow replay --histories`: the recorded histories of recent runs, fetched from Temporal and
 * replayed against this process's workflow code by Temporal's replayer, so that a change to
 * workflows/ that would break runs already recorded (a command added, removed or reordered) is
 * found before new workers run it. Runs in progress come first: those are the ones new workers
 * will pick up from their history.
 */
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { connectionOptions, type TemporalSettings } from '../temporal/connection.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { automationRun, forEachUserRun } from '../workflows/index.js';
import { DEFAULT_TASK_QUEUE, workflowCodeOptions } from './worker.js';

/** The workflow types idflow's worker runs (a workflow's type is its function's name). */
export const REPLAYED_WORKFLOW_TYPES = [automationRun.name, forEachUserRun.name];

/** Histories fetched ahead while earlier ones replay: fetching is a round trip each, replaying is local. */
const FETCH_AHEAD = 8;

export interface HistoryReplayOptions {
  temporal: TemporalSettings;
  /** The task queue of the runs (`idflow worker --task-queue`). */
  taskQueue?: string;
  /** Runs started after this moment. */
  since: Date;
  /** At most this many histories. */
  limit: number;
  /** The workflow code to check; default the bundle a worker of this installation runs. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export type ReplayStatus = 'ok' | 'nondeterministic' | 'failed';

export interface ReplayedHistory {
  workflowId: string;
  runId: string;
  workflowType: string;
  startedAt: string;
  /** Whether the run was still in progress when listed. */
  running: boolean;
  /** `nondeterministic`: the code issues other commands than the history recorded; `failed`: it could not replay for another reason. */
  status: ReplayStatus;
  error?: string;
}

export interface HistoryReplayReport {
  namespace: string;
  taskQueue: string;
  since: string;
  limit: number;
  /** More runs started in the window than `limit`: the newest of them were replayed. */
  limited: boolean;
  replayed: number;
  nonDeterministic: number;
  failed: number;
  histories: ReplayedHistory[];
}

/** A string literal of Temporal's visibility query language. */
function literal(value: string): string {
  return `'${value.replace(/['\\]/g, '\\$&')}'`;
}

/**
 * The runs to replay, in visibility's documented default order (close time descending, runs in
 * progress first, then start time descending), and one more than the limit to tell whether it cut
 * the window short.
 */
async function recentExecutions(client: Client, options: HistoryReplayOptions, taskQueue: string): Promise<WorkflowExecutionInfo[]> {
  const query = [
    `TaskQueue = ${literal(taskQueue)}`,
    `WorkflowType IN (${REPLAYED_WORKFLOW_TYPES.map(literal).join(', ')})`,
    `StartTime > ${literal(options.since.toISOString())}`,
  ].join(' AND ');
  const executions: WorkflowExecutionInfo[] = [];
  for await (const execution of client.workflow.list({ query, pageSize: Math.min(options.limit + 1, 1000) })) {
    executions.push(execution);
    if (executions.length > options.limit) break;
  }
  return executions;
}

/** The executions' histories in their order, up to FETCH_AHEAD fetched at once. */
async function* histories(client: Client, executions: WorkflowExecutionInfo[]) {
  const fetch = (execution: WorkflowExecutionInfo) =>
    client.workflow
      .getHandle(execution.workflowId, execution.runId)
      .fetchHistory()
      .then(
        (history) => ({ history }),
        (error: unknown) => ({ error }),
      );
  const fetching = executions.slice(0, FETCH_AHEAD).map(fetch);
  for (const [index, execution] of executions.entries()) {
    const fetched = await fetching[index];
    if (index + FETCH_AHEAD < executions.length) fetching.push(fetch(executions[index + FETCH_AHEAD]));
    if ('error' in fetched)
      throw new Error(`cannot fetch the history of ${execution.workflowId} (run ${execution.runId}): ${(fetched.error as Error).message}`);
    yield { workflowId: execution.workflowId, history: fetched.history };
  }
}

function statusOf(error: Error | undefined): ReplayStatus {
  if (error === undefined) return 'ok';
  return error instanceof DeterminismViolationError ? 'nondeterministic' : 'failed';
}

export async function replayRecentHistories(options: HistoryReplayOptions): Promise<HistoryReplayReport> {
  const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
  const { namespace } = options.temporal;
  installTemporalRuntime({ coreLogLevel: 'ERROR' });
  const connection = await Connection.connect(connectionOptions(options.temporal)).catch((error: unknown) => {
    throw new Error(`cannot reach Temporal at ${options.temporal.address}: ${(error as Error).message}`);
  });
  try {
    const client = new Client({ connection, namespace });
    const listed = await recentExecutions(client, options, taskQueue);
    const executions = listed.slice(0, options.limit);
    const code = { ...(await workflowCodeOptions()), ...(options.workflowBundle && { workflowBundle: options.workflowBundle }) };
    const replayed: ReplayedHistory[] = [];
    // The replayer takes one history at a time and yields its result before taking the next: results come in the executions' order.
    for await (const result of Worker.runReplayHistories(code, histories(client, executions))) {
      const execution = executions[replayed.length];
      replayed.push({
        workflowId: result.workflowId,
        runId: execution.runId,
        workflowType: execution.type,
        startedAt: execution.startTime.toISOString(),
        running: execution.status.name === 'RUNNING',
        status: statusOf(result.error),
        ...(result.error && { error: result.error.message }),
      });
    }
    return {
      namespace,
      taskQueue,
      since: options.since.toISOString(),
      limit: options.limit,
      limited: listed.length > options.limit,
      replayed: replayed.length,
      nonDeterministic: replayed.filter((history) => history.status === 'nondeterministic').length,
      failed: replayed.filter((history) => history.status === 'failed').length,
      histories: replayed,
    };
  } finally {
    await connection.close();
  }
}
