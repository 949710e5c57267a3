/**
 * Run records reconciled with Temporal. A run whose workflow ended outside idflow (terminated
 * from the Web UI or `temporal workflow terminate`, a workflow execution timeout, a cancellation
 * or workflow-level failure whose bookkeeping never ran) still says "running" in the store.
 * Reads ask Temporal about the rows that say running and write the ended status back, only over
 * "running" (store.runs.finish): a concurrent normal completion wins, and later reads and status
 * filters agree without asking again.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { RunFilter, RunRecord, Store } from '../store/types.js';
import { failureMessage } from '../workflows/shared.js';
import type { RunList } from './types.js';

/** Temporal's close statuses that idflow's own bookkeeping may not have recorded: the run status, and the name queries use. */
const ENDED_OUTSIDE = {
  TERMINATED: { status: 'terminated', query: 'Terminated' },
  TIMED_OUT: { status: 'timed_out', query: 'TimedOut' },
  CANCELLED: { status: 'cancelled', query: 'Canceled' },
  FAILED: { status: 'failed', query: 'Failed' },
} as const;
type EndedStatus = (typeof ENDED_OUTSIDE)[keyof typeof ENDED_OUTSIDE]['status'];
const ENDED_OUTSIDE_QUERY = `ExecutionStatus IN (${Object.values(ENDED_OUTSIDE)
  .map((ended) => `'${ended.query}'`)
  .join(', ')})`;

/** Workflow ids per visibility query: a 500-row page (the list maximum) takes 5 queries of about 7 KB. */
const IDS_PER_QUERY = 100;
/** How long a read waits for Temporal before answering from the store alone (its client retries an unreachable server for ~20 s). */
const TEMPORAL_DEADLINE_MS = 5_000;

function endedStatusOf(temporalStatus: string): EndedStatus | undefined {
  return temporalStatus in ENDED_OUTSIDE ? ENDED_OUTSIDE[temporalStatus as keyof typeof ENDED_OUTSIDE].status : undefined;
}

/**
 * A string literal of Temporal's visibility query language, or undefined for a value it cannot
 * hold: a quote doubles, but a backslash is read as an escape and no escape writes one (measured on
 * server 1.32: 'a\\b' does not match the id a\b). idflow's own ids never have one; per-user run
 * ids carry HR user ids, which may.
 */
function queryString(value: string): string | undefined {
  return value.includes('\\') ? undefined : `'${value.replaceAll("'", "''")}'`;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let from = 0; from < items.length; from += size) result.push(items.slice(from, from + size));
  return result;
}

export class RunReconciler {
  constructor(
    private readonly client: Client,
    private readonly runs: Store['runs'],
    private readonly logger: Logger,
  ) {}

  /**
   * One run: asks Temporal directly (describe reads the workflow itself, never a lagging index).
   * Temporal unreachable (or slower than TEMPORAL_DEADLINE_MS): the record as the store has it.
   */
  async get(runId: string): Promise<RunRecord | undefined> {
    const run = await this.runs.get(runId);
    if (run?.status !== 'running') return run;
    let ended: EndedStatus | undefined;
    try {
      ended = await this.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => this.endedStatus(runId));
    } catch (error) {
      this.logger.warn({ err: error, runId }, 'a run read from the store alone: Temporal did not answer');
      return run;
    }
    if (!ended) return run;
    await this.settle(runId, ended);
    return this.runs.get(runId);
  }

  /**
   * Runs as the store lists them, each running one checked with Temporal first: the statuses a
   * filter selects on are the reconciled ones. Temporal unreachable (or slower than
   * TEMPORAL_DEADLINE_MS): the store's statuses, with `reconciled: false` and why.
   */
  async list(filter: RunFilter): Promise<RunList> {
    if (filter.status === 'completed') return { runs: await this.runs.list(filter), reconciled: true };
    if (filter.status === undefined || filter.status === 'running') return this.listSettled(filter, Date.now() + TEMPORAL_DEADLINE_MS);
    // terminated, timed_out, cancelled, failed: the rows about to become one say running yet.
    const settled = await this.listSettled({ ...filter, status: 'running' }, Date.now() + TEMPORAL_DEADLINE_MS);
    return { ...settled, runs: await this.runs.list(filter) };
  }

  /**
   * Lists, settles the listed running runs that Temporal says ended, and lists again until no
   * listed run is left unchecked: under `status: running` each round's settled runs leave the
   * page and older running runs take their place. Each round settles runs for good, so rounds
   * end; the deadline bounds them.
   */
  private async listSettled(filter: RunFilter, deadline: number): Promise<RunList> {
    const checked = new Set<string>();
    for (;;) {
      const runs = await this.runs.list(filter);
      const unchecked = runs.filter((run) => run.status === 'running' && !checked.has(run.runId)).map((run) => run.runId);
      if (unchecked.length === 0) return { runs, reconciled: true };
      let ended: Map<string, EndedStatus>;
      try {
        ended = await this.endedAmong(unchecked, deadline);
      } catch (error) {
        const reason = failureMessage(error);
        this.logger.warn({ err: error }, 'runs listed from the store alone: Temporal did not answer');
        return {
          runs,
          reconciled: false,
          warning: `Temporal did not answer (${reason}): running runs are listed as the store last recorded them, and one that ended outside idflow may still say running`,
        };
      }
      for (const runId of unchecked) checked.add(runId);
      if (ended.size === 0) return { runs, reconciled: true };
      await Promise.all([...ended].map(([runId, status]) => this.settle(runId, status)));
    }
  }

  /**
   * Which of these workflows ended outside idflow, per Temporal's visibility: one query per
   * IDS_PER_QUERY ids, all at once; an id no query can name is described on its own.
   */
  private async endedAmong(runIds: string[], deadline: number): Promise<Map<string, EndedStatus>> {
    const ended = new Map<string, EndedStatus>();
    const literals: string[] = [];
    const described: string[] = [];
    for (const runId of runIds) {
      const literal = queryString(runId);
      if (literal === undefined) described.push(runId);
      else literals.push(literal);
    }
    const note = (runId: string, status: EndedStatus | undefined): void => {
      if (status) ended.set(runId, status);
    };
    await this.client.withDeadline(deadline, () =>
      Promise.all([
        ...chunks(literals, IDS_PER_QUERY).map(async (ids) => {
          const query = `WorkflowId IN (${ids.join(', ')}) AND ${ENDED_OUTSIDE_QUERY}`;
          for await (const workflow of this.client.workflow.list({ query })) note(workflow.workflowId, endedStatusOf(workflow.status.name));
        }),
        ...described.map(async (runId) => note(runId, await this.endedStatus(runId))),
      ]),
    );
    return ended;
  }

  /** The run's status per Temporal, when it ended without idflow recording it. */
  private async endedStatus(runId: string): Promise<EndedStatus | undefined> {
    try {
      const { status } = await this.client.workflow.getHandle(runId).describe();
      return endedStatusOf(status.name);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  }

  private async settle(runId: string, status: EndedStatus): Promise<void> {
    await this.runs.finish(runId, status, `the workflow was ${status.replace('_', ' ')} outside idflow`);
  }
}
