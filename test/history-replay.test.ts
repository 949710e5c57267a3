/**
 * `idflow replay --histories` on a real dev server: the histories of recent runs on idflow's task
 * queue (finished, in progress, a run_automation child, a forEachUser tick and its per-user runs)
 * are fetched from Temporal and replayed against the current workflow code, and against a
 * deliberately changed one (test/fixtures/changed-workflows/), which breaks them; a run recorded
 * by the changed code makes the command exit 1.
 */
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createActivities } from '../activities/index.js';
import { replayRecentHistories, type HistoryReplayReport } from '../app/history-replay.js';
import { DEFAULT_TASK_QUEUE } from '../app/worker.js';
import { replayHistories } from '../cli/commands/replay-histories.js';
import { CliError, type Output } from '../cli/output.js';
import { silentLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const CHANGED_WORKFLOWS = fileURLToPath(new URL('./fixtures/changed-workflows/index.ts', import.meta.url));

let idflow: TestEngine;
let receiver: Receiver;
/** The deliberately changed workflow code, bundled as the worker's is. */
let changedCode: { code: string };
/** The runs of the first test: their workflow ids, the one still waiting, and the fan-out tick. */
let recorded: { ids: string[]; waiting: string; tick: string };

const temporal = () => ({ address: idflow.address, namespace: idflow.namespace });
const lastHour = () => new Date(Date.now() - 3_600_000);
const sorted = (ids: Iterable<string>) => [...ids].sort();

before(async () => {
  receiver = await startReceiver();
  // idflow's own task queue, as `idflow replay --histories` looks at it.
  idflow = await startTestEngine({ taskQueue: DEFAULT_TASK_QUEUE });
  await idflow.apply(`
kind: Webhook
name: sink
url: ${receiver.url}/sink
---
kind: Automation
name: hist-joiner
trigger: { type: user.created }
steps:
  - name: notify
    type: run_webhook
    with: { webhook: sink, payload: { email: "{{ ctx.trigger.newUser.email }}" } }
  - name: pause
    type: wait
    with: { duration: 100ms }
  - name: chained
    type: run_automation
    with: { automation: hist-child, context: { email: "{{ ctx.trigger.newUser.email }}" } }
---
kind: Automation
name: hist-child
trigger: { type: manual }
steps:
  - name: hello
    type: run_webhook
    with: { webhook: sink, payload: { to: "{{ ctx.trigger.email }}" } }
---
kind: Automation
name: hist-leaver
trigger: { type: user.deactivated }
steps:
  - name: grace
    type: wait
    with: { duration: 1h }
---
kind: Automation
name: hist-fan-out
trigger:
  type: schedule
  cron: "0 9 1 1 *"
  forEachUser: subject.department == "Engineering"
steps:
  - name: pause
    type: wait
    with: { duration: 10ms }
`);
  changedCode = await bundleWorkflowCode({
    workflowsPath: CHANGED_WORKFLOWS,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (message) => console.error(message) },
  });
});

after(async () => {
  await idflow?.stop();
  await receiver?.close();
});

/** Waits until visibility lists every one of `ids` on the task queue (it is updated shortly after the histories). */
async function listed(ids: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const seen = new Set<string>();
    for await (const execution of idflow.client.workflow.list({ query: `TaskQueue = '${DEFAULT_TASK_QUEUE}'` }))
      seen.add(execution.workflowId);
    if (ids.every((id) => seen.has(id))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`visibility did not list ${ids.join(', ')}`);
}

async function runTick(): Promise<string> {
  await idflow.engine.schedules.trigger('hist-fan-out');
  for (let attempt = 0; attempt < 100; attempt++) {
    const tick = (await idflow.store.runs.list({ automation: 'hist-fan-out' })).find((run) => run.parentRunId === undefined);
    if (tick) return tick.runId;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return assert.fail('the forEachUser tick did not start');
}

function byId(report: HistoryReplayReport) {
  return new Map(report.histories.map((history) => [history.workflowId, history]));
}

test('the histories of recent runs, finished and in progress, replay against the current workflow code', async () => {
  const at = new Date().toISOString();
  await idflow.store.directory.transaction(async (tx) => {
    for (const [id, department] of [
      ['h-1', 'Engineering'],
      ['h-2', 'Engineering'],
      ['h-3', 'Sales'],
    ])
      await tx.putUser({ id, email: `${id}@example.com`, status: 'ENABLED', department, attributes: {}, createdAt: at, updatedAt: at });
  });
  await idflow.engine.ingest({ id: 'e-1', type: 'user.created', data: { newUser: { email: 'a@example.com' } } }, 'test');
  assert.equal((await idflow.finished('hist-joiner:e-1')).status, 'completed');
  // A run waiting an hour: its history is still open, as the runs new workers take over are.
  await idflow.engine.ingest({ id: 'e-2', type: 'user.deactivated', data: { user: { id: 'h-9' } } }, 'test');
  const tick = await runTick();
  assert.equal((await idflow.finished(tick)).status, 'completed');
  recorded = {
    ids: ['hist-joiner:e-1', 'hist-joiner:e-1.chained', 'hist-leaver:e-2', tick, `${tick}.h-1`, `${tick}.h-2`],
    waiting: 'hist-leaver:e-2',
    tick,
  };
  await listed(recorded.ids);
  assert.equal((await idflow.engine.getRun(recorded.waiting))?.status, 'running');

  const report = await replayRecentHistories({ temporal: temporal(), since: lastHour(), limit: 50 });
  assert.deepEqual(sorted(report.histories.map((history) => history.workflowId)), sorted(recorded.ids));
  for (const history of report.histories) assert.equal(history.status, 'ok', `${history.workflowId}: ${history.error}`);
  assert.deepEqual([report.replayed, report.nonDeterministic, report.failed, report.limited], [6, 0, 0, false]);
  assert.equal(byId(report).get(tick)?.workflowType, 'forEachUserRun');
  assert.equal(byId(report).get('hist-joiner:e-1')?.workflowType, 'automationRun');
  assert.equal(report.histories[0].workflowId, recorded.waiting, 'runs in progress come first');
  assert.equal(report.histories[0].running, true);

  // The window: runs started before `since` are not replayed.
  const none = await replayRecentHistories({ temporal: temporal(), since: new Date(), limit: 50 });
  assert.equal(none.replayed, 0);
  // The limit: the newest runs, the one in progress first.
  const two = await replayRecentHistories({ temporal: temporal(), since: lastHour(), limit: 2 });
  assert.deepEqual([two.replayed, two.limited, two.histories[0].workflowId], [2, true, recorded.waiting]);
});

test('against deliberately changed workflow code, the same histories are reported non-deterministic, by workflow id', async () => {
  const report = await replayRecentHistories({ temporal: temporal(), since: lastHour(), limit: 50, workflowBundle: changedCode });
  const results = byId(report);
  // The changed automationRun starts with a timer the recorded runs never started; the fan-out workflow is unchanged.
  const broken = recorded.ids.filter((id) => id !== recorded.tick);
  assert.deepEqual(
    sorted(report.histories.filter((history) => history.status !== 'ok').map((history) => history.workflowId)),
    sorted(broken),
  );
  for (const id of broken) {
    assert.equal(results.get(id)?.status, 'nondeterministic', id);
    assert.match(results.get(id)?.error ?? '', /nondeterminism/i);
  }
  assert.equal(results.get(recorded.tick)?.status, 'ok');
  assert.deepEqual([report.replayed, report.nonDeterministic, report.failed], [6, 5, 0]);
});

/** Runs the CLI's function as `idflow replay --histories` does, with Temporal found through TEMPORAL_ADDRESS. */
async function cli(options: { since?: string; limit?: number; json?: boolean }) {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (text) => out.push(text), err: (text) => err.push(text) };
  const saved = { address: process.env.TEMPORAL_ADDRESS, namespace: process.env.TEMPORAL_NAMESPACE };
  process.env.TEMPORAL_ADDRESS = idflow.address;
  process.env.TEMPORAL_NAMESPACE = idflow.namespace;
  try {
    await replayHistories(output, options);
    return { exitCode: 0, message: '', stdout: out.join('\n') };
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    return { exitCode: error.exitCode, message: error.message, stdout: out.join('\n') };
  } finally {
    for (const [name, value] of [
      ['TEMPORAL_ADDRESS', saved.address],
      ['TEMPORAL_NAMESPACE', saved.namespace],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  }
}

test('the command prints each history and a summary, --json the whole report, and exits 1 when a history does not replay', async () => {
  const clean = await cli({});
  assert.equal(clean.exitCode, 0, clean.message);
  assert.match(clean.stdout, /^ {2}✓ automationRun {3}hist-leaver:e-2 {2}\(in progress\)$/m);
  assert.match(clean.stdout, /\n6 histories replayed, 0 non-deterministic$/);

  // A run recorded by the changed code, as by workers of another version: the current code cannot replay it.
  await idflow.stopWorker();
  const connection = await NativeConnection.connect({ address: idflow.address });
  const other = await Worker.create({
    connection,
    namespace: idflow.namespace,
    taskQueue: DEFAULT_TASK_QUEUE,
    workflowBundle: changedCode,
    activities: await createActivities({ store: idflow.store, logger: silentLogger, env: {}, dataDir: idflow.dataDir }),
  });
  await other.runUntil(async () => {
    await idflow.engine.ingest({ id: 'e-3', type: 'user.created', data: { newUser: { email: 'c@example.com' } } }, 'test');
    assert.equal((await idflow.finished('hist-joiner:e-3')).status, 'completed');
  });
  await connection.close();
  await idflow.startWorker();
  await listed(['hist-joiner:e-3', 'hist-joiner:e-3.chained']);

  const json = await cli({ json: true, since: '1h' });
  assert.equal(json.exitCode, 1);
  assert.match(json.message, /^2 of 8 histories do not replay against this workflow code/);
  const report = JSON.parse(json.stdout) as HistoryReplayReport;
  assert.deepEqual(Object.keys(report).sort(), [
    'failed',
    'histories',
    'limit',
    'limited',
    'namespace',
    'nonDeterministic',
    'replayed',
    'since',
    'taskQueue',
  ]);
  assert.deepEqual(
    [report.namespace, report.taskQueue, report.limit, report.replayed, report.nonDeterministic, report.failed],
    [idflow.namespace, DEFAULT_TASK_QUEUE, 200, 8, 2, 0],
  );
  assert.ok(Math.abs(Date.parse(report.since) - lastHour().getTime()) < 60_000, 'since is an hour ago');
  const broken = report.histories.filter((history) => history.status !== 'ok');
  assert.deepEqual(sorted(broken.map((history) => history.workflowId)), ['hist-joiner:e-3', 'hist-joiner:e-3.chained']);
  assert.deepEqual(Object.keys(broken[0]).sort(), ['error', 'runId', 'running', 'startedAt', 'status', 'workflowId', 'workflowType']);
  assert.match(broken[0].error ?? '', /nondeterminism/i);

  const text = await cli({ since: '1h' });
  assert.equal(text.exitCode, 1);
  assert.match(
    text.stdout,
    /^ {2}✗ automationRun {3}hist-joiner:e-3\n {6}non-deterministic: \[TMPRL1100\] Nondeterminism error: [^\n]*TimerStarted\)$/m,
  );
  assert.match(text.stdout, /\n8 histories replayed, 2 non-deterministic$/);
});

test('bad arguments exit 2 naming the flag', async () => {
  for (const [options, flag] of [
    [{ since: 'a week' }, /^--since: "a week" is not a duration/],
    [{ since: '400d' }, /^--since: .*at most 365d/],
    [{ limit: 0 }, /^--limit must be a whole number from 1 to 10000, got 0/],
    [{ limit: 2.5 }, /^--limit/],
    [{ limit: 10_001 }, /^--limit/],
  ] as const) {
    const result = await cli(options);
    assert.deepEqual([result.exitCode, result.stdout], [2, '']);
    assert.match(result.message, flag);
  }
});
