/**
 * `wait` is a durable Temporal timer: under the time-skipping test server a 7-day wait finishes
 * in seconds, and `until` accepts a rendered template.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { IdflowEngine } from '../engine/engine.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createIdflowWorker } from '../worker.js';
import { silentLogger } from './helpers/engine.js';
import { startTimeSkipping } from './helpers/temporal.js';

let env: TestWorkflowEnvironment;
let store: Store;
let worker: Worker;
let engine: IdflowEngine;

before(async () => {
  env = await startTimeSkipping();
  store = await openStore({ memory: true });
  const taskQueue = `wait-${randomUUID()}`;
  worker = await createIdflowWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, store, logger: silentLogger, env: {} });
  engine = new IdflowEngine({ store, client: env.client, namespace: 'default', taskQueue, logger: silentLogger });
  const result = await engine.apply(
    [
      {
        path: 'waits.yaml',
        content: `
kind: Automation
name: week-later
trigger: { type: manual }
steps:
  - name: a_week
    type: wait
    with: { duration: 7d }
  - name: until_then
    type: wait
    with: { until: "{{ ctx.trigger.followUpAt }}" }
`,
      },
    ],
    { dryRun: false, actor: 'test' },
  );
  assert.deepEqual(result.errors, []);
});

after(async () => {
  await store?.close();
  await env?.teardown();
});

test('a 7-day wait and a wait until a templated time complete in seconds under time skipping', async () => {
  await worker.runUntil(async () => {
    const startedAt = Date.now();
    const followUpAt = new Date(Date.now() + 10 * 86_400_000).toISOString();
    const run = await engine.runManually('week-later', { followUpAt }, 'test');
    await env.client.workflow.getHandle(run.runId).result();
    assert.ok(Date.now() - startedAt < 60_000, 'time skipping makes days pass in seconds');
    const record = await store.runs.get(run.runId);
    assert.equal(record?.status, 'completed', record?.error);
    assert.equal((record?.steps[0].output as { waitedMs: number }).waitedMs, 7 * 86_400_000);
    const untilWait = (record?.steps[1].output as { waitedMs: number }).waitedMs;
    assert.ok(untilWait > 2 * 86_400_000 && untilWait <= 3 * 86_400_000, `waited ${untilWait} ms until the follow-up time`);
  });
});
