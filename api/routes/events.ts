/** Ingesting events and reading what they matched. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { EventInputSchema } from '../../triggers/events.js';
import { actorOf, requireScope } from '../auth.js';
import { ApiError } from '../errors.js';

export const eventRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;

  app.post('/v1/events', { preHandler: requireScope(store, 'events:write'), schema: { body: EventInputSchema } }, async (request, reply) => {
    const result = await engine.ingest(request.body, actorOf(request));
    return reply.status(result.duplicate ? 200 : 202).send(result);
  });

  app.get('/v1/events', { preHandler: requireScope(store, 'events:read'), schema: { querystring: z.object({ type: z.string().optional(), limit: z.coerce.number().int().min(1).max(500).optional() }) } }, async (request) => ({
    events: await store.events.list(request.query),
  }));

  app.get('/v1/events/:id', { preHandler: requireScope(store, 'events:read'), schema: { params: z.object({ id: z.string() }) } }, async (request) => {
    const event = await store.events.get(request.params.id);
    if (!event) throw new ApiError(404, 'NOT_FOUND', `event "${request.params.id}" does not exist`);
    return event;
  });
};
