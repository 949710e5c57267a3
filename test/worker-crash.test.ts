/**
 * Durability: a worker process SIGKILLed in the middle of a step, and again during a wait, is
 * replaced by a new one and the run completes; the delivery that was cut off is retried with
 * the same webhook-id, and nothing that had completed runs twice.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { kill, startWorkerProcess as startWorker, until } from './helpers/worker-process.js';

let idflow: TestEngine;
let receiver: Receiver;
const workers: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = startWorker(idflow);
  workers.push(child);
  return child;
}

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine({ worker: false });
  await idflow.apply(`
kind: Webhook
name: target
url: ${receiver.url}/deliver
timeout: 30s
---
kind: Automation
name: durable
trigger: { type: manual }
steps:
  - name: deliver
    type: run_webhook
    timeout: 3s
    retry: { initialInterval: 100ms }
    with: { webhook: target, payload: { step: deliver } }
  - name: pause
    type: wait
    with: { duration: 3s }
  - name: confirm
    type: run_webhook
    with: { webhook: target, payload: { step: confirm } }
`);
});

after(async () => {
  for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await idflow?.stop();
  await receiver?.close();
});

test('a SIGKILLed worker is replaced and the run completes, nothing lost and nothing duplicated', async () => {
  receiver.script({ status: 200, hang: true }); // the first delivery never gets an answer
  let worker = startWorkerProcess();
  const run = await idflow.engine.runManually('durable', {}, 'test');

  await until('the first delivery arrives', () => receiver.requests.length >= 1);
  await kill(worker); // mid-activity

  worker = startWorkerProcess();
  await until('the wait step is running', async () => (await idflow.store.runs.get(run.runId))?.steps[1].status === 'running');
  await kill(worker); // mid-timer

  worker = startWorkerProcess();
  const finished = await idflow.finished(run.runId);
  assert.equal(finished.status, 'completed', finished.error);
  await kill(worker);

  const bodies = receiver.requests.map((request) => JSON.parse(request.body) as { step: string });
  assert.deepEqual(
    bodies.map((b) => b.step),
    ['deliver', 'deliver', 'confirm'],
  );
  assert.equal(
    receiver.requests[0].headers['webhook-id'],
    receiver.requests[1].headers['webhook-id'],
    'the retried delivery keeps its webhook-id',
  );
  assert.deepEqual(
    finished.steps.map((s) => [s.name, s.status]),
    [
      ['deliver', 'completed'],
      ['pause', 'completed'],
      ['confirm', 'completed'],
    ],
  );
  assert.equal(finished.steps[0].attempts, 2);
});
