/** Applying definitions, and reading automations and webhooks with their versions. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import type { DefinitionVersion } from '../../store/types.js';
import { actorOf, requireScope } from '../auth.js';
import { ApiError } from '../errors.js';

const nameParams = z.object({ name: z.string() });

function summary(automation: DefinitionVersion & { enabled: boolean }) {
  const spec = automation.spec as { description?: string; trigger?: { type?: string } };
  return { name: automation.name, version: automation.version, enabled: automation.enabled, description: spec.description, triggerType: spec.trigger?.type, updatedAt: automation.createdAt };
}

export const definitionRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;
  const read = { preHandler: requireScope(store, 'definitions:read') };
  const write = { preHandler: requireScope(store, 'definitions:write') };

  app.post(
    '/v1/apply',
    { ...write, schema: { body: z.object({ files: z.array(z.object({ path: z.string(), content: z.string() })).min(1), dryRun: z.boolean().default(false) }) } },
    async (request, reply) => {
      const result = await engine.apply(request.body.files, { dryRun: request.body.dryRun, actor: actorOf(request) });
      return reply.status(result.ok ? 200 : 422).send(result);
    },
  );

  app.get('/v1/automations', read, async () => ({ automations: (await store.definitions.list('Automation')).map(summary) }));

  app.get('/v1/automations/:name', { ...read, schema: { params: nameParams } }, async (request) => {
    const current = await store.definitions.current('Automation', request.params.name);
    if (!current) throw new ApiError(404, 'NOT_FOUND', `automation "${request.params.name}" does not exist`);
    return current;
  });

  app.get('/v1/automations/:name/versions', { ...read, schema: { params: nameParams } }, async (request) => {
    const versions = await store.definitions.history('Automation', request.params.name);
    if (versions.length === 0) throw new ApiError(404, 'NOT_FOUND', `automation "${request.params.name}" does not exist`);
    return { versions };
  });

  app.post('/v1/automations/:name/rollback', { ...write, schema: { params: nameParams, body: z.object({ version: z.number().int().min(1) }) } }, async (request) =>
    engine.rollback(request.params.name, request.body.version, actorOf(request)),
  );

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/v1/automations/:name/${action}`, { ...write, schema: { params: nameParams } }, async (request) => {
      await engine.setEnabled(request.params.name, enabled, actorOf(request));
      return { name: request.params.name, enabled };
    });
  }

  app.get('/v1/webhooks', read, async () => ({
    // Secrets are env references ({ env: NAME }), never values: the spec is safe to show.
    webhooks: (await store.definitions.list('Webhook')).map((webhook) => ({ name: webhook.name, version: webhook.version, spec: webhook.spec })),
  }));
};
