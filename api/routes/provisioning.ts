/** Outbound provisioning: reconciling an app with the directory, and setting an app's sealed secrets (never read back). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { appSecretOwner } from '../../core/secret-ref.js';
import { StepError } from '../../core/step-error.js';
import type { JsonObject } from '../../core/json.js';
import type { Engine } from '../../engine/types.js';
import { MAX_SECRET_VALUE_BYTES } from '../../functions/sealed-secrets.js';
import { actorOf, requireScopes } from '../auth.js';
import { ApiError } from '../errors.js';

const params = z.object({ app: z.string().min(1).max(256).describe('App id or slug.') });

export const provisioningRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  /** The app by id or slug; 404 when the directory does not hold it. */
  const appOf = async (ref: string) => {
    const found = (await engine.store.directory.getApp(ref)) ?? (await engine.store.directory.getAppBySlug(ref));
    if (!found) throw new ApiError('NOT_FOUND', `app "${ref}" is not in the directory (give an app id or slug)`);
    return found;
  };

  app.post(
    '/v1/directory/apps/:app/reconcile',
    {
      schema: {
        description:
          "The drift between an app provisioned over SCIM and the directory; with apply, the app fixed to match (needs directory:write). The app's { env } token is read from the API's environment.",
        params,
        body: z.object({ apply: z.boolean().default(false) }).strict(),
      },
    },
    async (request, reply) => {
      const { apply } = request.body;
      if (apply) requireScopes(request, ['directory:write'], 'reconcile with apply');
      const target = await appOf(request.params.app);
      // A client that hangs up stops the fixes still to come.
      const gone = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      try {
        const report = await engine.provisioning.reconcile(target.id, { apply, signal: gone.signal });
        if (apply) {
          const details: JsonObject = { drift: report.drift.length, fixed: report.fixed, failed: report.failed };
          await engine.store.audit.record({
            actor: actorOf(request),
            action: 'directory.reconcile',
            target: `App/${target.slug}`,
            details,
          });
        }
        return report;
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        // The app failed: for now (503, try again) or for good (502, with its reason).
        throw new ApiError(error.retryable ? 'UNAVAILABLE' : 'BAD_GATEWAY', error.message);
      }
    },
  );

  app.put(
    '/v1/directory/apps/:app/secrets/:key',
    {
      schema: {
        description: "Sets a sealed secret of the app (its provisioning's { secret: KEY }); it is never read back.",
        params: params.extend({ key: z.string().min(1).max(64) }),
        body: z.object({ value: z.string().min(1).max(MAX_SECRET_VALUE_BYTES) }).strict(),
      },
    },
    async (request, reply) => {
      const target = await appOf(request.params.app);
      const actor = actorOf(request);
      await engine.sealedSecrets.set(appSecretOwner(target.slug), request.params.key, request.body.value, actor);
      await engine.store.audit.record({
        actor,
        action: 'secret.set',
        target: appSecretOwner(target.slug),
        details: { key: request.params.key },
      });
      return reply.status(204).send();
    },
  );
};
