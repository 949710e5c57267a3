/**
 * The core engine, end to end on a real Temporal dev server: events start automations whose
 * conditions hold, exactly once per event id; steps render templates, call webhooks with
 * retries, chain automations; runs are recorded step by step.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const SECRET = `whsec_${Buffer.from('idflow-test-secret-0123456789abcdef').toString('base64')}`;

let idflow: TestEngine;
let receiver: Receiver;

const engineer = {
  id: 'u1',
  email: 'ada@example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  department: 'Engineering',
  groups: ['eng', 'all'],
};

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine({ env: { TICKETING_SECRET: SECRET } });
  await idflow.apply(`
kind: Webhook
name: ticketing
url: ${receiver.url}/hooks/ticketing
signingSecret: { env: TICKETING_SECRET }
timeout: 2s
---
kind: Automation
name: engineering-joiner
trigger:
  type: user.created
  condition: ctx.trigger.newUser.department == "Engineering"
steps:
  - name: notify_ticketing
    type: run_webhook
    retry: { initialInterval: 100ms, maximumAttempts: 3 }
    with:
      webhook: ticketing
      payload:
        greeting: "Hi {{ ctx.trigger.newUser.firstName }} {{ ctx.trigger.new_user.lastName }}!"
        user: "{{ ctx.trigger.newUser.email }}"
        groups: "{{ ctx.trigger.newUser.groups }}"
        groupCount: "{{ size(ctx.trigger.user.groups) }}"
        isEngineer: "{{ ctx.trigger.newUser.department == 'Engineering' }}"
  - name: confirm
    type: run_webhook
    with:
      webhook: ticketing
      payload: { previousStatus: "{{ ctx.notify_ticketing.status }}" }
---
kind: Automation
name: sales-joiner
trigger:
  type: user.created
  condition: ctx.trigger.newUser.department == "Sales"
steps:
  - name: hello
    type: wait
    with: { duration: 1s }
---
kind: Automation
name: manager-check
trigger:
  type: user.updated
  condition: ctx.trigger.newUser.manager.email == "boss@example.com"
steps:
  - name: pause
    type: wait
    with: { duration: 1s }
`);
});

after(async () => {
  await idflow?.stop();
  await receiver?.close();
});

describe('events and triggers', () => {
  test('an event starts the automations whose condition is true, and records why the others did not match', async () => {
    const result = await idflow.engine.ingest({ id: 'evt-match-1', type: 'user.created', data: { newUser: engineer } }, 'test');
    assert.equal(result.duplicate, false);
    const byName = Object.fromEntries(result.event.matches.map((m) => [m.automation, m]));
    assert.equal(byName['engineering-joiner'].matched, true);
    assert.equal(byName['engineering-joiner'].runId, 'engineering-joiner:evt-match-1');
    assert.equal(byName['sales-joiner'].matched, false);
    assert.equal(byName['sales-joiner'].reason, 'condition is false');
    assert.equal(byName['manager-check'], undefined, 'automations of other trigger types are not considered');

    const run = await idflow.finished('engineering-joiner:evt-match-1');
    assert.equal(run.status, 'completed', run.error);
    assert.deepEqual(
      run.steps.map((s) => [s.name, s.status, s.attempts]),
      [
        ['notify_ticketing', 'completed', 1],
        ['confirm', 'completed', 1],
      ],
    );
  });

  test('string templates interpolate and a lone {{ expr }} keeps its type', async () => {
    const before = receiver.requests.length;
    await idflow.engine.ingest({ id: 'evt-templates', type: 'user.created', data: { newUser: engineer } }, 'test');
    const run = await idflow.finished('engineering-joiner:evt-templates');
    assert.equal(run.status, 'completed', run.error);
    const payload = JSON.parse(receiver.requests[before].body) as Record<string, unknown>;
    assert.deepEqual(payload, {
      greeting: 'Hi Ada Lovelace!',
      user: 'ada@example.com',
      groups: ['eng', 'all'],
      groupCount: 2,
      isEngineer: true,
    });
    // The second step saw the first step's output as ctx.notify_ticketing.
    assert.deepEqual(JSON.parse(receiver.requests[before + 1].body), { previousStatus: 200 });
    // The rendered input is in the run record.
    assert.deepEqual(run.steps[0].input, { webhook: 'ticketing', payload });
    assert.deepEqual(run.steps[0].output, { status: 200, body: { ok: true } });
  });

  test('a condition that fails at run time does not match and says why', async () => {
    const result = await idflow.engine.ingest(
      { id: 'evt-no-manager', type: 'user.updated', data: { oldUser: engineer, newUser: engineer } },
      'test',
    );
    const [match] = result.event.matches;
    assert.equal(match.automation, 'manager-check');
    assert.equal(match.matched, false);
    assert.match(match.reason ?? '', /^condition error: /);
    assert.deepEqual(result.runs, []);
    const stored = await idflow.store.events.get('evt-no-manager');
    assert.equal(stored?.matches[0].matched, false);
  });

  test('the same event id sent twice starts one run', async () => {
    const first = await idflow.engine.ingest({ id: 'evt-twice', type: 'user.created', data: { newUser: engineer } }, 'test');
    const second = await idflow.engine.ingest({ id: 'evt-twice', type: 'user.created', data: { newUser: engineer } }, 'test');
    assert.equal(second.duplicate, true);
    assert.deepEqual(
      second.runs.map((r) => r.runId),
      first.runs.map((r) => r.runId),
    );
    await idflow.finished('engineering-joiner:evt-twice');
    const runs = await idflow.store.runs.list({ eventId: 'evt-twice' });
    assert.equal(runs.length, 1);
  });

  test('an invalid event is refused with the field named', async () => {
    await assert.rejects(idflow.engine.ingest({ type: 'user.exploded', data: {} }, 'test'), /type: /);
  });
});

describe('run_webhook', () => {
  test('deliveries are signed per Standard Webhooks, with one webhook-id across retries; 503 then 200 succeeds', async () => {
    const before = receiver.requests.length;
    receiver.script({ status: 503, body: 'busy' });
    await idflow.engine.ingest({ id: 'evt-retry', type: 'user.created', data: { newUser: engineer } }, 'test');
    const run = await idflow.finished('engineering-joiner:evt-retry');
    assert.equal(run.status, 'completed', run.error);
    assert.equal(run.steps[0].attempts, 2);
    const [failed, succeeded] = receiver.requests.slice(before, before + 2);
    assert.equal(failed.headers['webhook-id'], succeeded.headers['webhook-id']);
    const verified = new Webhook(SECRET).verify(succeeded.body, succeeded.headers as Record<string, string>);
    assert.equal((verified as { user: string }).user, 'ada@example.com');
  });

  test('a template that fails at run time fails its step at once, saying which field', async () => {
    const before = receiver.requests.length;
    await idflow.engine.ingest(
      { id: 'evt-no-email', type: 'user.created', data: { newUser: { firstName: 'Ada', department: 'Engineering', groups: [] } } },
      'test',
    );
    const run = await idflow.finished('engineering-joiner:evt-no-email');
    assert.equal(run.status, 'failed');
    assert.equal(run.steps[0].status, 'failed');
    assert.match(run.steps[0].error ?? '', /^rendering its input: No such key: lastName/);
    assert.equal(receiver.requests.length, before, 'nothing was sent');
  });

  test('input that renders into something invalid fails its step at once, naming the field', async () => {
    await idflow.apply(`
kind: Automation
name: bad-render
trigger: { type: manual }
steps:
  - name: pause
    type: wait
    with: { duration: "{{ ctx.trigger.pause }}" }
  - name: hook
    type: run_webhook
    with: { webhook: "{{ ctx.trigger.hook }}" }
`);
    const badWait = await idflow.finished(
      (await idflow.engine.runManually('bad-render', { pause: 'soon', hook: 'ticketing' }, 'test')).runId,
    );
    assert.equal(badWait.steps[0].status, 'failed');
    assert.match(badWait.steps[0].error ?? '', /invalid input after rendering templates: with\.duration: expected a duration/);
    const badHook = await idflow.finished((await idflow.engine.runManually('bad-render', { pause: '1ms', hook: 42 }, 'test')).runId);
    assert.equal(badHook.steps[1].status, 'failed');
    assert.equal(badHook.steps[1].attempts, 1, 'not retried');
    assert.match(badHook.steps[1].error ?? '', /invalid input after rendering templates: with\.webhook: /);
  });

  test('a 400 fails the step after one attempt, with the status and body in the error', async () => {
    receiver.script({ status: 400, body: '{"error":"missing user"}' });
    await idflow.engine.ingest({ id: 'evt-400', type: 'user.created', data: { newUser: engineer } }, 'test');
    const run = await idflow.finished('engineering-joiner:evt-400');
    assert.equal(run.status, 'failed');
    assert.equal(run.steps[0].status, 'failed');
    assert.equal(run.steps[0].attempts, 1);
    assert.match(run.steps[0].error ?? '', /400/);
    assert.match(run.steps[0].error ?? '', /missing user/);
    assert.match(run.error ?? '', /step "notify_ticketing" \(run_webhook\) failed/);
    assert.equal(run.steps[1].status, 'pending', 'later steps do not run');
  });
});

describe('run_automation', () => {
  before(async () => {
    await idflow.apply(`
kind: Automation
name: parent
trigger: { type: manual }
steps:
  - name: secondary
    type: run_automation
    with: { automation: child, context: { email: "{{ ctx.trigger.email }}" }, wait: true }
  - name: echo
    type: wait
    with: { duration: 10ms }
---
kind: Automation
name: child
trigger: { type: manual }
steps:
  - name: greet
    type: run_webhook
    with: { webhook: ticketing, payload: { to: "{{ ctx.trigger.email }}" } }
---
kind: Automation
name: loop-a
trigger: { type: manual }
steps:
  - name: go
    type: run_automation
    with: { automation: loop-b }
---
kind: Automation
name: loop-b
trigger: { type: manual }
steps:
  - name: back
    type: run_automation
    with: { automation: loop-a }
`);
  });

  test('runs the child with its context as ctx.trigger and returns its step outputs', async () => {
    const started = await idflow.engine.runManually('parent', { email: 'grace@example.com' }, 'test');
    const run = await idflow.finished(started.runId);
    assert.equal(run.status, 'completed', run.error);
    const output = run.steps[0].output as { runId: string; steps: { greet: { status: number } } };
    assert.equal(output.steps.greet.status, 200);
    const child = await idflow.store.runs.get(output.runId);
    assert.equal(child?.parentRunId, started.runId);
    assert.deepEqual(child?.trigger, { email: 'grace@example.com' });
    assert.equal(child?.status, 'completed');
  });

  test('a cycle is refused with a clear error', async () => {
    const started = await idflow.engine.runManually('loop-a', {}, 'test');
    const run = await idflow.finished(started.runId);
    assert.equal(run.status, 'failed');
    const child = (await idflow.store.runs.list({ automation: 'loop-b' }))[0];
    assert.match(child.error ?? '', /cycle: loop-a → loop-b → loop-a/);
  });
});

describe('run_automation chain depth', () => {
  test('a chain deeper than 10 automations is refused with a clear error', async () => {
    const links = Array.from({ length: 11 }, (_, i) =>
      i < 10
        ? `kind: Automation\nname: chain-${i}\ntrigger: { type: manual }\nsteps:\n  - { name: next, type: run_automation, with: { automation: chain-${i + 1} } }\n`
        : `kind: Automation\nname: chain-${i}\ntrigger: { type: manual }\nsteps:\n  - { name: end, type: wait, with: { duration: 1ms } }\n`,
    );
    await idflow.apply(links.join('---\n'));
    const started = await idflow.engine.runManually('chain-0', {}, 'test');
    const run = await idflow.finished(started.runId);
    assert.equal(run.status, 'failed');
    const deepest = (await idflow.store.runs.list({ automation: 'chain-9' }))[0];
    assert.match(deepest.error ?? '', /run_automation chains are limited to 10 automations: chain-0 → .* → chain-9 → chain-10/);
  });
});

describe('runs', () => {
  test('a running run can be cancelled and is recorded as cancelled', async () => {
    await idflow.apply(`
kind: Automation
name: slow
trigger: { type: manual }
steps:
  - name: long_wait
    type: wait
    with: { duration: 1h }
`);
    const started = await idflow.engine.runManually('slow', {}, 'test');
    // Wait until the timer is running.
    for (let i = 0; i < 50 && (await idflow.store.runs.get(started.runId))?.steps[0].status !== 'running'; i++)
      await new Promise((r) => setTimeout(r, 100));
    await idflow.engine.cancelRun(started.runId, 'test');
    const run = await idflow.finished(started.runId);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.steps[0].status, 'cancelled');
  });

  test('a run terminated outside idflow is recorded as terminated when read', async () => {
    const started = await idflow.engine.runManually('slow', {}, 'test');
    await idflow.client.workflow.getHandle(started.runId).terminate('from the Web UI');
    const run = await idflow.engine.getRun(started.runId);
    assert.equal(run?.status, 'terminated');
    assert.match(run?.error ?? '', /terminated outside idflow/);
  });

  test('a disabled automation matches nothing and refuses manual runs', async () => {
    await idflow.engine.setEnabled('sales-joiner', false, 'test');
    const result = await idflow.engine.ingest(
      { id: 'evt-disabled', type: 'user.created', data: { newUser: { ...engineer, department: 'Sales' } } },
      'test',
    );
    assert.equal(
      result.event.matches.find((m) => m.automation === 'sales-joiner'),
      undefined,
    );
    await assert.rejects(idflow.engine.runManually('sales-joiner', {}, 'test'), /disabled/);
    await idflow.engine.setEnabled('sales-joiner', true, 'test');
  });
});
