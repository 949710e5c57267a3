/** The blast-radius guard: tripped automations and held runs, a held run's plan, and the admins' decisions. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { MAX_LISTED_HOLDS } from '../../engine/guard.js';
import { actorOf, planAsker } from '../auth.js';

const decisionSchema = {
  params: z.object({ name: z.string().min(1).max(200) }),
  body: z
    .object({
      runs: z
        .array(z.string().min(1).max(400))
        .min(1, 'runs: name at least one held run, or leave runs out for all of them')
        .max(MAX_LISTED_HOLDS, `runs: at most ${MAX_LISTED_HOLDS} run ids; leave runs out for all of them`)
        .optional()
        .describe('Only these held runs; all held runs of the automation when absent.'),
    })
    .strict()
    .default({}),
};

export const guardRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  app.get(
    '/v1/guard',
    {
      schema: {
        description:
          'Tripped automations (why, since when, whether the admins were told, how many runs are held) and the held runs, oldest first.',
        querystring: z.object({
          automation: z.string().min(1).max(200).optional(),
          limit: z.coerce.number().int().min(1).max(MAX_LISTED_HOLDS).default(100),
        }),
      },
    },
    async (request) => engine.guard.status(request.query),
  );

  app.get(
    '/v1/guard/runs/:id/plan',
    {
      schema: {
        description: 'What the held run would do if released now, changing nothing.',
        params: z.object({ id: z.string().min(1).max(400) }),
      },
    },
    async (request) => engine.guard.plan(request.params.id, planAsker(request)),
  );

  app.post(
    '/v1/guard/:name/release',
    { schema: { description: 'The held runs go on, past the limit (an admin’s override).', ...decisionSchema } },
    async (request) => engine.guard.release(request.params.name, request.body.runs, actorOf(request)),
  );

  app.post(
    '/v1/guard/:name/discard',
    {
      schema: {
        description: 'The held runs end as cancelled, with the reason recorded; nothing after the hold happens.',
        ...decisionSchema,
      },
    },
    async (request) => engine.guard.discard(request.params.name, request.body.runs, actorOf(request)),
  );
};
