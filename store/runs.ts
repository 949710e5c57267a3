import type { JsonValue } from '../core/json.js';
import type { Kysely, SelectQueryBuilder } from 'kysely';
import { subjectKey } from '../triggers/events.js';
import { clampLimit, idChunks, nowIso, parseJsonText, parseOptionalJsonText, toJsonText } from './codec.js';
import type { Database, RunStepsTable, RunsTable } from './db.js';
import type { RunFilter, RunRecord, RunStatus, RunSummary, StepRecord, StepStatus, Store } from './types.js';

/** Most runs per automation latestOf returns. */
const MAX_LATEST = 20;
/** Automations per latestOf statement: a union of that many index-ordered branches. */
const AUTOMATIONS_PER_STATEMENT = 100;

/** The columns of a run's summary (toRunSummary). */
export const RUN_SUMMARY_COLUMNS = [
  'run_id',
  'automation',
  'version',
  'status',
  'event_id',
  'parent_run_id',
  'started_at',
  'ended_at',
  'error',
] as const;

/** A run's summary from its row (RUN_SUMMARY_COLUMNS). */
export function toRunSummary(row: Pick<RunsTable, (typeof RUN_SUMMARY_COLUMNS)[number]>): RunSummary {
  return {
    runId: row.run_id,
    automation: row.automation,
    version: row.version,
    status: row.status as RunStatus,
    ...(row.event_id !== null && { eventId: row.event_id }),
    ...(row.parent_run_id !== null && { parentRunId: row.parent_run_id }),
    startedAt: row.started_at,
    ...(row.ended_at !== null && { endedAt: row.ended_at }),
    ...(row.error !== null && { error: row.error }),
  };
}

/** A run list's filters; each has an index ending in (started_at desc, run_id desc), so the order needs no sort. */
function filtered<O>(query: SelectQueryBuilder<Database, 'runs', O>, filter: RunFilter): SelectQueryBuilder<Database, 'runs', O> {
  const { before, subjects } = filter;
  return query
    .$if(filter.automation !== undefined, (q) => q.where('automation', '=', filter.automation as string))
    .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status as RunStatus))
    .$if(filter.eventId !== undefined, (q) => q.where('event_id', '=', filter.eventId as string))
    .$if(filter.parentRunId !== undefined, (q) => q.where('parent_run_id', '=', filter.parentRunId as string))
    .$if(subjects !== undefined, (q) => q.where('subject', 'in', subjects as string[]))
    .$if(filter.since !== undefined, (q) => q.where('started_at', '>=', filter.since as string))
    .$if(filter.until !== undefined, (q) => q.where('started_at', '<=', filter.until as string))
    .$if(before !== undefined, (q) =>
      q.where((eb) => eb(eb.refTuple('started_at', 'run_id'), '<', eb.tuple(before?.startedAt as string, before?.runId as string))),
    );
}

/**
 * Step rows inserted per statement. SQLite binds at most 32,766 variables per statement and a
 * row takes 11: one statement for every step failed from 2,979 steps up ("too many SQL variables").
 */
const STEP_ROWS_PER_INSERT = 500;

function toStep(row: RunStepsTable): StepRecord {
  const where = `run_steps of run "${row.run_id}" step "${row.name}"`;
  const input = parseOptionalJsonText(row.input, `${where} (input)`);
  const output = parseOptionalJsonText(row.output, `${where} (output)`);
  return {
    index: row.step_index,
    name: row.name,
    type: row.type,
    status: row.status as StepStatus,
    attempts: row.attempts,
    ...(row.started_at !== null && { startedAt: row.started_at }),
    ...(row.ended_at !== null && { endedAt: row.ended_at }),
    ...(input !== undefined && { input }),
    ...(output !== undefined && { output }),
    ...(row.error !== null && { error: row.error }),
  };
}

function toRun(row: RunsTable, steps: StepRecord[]): RunRecord {
  return {
    runId: row.run_id,
    automation: row.automation,
    version: row.version,
    status: row.status as RunStatus,
    trigger: parseJsonText<JsonValue>(row.trigger, `runs.trigger of run "${row.run_id}"`),
    ...(row.event_id !== null && { eventId: row.event_id }),
    ...(row.parent_run_id !== null && { parentRunId: row.parent_run_id }),
    startedAt: row.started_at,
    ...(row.ended_at !== null && { endedAt: row.ended_at }),
    ...(row.error !== null && { error: row.error }),
    steps,
  };
}

export function runsRepository(db: Kysely<Database>): Store['runs'] {
  /** Explains an update that matched no step row: the run or the step is unknown. */
  async function missingStep(action: string, runId: string, stepName: string): Promise<Error> {
    const run = await db.selectFrom('runs').select('run_id').where('run_id', '=', runId).executeTakeFirst();
    const reason = run ? `run "${runId}" has no step "${stepName}"` : `no run "${runId}"`;
    return new Error(`store: cannot ${action} step "${stepName}" of run "${runId}": ${reason}`);
  }

  /** The records of `rows` (at most one id chunk) with their steps, read in one more statement. */
  async function withSteps(rows: RunsTable[]): Promise<RunRecord[]> {
    if (rows.length === 0) return [];
    const stepRows = await db
      .selectFrom('run_steps')
      .selectAll()
      .where(
        'run_id',
        'in',
        rows.map((row) => row.run_id),
      )
      .orderBy('run_id')
      .orderBy('step_index', 'asc')
      .execute();
    const stepsByRun = new Map<string, StepRecord[]>();
    for (const stepRow of stepRows) {
      const steps = stepsByRun.get(stepRow.run_id) ?? [];
      steps.push(toStep(stepRow));
      stepsByRun.set(stepRow.run_id, steps);
    }
    return rows.map((row) => toRun(row, stepsByRun.get(row.run_id) ?? []));
  }

  const runs: Store['runs'] = {
    async start(run) {
      return db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('runs')
          .values({
            run_id: run.runId,
            automation: run.automation,
            version: run.version,
            status: 'running',
            trigger: toJsonText(run.trigger),
            event_id: run.eventId ?? null,
            parent_run_id: run.parentRunId ?? null,
            started_at: run.startedAt,
            ended_at: null,
            error: null,
            subject: subjectKey(run.trigger) ?? null,
          })
          .onConflict((conflict) => conflict.column('run_id').doNothing())
          .executeTakeFirst();
        // A replayed start leaves the existing record, steps included, as it is.
        if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
        const rows = run.steps.map((step, index) => ({
          run_id: run.runId,
          step_index: index,
          name: step.name,
          type: step.type,
          status: 'pending',
          attempts: 0,
          started_at: null,
          ended_at: null,
          input: null,
          output: null,
          error: null,
        }));
        for (let from = 0; from < rows.length; from += STEP_ROWS_PER_INSERT) {
          await trx
            .insertInto('run_steps')
            .values(rows.slice(from, from + STEP_ROWS_PER_INSERT))
            .execute();
        }
        return true;
      });
    },

    async discard(runId) {
      return db.transaction().execute(async (trx) => {
        const begun = await trx
          .selectFrom('run_steps')
          .select('name')
          .where('run_id', '=', runId)
          .where('attempts', '>', 0)
          .executeTakeFirst();
        if (begun) return false;
        await trx.deleteFrom('run_steps').where('run_id', '=', runId).execute();
        const deleted = await trx.deleteFrom('runs').where('run_id', '=', runId).where('status', '=', 'running').executeTakeFirst();
        return deleted.numDeletedRows > 0n;
      });
    },

    async finish(runId, status, error, options) {
      // Only a running run changes: the first terminal status wins when a retried activity writes again.
      const endable: RunStatus[] = options?.overCompleted && status !== 'completed' ? ['running', 'completed'] : ['running'];
      const ended = await db
        .updateTable('runs')
        .set({ status, error: error ?? null, ended_at: nowIso() })
        .where('run_id', '=', runId)
        .where('status', 'in', endable)
        .returning('automation')
        .executeTakeFirst();
      if (ended) return ended;
      const existing = await db.selectFrom('runs').select('run_id').where('run_id', '=', runId).executeTakeFirst();
      if (!existing) throw new Error(`store: cannot finish run "${runId}" as ${status}: no such run`);
      return undefined;
    },

    async stepStarted(runId, stepName, input, attempt) {
      const result = await db
        .updateTable('run_steps')
        .set((eb) => ({
          status: 'running',
          input: toJsonText(input ?? null),
          attempts: eb.case().when('attempts', '<', attempt).then(eb.val(attempt)).else(eb.ref('attempts')).end(),
          // The first start is the step's start; retries keep it.
          started_at: eb.fn.coalesce('started_at', eb.val(nowIso())),
        }))
        .where('run_id', '=', runId)
        .where('name', '=', stepName)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw await missingStep('start', runId, stepName);
    },

    async stepFinished(runId, stepName, result) {
      const updated = await db
        .updateTable('run_steps')
        .set({
          status: result.status,
          output: 'output' in result ? toJsonText(result.output ?? null) : null,
          error: 'error' in result ? result.error : null,
          ended_at: nowIso(),
        })
        .where('run_id', '=', runId)
        .where('name', '=', stepName)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw await missingStep('finish', runId, stepName);
    },

    async lastStepCompleted(runId, stepName, output) {
      await runs.stepFinished(runId, stepName, { status: 'completed', output });
      return runs.finish(runId, 'completed');
    },

    async get(runId) {
      const row = await db.selectFrom('runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
      if (!row) return undefined;
      const steps = await db.selectFrom('run_steps').selectAll().where('run_id', '=', runId).orderBy('step_index', 'asc').execute();
      return toRun(row, steps.map(toStep));
    },

    async getMany(runIds) {
      const found: RunRecord[] = [];
      for (const chunk of idChunks([...new Set(runIds)])) {
        const rows = await db.selectFrom('runs').selectAll().where('run_id', 'in', chunk).execute();
        found.push(...(await withSteps(rows)));
      }
      return found;
    },

    async listRoots({ automation, from, to, before, limit }) {
      // The (automation, started_at desc, run_id desc) index serves the filter, the order and the keyset cursor.
      const rows = await db
        .selectFrom('runs')
        .selectAll()
        .where('automation', '=', automation)
        .where('started_at', '>=', from)
        .where('started_at', '<=', to)
        .where('event_id', 'is', null)
        .where('parent_run_id', 'is', null)
        .$if(before !== undefined, (query) => {
          const cursor = before as Pick<RunRecord, 'startedAt' | 'runId'>;
          return query.where((eb) => eb(eb.refTuple('started_at', 'run_id'), '<', eb.tuple(cursor.startedAt, cursor.runId)));
        })
        .orderBy('started_at', 'desc')
        .orderBy('run_id', 'desc')
        .limit(clampLimit(limit))
        .execute();
      return withSteps(rows);
    },

    async childIds(parentRunId) {
      const rows = await db.selectFrom('runs').select('run_id').where('parent_run_id', '=', parentRunId).execute();
      return rows.map((row) => row.run_id);
    },

    async list(filter) {
      // About nobody known: no run (an empty `in ()` is no SQL).
      if (filter.subjects?.length === 0) return [];
      const rows = await filtered(db.selectFrom('runs').selectAll(), filter)
        .orderBy('started_at', 'desc')
        .orderBy('run_id', 'desc')
        .limit(clampLimit(filter.limit))
        .execute();
      return withSteps(rows);
    },

    async countByStatus(since) {
      const rows = await db
        .selectFrom('runs')
        .select((eb) => ['status', eb.fn.countAll<number | string | bigint>().as('count')])
        .where('started_at', '>=', since)
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
    },

    async latestOf(automations, count) {
      const latest = new Map<string, RunSummary[]>();
      const names = [...new Set(automations)];
      const perAutomation = Math.min(MAX_LATEST, Math.max(1, Math.floor(count)));
      for (let from = 0; from < names.length; from += AUTOMATIONS_PER_STATEMENT) {
        // One branch per automation, each read newest first from the (automation, started_at, run_id) index.
        const branches = names
          .slice(from, from + AUTOMATIONS_PER_STATEMENT)
          .map((name) =>
            db
              .selectFrom((sub) =>
                sub
                  .selectFrom('runs')
                  .select(RUN_SUMMARY_COLUMNS)
                  .where('automation', '=', name)
                  .orderBy('started_at', 'desc')
                  .orderBy('run_id', 'desc')
                  .limit(perAutomation)
                  .as('latest'),
              )
              .selectAll(),
          );
        const [first, ...rest] = branches;
        if (first === undefined) continue;
        const rows = await rest.reduce((union, branch) => union.unionAll(branch), first).execute();
        for (const row of rows) {
          const runs = latest.get(row.automation) ?? [];
          runs.push(toRunSummary(row));
          latest.set(row.automation, runs);
        }
      }
      // Each branch came newest first, but a union promises no order: sort within each automation.
      for (const runs of latest.values())
        runs.sort((a, b) => (a.startedAt === b.startedAt ? b.runId.localeCompare(a.runId) : b.startedAt.localeCompare(a.startedAt)));
      return latest;
    },
  };
  return runs;
}
