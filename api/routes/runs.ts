/** Manual runs, run records, cancelling and waiting. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { RUN_STATUSES, type RunRecord } from '../../store/types.js';
import { actorOf } from '../auth.js';
import { ApiError } from '../errors.js';

const MAX_WAIT_MS = 60_000;
const runParams = z.object({ id: z.string() });

export const runRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;
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
        querystring: z.object({
          automation: z.string().optional(),
          status: z.enum(RUN_STATUSES).optional(),
          eventId: z.string().optional(),
          parent: z.string().optional().describe('runs started by this run'),
          limit: z.coerce.number().int().min(1).max(500).optional(),
        }),
      },
    },
    async (request) => {
      const { parent, ...filter } = request.query;
      return engine.listRuns({ ...filter, parentRunId: parent });
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

  app.get(
    '/v1/audit',
    { schema: { querystring: z.object({ target: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) } },
    async (request) => ({
      entries: await store.audit.list(request.query),
    }),
  );
};
