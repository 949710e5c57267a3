/**
 * A person's timeline, newest first: runs about them (runs.subject), directory changes about them
 * (directory_outbox.subject, with the run step that made each), and audit entries about their runs
 * and approvals. Each source is read from its own index in the timeline's order, then merged.
 *
 * The order is (at, kind, key) descending, kinds ranked audit > change > run (at the same
 * instant a run's change and the cancellation of it come after its start). A page's cursor is its
 * last row's position; each source continues strictly after it: a source ranked below the cursor's
 * kind from `at` itself on, the cursor's own kind after (at, key), one ranked above before `at`.
 */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { JsonObject } from '../core/json.js';
import { clampLimit, parseJsonText } from './codec.js';
import type { Database } from './db.js';
import { RUN_SUMMARY_COLUMNS, toRunSummary } from './runs.js';
import type { Store, TimelinePosition, TimelineRow } from './types.js';

const RANK: Record<TimelineRow['kind'], number> = { run: 0, change: 1, audit: 2 };

type Bound = (at: Expression<string>, key: Expression<string | number>) => Expression<SqlBool>;

/** The condition "after the cursor" for a source of `kind`, over its time and key columns. */
function after(kind: TimelineRow['kind'], before: TimelinePosition | undefined): Bound | undefined {
  if (before === undefined) return undefined;
  const rank = RANK[kind];
  const cursorRank = RANK[before.kind];
  if (rank < cursorRank) return (at) => sql<SqlBool>`${at} <= ${before.at}`;
  if (rank > cursorRank) return (at) => sql<SqlBool>`${at} < ${before.at}`;
  return (at, key) => sql<SqlBool>`(${at} < ${before.at} or (${at} = ${before.at} and ${key} < ${before.key}))`;
}

export function timelineRepository(db: Kysely<Database>): Store['timeline'] {
  return {
    async about({ subjects, userId }, { before, limit, audit }) {
      const count = clampLimit(limit);
      const sources: Promise<TimelineRow[]>[] = [];

      if (subjects.length > 0) {
        const bound = after('run', before);
        sources.push(
          db
            .selectFrom('runs')
            .select(RUN_SUMMARY_COLUMNS)
            .where('subject', 'in', [...subjects])
            .$if(bound !== undefined, (q) => q.where((eb) => (bound as Bound)(eb.ref('started_at'), eb.ref('run_id'))))
            .orderBy('started_at', 'desc')
            .orderBy('run_id', 'desc')
            .limit(count)
            .execute()
            .then((rows) => rows.map((row) => ({ at: row.started_at, kind: 'run' as const, run: toRunSummary(row) }))),
        );
      }

      if (userId !== undefined) {
        const bound = after('change', before);
        sources.push(
          db
            .selectFrom('directory_outbox')
            .select(['seq', 'event_id', 'type', 'data', 'created_at', 'run_id', 'step_name'])
            .where('subject', '=', userId)
            .$if(bound !== undefined, (q) => q.where((eb) => (bound as Bound)(eb.ref('created_at'), eb.ref('seq'))))
            .orderBy('created_at', 'desc')
            .orderBy('seq', 'desc')
            .limit(count)
            .execute()
            .then((rows) =>
              rows.map((row) => ({
                at: row.created_at,
                kind: 'change' as const,
                change: {
                  seq: Number(row.seq),
                  id: row.event_id,
                  type: row.type,
                  data: parseJsonText<JsonObject>(row.data, `directory_outbox ${row.event_id}`),
                  ...(row.run_id !== null && { runId: row.run_id }),
                  ...(row.step_name !== null && { stepName: row.step_name }),
                },
              })),
            ),
        );
      }

      if (audit && subjects.length > 0) {
        const bound = after('audit', before);
        const theirRuns = db.selectFrom('runs').where('subject', 'in', [...subjects]);
        sources.push(
          db
            .selectFrom('audit_log')
            .select(['id', 'at', 'actor', 'action', 'target'])
            // What is audited about a person: their runs (cancel, retry) and their runs' approvals (decisions, escalations).
            .where((eb) =>
              eb.or([
                eb('target', 'in', theirRuns.select(sql<string>`'Run/' || run_id`.as('target'))),
                eb(
                  'target',
                  'in',
                  db
                    .selectFrom('approvals')
                    .where('run_id', 'in', theirRuns.select('run_id'))
                    .select(sql<string>`'approval:' || id`.as('target')),
                ),
              ]),
            )
            .$if(bound !== undefined, (q) => q.where((eb) => (bound as Bound)(eb.ref('at'), eb.ref('id'))))
            .orderBy('at', 'desc')
            .orderBy('id', 'desc')
            .limit(count)
            .execute()
            .then((rows) => rows.map((row) => ({ at: row.at, kind: 'audit' as const, entry: { ...row, id: Number(row.id) } }))),
        );
      }

      // A stable sort on (at, kind) keeps each source's own order (its database's) among equal times.
      const rows = (await Promise.all(sources)).flat();
      rows.sort((a, b) => (a.at === b.at ? RANK[b.kind] - RANK[a.kind] : a.at < b.at ? 1 : -1));
      return rows.slice(0, count);
    },
  };
}
