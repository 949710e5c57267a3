/** Functions: list, versions, publish, rollback, manual runs and test cases, and secrets (names only, never values). */
import type { JsonValue } from '../../core/json.js';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { FunctionCompileError } from '../../functions/compile.js';
import { SecretsError } from '../../functions/secrets.js';
import { TestFileSchema, runTestCases } from '../../functions/testing.js';
import { actorOf } from '../auth.js';
import { ApiError } from '../errors.js';

const params = z.object({ name: z.string() });

/** Compile errors and a missing master key are the caller's or operator's to fix: 400 with the reason. */
async function explained<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FunctionCompileError) throw new ApiError('INVALID', `COMPILE_ERROR: ${error.message}`);
    if (error instanceof SecretsError) throw new ApiError('INVALID', error.message);
    throw error;
  }
}

export const functionRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store, functions } = engine;

  app.get('/v1/functions', async () => ({ functions: await functions.list() }));

  app.get('/v1/functions/:name/versions', { schema: { params } }, async (request) => functions.versions(request.params.name));

  app.post(
    '/v1/functions/:name/versions',
    {
      schema: {
        params,
        body: z.object({
          source: z.string().min(1),
          filename: z.string().min(1).default('function.ts'),
          message: z.string().min(1).default('published'),
        }),
      },
    },
    async (request, reply) => {
      const { source, filename, message } = request.body;
      const published = await explained(() =>
        functions.publish(request.params.name, { path: filename, content: source }, message, actorOf(request)),
      );
      return reply.status(published.created ? 201 : 200).send(published);
    },
  );

  app.post('/v1/functions/:name/rollback', { schema: { params, body: z.object({ version: z.number().int().min(1) }) } }, async (request) =>
    functions.rollback(request.params.name, request.body.version, actorOf(request)),
  );

  app.post(
    '/v1/functions/:name/runs',
    { schema: { params, body: z.object({ input: z.json().default({}), version: z.number().int().min(1).optional() }) } },
    async (request) => {
      const { name } = request.params;
      const ref = request.body.version === undefined ? name : `${name}@${request.body.version}`;
      const result = await explained(() => functions.call(ref, request.body.input as JsonValue));
      await store.audit.record({
        actor: actorOf(request),
        action: 'function.run',
        target: `Function/${name}`,
        details: { version: result.version, ok: result.ok, code: result.error?.code ?? null, durationMs: result.durationMs },
      });
      return result;
    },
  );

  app.post('/v1/functions/:name/tests', { schema: { params, body: TestFileSchema } }, async (request) => {
    const { name } = request.params;
    const results = await explained(() =>
      runTestCases(request.body.cases, (input, overrides) => functions.call(name, input, { overrides })),
    );
    await store.audit.record({
      actor: actorOf(request),
      action: 'function.test',
      target: `Function/${name}`,
      details: { passed: results.filter((r) => r.passed).length, failed: results.filter((r) => !r.passed).length },
    });
    return { results };
  });

  app.get('/v1/functions/:name/secrets', { schema: { params } }, async (request) => ({
    secrets: await functions.listSecrets(request.params.name),
  }));

  app.put(
    '/v1/functions/:name/secrets/:key',
    { schema: { params: params.extend({ key: z.string() }), body: z.object({ value: z.string().min(1) }) } },
    async (request, reply) => {
      await explained(() => functions.setSecret(request.params.name, request.params.key, request.body.value, actorOf(request)));
      return reply.status(204).send();
    },
  );

  app.delete('/v1/functions/:name/secrets/:key', { schema: { params: params.extend({ key: z.string() }) } }, async (request, reply) => {
    await functions.deleteSecret(request.params.name, request.params.key, actorOf(request));
    return reply.status(204).send();
  });
};
