/**
 * Prometheus metrics from real processes: `idflow api` serves GET /metrics to a metrics:read
 * token only; after a real event and run on the Temporal dev server its counters and histograms
 * have moved, and nothing in them is event data, an id or a token; `idflow worker --metrics-port`
 * serves idflow's step histogram and run counters with the Temporal SDK's own `temporal_` series
 * on one port; and the outbox gauges show what waits for delivery. Also: `idflow api` (unlike
 * `idflow dev`) mints no admin token of its own.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { diffUser } from '../directory/service.js';
import { UserInputSchema, toUserFields } from '../directory/users.js';
import { openStore, storeLocation, type StoreLocation } from '../store/index.js';
import type { Scope } from '../store/types.js';
import { startOfflineApi } from './helpers/offline-api.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestTemporal, type TestTemporal } from './helpers/temporal.js';
import { kill, until } from './helpers/worker-process.js';

const BIN = fileURLToPath(new URL('../bin/idflow.js', import.meta.url));
/** Starting a process that bundles the workflows takes seconds, more on a busy 2-core machine. */
const START_TIMEOUT_MS = 120_000;

type ErrorBody = { error: { code: string; message: string } };

/** A sample of an exposition: `name{a="x",b="y"} value`, its labels parsed. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(exposition: string): Sample[] {
  return exposition.split('\n').flatMap((line) => {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) return [];
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    return [{ name: match[1], labels, value: Number(match[3]) }];
  });
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none). */
function total(exposition: string, name: string, labels: Record<string, string> = {}): number {
  return samples(exposition)
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** `idflow <args>` as a child process; resolves with the first match of `ready` in its output. */
async function startIdflow(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`idflow ${args[0]} was not ready in time:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const found = ready.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`idflow ${args[0]} exited with ${code}:\n${output}`));
    });
  });
  return { child, match };
}

describe('idflow api and idflow worker as processes', () => {
  let temporal: TestTemporal;
  let receiver: Receiver;
  let dataDir: string;
  let api: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  let apiUrl: string;
  let workerMetricsUrl: string;
  const tokens = new Map<Scope, string>();
  const startedAt = new Date().toISOString();
  let location: StoreLocation;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    temporal = await startTestTemporal();
    receiver = await startReceiver();
    dataDir = await mkdtemp(join(tmpdir(), 'idflow-metrics-'));
    // The suite's PostgreSQL when given (IDFLOW_TEST_DATABASE_URL), else a SQLite file in the data dir.
    location = storeLocation({ dataDir, env: { IDFLOW_DATABASE_URL: process.env.IDFLOW_TEST_DATABASE_URL } });
    const store = await openStore(location);
    for (const scope of ['admin', 'metrics:read', 'events:write'] as const)
      tokens.set(scope, await store.tokens.create(`metrics-test-${scope}-${randomUUID()}`, [scope]));
    await store.close();
    env = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      IDFLOW_DATABASE_URL: 'url' in location ? location.url : '',
    };
    const [startedApi, startedWorker] = await Promise.all([
      startIdflow(['api', '--data-dir', dataDir, '--port', '0'], env, /API listening on (http:\/\/\S+)/),
      startIdflow(['worker', '--data-dir', dataDir, '--metrics-port', '0'], env, /metrics at (http:\/\/\S+)/),
    ]);
    api = startedApi.child;
    apiUrl = startedApi.match[1];
    worker = startedWorker.child;
    workerMetricsUrl = startedWorker.match[1];
  });

  after(async () => {
    for (const child of [api, worker]) if (child) await kill(child);
    await temporal?.stop();
    await receiver?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const call = (path: string, options: { token?: Scope; method?: string; body?: unknown } = {}) =>
    fetch(`${apiUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: {
        ...(options.token && { authorization: `Bearer ${tokens.get(options.token)}` }),
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  const scrapeApi = async (): Promise<string> => {
    const response = await call('/metrics', { token: 'metrics:read' });
    assert.equal(response.status, 200);
    return response.text();
  };
  const scrapeWorker = async (): Promise<string> => {
    const response = await fetch(workerMetricsUrl);
    assert.equal(response.status, 200);
    return response.text();
  };

  test('GET /metrics needs a token with metrics:read, and answers in Prometheus text format', async () => {
    const anonymous = await call('/metrics');
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as ErrorBody).error.code, 'UNAUTHORIZED');
    const other = await call('/metrics', { token: 'events:write' });
    assert.equal(other.status, 403);
    assert.match(((await other.json()) as ErrorBody).error.message, /lacks the scope "metrics:read"/);
    const allowed = await call('/metrics', { token: 'metrics:read' });
    assert.equal(allowed.status, 200);
    assert.match(allowed.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await allowed.text();
    assert.match(text, /^# TYPE idflow_events_ingested_total counter$/m);
    assert.ok(total(text, 'process_resident_memory_bytes') > 0, "prom-client's process metrics");
  });

  test('after a real event and run, the counters have moved in the process that did the work, and no data, id or token shows', async () => {
    const applied = await call('/v1/apply', {
      token: 'admin',
      method: 'POST',
      body: {
        files: [
          {
            path: 'metrics.yaml',
            content: `kind: Webhook
name: ticketing
url: ${receiver.url}/tickets
---
kind: Automation
name: metrics-joiner
trigger: { type: user.created }
steps:
  - name: ticket
    type: run_webhook
    retry: { initialInterval: 100ms }
    with: { webhook: ticketing, payload: { user: "{{ ctx.trigger.newUser.email }}" } }
`,
          },
        ],
      },
    });
    assert.equal(applied.status, 200, await applied.text());
    const before = { api: await scrapeApi(), worker: await scrapeWorker() };

    receiver.script({ status: 503 }); // the first attempt fails and is retried
    const secret = `person-${randomUUID()}@example.com`;
    const eventId = `evt-metrics-${randomUUID()}`;
    const event = { id: eventId, type: 'user.created', data: { newUser: { id: 'u-metrics', email: secret } } };
    assert.equal((await call('/v1/events', { token: 'events:write', method: 'POST', body: event })).status, 202);
    assert.equal((await call('/v1/events', { token: 'events:write', method: 'POST', body: event })).status, 200, 'the repeat');
    const runId = `metrics-joiner:${eventId}`;
    const waited = await call(`/v1/runs/${encodeURIComponent(runId)}/wait?timeoutMs=60000`, { token: 'admin' });
    assert.equal(((await waited.json()) as { status: string }).status, 'completed');
    const unmatched = randomUUID();
    assert.equal((await call(`/v1/no-such-route/${unmatched}`, { token: 'admin' })).status, 404);

    const apiText = await scrapeApi();
    const moved = (text: string, was: string, name: string, labels: Record<string, string>) =>
      total(text, name, labels) - total(was, name, labels);
    assert.equal(moved(apiText, before.api, 'idflow_events_ingested_total', { type: 'user.created', duplicate: 'false' }), 1);
    assert.equal(moved(apiText, before.api, 'idflow_events_ingested_total', { type: 'user.created', duplicate: 'true' }), 1);
    assert.equal(
      moved(apiText, before.api, 'idflow_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/events',
        status_class: '2xx',
      }),
      2,
    );
    assert.ok(total(apiText, 'idflow_http_request_duration_seconds_count', { route: 'unmatched', status_class: '4xx' }) >= 1);
    for (const leak of [secret, eventId, unmatched, 'u-metrics', ...tokens.values()])
      assert.ok(!apiText.includes(leak), `${leak} in the API's metrics`);

    // The worker records the run's end (and counts it) before the run reads as completed; wait for the counter.
    let workerText = '';
    await until('the worker counted the finished run', async () => {
      workerText = await scrapeWorker();
      return total(workerText, 'idflow_runs_finished_total', { automation: 'metrics-joiner', status: 'completed' }) === 1;
    });
    const steps = (status: string) =>
      moved(workerText, before.worker, 'idflow_step_duration_seconds_count', { step_type: 'run_webhook', status });
    assert.equal(steps('retryable_error'), 1, 'the 503');
    assert.equal(steps('completed'), 1);
    assert.equal(steps('non_retryable_error'), 0);
    // Whichever process created the run's record counted its start: once, over both.
    const started = (text: string) => total(text, 'idflow_runs_started_total', { automation: 'metrics-joiner' });
    assert.equal(started(apiText) + started(workerText), 1);
    for (const leak of [secret, eventId, 'u-metrics', ...tokens.values()])
      assert.ok(!workerText.includes(leak), `${leak} in the worker's metrics`);
  });

  test("idflow api mints no token and leaves no api.json: the tokens in the store are the operator's", async () => {
    const store = await openStore(location);
    try {
      const minted = (await store.tokens.list()).filter((token) => token.createdAt >= startedAt && !token.name.startsWith('metrics-test-'));
      assert.deepEqual(minted, []);
    } finally {
      await store.close();
    }
    assert.equal(existsSync(join(dataDir, 'api.json')), false);
  });

  test('a metrics port in use stops the worker with a message naming it', async () => {
    const taken = new URL(workerMetricsUrl).port;
    await assert.rejects(
      startIdflow(['worker', '--data-dir', dataDir, '--metrics-port', taken], env, /worker ready/),
      new RegExp(
        `exited with 1:[^]*idflow: the metrics port 127\\.0\\.0\\.1:${taken} is already in use: choose another with --metrics-port`,
      ),
    );
  });

  test("the worker's port serves the Temporal SDK's own metrics beside idflow's", async () => {
    const text = await scrapeWorker();
    assert.ok(total(text, 'process_resident_memory_bytes') > 0);
    const sdk = samples(text).filter((sample) => sample.name.startsWith('temporal_'));
    const names = [...new Set(sdk.map((sample) => sample.name))].join(' ');
    assert.ok(sdk.length > 0, `no temporal_ series:\n${text}`);
    assert.ok(total(text, 'temporal_workflow_completed') >= 1, `the SDK counted the completed workflow: ${names}`);
    assert.ok(total(text, 'temporal_activity_execution_failed') >= 1, `and the step's failed attempt: ${names}`);
    assert.ok(total(text, 'temporal_activity_execution_latency_count') >= 1, names);
    assert.equal((await fetch(workerMetricsUrl.replace(/\/metrics$/, '/other'))).status, 404);
  });
});

test("the outbox gauges show the events waiting for delivery and the oldest one's age", async () => {
  const offline = await startOfflineApi();
  try {
    const token = await offline.store.tokens.create('prometheus', ['metrics:read']);
    const scrape = async (): Promise<string> => {
      const response = await offline.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 200, response.body);
      return response.body;
    };
    assert.equal(total(await scrape(), 'idflow_directory_outbox_pending'), 0);
    assert.equal(total(await scrape(), 'idflow_directory_outbox_oldest_age_seconds'), 0);
    // No delivery runs in the offline API: the two joiners' events stay in the outbox.
    const now = new Date().toISOString();
    await offline.engine.directory.write(async (tx) => {
      for (const id of ['u-lag-1', 'u-lag-2']) {
        const joiner = diffUser(
          undefined,
          toUserFields(UserInputSchema.parse({ id, email: `${id}@example.com` }), undefined, () => undefined),
          now,
        );
        if (joiner) await tx.saveUser(joiner, `evt-${id}`);
      }
    });
    await until('the oldest pending event has aged', async () => total(await scrape(), 'idflow_directory_outbox_oldest_age_seconds') > 0);
    assert.equal(total(await scrape(), 'idflow_directory_outbox_pending'), 2);
    await offline.engine.outbox.drain();
    const drained = await scrape();
    assert.equal(total(drained, 'idflow_directory_outbox_pending'), 0);
    assert.equal(total(drained, 'idflow_directory_outbox_oldest_age_seconds'), 0);
  } finally {
    await offline.close();
  }
});
