/** Replaying recorded events against a candidate version of an automation: changes nothing but the audit log. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ReplayRequestSchema } from '../../engine/replay.js';
import type { Engine } from '../../engine/types.js';
import { actorOf } from '../auth.js';

export const replayRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  app.post('/v1/replay', { schema: { body: ReplayRequestSchema } }, async (request) => engine.replay(request.body, actorOf(request)));
};
