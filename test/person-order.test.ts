/**
 * One person at a time, and runs that follow the facts, on the dev server: a person's joiner,
 * mover and leaver events ingested in the same instant run one after the other in that order
 * (each waits for the one before to end), while another person's run goes meanwhile; a leaver
 * (examples/leaver.yaml as written) waiting out its grace period is cancelled by the rehire
 * event, with the reason in its record, and its deletion step never runs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { JsonObject } from '../core/json.js';
import type { RunRecord } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

let idflow: TestEngine;
let receiver: Receiver;

const example = (name: string): URL => new URL(`../examples/${name}`, import.meta.url);

/** The same automation for joiners, movers and leavers of the ordering test: a webhook naming the step. */
function orderedFlow(name: string, type: string, webhook = 'order-sink'): string {
  return `
kind: Automation
name: ${name}
trigger:
  type: ${type}
  condition: ctx.trigger.newUser.department == "Ordering"
steps:
  - name: call
    type: run_webhook
    with: { webhook: ${webhook}, payload: { flow: ${name}, user: "{{ subject.id }}" } }
`;
}

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine();
  const leaver = await readFile(example('leaver.yaml'), 'utf8');
  await idflow.apply(
    [
      `kind: Webhook\nname: order-sink\nurl: ${receiver.url}/order`,
      `kind: Webhook\nname: extra-sink\nurl: ${receiver.url}/extra`,
      `kind: Webhook\nname: hr-system\nurl: ${receiver.url}/hr`,
      orderedFlow('po-joiner', 'user.created'),
      // More runs of the joiner event, so that it takes the longest to match and record: its runs still go first.
      ...[1, 2, 3, 4].map((n) => orderedFlow(`po-joiner-more-${n}`, 'user.created', 'extra-sink')),
      orderedFlow('po-mover', 'user.updated'),
      orderedFlow('po-leaver', 'user.deactivated'),
      leaver,
      // A contractor's offboarding waits until their end date, which HR may move while it waits.
      `
kind: Automation
name: contract-end
trigger:
  type: user.updated
  condition: ctx.trigger.newUser.department == "Contracts" && !has(ctx.trigger.oldUser.endDate) && has(ctx.trigger.newUser.endDate)
rescheduleWhen: has(ctx.trigger.newUser.endDate) && ctx.trigger.newUser.endDate != ctx.run.newUser.endDate
steps:
  - name: until_end
    type: wait
    with: { until: "{{ ctx.trigger.newUser.endDate }}" }
  - name: offboard
    type: run_webhook
    with: { webhook: order-sink, payload: { flow: contract-end, user: "{{ subject.id }}" } }
`,
      // A rehire that starts a run of its own: the event reaches the waiting leaver with that run.
      `
kind: Automation
name: rehire
trigger:
  type: user.updated
  condition: ctx.trigger.oldUser.status == "DISABLED" && ctx.trigger.newUser.status == "ENABLED" && ctx.trigger.newUser.department == "Rehires"
steps:
  - name: welcome_back
    type: run_webhook
    with: { webhook: order-sink, payload: { flow: rehire, user: "{{ subject.id }}" } }
`,
    ].join('\n---\n'),
  );
});

after(async () => {
  await idflow?.stop();
  await receiver?.close();
});

function user(id: string, department: string, status: string): JsonObject {
  return { id, email: `${id}@example.com`, department, status, employmentType: 'FULL_TIME', manager: 'boss@example.com' };
}

function updated(person: string, department: string, from: string, to: string, extra: JsonObject = {}): JsonObject {
  return { oldUser: user(person, department, from), newUser: { ...user(person, department, to), ...extra } };
}

function webhookCalls(): { flow: string; user: string }[] {
  return receiver.requests.filter((r) => r.path === '/order').map((r) => JSON.parse(r.body) as { flow: string; user: string });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ORDERED = ['po-joiner', 'po-mover', 'po-leaver'];
const stepStart = (run: RunRecord): number => Date.parse(run.steps[0]?.startedAt ?? '');
const runEnd = (run: RunRecord): number => Date.parse(run.endedAt ?? '');

test("one person's joiner, mover and leaver received in the same instant run in that order; another person's run is not delayed", async () => {
  const person = `u-${randomUUID().slice(0, 8)}`;
  const other = `u-${randomUUID().slice(0, 8)}`;
  // The joiner's webhook is held: its person's mover and leaver must not start meanwhile.
  let release!: () => void;
  receiver.script({ status: 200, body: '{}', hold: new Promise<void>((resolve) => (release = resolve)) });

  const [joiner, mover, leaver] = await Promise.all([
    idflow.engine.ingest(
      { id: `${person}-1-joiner`, type: 'user.created', data: { newUser: user(person, 'Ordering', 'ENABLED') } },
      'test',
    ),
    idflow.engine.ingest(
      {
        id: `${person}-2-mover`,
        type: 'user.updated',
        data: { oldUser: user(person, 'Ordering', 'ENABLED'), newUser: { ...user(person, 'Ordering', 'ENABLED'), title: 'Lead' } },
      },
      'test',
    ),
    idflow.engine.ingest(
      {
        id: `${person}-3-leaver`,
        type: 'user.deactivated',
        data: { oldUser: user(person, 'Ordering', 'ENABLED'), newUser: user(person, 'Ordering', 'DISABLED') },
      },
      'test',
    ),
  ]);
  // (The leaver event also starts examples/leaver.yaml's run, which waits 30 days: not this test's.)
  const runIds = [joiner, mover, leaver].map(
    (result, i) => result.runs.find((run) => run.automation === ORDERED[i])?.runId ?? assert.fail('each event starts its run'),
  );

  await until('the joiner to call (and be held)', () => (webhookCalls().length === 1 ? true : undefined));
  assert.deepEqual(webhookCalls(), [{ flow: 'po-joiner', user: person }]);

  // Another person's run goes while the first person's joiner is held.
  const otherRun = await idflow.engine.ingest(
    { id: `${other}-1-joiner`, type: 'user.created', data: { newUser: user(other, 'Ordering', 'ENABLED') } },
    'test',
  );
  const otherDone = await idflow.finished(otherRun.runs[0]?.runId ?? assert.fail('the other joiner starts'));
  assert.equal(otherDone.status, 'completed');
  const [held, waitingMover] = await Promise.all(runIds.slice(0, 2).map((runId) => idflow.engine.getRun(runId)));
  assert.equal(held?.status, 'running', 'the held joiner is still running');
  assert.equal(waitingMover?.steps[0]?.status, 'pending', "the mover has not started while its person's joiner runs");
  assert.deepEqual(webhookCalls(), [
    { flow: 'po-joiner', user: person },
    { flow: 'po-joiner', user: other },
  ]);

  release();
  const runs = await Promise.all(runIds.map((runId) => idflow.finished(runId)));
  assert.deepEqual(
    runs.map((run) => run.status),
    ['completed', 'completed', 'completed'],
  );
  assert.deepEqual(
    webhookCalls().filter((call) => call.user === person),
    ORDERED.map((flow) => ({ flow, user: person })),
  );
  // Each run began only after the one before it had ended.
  for (let i = 1; i < runs.length; i++) {
    assert.ok(stepStart(runs[i]) >= runEnd(runs[i - 1]), `${runs[i].runId} started before ${runs[i - 1].runId} ended`);
  }

  // The leaver event's other run (examples/leaver.yaml) waits 30 days: the person's next run goes meanwhile.
  const waiting = await idflow.engine.getRun(`leaver:${person}-3-leaver`);
  assert.equal(waiting?.steps.find((step) => step.name === 'grace_period')?.status, 'running');
  const next = await idflow.engine.ingest(
    { id: `${person}-4-mover`, type: 'user.updated', data: updated(person, 'Ordering', 'DISABLED', 'DISABLED', { title: 'Alumnus' }) },
    'test',
  );
  const nextRun = await idflow.finished(next.runs[0]?.runId ?? assert.fail('the second mover starts'));
  assert.equal(nextRun.status, 'completed');
  assert.equal((await idflow.engine.getRun(`leaver:${person}-3-leaver`))?.status, 'running', 'the leaver still waits');
});

/** A leaver of examples/leaver.yaml for a new person, waiting out its grace period. */
async function waitingLeaver(department: string): Promise<{ person: string; runId: string }> {
  const person = `u-${randomUUID().slice(0, 8)}`;
  const result = await idflow.engine.ingest(
    {
      id: `${person}-leaves`,
      type: 'user.deactivated',
      data: { oldUser: user(person, department, 'ENABLED'), newUser: user(person, department, 'DISABLED') },
    },
    'test',
  );
  const runId = result.runs.find((run) => run.automation === 'leaver')?.runId ?? assert.fail('the leaver starts');
  await until('the leaver to wait', async () => {
    const run = await idflow.engine.getRun(runId);
    return run?.steps.find((step) => step.name === 'grace_period')?.status === 'running' ? run : undefined;
  });
  return { person, runId };
}

test('a rehire cancels the waiting leaver with the reason; the deletion after the wait never runs', async () => {
  // One rehire event starts nothing (it reaches the waiting run alone), the other starts the rehire automation.
  const [quiet, loud] = await Promise.all([waitingLeaver('Finance'), waitingLeaver('Rehires')]);

  // A newer event about the person that cancelWhen is false of: the leaver keeps waiting.
  await idflow.engine.ingest(
    {
      id: `${quiet.person}-phone`,
      type: 'user.updated',
      data: updated(quiet.person, 'Finance', 'DISABLED', 'DISABLED', { phone: '+1 555' }),
    },
    'test',
  );
  const rehires = await Promise.all(
    [quiet, loud].map(({ person }, i) =>
      idflow.engine.ingest(
        { id: `${person}-rehired`, type: 'user.updated', data: updated(person, i === 0 ? 'Finance' : 'Rehires', 'DISABLED', 'ENABLED') },
        'test',
      ),
    ),
  );
  assert.deepEqual(
    rehires.map((result) => result.runs.map((run) => run.automation)),
    [[], ['rehire']],
  );

  for (const { person, runId } of [quiet, loud]) {
    const run = await idflow.finished(runId);
    const reason = `cancelled by event "${person}-rehired": cancelWhen (ctx.trigger.newUser.status == "ENABLED") is true`;
    assert.equal(run.status, 'cancelled');
    assert.equal(run.error, reason);
    const steps = Object.fromEntries(run.steps.map((step) => [step.name, step]));
    assert.equal(steps.notify_hr?.status, 'completed');
    assert.equal(steps.grace_period?.status, 'cancelled');
    assert.equal(steps.grace_period?.error, reason);
    assert.equal(steps.delete_account?.status, 'pending', 'the deletion never ran');
    assert.equal(steps.delete_account?.startedAt, undefined);
  }
  // The rehire's own run went once the leaver had stopped waiting.
  const rehireRun = await idflow.finished(rehires[1].runs[0]?.runId ?? assert.fail('the rehire starts'));
  assert.equal(rehireRun.status, 'completed');
});

test('a run waiting for its turn can be cancelled: it never starts', async () => {
  const person = `u-${randomUUID().slice(0, 8)}`;
  let release!: () => void;
  receiver.script({ status: 200, body: '{}', hold: new Promise<void>((resolve) => (release = resolve)) });
  const joiner = await idflow.engine.ingest(
    { id: `${person}-joins`, type: 'user.created', data: { newUser: user(person, 'Ordering', 'ENABLED') } },
    'test',
  );
  await until('the joiner to call (and be held)', () => (webhookCalls().some((call) => call.user === person) ? true : undefined));
  const mover = await idflow.engine.ingest(
    { id: `${person}-moves`, type: 'user.updated', data: updated(person, 'Ordering', 'ENABLED', 'ENABLED', { title: 'Lead' }) },
    'test',
  );
  const moverId = mover.runs[0]?.runId ?? assert.fail('the mover is queued');
  await idflow.engine.cancelRun(moverId, 'test');
  const cancelled = await idflow.finished(moverId);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal(cancelled.error, 'the run was cancelled before its turn');

  release();
  const joinerIds = joiner.runs.map((run) => run.runId);
  await Promise.all(joinerIds.map((runId) => idflow.finished(runId)));
  assert.deepEqual(
    webhookCalls().filter((call) => call.user === person),
    [{ flow: 'po-joiner', user: person }],
  );
  assert.equal((await idflow.engine.getRun(moverId))?.steps[0]?.status, 'pending', 'the cancelled mover never started');
});

test('cancelWhen is checked at apply time: CEL errors and unknown ctx keys are refused, naming the field', async () => {
  const flow = (cancelWhen: string): string =>
    `kind: Automation\nname: bad-cancel\ntrigger: { type: user.deactivated }\ncancelWhen: '${cancelWhen}'\nsteps:\n  - { name: pause, type: wait, with: { duration: 1d } }\n`;
  const apply = (yaml: string) => idflow.engine.apply([{ path: 'bad.yaml', content: yaml }], { dryRun: true, actor: 'test' });
  const unknown = await apply(flow('ctx.pause.waitedMs > 0'));
  assert.deepEqual(
    unknown.errors.map((e) => [e.path, e.message]),
    [['cancelWhen', 'cancelWhen refers to ctx.pause; only ctx.trigger and ctx.run are known when it is evaluated']],
  );
  const broken = await apply(flow('ctx.trigger.newUser.status =='));
  assert.equal(broken.errors[0]?.path, 'cancelWhen');
  assert.match(broken.errors[0]?.message ?? '', /^CEL .* error/);
  assert.deepEqual((await apply(flow('ctx.trigger.newUser.id == ctx.run.newUser.id'))).errors, []);
});

test('rescheduleWhen moves a waiting end date: earlier ends sooner, later keeps waiting past the first end', async () => {
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();
  const contractor = (person: string, endDate?: string): JsonObject => ({
    ...user(person, 'Contracts', 'ENABLED'),
    ...(endDate && { endDate }),
  });
  const setEnd = async (person: string, id: string, from: string | undefined, to: string) =>
    idflow.engine.ingest(
      { id, type: 'user.updated', data: { oldUser: contractor(person, from), newUser: contractor(person, to) } },
      'test',
    );
  const waiting = async (person: string, endDate: string) => {
    const result = await setEnd(person, `${person}-ends`, undefined, endDate);
    const runId = result.runs.find((run) => run.automation === 'contract-end')?.runId ?? assert.fail('the offboarding starts');
    await until(`${person} waits`, async () => ((await idflow.engine.getRun(runId))?.steps[0]?.status === 'running' ? true : undefined));
    return runId;
  };
  const sooner = `u-${randomUUID().slice(0, 8)}`;
  const later = `u-${randomUUID().slice(0, 8)}`;
  const firstSooner = at(3_600_000);
  const firstLater = at(3_000);
  const [soonerRun, laterRun] = await Promise.all([waiting(sooner, firstSooner), waiting(later, firstLater)]);

  // A newer event rescheduleWhen is false of (the end date unchanged) moves nothing.
  await setEnd(sooner, `${sooner}-same`, firstSooner, firstSooner);
  const movedSooner = at(1_000);
  await setEnd(sooner, `${sooner}-moved`, firstSooner, movedSooner);
  await setEnd(later, `${later}-moved`, firstLater, at(3_600_000));

  // An hour's wait moved to a second from now ends: the offboarding runs, its wait re-rendered.
  const done = await idflow.finished(soonerRun);
  assert.equal(done.status, 'completed', done.error);
  assert.equal((done.steps[0]?.input as JsonObject).until, movedSooner);
  assert.ok(webhookCalls().some((call) => call.flow === 'contract-end' && call.user === sooner));

  // A wait moved from three seconds to an hour is still waiting well after the three seconds.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(firstLater) - Date.now()) + 2_000));
  const still = await idflow.engine.getRun(laterRun);
  assert.equal(still?.status, 'running');
  assert.equal(still?.steps[0]?.status, 'running');
  assert.ok(
    !webhookCalls().some((call) => call.flow === 'contract-end' && call.user === later),
    'the offboarding did not run at the first end date',
  );
  await idflow.engine.cancelRun(laterRun, 'test');
});
