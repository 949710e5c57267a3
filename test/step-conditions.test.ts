/**
 * Step conditions (`if:` on any step) on a real engine: false records the step skipped with the
 * condition's value and the run goes on, true runs it, later steps branch on `ctx.<step>.skipped`,
 * a skipped last step still completes the run, a condition that cannot be evaluated fails its step;
 * apply refuses a condition that does not compile or reads a later step; plans say what is skipped.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let idflow: TestEngine;
let hooks: Receiver;

const automation = (hookUrl: string) => `kind: Webhook
name: hook
url: ${hookUrl}/hook
---
kind: Automation
name: branching
trigger: { type: user.created }
steps:
  - name: engineers_only
    type: run_webhook
    if: ctx.trigger.newUser.department == "Engineering"
    with: { webhook: hook, payload: { engineer: "{{ subject.id }}" } }
  - name: everyone_else
    type: run_webhook
    if: has(ctx.engineers_only.skipped)
    with: { webhook: hook, payload: { other: "{{ subject.id }}" } }
  - name: last_for_sales
    type: run_webhook
    if: 'has(subject.department) && subject.department == "Sales"'
    with: { webhook: hook, payload: { sales: "{{ subject.id }}" } }
---
kind: Automation
name: broken-if
trigger: { type: user.updated }
steps:
  - name: first
    type: run_webhook
    if: ctx.trigger.newUser.nosuch == "x"
    with: { webhook: hook, payload: { never: true } }
`;

const created = (id: string, department: string) => ({
  type: 'user.created',
  id: `evt-${id}`,
  data: { newUser: { id, email: `${id}@example.com`, department, status: 'ENABLED' } },
});

before(async () => {
  hooks = await startReceiver();
  idflow = await startTestEngine({ env: { IDFLOW_WEBHOOKS_PRIVATE_NETWORKS: '127.0.0.0/8' } });
  await idflow.apply(automation(hooks.url));
});

after(async () => {
  await idflow?.stop();
  await hooks?.close();
});

const payloads = () => hooks.requests.map((request) => JSON.parse(request.body) as Record<string, string>);

test('a false if: skips the step (recorded with the value), a true one runs it, and later steps branch on it', async () => {
  await idflow.engine.ingest(created('u-eng', 'Engineering'), 'test');
  const engineer = await idflow.finished('branching:evt-u-eng');
  assert.equal(engineer.status, 'completed', engineer.error);
  assert.deepEqual(
    engineer.steps.map((step) => [step.name, step.status]),
    [
      ['engineers_only', 'completed'],
      ['everyone_else', 'skipped'],
      ['last_for_sales', 'skipped'],
    ],
  );
  assert.deepEqual(engineer.steps[1]?.output, { skipped: true, if: 'has(ctx.engineers_only.skipped)', value: false });

  await idflow.engine.ingest(created('u-sales', 'Sales'), 'test');
  const sales = await idflow.finished('branching:evt-u-sales');
  assert.equal(sales.status, 'completed', sales.error);
  assert.deepEqual(
    sales.steps.map((step) => step.status),
    ['skipped', 'completed', 'completed'],
  );
  assert.deepEqual(payloads(), [{ engineer: 'u-eng' }, { other: 'u-sales' }, { sales: 'u-sales' }]);
});

test('a skipped last step still completes the run', async () => {
  await idflow.engine.ingest(created('u-ops', 'Operations'), 'test');
  const run = await idflow.finished('branching:evt-u-ops');
  assert.equal(run.status, 'completed');
  assert.equal(run.steps.at(-1)?.status, 'skipped');
});

test('an if: that cannot be evaluated fails its step, and nothing of it happens', async () => {
  const before = hooks.requests.length;
  await idflow.engine.ingest({ type: 'user.updated', id: 'evt-broken', data: { newUser: { id: 'u-x', email: 'x@example.com' } } }, 'test');
  const run = await idflow.finished('broken-if:evt-broken');
  assert.equal(run.status, 'failed');
  assert.equal(run.steps[0]?.status, 'failed');
  assert.match(run.steps[0]?.error ?? '', /evaluating its if: .*nosuch/);
  assert.equal(hooks.requests.length, before);
});

test('apply refuses an if: that does not compile, is not a bool, or reads a later step — naming file, line and field', async () => {
  const result = await idflow.engine.apply(
    [
      {
        path: 'flows/bad.yaml',
        content: `kind: Automation
name: bad-ifs
trigger: { type: user.created }
steps:
  - name: a
    type: wait
    if: ctx.b.skipped
    with: { duration: 1s }
  - name: b
    type: wait
    if: "1 + 1"
    with: { duration: 1s }
  - name: c
    type: wait
    if: "ctx.trigger.("
    with: { duration: 1s }
`,
      },
    ],
    { dryRun: true, actor: 'test' },
  );
  const messages = result.errors.map((error) => `${error.file}:${error.line} ${error.path} ${error.message}`);
  assert.equal(messages.length, 3, messages.join('\n'));
  assert.match(messages[0] ?? '', /^flows\/bad\.yaml:7 steps\[0\]\.if .*ctx\.b is not defined here \(step "b" runs later/);
  assert.match(messages[1] ?? '', /^flows\/bad\.yaml:11 steps\[1\]\.if .*must be a bool/);
  assert.match(messages[2] ?? '', /^flows\/bad\.yaml:15 steps\[2\]\.if CEL syntax error/);
});

test('a plan says which steps would be skipped and why', async () => {
  const plan = await idflow.engine.plans.event(created('u-planned', 'Operations'), {
    actor: 'test',
    runFunctions: false,
    webhookUrls: true,
  });
  const steps = plan.events[0]?.automations.find((a) => a.name === 'branching')?.steps ?? [];
  assert.deepEqual(
    steps.map((step) => [step.name, step.skipped ?? false, step.effects.map((e) => e.kind)]),
    [
      ['engineers_only', true, []],
      ['everyone_else', false, ['webhook']],
      ['last_for_sales', true, []],
    ],
  );
  assert.equal(steps[0]?.reason, 'if: ctx.trigger.newUser.department == "Engineering" is false');
});
