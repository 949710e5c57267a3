/** Applying definitions, and reading automations and webhooks with their versions. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { stringify } from 'yaml';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import type { DefinitionVersion } from '../../store/types.js';
import { storedAutomationSpec } from '../../definitions/schema.js';
import { actorOf, authorizeDocuments, requireScopes } from '../auth.js';
import { connectorActionWebhooks } from '../scopes.js';
import { ApiError } from '../errors.js';
import { automationScopes } from '../scopes.js';

const nameParams = z.object({ name: z.string() });
/** Newest runs listed per automation. */
const LAST_RUNS = 5;

function summary(automation: DefinitionVersion & { enabled: boolean }) {
  const spec = automation.spec as { description?: string; trigger?: { type?: string } };
  return {
    name: automation.name,
    version: automation.version,
    enabled: automation.enabled,
    description: spec.description,
    triggerType: spec.trigger?.type,
    updatedAt: automation.createdAt,
  };
}

export const definitionRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;
  app.post(
    '/v1/apply',
    {
      schema: {
        body: z.object({ files: z.array(z.object({ path: z.string(), content: z.string() })).min(1), dryRun: z.boolean().default(false) }),
      },
    },
    async (request, reply) => {
      const stored = (await store.definitions.list('Automation')).map((automation) => storedAutomationSpec(automation.spec));
      const connectorWebhooks = connectorActionWebhooks(await engine.directory.repo.listApps());
      const result = await engine.apply(request.body.files, {
        dryRun: request.body.dryRun,
        actor: actorOf(request),
        authorize: authorizeDocuments(request, stored, connectorWebhooks),
      });
      return reply.status(result.ok ? 200 : 422).send(result);
    },
  );

  app.get(
    '/v1/automations',
    { schema: { description: `Automations with their version in force, enabled state and newest runs (at most ${LAST_RUNS}).` } },
    async () => {
      const automations = await store.definitions.list('Automation');
      const latest = await store.runs.latestOf(
        automations.map((automation) => automation.name),
        LAST_RUNS,
      );
      return {
        automations: automations.map((automation) => ({
          ...summary(automation),
          lastRuns: (latest.get(automation.name) ?? []).map(({ runId, status, startedAt }) => ({ runId, status, startedAt })),
        })),
      };
    },
  );

  app.get('/v1/automations/:name', { schema: { params: nameParams } }, async (request) => {
    const current = await store.definitions.current('Automation', request.params.name);
    if (!current) throw new ApiError('NOT_FOUND', `automation "${request.params.name}" does not exist`);
    return current;
  });

  app.get(
    '/v1/automations/:name/versions',
    {
      schema: {
        description:
          'Every version, oldest first, each with its document as YAML (rendered from what was stored: defaults filled in, comments not kept).',
        params: nameParams,
      },
    },
    async (request) => {
      const versions = await store.definitions.history('Automation', request.params.name);
      if (versions.length === 0) throw new ApiError('NOT_FOUND', `automation "${request.params.name}" does not exist`);
      return { versions: versions.map((version) => ({ ...version, yaml: stringify(version.spec) })) };
    },
  );

  // Rolling back or enabling puts an automation in force: the same scopes as applying it.
  app.post(
    '/v1/automations/:name/rollback',
    { schema: { params: nameParams, body: z.object({ version: z.number().int().min(1) }) } },
    async (request) => {
      const { name } = request.params;
      const target = await store.definitions.get('Automation', name, request.body.version);
      if (target)
        requireScopes(request, automationScopes(storedAutomationSpec(target.spec)), `rolling back to Automation/${name}@${target.version}`);
      return engine.rollback(name, request.body.version, actorOf(request));
    },
  );

  for (const [action, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    app.post(`/v1/automations/:name/${action}`, { schema: { params: nameParams } }, async (request) => {
      const current = await store.definitions.current('Automation', request.params.name);
      if (enabled && current)
        requireScopes(
          request,
          automationScopes(storedAutomationSpec(current.spec)),
          `enabling Automation/${current.name}@${current.version}`,
        );
      await engine.setEnabled(request.params.name, enabled, actorOf(request));
      return { name: request.params.name, enabled };
    });
  }

  app.get('/v1/webhooks', async () => ({
    // Secrets are env references ({ env: NAME }), never values: the spec is safe to show.
    webhooks: (await store.definitions.list('Webhook')).map((webhook) => ({
      name: webhook.name,
      version: webhook.version,
      spec: webhook.spec,
    })),
  }));
};
