/** Scheduled automations: list with next fire times, trigger now, pause, unpause, backfill. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { actorOf } from '../auth.js';

const params = z.object({ name: z.string() });

export const scheduleRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store, schedules } = engine;
  const audit = (request: Parameters<typeof actorOf>[0], action: string, name: string, details: Record<string, string> = {}) =>
    store.audit.record({ actor: actorOf(request), action: `schedule.${action}`, target: `Automation/${name}`, details });

  app.get('/v1/schedules', async () => ({ schedules: await schedules.list() }));

  app.post('/v1/schedules/:name/trigger', { schema: { params } }, async (request, reply) => {
    await schedules.trigger(request.params.name);
    await audit(request, 'trigger', request.params.name);
    return reply.status(202).send({ name: request.params.name, triggered: true });
  });

  for (const [action, paused] of [
    ['pause', true],
    ['unpause', false],
  ] as const) {
    app.post(`/v1/schedules/:name/${action}`, { schema: { params } }, async (request) => {
      await schedules.setPaused(request.params.name, paused);
      await audit(request, action, request.params.name);
      return { name: request.params.name, paused };
    });
  }

  app.post(
    '/v1/schedules/:name/backfill',
    { schema: { params, body: z.object({ from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }) } },
    async (request, reply) => {
      await schedules.backfill(request.params.name, new Date(request.body.from), new Date(request.body.to));
      await audit(request, 'backfill', request.params.name, request.body);
      return reply.status(202).send({ name: request.params.name, backfill: request.body });
    },
  );
};
