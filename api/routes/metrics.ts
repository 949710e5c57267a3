/**
 * GET /metrics: idflow's metrics in Prometheus's text format (metrics:read; Prometheus sends the
 * token as `authorization: { credentials }`), with the directory outbox's backlog read from the
 * store at each scrape. docs/deployment.md lists the series.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../engine/types.js';
import { collectProcessMetrics, EXPOSITION_CONTENT_TYPE, exposition, metricsRegistry, outboxMetrics } from '../../metrics/registry.js';

export const metricsRoutes: FastifyPluginAsync<{ engine: Engine }> = async (app, { engine }) => {
  collectProcessMetrics();
  const outbox = outboxMetrics(() => engine.store.directory.outboxBacklog());
  app.get('/metrics', async (_request, reply) => reply.type(EXPOSITION_CONTENT_TYPE).send(await exposition([metricsRegistry, outbox])));
};
