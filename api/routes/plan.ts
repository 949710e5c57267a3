/** Plans of an event and of a manual run: what they would do, computed against a copy of the directory (the import's plan is with the import, api/routes/directory.ts). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { EventInputSchema } from '../../triggers/events.js';
import { planAsker } from '../auth.js';

export const planRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  app.post(
    '/v1/plan/events',
    {
      config: { boundsBodyDepth: true },
      schema: {
        description:
          'What the event would do if it were sent now: the automations it matches and why the others do not, each step with its input and effects.',
        body: EventInputSchema,
      },
    },
    async (request) => engine.plans.event(request.body, planAsker(request)),
  );

  app.post(
    '/v1/plan/runs',
    {
      config: { boundsBodyDepth: true },
      schema: {
        description: 'What a manual run of the automation with this context would do.',
        body: z.object({
          automation: z.string().min(1).max(200).describe('The automation to run.'),
          context: z.record(z.string(), z.json()).default({}).describe("Becomes the run's ctx.trigger."),
        }),
      },
    },
    async (request) => engine.plans.run(request.body.automation, request.body.context, planAsker(request)),
  );
};
