/**
 * `forEachUser` fan-out on a real dev server: a scheduled tick selects directory users with CEL
 * and runs the automation once per matching user, as child runs with bounded concurrency; the
 * tick pages through the users and continues as new, so its history stays small; a user whose
 * run fails, or whose data the CEL cannot evaluate, does not stop the others.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { importFeed, parseFeed } from '../directory/import.js';
import { loadDefinitions } from '../definitions/load.js';
import type { RunRecord } from '../store/types.js';
import { FAN_OUT_PAGE_SIZE, FAN_OUT_STEP } from '../workflows/for-each-user.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let idflow: TestEngine;

const DAY_MS = 86_400_000;
const isoDate = (offsetDays: number) => new Date(Date.now() + offsetDays * DAY_MS).toISOString().slice(0, 10);

/** 1,000 contractors ending within the week (the users to select), 150 ending later, 50 employees. */
function people(): { csv: string; expected: Set<string> } {
  const rows = ['id,email,firstName,lastName,department,managerEmail,employmentType,status,endDate'];
  const expected = new Set<string>();
  for (let i = 1; i <= 1200; i++) {
    const id = `u-${String(i).padStart(4, '0')}`;
    const [type, endDate] = i <= 1000 ? ['CONTRACTOR', isoDate(3)] : i <= 1150 ? ['CONTRACTOR', isoDate(60)] : ['FULL_TIME', ''];
    if (i <= 1000) expected.add(id);
    rows.push(`${id},${id}@acme.example,First${i},Last${i},Engineering,,${type},ENABLED,${endDate}`);
  }
  return { csv: rows.join('\n'), expected };
}

const contractorsEnding = `kind: Automation
name: contractors-ending
trigger:
  type: schedule
  cron: "0 9 1 1 *"
  timezone: America/New_York
  forEachUser: subject.employmentType == "CONTRACTOR" && has(subject.endDate) && time.parse(subject.endDate, TimeFormat.DATE) - now() < duration("168h")
  forEachUserConcurrency: 8
steps:
  - { name: disable, type: modify_user_status, with: { user: "{{ subject.id }}", status: DISABLED } }
`;

/** The tick's run, once the schedule has started it. */
async function tickOf(automation: string): Promise<RunRecord> {
  for (let i = 0; i < 200; i++) {
    const tick = (await idflow.store.runs.list({ automation, limit: 500 })).find((run) => run.parentRunId === undefined);
    if (tick) return tick;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no tick of ${automation} started`);
}

/** The most runs whose [start, end] intervals overlap at one instant. */
function peakOverlap(runs: RunRecord[]): number {
  const edges = runs.flatMap((run) => [
    { at: Date.parse(run.startedAt), delta: 1 },
    { at: Date.parse(run.endedAt as string), delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let peak = 0;
  for (const edge of edges) peak = Math.max(peak, (current += edge.delta));
  return peak;
}

before(async () => {
  // The fan-out's mechanics over 1,000 people: the blast-radius guard (test/guard.test.ts) would rightly hold most of them.
  idflow = await startTestEngine({ env: { IDFLOW_GUARD_RUNS_PER_HOUR: 'off', IDFLOW_GUARD_STEP_EFFECTS_PER_HOUR: 'off' } });
  const { csv } = people();
  const report = await importFeed(idflow.engine.directory, await parseFeed('people.csv', csv), { source: 'test' });
  assert.equal(report.errors.length, 0, JSON.stringify(report.errors.slice(0, 3)));
  // Data the import would refuse, as another system might have left it: the CEL cannot parse its date.
  const odd = await idflow.store.directory.getUser('u-1200');
  await idflow.store.directory.putUser({
    ...(odd as NonNullable<typeof odd>),
    id: 'u-1201',
    email: 'u-1201@acme.example',
    employmentType: 'CONTRACTOR',
    endDate: 'soon',
  });
});

after(() => idflow?.stop());

test(
  'a fan-out over 1,000 users runs once per matching user, with at most forEachUserConcurrency runs at once',
  { timeout: 600_000 },
  async () => {
    const { expected } = people();
    await idflow.apply(contractorsEnding);
    await idflow.engine.schedules.trigger('contractors-ending');
    const tick = await tickOf('contractors-ending');
    const finished = await idflow.engine.waitForRun(tick.runId, 540_000);
    assert.equal(finished.status, 'completed', finished.error);

    const tally = finished.steps.find((step) => step.name === FAN_OUT_STEP)?.output as Record<string, unknown>;
    assert.equal(tally.matched, 1000);
    assert.equal(tally.completed, 1000);
    assert.equal(tally.failed, 0);
    assert.equal(tally.scanned, 1201, 'every user was looked at once');
    // Four full pages, then one that scans the rest and finds no more.
    assert.equal(tally.pages, 1000 / FAN_OUT_PAGE_SIZE + 1, 'one page per continue-as-new');
    assert.equal(tally.evaluationErrors, 1, 'the malformed end date is skipped, not fatal');
    assert.deepEqual(
      (tally.evaluationErrorSamples as { userId: string }[]).map((sample) => sample.userId),
      ['u-1201'],
    );

    // Each user's run has a known id (tick run id + user id): look every user up.
    const children: RunRecord[] = [];
    for (let i = 1; i <= 1201; i++) {
      const userId = `u-${String(i).padStart(4, '0')}`;
      const run = await idflow.store.runs.get(`${tick.runId}.${userId}`);
      assert.equal(run !== undefined, expected.has(userId), `${userId} ${expected.has(userId) ? 'has' : 'has no'} run`);
      if (run) children.push(run);
    }
    assert.equal(children.length, 1000);
    for (const run of children) {
      assert.equal(run.status, 'completed', run.error);
      assert.equal(run.parentRunId, tick.runId);
      assert.equal(
        run.runId,
        `${tick.runId}.${(run.trigger as { user: { id: string } }).user.id}`,
        'ctx.trigger.user is the user the run is for',
      );
    }
    const child = children[0];
    assert.equal((child.trigger as { schedule: string }).schedule, 'contractors-ending');
    assert.ok(Date.parse((child.trigger as { scheduledTime: string }).scheduledTime) > 0, 'each run sees the tick time');

    const peak = peakOverlap(children);
    assert.ok(peak <= 8, `at most 8 user runs at once, saw ${peak}`);
    assert.ok(peak >= 2, `the user runs ran side by side (peak ${peak})`);

    const disabled = (await idflow.store.directory.listUsers({ status: 'DISABLED' })).map((user) => user.id);
    assert.deepEqual(new Set(disabled), expected, 'the steps acted on the selected users and no one else');

    // Continue-as-new kept each history to about one page of children.
    const histories: number[] = [];
    for await (const execution of idflow.client.workflow.list({ query: `WorkflowId = "${tick.runId}"` })) {
      const history = await idflow.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      histories.push(history.events?.length ?? 0);
    }
    assert.equal(histories.length, tally.pages);
    assert.ok(Math.max(...histories) < FAN_OUT_PAGE_SIZE * 10, `largest history ${Math.max(...histories)} events`);
  },
);

test("a user's failed run does not stop the others: the tick fails naming them, after everyone ran", { timeout: 120_000 }, async () => {
  // The first three users and u-1201, whose manager is missing: rendering "{{ subject.managerId }}" fails for them.
  await idflow.apply(`kind: Automation
name: notify-managers
trigger:
  type: schedule
  cron: "0 9 1 1 *"
  forEachUser: subject.id in ["u-0001", "u-0002", "u-0003"]
steps:
  - { name: enable_manager, type: modify_user_status, with: { user: "{{ subject.managerId }}", status: ENABLED } }
`);
  await idflow.engine.schedules.trigger('notify-managers');
  const tick = await idflow.engine.waitForRun((await tickOf('notify-managers')).runId, 60_000);
  assert.equal(tick.status, 'failed');
  assert.match(tick.error ?? '', /3 of 3 users' runs failed \(first: u-0001, u-0002, u-0003\)/);
  const children = await idflow.store.runs.list({ parentRunId: tick.runId });
  assert.equal(children.length, 3);
  assert.ok(
    children.every((run) => run.status === 'failed' && /managerId/.test(run.error ?? '')),
    children.map((run) => run.error).join('; '),
  );
});

test('forEachUser is checked at apply: a CEL error, a ctx reference and a stray concurrency say file, line and field', () => {
  const automation = (name: string, trigger: string) =>
    `kind: Automation\nname: ${name}\ntrigger:\n  type: schedule\n  cron: "0 9 * * *"\n${trigger}\nsteps:\n  - { name: pause, type: wait, with: { duration: 1ms } }\n`;
  const { errors } = loadDefinitions(
    [
      { path: 'syntax.yaml', content: automation('syntax', '  forEachUser: subject.status ==') },
      { path: 'ctx.yaml', content: automation('ctx', '  forEachUser: ctx.lookup.ok') },
      { path: 'stray.yaml', content: automation('stray', '  forEachUserConcurrency: 5') },
      { path: 'too-many.yaml', content: automation('too-many', '  forEachUser: "true"\n  forEachUserConcurrency: 1000') },
    ],
    { webhooks: [], automations: [] },
  );
  assert.deepEqual(
    errors.map((error) => [error.file, error.line, error.path]),
    [
      ['ctx.yaml', 6, 'trigger.forEachUser'],
      ['stray.yaml', 6, 'trigger.forEachUserConcurrency'],
      ['syntax.yaml', 6, 'trigger.forEachUser'],
      ['too-many.yaml', 7, 'trigger.forEachUserConcurrency'],
    ],
  );
  assert.match(errors[0].message, /ctx\.lookup/);
  assert.match(errors[1].message, /only applies together with forEachUser/);
  assert.match(errors[2].message, /CEL .* error/);
});
