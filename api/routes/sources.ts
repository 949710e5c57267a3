/**
 * Event sources: the signed webhook an HR system posts to (no token: its signature is checked
 * over the raw body), the sources in force, their deliveries and replays, and their secrets
 * (names only, never values).
 */
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { SecretsError } from '../../functions/secrets.js';
import { storedSourceSpec } from '../../sources/document.js';
import { actorOf, requireScopes } from '../auth.js';
import { ApiError } from '../errors.js';
import { sourceEffectScopes } from '../scopes.js';

const params = z.object({ name: z.string() });

export const sourceRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { sources, store } = engine;

  // The body is what was signed: kept as bytes, whatever its content type, and parsed only once the signature holds.
  await app.register(async (receiver) => {
    receiver.removeAllContentTypeParsers();
    receiver.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    receiver.withTypeProvider<ZodTypeProvider>().post(
      '/v1/sources/:name',
      {
        schema: {
          description:
            "An HR system's signed webhook: no bearer token, the event source's signature instead. 202 with what it was mapped to; 401 for a missing, wrong or expired signature; 404 for an unknown or disabled source; 422 MAPPING_FAILED with the mapping's error (the body is kept for `idflow sources replay`).",
          params,
          security: [],
        },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const outcome = await sources.receive(request.params.name, { body, headers: request.headers, remoteAddress: request.ip });
        return reply.status(202).send(outcome);
      },
    );
  });

  app.get('/v1/sources', async () => ({ sources: await sources.list() }));

  app.get(
    '/v1/sources/:name/deliveries',
    { schema: { params, querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }) } },
    async (request) => ({ deliveries: await sources.deliveries(request.params.name, request.query.limit) }),
  );

  app.post('/v1/sources/:name/deliveries/:id/replay', { schema: { params: params.extend({ id: z.string() }) } }, async (request) => {
    const { name, id } = request.params;
    const source = await sources.current(name);
    requireScopes(request, sourceEffectScopes(source.spec), `replaying a delivery of EventSource/${name}@${source.version}`);
    return sources.replay(name, id, actorOf(request));
  });

  app.get('/v1/sources/:name/secrets', { schema: { params } }, async (request) => ({
    secrets: await sources.listSecrets(request.params.name),
  }));

  app.put(
    '/v1/sources/:name/secrets/:key',
    { schema: { params: params.extend({ key: z.string() }), body: z.object({ value: z.string().min(1) }) } },
    async (request, reply) => {
      const { name, key } = request.params;
      const current = await store.definitions.current('EventSource', name);
      if (!current)
        throw new ApiError('NOT_FOUND', `event source "${name}" does not exist: apply a kind: EventSource document named "${name}"`);
      // Whoever holds the secret signs for the source: setting it reaches what the source causes.
      requireScopes(request, sourceEffectScopes(storedSourceSpec(current.spec)), `setting a secret of EventSource/${name}`);
      try {
        await sources.setSecret(name, key, request.body.value, actorOf(request));
      } catch (error) {
        if (error instanceof SecretsError) throw new ApiError('INVALID', error.message);
        throw error;
      }
      return reply.status(204).send();
    },
  );

  app.delete('/v1/sources/:name/secrets/:key', { schema: { params: params.extend({ key: z.string() }) } }, async (request, reply) => {
    await sources.deleteSecret(request.params.name, request.params.key, actorOf(request));
    return reply.status(204).send();
  });
};
