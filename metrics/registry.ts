/**
 * idflow's own Prometheus metrics, one registry per process: what the API, the engine and the
 * worker's activities count, each where it happens. A process counts only what it did (the run
 * a worker finished, the event an API ingested): Prometheus sums them over processes.
 * Label values come only from bounded sets — event types, automation and step type names, run
 * and step statuses, route patterns, HTTP methods — never from event data, ids, users or tokens.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OutboxBacklog } from '../directory/repository.js';

export const metricsRegistry = new Registry();

let processMetrics = false;

/** prom-client's process metrics (CPU, memory, event loop lag, GC), from the first endpoint that serves them. */
export function collectProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

export const eventsIngested = new Counter({
  name: 'idflow_events_ingested_total',
  help: 'Events ingested (POST /v1/events and directory changes), by type; duplicate="true" for a repeated event id',
  labelNames: ['type', 'duplicate'] as const,
  registers: [metricsRegistry],
});

export const runsStarted = new Counter({
  name: 'idflow_runs_started_total',
  help: 'Runs whose record this process created (the engine or the workflow, whichever came first), by automation',
  labelNames: ['automation'] as const,
  registers: [metricsRegistry],
});

export const runsFinished = new Counter({
  name: 'idflow_runs_finished_total',
  help: 'Runs this process ended, by automation and status (completed, failed, cancelled, terminated, timed_out)',
  labelNames: ['automation', 'status'] as const,
  registers: [metricsRegistry],
});

export const stepDuration = new Histogram({
  name: 'idflow_step_duration_seconds',
  // The attempt count per status (the activity outcomes) is the histogram's _count.
  help: 'Duration of each attempt of an activity step, by step type and status (completed, retryable_error, non_retryable_error)',
  labelNames: ['step_type', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [metricsRegistry],
});

export const httpRequestDuration = new Histogram({
  name: 'idflow_http_request_duration_seconds',
  help: 'HTTP API requests (_count) and their latency, by method, route pattern and status class',
  labelNames: ['method', 'route', 'status_class'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
  registers: [metricsRegistry],
});

/**
 * The outbox gauges, read from the store at each scrape (so every API process reports the
 * shared backlog, whoever delivers it): a registry of their own, for the process serving them.
 */
export function outboxMetrics(readBacklog: () => Promise<OutboxBacklog>): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'idflow_directory_outbox_pending',
    help: 'Directory events committed but not yet delivered to the triggers',
    registers: [registry],
    async collect() {
      this.set((await readBacklog()).pending);
    },
  });
  new Gauge({
    name: 'idflow_directory_outbox_oldest_age_seconds',
    help: 'Age of the oldest undelivered directory event (0 when none is pending)',
    registers: [registry],
    async collect() {
      const { oldestCreatedAt } = await readBacklog();
      this.set(oldestCreatedAt === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(oldestCreatedAt)) / 1000));
    },
  });
  return registry;
}

/** The text exposition of several registries (their metric names are distinct). */
export async function exposition(registries: Registry[]): Promise<string> {
  return (await Promise.all(registries.map((registry) => registry.metrics()))).join('');
}

export const EXPOSITION_CONTENT_TYPE = metricsRegistry.contentType;
