/**
 * `wait` is a durable Temporal timer: under the time-skipping test server a 7-day wait finishes
 * in seconds, and `until` accepts a rendered template. The workflow's history proves the waits:
 * each is a timer of the right length that fired, and the step after a wait was scheduled only
 * once its timer had fired, a week of (skipped) time later.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type proto from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { IdflowEngine } from '../engine/engine.js';
import type { Store } from '../store/types.js';
import { createIdflowWorker } from '../app/worker.js';
import { silentLogger } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTimeSkipping } from './helpers/temporal.js';
import { openTestStore } from './helpers/store.js';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const DAY = 86_400_000;

let env: TestWorkflowEnvironment;
let store: Store;
let worker: Worker;
let engine: IdflowEngine;
let receiver: Receiver;

before(async () => {
  env = await startTimeSkipping();
  receiver = await startReceiver();
  store = await openTestStore();
  const taskQueue = `wait-${randomUUID()}`;
  worker = await createIdflowWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    store,
    logger: silentLogger,
    env: {},
  });
  engine = new IdflowEngine({ store, client: env.client, namespace: 'default', taskQueue, logger: silentLogger });
  const result = await engine.apply(
    [
      {
        path: 'waits.yaml',
        content: `
kind: Webhook
name: after-the-week
url: ${receiver.url}/after-the-week
---
kind: Automation
name: week-later
trigger: { type: manual }
steps:
  - name: a_week
    type: wait
    with: { duration: 7d }
  - name: after_the_week
    type: run_webhook
    with: { webhook: after-the-week }
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
  await receiver?.close();
  await env?.teardown();
});

const at = (event: HistoryEvent): number => tsToMs(event.eventTime);

/** The run's timers in order: how long each was set for, when it started and when it fired. */
function timersOf(events: HistoryEvent[]): { timeoutMs: number; startedAt: number; firedAt: number; firedEventId: number }[] {
  return events
    .filter((event) => event.timerStartedEventAttributes)
    .map((started) => {
      const fired = events.find((event) => Number(event.timerFiredEventAttributes?.startedEventId) === Number(started.eventId));
      assert.ok(fired, `timer ${started.timerStartedEventAttributes?.timerId} never fired`);
      return {
        timeoutMs: tsToMs(started.timerStartedEventAttributes?.startToFireTimeout),
        startedAt: at(started),
        firedAt: at(fired),
        firedEventId: Number(fired.eventId),
      };
    });
}

test('a 7-day wait and a wait until a templated time are timers that fire, in seconds under time skipping', async () => {
  await worker.runUntil(async () => {
    const startedAt = Date.now();
    const followUpAt = new Date(Date.now() + 10 * DAY).toISOString();
    const run = await engine.runManually('week-later', { followUpAt }, 'test');
    const handle = env.client.workflow.getHandle(run.runId);
    await handle.result();
    assert.ok(Date.now() - startedAt < 60_000, 'time skipping makes days pass in seconds');
    const record = await store.runs.get(run.runId);
    assert.equal(record?.status, 'completed', record?.error);

    const events = (await handle.fetchHistory()).events ?? [];
    const timers = timersOf(events);
    assert.equal(timers.length, 2, 'one timer per wait step');
    const [week, untilThen] = timers;
    assert.equal(week.timeoutMs, 7 * DAY, 'the first wait set a 7-day timer');
    assert.ok(week.firedAt - week.startedAt >= 7 * DAY, 'and a week went by before it fired');

    // The webhook after the week was scheduled once, and only after the week's timer fired.
    // The steps' activities (the guard's admission is an activity of its own, before the first).
    const scheduled = events.filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep');
    assert.equal(scheduled.length, 1);
    assert.ok(Number(scheduled[0].eventId) > week.firedEventId, 'the step after the wait was scheduled after the timer fired');
    assert.ok(at(scheduled[0]) >= week.startedAt + 7 * DAY);
    assert.equal(receiver.requests.length, 1);

    // `until`: a timer for what was left of the ten days when it started, firing at the follow-up time.
    const expectedMs = Date.parse(followUpAt) - untilThen.startedAt;
    assert.ok(expectedMs > 2 * DAY && expectedMs <= 3 * DAY, `${expectedMs} ms were left until the follow-up time`);
    assert.ok(Math.abs(untilThen.timeoutMs - expectedMs) < 60_000, `a ${untilThen.timeoutMs} ms timer for the ${expectedMs} ms left`);
    assert.ok(untilThen.firedAt >= Date.parse(followUpAt) - 60_000, 'it fired at the follow-up time');
    assert.ok(untilThen.startedAt >= week.firedAt);

    // The run record says the same as the history.
    assert.deepEqual(
      record?.steps.map((step) => [step.name, step.status]),
      [
        ['a_week', 'completed'],
        ['after_the_week', 'completed'],
        ['until_then', 'completed'],
      ],
    );
    const resumedAt = (step: number): number => Date.parse((record?.steps[step].output as { resumedAt: string }).resumedAt);
    assert.ok(
      resumedAt(0) >= week.firedAt - 1000 && resumedAt(0) >= week.startedAt + 7 * DAY,
      'the first wait resumed when its timer fired',
    );
    assert.ok(resumedAt(2) >= Date.parse(followUpAt) - 60_000, 'the second resumed at the follow-up time');
  });
});
