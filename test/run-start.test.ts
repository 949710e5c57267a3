/**
 * The engine records a run before starting its workflow (which then skips recording its own
 * start). When the start fails, the record must follow what Temporal holds: gone when there is no
 * workflow, kept when the workflow exists although the client saw an error (it runs, and finishes
 * its record). And a run that could not start is not lost: a redelivery of the event starts it,
 * and the directory's outbox keeps the event until it does.
 */
import type { WorkflowClientInterceptor } from '@temporalio/client';
import proto from '@temporalio/proto';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importFeed, parseFeed } from '../directory/import.js';
import type { EventRecord } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { until } from './helpers/worker-process.js';

/** What the next start does: reach Temporal or not, and fail on the client's side either way. */
let fault: 'none' | 'before-temporal' | 'after-temporal' = 'none';

/** Sends a start to Temporal, or not, as `fault` says. */
async function faulty(send: () => Promise<string>): Promise<string> {
  if (fault === 'before-temporal') throw new Error('connection reset before the start was sent');
  const runId = await send();
  if (fault === 'after-temporal') throw new Error('deadline exceeded waiting for the start to be acknowledged');
  return runId;
}

const failingStarts: WorkflowClientInterceptor = {
  start: (input, next) => faulty(() => next(input)),
  // A person's runs start through their queue (engine/person-queues.ts): the same faults apply.
  signalWithStart: (input, next) => faulty(() => next(input)),
};

let idflow: TestEngine;
let receiver: Receiver;

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine({ clientInterceptors: [failingStarts] });
  await idflow.apply(`
kind: Webhook
name: sink
url: ${receiver.url}/sink
---
kind: Automation
name: joiner
trigger: { type: user.created }
steps:
  - name: notify
    type: run_webhook
    with: { webhook: sink, payload: { run: "joiner", email: "{{ ctx.trigger.newUser.email }}" } }
`);
});

after(async () => {
  await idflow?.stop();
  await receiver?.close();
});

const created = (id: string) => ({ id, type: 'user.created', data: { newUser: { email: `${id}@example.com` } } });

test('a start that never reached Temporal leaves no run record, and the redelivery runs it', async () => {
  fault = 'before-temporal';
  const first = await idflow.engine.ingest(created('u-lost-start'), 'test');
  assert.equal(first.notStarted, 1);
  assert.match(first.event.matches[0]?.error ?? '', /^the run could not be started: connection reset before the start was sent$/);
  assert.equal(await idflow.store.runs.get('joiner:u-lost-start'), undefined, 'no record of a run that does not exist');

  fault = 'none';
  const again = await idflow.engine.ingest(created('u-lost-start'), 'test');
  assert.equal(again.duplicate, true);
  assert.equal(again.notStarted, 0);
  assert.equal(again.event.matches[0]?.runId, 'joiner:u-lost-start');
  const run = await idflow.finished('joiner:u-lost-start');
  assert.equal(run.status, 'completed', run.error);
  assert.equal(run.steps[0]?.status, 'completed');
});

test('a start that reached Temporal although the client saw an error keeps its record, and the run completes', async () => {
  // No worker meanwhile: the workflow begins no step before the engine has decided about the record.
  await idflow.stopWorker();
  fault = 'after-temporal';
  const result = await idflow.engine.ingest(created('u-started-anyway'), 'test');
  fault = 'none';
  assert.equal((await idflow.store.runs.get('joiner:u-started-anyway'))?.status, 'running');
  await idflow.startWorker();
  assert.match(result.event.matches[0]?.error ?? '', /could not be started: deadline exceeded/);
  const run = await idflow.finished('joiner:u-started-anyway');
  assert.equal(run.status, 'completed', run.error);
  assert.equal(run.steps[0]?.status, 'completed');
  assert.equal(receiver.requests.filter((r) => r.body.includes('u-started-anyway@example.com')).length, 1);
});

test("the engine's runs record their start and end without the workflow's bookkeeping: no local activity at all", async () => {
  await idflow.engine.ingest(created('u-one-write'), 'test');
  await idflow.finished('joiner:u-one-write');
  const history = await idflow.client.workflow.getHandle('joiner:u-one-write').fetchHistory();
  const types = (history.events ?? []).map((event) => event.eventType);
  const { EventType } = proto.temporal.api.enums.v1;
  const firstActivity = types.indexOf(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
  assert.ok(firstActivity > 0, 'the step ran as an activity');
  assert.equal(types.includes(EventType.EVENT_TYPE_MARKER_RECORDED), false, 'no local activity before the step, nor after it');
  const run = await idflow.store.runs.get('joiner:u-one-write');
  assert.equal(run?.status, 'completed');
  assert.ok(run?.endedAt);
});

async function joinerEvent(): Promise<EventRecord | undefined> {
  const events = await idflow.store.events.list({ type: 'user.created' });
  return events.find((event) => JSON.stringify(event.data).includes('u-outbox@example.com'));
}

test('a directory change whose run could not start stays in the outbox until it does', async () => {
  fault = 'before-temporal';
  try {
    const feed = await parseFeed('hr.csv', 'id,email\nu-outbox,u-outbox@example.com\n');
    const report = await importFeed(idflow.engine.directory, feed, { source: 'hr' });
    assert.equal(report.created.length, 1);
    // The dispatcher has tried (the event is recorded, with the failed start) and keeps it pending.
    // Processed, not only recorded: the insert comes before the matching and its failed start.
    await until('the outbox tried to deliver the joiner', async () => (await joinerEvent())?.processedAt !== undefined);
    assert.match((await joinerEvent())?.matches[0]?.error ?? '', /could not be started/);
    assert.equal((await idflow.store.directory.pendingEvents(10)).length, 1, 'the event is still pending');
  } finally {
    fault = 'none';
  }
  const event = await joinerEvent();
  assert.ok(event);
  // The dispatcher's next pass (after its retry pause) delivers the event again.
  await until('the joiner run is recorded', async () => (await idflow.store.runs.get(`joiner:${event.id}`)) !== undefined);
  const run = await idflow.finished(`joiner:${event.id}`);
  assert.equal(run.status, 'completed', run.error);
  await until('the outbox is empty', async () => (await idflow.store.directory.pendingEvents(10)).length === 0);
});
