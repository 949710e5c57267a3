/**
 * The HTTP API: Fastify with zod schemas (validation and /openapi.json), bearer tokens (or the web
 * console's session cookie) with scopes on every route as api/scopes.ts declares them (checked
 * before a body is read), JSON errors (Fastify's own too), a bounded body size and nesting depth,
 * every request counted and timed for /metrics; and the built web console at / when given.
 */
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Engine } from '../engine/types.js';
import { authenticate, routeKey } from './auth.js';
import { consoleFiles } from './console-files.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from './body-depth.js';
import { ApiError, errorBody, handleError } from './errors.js';
import { ROUTE_ACCESS } from './scopes.js';
import { httpRequestDuration } from '../metrics/registry.js';
import { approvalRoutes } from './routes/approvals.js';
import { consoleRoutes, type ConsoleRouteOptions } from './routes/console.js';
import { auditRoutes } from './routes/audit.js';
import { definitionRoutes } from './routes/definitions.js';
import { directoryRoutes } from './routes/directory.js';
import { eventRoutes } from './routes/events.js';
import { planRoutes } from './routes/plan.js';
import { guardRoutes } from './routes/guard.js';
import { functionRoutes } from './routes/functions.js';
import { metricsRoutes } from './routes/metrics.js';
import { overviewRoutes } from './routes/overview.js';
import { provisioningRoutes } from './routes/provisioning.js';
import { replayRoutes } from './routes/replay.js';
import { runRoutes } from './routes/runs.js';
import { scheduleRoutes } from './routes/schedules.js';
import { scimRoutes } from './routes/scim.js';
import { sourceRoutes } from './routes/sources.js';

export interface ApiServerOptions {
  engine: Engine;
  logger?: Logger | false;
  /** Largest request body; default 1 MiB. */
  bodyLimitBytes?: number;
  /** Largest HR feed a directory import takes (it has its own limit); default DEFAULT_IMPORT_LIMIT_BYTES. */
  importLimitBytes?: number;
  /** More routes the composition root mounts (idflow dev's stand-ins, dev/routes.ts); each must be declared in ROUTE_ACCESS too. */
  routes?: FastifyPluginAsync[];
  /**
   * The web console: `dir`, the built app served at / (api/console-files.ts; not served when
   * absent), and the sign-in's settings (api/routes/console.ts).
   */
  console?: { dir?: string } & Omit<ConsoleRouteOptions, 'engine'>;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export async function buildApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    // Request lines are debug-level noise; errors still reach the log.
    loggerInstance: options.logger ? (options.logger.child({ component: 'api' }, { level: 'warn' }) as FastifyBaseLogger) : undefined,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    // Routing errors (a bad percent-encoding in the URL) in the documented shape too.
    frameworkErrors: handleError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    reply.status(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url}`));
  app.setNotFoundHandler(options.console?.dir === undefined ? notFound : consoleFiles(options.console.dir, notFound));
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const key = routeKey(method, route.url);
      if (!(key in ROUTE_ACCESS))
        throw new Error(`api: route ${key} declares no access: add it to ROUTE_ACCESS in api/scopes.ts and to docs/api.md`);
    }
  });
  app.addHook('onRequest', authenticate(options.engine.store));
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern, never the URL: ids and names in paths would make a label value each.
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status_class: `${Math.floor(reply.statusCode / 100)}xx`,
    };
    httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });
  app.addHook('preValidation', async (request) => {
    if (!request.routeOptions.config.boundsBodyDepth && nestsDeeperThan(request.body, MAX_BODY_DEPTH))
      throw new ApiError('INVALID', `the body is nested too deep: at most ${MAX_BODY_DEPTH} levels of arrays and objects`);
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'idflow API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  app.get('/healthz', async () => ({ ok: true }));
  await app.register(metricsRoutes, { engine: options.engine });
  await app.register(definitionRoutes, { engine: options.engine });
  await app.register(eventRoutes, { engine: options.engine });
  await app.register(planRoutes, { engine: options.engine });
  await app.register(runRoutes, { engine: options.engine });
  await app.register(overviewRoutes, { engine: options.engine });
  await app.register(guardRoutes, { engine: options.engine });
  await app.register(scheduleRoutes, { engine: options.engine });
  await app.register(directoryRoutes, { engine: options.engine, importLimitBytes: options.importLimitBytes });
  await app.register(functionRoutes, { engine: options.engine });
  await app.register(scimRoutes, { engine: options.engine });
  await app.register(sourceRoutes, { engine: options.engine });
  await app.register(provisioningRoutes, { engine: options.engine });
  await app.register(replayRoutes, { engine: options.engine });
  await app.register(approvalRoutes, { engine: options.engine });
  await app.register(consoleRoutes, {
    engine: options.engine,
    sessionTtlMs: options.console?.sessionTtlMs,
    publicUrl: options.console?.publicUrl,
  });
  await app.register(auditRoutes, { engine: options.engine });
  for (const routes of options.routes ?? []) await app.register(routes);
  app.get('/openapi.json', async () => app.swagger());
  return app;
}
