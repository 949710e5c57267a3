/**
 * The console's first page in one request: runs since a time by status, the newest failures, the
 * guard, and — each only for a token holding its scope — pending approvals and the next scheduled fires.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { RUN_STATUSES, type RunStatus } from '../../store/types.js';
import { failureMessage } from '../../workflows/shared.js';
import { holdsScope } from '../auth.js';

const DAY_MS = 86_400_000;
/** Failures listed, newest first. */
const FAILURES = 10;
/** How long the overview waits for Temporal's schedules before answering without them. */
const SCHEDULES_DEADLINE_MS = 5_000;
/** The furthest back `since` may go: the counts read every run since. */
const MAX_SINCE_DAYS = 400;

const runSummary = z.object({
  runId: z.string(),
  automation: z.string(),
  version: z.number(),
  status: z.enum(RUN_STATUSES),
  eventId: z.string().optional(),
  parentRunId: z.string().optional(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  error: z.string().optional(),
});

const overview = z.object({
  since: z.string(),
  runs: z.object({ total: z.number(), byStatus: z.record(z.enum(RUN_STATUSES), z.number()) }),
  failures: z.array(runSummary).describe(`the newest failed runs since then, at most ${FAILURES}`),
  guard: z.object({ trips: z.number(), held: z.number() }).describe('tripped automations and the runs they hold'),
  approvals: z.object({ pending: z.number() }).optional().describe('with approvals:read'),
  schedules: z
    .array(z.object({ automation: z.string(), nextFireAt: z.string().optional(), timezone: z.string(), paused: z.boolean() }))
    .optional()
    .describe('with definitions:read'),
  warning: z.string().optional().describe('a part that could not be read (Temporal did not answer for the schedules)'),
});

export const overviewRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;
  app.get(
    '/v1/overview',
    {
      schema: {
        description:
          'Runs since a time (default the last 24 h) by status, the newest failures, the guard, pending approvals and the next scheduled fires.',
        querystring: z.object({
          since: z.iso
            .datetime({ offset: true, error: 'since: an ISO 8601 time with Z or an offset, e.g. 2026-05-01T00:00:00Z' })
            .transform((time) => new Date(time).toISOString())
            .refine((time) => Date.now() - Date.parse(time) <= MAX_SINCE_DAYS * DAY_MS, `since: at most ${MAX_SINCE_DAYS} days back`)
            .optional()
            .describe('ISO 8601; default 24 hours ago'),
        }),
        response: { 200: overview },
      },
    },
    async (request) => {
      const since = request.query.since ?? new Date(Date.now() - DAY_MS).toISOString();
      const [counts, failed, guard] = await Promise.all([
        store.runs.countByStatus(since),
        store.runs.list({ status: 'failed', since, limit: FAILURES }),
        engine.guard.status({ limit: 1 }),
      ]);
      const byStatus = Object.fromEntries(RUN_STATUSES.map((status) => [status, counts[status] ?? 0])) as Record<RunStatus, number>;
      const result: z.infer<typeof overview> = {
        since,
        runs: { total: Object.values(byStatus).reduce((sum, count) => sum + count, 0), byStatus },
        failures: failed.map(({ trigger: _trigger, steps: _steps, ...run }) => run),
        guard: { trips: guard.trips.length, held: guard.trips.reduce((sum, trip) => sum + trip.held, 0) },
      };
      if (holdsScope(request, 'approvals:read')) result.approvals = { pending: await store.approvals.countPending() };
      if (holdsScope(request, 'definitions:read')) {
        try {
          const schedules = await engine.schedules.list({ deadline: Date.now() + SCHEDULES_DEADLINE_MS });
          result.schedules = schedules.map((schedule) => ({
            automation: schedule.name,
            ...(schedule.nextFireTimes[0] !== undefined && { nextFireAt: schedule.nextFireTimes[0].at }),
            timezone: schedule.timezone,
            paused: schedule.paused,
          }));
        } catch (error) {
          request.log.warn({ err: error }, 'the overview answered without schedules: Temporal did not answer');
          result.warning = `Temporal did not answer (${failureMessage(error)}): the schedules are not shown`;
        }
      }
      return result;
    },
  );
};
