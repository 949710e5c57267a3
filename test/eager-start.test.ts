/**
 * Eager workflow start: with the worker in the engine's process on a shared NativeConnection (as
 * `idflow dev` wires them), a run's first workflow task comes back in the start's response.
 */
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createIdflowWorker } from '../app/worker.js';
import { IdflowEngine } from '../engine/engine.js';
import { silentLogger, startTestEngine } from './helpers/engine.js';

test('runs start eagerly on the in-process worker and complete', async () => {
  const idflow = await startTestEngine({ worker: false });
  const native = await NativeConnection.connect({ address: idflow.address });
  const eagerly: boolean[] = [];
  const recordEagerStarts: WorkflowClientInterceptor = {
    async startWithDetails(input, next) {
      const output = await next(input);
      eagerly.push(output.eagerlyStarted);
      return output;
    },
  };
  const client = new Client({ connection: native, namespace: idflow.namespace, interceptors: { workflow: [recordEagerStarts] } });
  const taskQueue = `eager-${randomUUID()}`;
  const engine = new IdflowEngine({
    store: idflow.store,
    client,
    namespace: idflow.namespace,
    taskQueue,
    logger: silentLogger,
    eagerStart: true,
  });
  const worker = await createIdflowWorker({
    connection: native,
    namespace: idflow.namespace,
    taskQueue,
    store: idflow.store,
    logger: silentLogger,
    env: {},
  });
  const running = worker.run();
  try {
    await idflow.apply(`
kind: Automation
name: eager-joiner
trigger: { type: user.created }
steps:
  - { name: settle, type: wait, with: { duration: 10ms } }
`);
    // The worker polls before the server can hand it a workflow task: wait until it is running.
    while (worker.getState() !== 'RUNNING') await new Promise((resolve) => setTimeout(resolve, 50));
    await engine.ingest({ id: 'eager-1', type: 'user.created', data: { newUser: { email: 'e@example.com' } } }, 'test');
    const run = await engine.waitForRun('eager-joiner:eager-1', 30_000);
    assert.equal(run.status, 'completed', run.error);
    assert.deepEqual(eagerly, [true], 'the start was answered with the first workflow task');
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await idflow.stop();
  }
});
