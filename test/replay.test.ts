/**
 * Determinism: histories recorded from real runs replay against the current workflow code.
 * test/fixtures/histories holds histories recorded by earlier versions (a change that breaks
 * replay of runs in flight fails here); fresh ones are recorded and replayed too.
 * Set IDFLOW_RECORD_HISTORIES=1 to (re)write the fixtures from this run. Histories are kept as
 * the proto messages' own JSON (`toJSON` / `fromObject`).
 */
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { workflowBundle } from '../app/workflow-bundle.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const { History } = proto.temporal.api.history.v1;
type History = proto.temporal.api.history.v1.IHistory;
const FIXTURES = fileURLToPath(new URL('./fixtures/histories/', import.meta.url));

let idflow: TestEngine;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine();
  await idflow.apply(`
kind: Webhook
name: sink
url: ${receiver.url}/sink
---
kind: Automation
name: replay-joiner
trigger:
  type: user.created
  condition: ctx.trigger.newUser.department == "Engineering"
steps:
  - name: notify
    type: run_webhook
    retry: { initialInterval: 100ms }
    with: { webhook: sink, payload: { email: "{{ ctx.trigger.newUser.email }}", groups: "{{ ctx.trigger.newUser.groups }}" } }
  - name: pause
    type: wait
    with: { duration: 200ms }
  - name: chained
    type: run_automation
    with: { automation: replay-child, context: { email: "{{ ctx.trigger.newUser.email }}" } }
---
kind: Automation
name: replay-child
trigger: { type: manual }
steps:
  - name: hello
    type: run_webhook
    with: { webhook: sink, payload: { to: "{{ ctx.trigger.email }}" } }
`);
});

after(async () => {
  await idflow?.stop();
  await receiver?.close();
});

async function replay(histories: { workflowId: string; history: History }[]): Promise<void> {
  const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories);
  for await (const result of results) {
    assert.equal(result.error, undefined, `history of ${result.workflowId} no longer replays: ${String(result.error)}`);
  }
}

test('histories of completed and failed runs replay against the current code', async () => {
  receiver.script({ status: 503 }); // one retry in the recorded history
  await idflow.engine.ingest(
    { id: 'replay-ok', type: 'user.created', data: { newUser: { email: 'a@example.com', department: 'Engineering', groups: ['eng'] } } },
    'test',
  );
  const completed = await idflow.finished('replay-joiner:replay-ok');
  assert.equal(completed.status, 'completed', completed.error);

  receiver.script({ status: 400, body: 'no' });
  await idflow.engine.ingest(
    { id: 'replay-failed', type: 'user.created', data: { newUser: { email: 'b@example.com', department: 'Engineering', groups: [] } } },
    'test',
  );
  assert.equal((await idflow.finished('replay-joiner:replay-failed')).status, 'failed');

  const ids = ['replay-joiner:replay-ok', 'replay-joiner:replay-ok.chained', 'replay-joiner:replay-failed'];
  const histories = await Promise.all(
    ids.map(async (workflowId) => ({ workflowId, history: await idflow.client.workflow.getHandle(workflowId).fetchHistory() })),
  );
  await replay(histories);

  if (process.env.IDFLOW_RECORD_HISTORIES === '1') {
    await mkdir(FIXTURES, { recursive: true });
    for (const { workflowId, history } of histories) {
      await writeFile(
        join(FIXTURES, `${workflowId.replace(/[^a-z0-9.-]+/gi, '_')}.json`),
        JSON.stringify({ workflowId, history: History.fromObject(history).toJSON() }),
      );
    }
  }
});

test('a forEachUser tick and its per-user runs replay against the current code', async () => {
  await idflow.store.directory.transaction(async (tx) => {
    for (const id of ['r-1', 'r-2', 'r-3']) {
      await tx.putUser({
        id,
        email: `${id}@example.com`,
        status: 'ENABLED',
        department: id === 'r-3' ? 'Sales' : 'Engineering',
        attributes: {},
        createdAt: '2026-01-01T00:00:00Z',
        updatedAt: '2026-01-01T00:00:00Z',
      });
    }
  });
  await idflow.apply(`
kind: Automation
name: replay-fan-out
trigger:
  type: schedule
  cron: "0 9 1 1 *"
  forEachUser: subject.department == "Engineering"
  forEachUserConcurrency: 2
steps:
  - name: pause
    type: wait
    with: { duration: 10ms }
`);
  await idflow.engine.schedules.trigger('replay-fan-out');
  let tickId: string | undefined;
  for (let i = 0; i < 100 && !tickId; i++) {
    tickId = (await idflow.store.runs.list({ automation: 'replay-fan-out' })).find((run) => run.parentRunId === undefined)?.runId;
    if (!tickId) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(tickId, 'the tick started');
  assert.equal((await idflow.finished(tickId)).status, 'completed');
  const ids = [tickId, `${tickId}.r-1`, `${tickId}.r-2`];
  const histories = await Promise.all(
    ids.map(async (workflowId) => ({ workflowId, history: await idflow.client.workflow.getHandle(workflowId).fetchHistory() })),
  );
  await replay(histories);
  if (process.env.IDFLOW_RECORD_HISTORIES === '1') {
    await mkdir(FIXTURES, { recursive: true });
    const [tick] = histories;
    await writeFile(
      join(FIXTURES, 'replay-fan-out_tick.json'),
      JSON.stringify({ workflowId: tick.workflowId, history: History.fromObject(tick.history).toJSON() }),
    );
  }
});

test('histories recorded by earlier versions still replay', async () => {
  const files = (await readdir(FIXTURES).catch(() => [])).filter((file) => file.endsWith('.json'));
  assert.ok(files.length > 0, 'recorded histories are committed under test/fixtures/histories');
  const histories = await Promise.all(
    files.map(async (file) => {
      const recorded = JSON.parse(await readFile(join(FIXTURES, file), 'utf8')) as { workflowId: string; history: object };
      return { workflowId: recorded.workflowId, history: History.fromObject(recorded.history) };
    }),
  );
  await replay(histories);
});
