/**
 * Runs that ended outside idflow, on a real Temporal dev server: `GET /v1/runs` and `idflow runs
 * list` show Temporal's status (terminated, timed out) for a run whose record still said running,
 * status filters select on it, the store keeps it, runs that finished normally or still run are
 * untouched, and without Temporal the list answers from the store and says so.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import { storedAutomationSpec } from '../definitions/schema.js';
import { IdflowEngine } from '../engine/engine.js';
import type { RunList } from '../engine/types.js';
import { automationRun } from '../workflows/automation-run.js';
import { silentLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { until } from './helpers/worker-process.js';
import { runCli, type CliResult } from './helpers/cli.js';

let idflow: TestEngine;
let api: FastifyInstance;
let token: string;
let apiUrl: string;

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  return `http://127.0.0.1:${address.port}`;
}

async function listRuns(query: string, app: FastifyInstance = api): Promise<RunList> {
  const response = await app.inject({ url: `/v1/runs?${query}`, headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<RunList>();
}

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

/**
 * Waits until Temporal answers the question the runs list asks with this status: its visibility
 * (eventually consistent) for ids a query can name, describe for an id with a backslash.
 */
async function temporalSays(runId: string, status: string): Promise<void> {
  const current = async (): Promise<string | undefined> => {
    if (runId.includes('\\')) return (await idflow.client.workflow.getHandle(runId).describe()).status.name;
    for await (const workflow of idflow.client.workflow.list({ query: `WorkflowId = '${runId.replaceAll("'", "''")}'` }))
      return workflow.status.name;
    return undefined;
  };
  await until(`Temporal says ${runId} is ${status}`, async () => (await current()) === status);
}

const statusOf = (list: RunList, runId: string) => list.runs.find((run) => run.runId === runId)?.status;

/** A run of `slow` waiting on its hour-long timer, as the engine starts it. */
async function waitingRun(): Promise<string> {
  return (await idflow.engine.runManually('slow', {}, 'test')).runId;
}

async function terminate(runId: string): Promise<void> {
  await idflow.client.workflow.getHandle(runId).terminate('by an operator, outside idflow');
}

before(async () => {
  idflow = await startTestEngine();
  await idflow.apply(`
kind: Automation
name: slow
trigger: { type: manual }
steps:
  - name: long_wait
    type: wait
    with: { duration: 1h }
---
kind: Automation
name: quick
trigger: { type: manual }
steps:
  - name: short_wait
    type: wait
    with: { duration: 1s }
`);
  api = await buildApiServer({ engine: idflow.engine });
  apiUrl = await listen(api);
  process.env.IDFLOW_URL = apiUrl;
  token = await idflow.store.tokens.create('runs-test', ['admin']);
  process.env.IDFLOW_TOKEN = token;
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  await api?.close();
  await idflow?.stop();
});

test('a run terminated through Temporal is listed as terminated, under status filters too, while the others are untouched', async () => {
  const [terminated, laterTerminated, stillWaiting] = [await waitingRun(), await waitingRun(), await waitingRun()];
  const completed = (await idflow.finished((await idflow.engine.runManually('quick', {}, 'test')).runId)).runId;
  const completedBefore = await idflow.store.runs.get(completed);

  await terminate(terminated);
  await temporalSays(terminated, 'TERMINATED');
  // Reconciled before the filter applies: it leaves ?status=running.
  const running = await listRuns('automation=slow&status=running');
  assert.equal(running.reconciled, true);
  assert.equal(statusOf(running, terminated), undefined);
  assert.equal(statusOf(running, stillWaiting), 'running');
  // Written back once: the store says so without asking Temporal.
  const stored = await idflow.store.runs.get(terminated);
  assert.equal(stored?.status, 'terminated');
  assert.match(stored?.error ?? '', /terminated outside idflow/);
  assert.ok(stored?.endedAt);

  await terminate(laterTerminated);
  await temporalSays(laterTerminated, 'TERMINATED');
  assert.equal(statusOf(await listRuns('automation=slow&status=terminated'), laterTerminated), 'terminated');

  // One list with every kind: the completed run and the waiting run are as they were.
  const all = await listRuns('');
  assert.equal(all.reconciled, true);
  assert.equal(statusOf(all, terminated), 'terminated');
  assert.equal(statusOf(all, laterTerminated), 'terminated');
  assert.equal(statusOf(all, stillWaiting), 'running');
  assert.deepEqual(
    all.runs.find((run) => run.runId === completed),
    completedBefore,
  );
  const waiting = await idflow.client.workflow.getHandle(stillWaiting).describe();
  assert.equal(waiting.status.name, 'RUNNING');
});

test('idflow runs list shows a run terminated through Temporal as terminated, and not under --status running', async () => {
  const runId = await waitingRun();
  await terminate(runId);
  await temporalSays(runId, 'TERMINATED');
  const listed = await cli('runs', 'list', '--automation', 'slow', '--status', 'running');
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.stderr, '');
  assert.ok(!listed.stdout.includes(runId), listed.stdout);
  const all = await cli('runs', 'list', '--automation', 'slow');
  assert.match(all.stdout, new RegExp(`terminated +${runId}$`, 'm'));
});

test('runs whose workflow timed out are listed as timed_out, whatever their ids hold', async () => {
  const current = await idflow.store.definitions.current('Automation', 'slow');
  assert.ok(current);
  const spec = storedAutomationSpec(current.spec);
  // Per-user run ids carry HR user ids: a quote goes into the visibility query, a backslash (which no query can hold) is described.
  const runIds = [`slow:o'brien-${randomUUID()}`, `slow:back\\slash-${randomUUID()}`];
  for (const runId of runIds) {
    await idflow.client.workflow.start(automationRun, {
      taskQueue: idflow.taskQueue,
      workflowId: runId,
      args: [{ automation: { name: 'slow', version: current.version, spec }, trigger: {}, chain: [] }],
      workflowExecutionTimeout: '2s',
    });
    // The record, as the engine writes it after starting a run.
    await idflow.store.runs.start({
      runId,
      automation: 'slow',
      version: current.version,
      trigger: {},
      startedAt: new Date().toISOString(),
      steps: spec.steps.map((step) => ({ name: step.name, type: step.type })),
    });
  }
  for (const runId of runIds) await temporalSays(runId, 'TIMED_OUT');
  const list = await listRuns('automation=slow');
  for (const runId of runIds) assert.equal(statusOf(list, runId), 'timed_out');
  for (const runId of runIds) assert.match(list.runs.find((run) => run.runId === runId)?.error ?? '', /timed out outside idflow/);
});

test('without Temporal the list and a run answer from the store, the list says so, and the CLI warns', async () => {
  const runId = await waitingRun();
  // The same store (whatever its dialect), behind an API whose Temporal client points at a closed port.
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), namespace: idflow.namespace });
  const engine = new IdflowEngine({
    store: idflow.store,
    client,
    namespace: idflow.namespace,
    taskQueue: idflow.taskQueue,
    logger: silentLogger,
  });
  const offline = await buildApiServer({ engine });
  try {
    const list = await listRuns('automation=slow&status=running', offline);
    assert.equal(list.reconciled, false);
    assert.match(list.warning ?? '', /Temporal did not answer/);
    assert.equal(statusOf(list, runId), 'running');
    // One run too: the stored record, not a 500 once the client gives up.
    const one = await offline.inject({
      method: 'GET',
      url: `/v1/runs/${encodeURIComponent(runId)}`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(one.statusCode, 200, one.body);
    assert.equal((one.json() as { status: string }).status, 'running');

    process.env.IDFLOW_URL = await listen(offline);
    const listed = await cli('runs', 'list', '--automation', 'slow');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /warning: Temporal did not answer/);
    assert.ok(listed.stdout.includes(runId), listed.stdout);
  } finally {
    process.env.IDFLOW_URL = apiUrl;
    await offline.close();
    await client.connection.close();
  }
});
