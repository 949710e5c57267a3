/** Manual runs, run records, cancelling and waiting. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { RUN_STATUSES, type RunRecord } from '../../store/types.js';
import { actorOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { cursorParam, encodeCursor, orderedRange, pageLimit, timeRange } from '../list-query.js';

const MAX_WAIT_MS = 60_000;
const MAX_NAME_LENGTH = 200;
/** Run and event ids: an automation's name and an event id (or a retry's suffix). */
const MAX_ID_LENGTH = 1000;
/** A user id (256) or an email (254). */
const MAX_PERSON_LENGTH = 256;
const runParams = z.object({ id: z.string() });

export const runRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const withLink = (run: RunRecord) => ({ ...run, webUiLink: engine.webUiLink(run.runId) });

  app.post(
    '/v1/automations/:name/runs',
    {
      schema: {
        params: z.object({ name: z.string() }),
        body: z.object({ context: z.record(z.string(), z.json()).default({}) }).default({ context: {} }),
      },
    },
    async (request, reply) =>
      reply.status(202).send(withLink(await engine.runManually(request.params.name, request.body.context, actorOf(request)))),
  );

  app.get(
    '/v1/runs',
    {
      schema: {
        description: 'Runs newest first, a page at a time: pass nextCursor as cursor for the next page.',
        querystring: z
          .object({
            automation: z.string().min(1).max(MAX_NAME_LENGTH).optional(),
            status: z.enum(RUN_STATUSES).optional(),
            person: z
              .string()
              .min(1)
              .max(MAX_PERSON_LENGTH)
              .optional()
              .describe("runs about this person (the run's subject): a user id or email"),
            eventId: z.string().min(1).max(MAX_ID_LENGTH).optional(),
            parent: z.string().min(1).max(MAX_ID_LENGTH).optional().describe('runs started by this run'),
            ...timeRange,
            limit: pageLimit,
            cursor: cursorParam('runs', z.tuple([z.string(), z.string()])),
          })
          .superRefine(orderedRange),
      },
    },
    async (request) => {
      const { parent, cursor, limit, ...filter } = request.query;
      const before = cursor && { startedAt: cursor[0], runId: cursor[1] };
      // One more than the page: whether there is a next one, without a request that comes back empty.
      const list = await engine.listRuns({ ...filter, parentRunId: parent, before, limit: limit + 1 });
      const runs = list.runs.slice(0, limit);
      const last = runs.at(-1);
      return { ...list, runs, ...(list.runs.length > limit && last && { nextCursor: encodeCursor('runs', [last.startedAt, last.runId]) }) };
    },
  );

  app.get('/v1/runs/:id', { schema: { params: runParams } }, async (request) => {
    const run = await engine.getRun(request.params.id);
    if (!run) throw new ApiError('NOT_FOUND', `run "${request.params.id}" does not exist`);
    return withLink(run);
  });

  app.get(
    '/v1/runs/:id/wait',
    {
      schema: { params: runParams, querystring: z.object({ timeoutMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(30_000) }) },
    },
    async (request) => withLink(await engine.waitForRun(request.params.id, request.query.timeoutMs)),
  );

  app.post('/v1/runs/:id/retry', { schema: { params: runParams } }, async (request, reply) =>
    reply.status(202).send(withLink(await engine.retryRun(request.params.id, actorOf(request)))),
  );

  app.post('/v1/runs/:id/cancel', { schema: { params: runParams } }, async (request) => {
    await engine.cancelRun(request.params.id, actorOf(request));
    return { runId: request.params.id, cancelRequested: true };
  });
};
