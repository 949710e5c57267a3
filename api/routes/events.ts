/** Ingesting events and reading what they matched. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { EventInputSchema } from '../../triggers/events.js';
import { actorOf, holdsScope } from '../auth.js';
import { ERROR_STATUS } from '../../core/errors.js';
import { ApiError, errorBody } from '../errors.js';
import { cursorParam, encodeCursor, orderedRange, pageLimit, timeRange } from '../list-query.js';

export const eventRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;

  app.post('/v1/events', { config: { boundsBodyDepth: true }, schema: { body: EventInputSchema } }, async (request, reply) => {
    const result = await engine.ingest(request.body, actorOf(request));
    // A repeated id answers with the first delivery's event and runs, which another client may
    // have sent: their data and step outputs only for a token that may read them anyway.
    const { data, ...event } = result.event;
    const body = result.duplicate
      ? {
          ...result,
          event: holdsScope(request, 'events:read') ? { ...event, data } : event,
          runs: holdsScope(request, 'runs:read') ? result.runs : [],
        }
      : result;
    if (result.notStarted > 0) {
      // Recorded, but runs it matched are not running: the sender's retry (same id) starts them.
      const message = `the event "${result.event.id}" is recorded, but ${result.notStarted} run(s) it matched could not start (see its matches): send it again with the same id to start them`;
      return reply.status(ERROR_STATUS.UNAVAILABLE).send({ ...body, ...errorBody('UNAVAILABLE', message) });
    }
    return reply.status(result.duplicate ? 200 : 202).send(body);
  });

  app.get(
    '/v1/events',
    {
      schema: {
        description:
          'Events newest first (by the time idflow received them), each with what it matched: pass nextCursor as cursor for the next page.',
        querystring: z
          .object({
            type: z.string().min(1).max(200).optional(),
            ...timeRange,
            limit: pageLimit,
            cursor: cursorParam('events', z.tuple([z.string(), z.string()])),
          })
          .superRefine(orderedRange),
      },
    },
    async (request) => {
      const { cursor, limit, ...filter } = request.query;
      const before = cursor && { receivedAt: cursor[0], id: cursor[1] };
      // One more than the page: whether there is a next one.
      const events = await store.events.list({ ...filter, before, limit: limit + 1 });
      const page = events.slice(0, limit);
      const last = page.at(-1);
      return { events: page, ...(events.length > limit && last && { nextCursor: encodeCursor('events', [last.receivedAt, last.id]) }) };
    },
  );

  app.get('/v1/events/:id', { schema: { params: z.object({ id: z.string() }) } }, async (request) => {
    const event = await store.events.get(request.params.id);
    if (!event) throw new ApiError('NOT_FOUND', `event "${request.params.id}" does not exist`);
    return event;
  });
};
