/**
 * Scheduled automations on native Temporal Schedules, on a real dev server: apply creates the
 * schedule with the right spec, zone and policies; fire times stay at 09:00 local across the
 * zone's next DST change (found from now, so the test never ages); trigger-now runs the
 * automation; pause, disable, enable and removing the schedule trigger are followed; invalid
 * schedules are refused at apply with file, line and field.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadDefinitions } from '../definitions/load.js';
import { scheduleIdFor } from '../engine/schedules.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { until } from './helpers/worker-process.js';

let idflow: TestEngine;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Minutes east of UTC in `timeZone` at `instant`, from the wall-clock time Intl shows for it. */
function utcOffsetMinutes(timeZone: string, instant: number): number {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const part = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  const wallClock = Date.UTC(part.year, part.month - 1, part.day, part.hour, part.minute);
  return Math.round((wallClock - instant) / 60_000);
}

/**
 * The next clock change in `timeZone` at least three days from now (so a schedule can start two
 * days before it, in the future): the UTC midnight of the first day on the new offset, and the
 * offsets (at noon UTC, after the night's change) before and after.
 */
function nextDstChange(timeZone: string): { day: number; before: number; after: number } {
  const firstDay = Math.floor(Date.now() / DAY) * DAY + 3 * DAY;
  for (let day = firstDay; day < firstDay + 400 * DAY; day += DAY) {
    const before = utcOffsetMinutes(timeZone, day - DAY + 12 * HOUR);
    const after = utcOffsetMinutes(timeZone, day + 12 * HOUR);
    if (before !== after) return { day, before, after };
  }
  throw new Error(`${timeZone} has no clock change within a year`);
}

/** A 09:00 daily schedule starting two days before the zone's next clock change, and its first three fire times. */
function morningsAcrossDst(timeZone: string): { startAt: string; expected: { at: string; local: string }[] } {
  const change = nextDstChange(timeZone);
  const expected = [-2, -1, 0].map((days) => {
    const day = change.day + days * DAY;
    const offset = days < 0 ? change.before : change.after;
    const hours = offset / 60;
    return {
      at: new Date(day + 9 * HOUR - offset * 60_000).toISOString(),
      local: `${new Date(day).toISOString().slice(0, 10)} 09:00 GMT${hours < 0 ? '-' : '+'}${Math.abs(hours)}`,
    };
  });
  return { startAt: new Date(change.day - 2 * DAY).toISOString(), expected };
}

const nyMornings = morningsAcrossDst('America/New_York');
const londonMornings = morningsAcrossDst('Europe/London');

const scheduled = (name: string, trigger: string) => `kind: Automation
name: ${name}
trigger:
${trigger
  .trim()
  .split('\n')
  .map((line) => `  ${line}`)
  .join('\n')}
steps:
  - { name: note, type: wait, with: { duration: 1ms } }
`;

before(async () => {
  idflow = await startTestEngine();
  await idflow.apply(
    [
      scheduled(
        'weekday-report',
        'type: schedule\ncron: "0 9 * * MON-FRI"\ntimezone: America/New_York\noverlap: buffer_one\ncatchupWindow: 1h\njitter: 5m',
      ),
      scheduled('ny-mornings', `type: schedule\ncron: "0 9 * * *"\ntimezone: America/New_York\nstartAt: "${nyMornings.startAt}"`),
      scheduled('london-mornings', `type: schedule\ncron: "0 9 * * *"\ntimezone: Europe/London\nstartAt: "${londonMornings.startAt}"`),
      scheduled('hourly', 'type: schedule\nevery: 1h'),
    ].join('---\n'),
  );
});

after(() => idflow?.stop());

const describeSchedule = (name: string) => idflow.client.schedule.getHandle(scheduleIdFor(name)).describe();

test('apply creates a Temporal Schedule whose spec, zone and policies match the definition', async () => {
  const description = await describeSchedule('weekday-report');
  assert.equal(description.spec.timezone, 'America/New_York');
  assert.equal(description.policies.overlap, 'BUFFER_ONE');
  assert.equal(description.policies.catchupWindow, 3_600_000);
  assert.equal(description.spec.jitter, 300_000);
  assert.equal(description.state.paused, false);
  assert.ok((description.spec.calendars ?? []).length > 0, 'the cron became calendar specs');
  assert.equal(description.action.type, 'startWorkflow');
  const hourly = await describeSchedule('hourly');
  assert.equal(hourly.spec.intervals?.[0]?.every, 3_600_000);
  assert.equal(hourly.spec.timezone, 'UTC', 'UTC by default');
});

test('09:00 schedules fire at 09:00 local on both sides of a DST change', async () => {
  const schedules = Object.fromEntries((await idflow.engine.schedules.list()).map((schedule) => [schedule.name, schedule]));
  for (const mornings of [nyMornings, londonMornings]) {
    const [, dayBefore, dayOf] = mornings.expected.map((fire) => Date.parse(fire.at));
    assert.notEqual(dayOf - dayBefore, DAY, 'the expected times straddle a clock change');
  }
  assert.deepEqual(schedules['ny-mornings'].nextFireTimes, nyMornings.expected);
  assert.deepEqual(schedules['london-mornings'].nextFireTimes, londonMornings.expected);
});

test('trigger-now runs the automation, with the tick in ctx.trigger', async () => {
  await idflow.engine.schedules.trigger('hourly');
  let runs = await idflow.store.runs.list({ automation: 'hourly' });
  for (let i = 0; i < 100 && runs.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    runs = await idflow.store.runs.list({ automation: 'hourly' });
  }
  assert.equal(runs.length, 1);
  const run = await idflow.finished(runs[0].runId);
  assert.equal(run.status, 'completed', run.error);
  assert.match(run.runId, /^hourly:scheduled-/);
  const trigger = run.trigger as { schedule: string; scheduledTime: string };
  assert.equal(trigger.schedule, 'hourly');
  assert.ok(!Number.isNaN(Date.parse(trigger.scheduledTime)), 'the scheduled time is in ctx.trigger');
});

test('pause / unpause, disable / enable and removing the schedule trigger are followed', async () => {
  await idflow.engine.schedules.setPaused('weekday-report', true);
  assert.equal((await describeSchedule('weekday-report')).state.paused, true);
  await idflow.engine.schedules.setPaused('weekday-report', false);
  assert.equal((await describeSchedule('weekday-report')).state.paused, false);

  await idflow.engine.setEnabled('weekday-report', false, 'test');
  assert.equal((await describeSchedule('weekday-report')).state.paused, true);
  await assert.rejects(idflow.engine.schedules.trigger('weekday-report'), /disabled/);
  await idflow.engine.setEnabled('weekday-report', true, 'test');
  assert.equal((await describeSchedule('weekday-report')).state.paused, false);

  await idflow.apply(scheduled('hourly', 'type: manual'));
  await assert.rejects(describeSchedule('hourly'), ScheduleNotFoundError);
});

test('reconcile converges Temporal with the store after a crash between the two', async () => {
  await idflow.client.schedule.getHandle(scheduleIdFor('ny-mornings')).delete();
  const stray = await idflow.client.schedule.create({
    scheduleId: scheduleIdFor('no-such-automation'),
    spec: { intervals: [{ every: '1h' }] },
    action: { type: 'startWorkflow', workflowType: 'automationRun', taskQueue: idflow.taskQueue, args: [] },
  });
  // Reconcile finds strays through Temporal's schedule list, which is eventually consistent: a
  // schedule left by a crash has long been listed; one made a moment ago may not be yet.
  await until('the stray schedule is listed', async () => {
    for await (const summary of idflow.client.schedule.list()) if (summary.scheduleId === stray.scheduleId) return true;
    return false;
  });
  await idflow.engine.schedules.reconcile();
  assert.equal((await describeSchedule('ny-mornings')).spec.timezone, 'America/New_York', 'the missing schedule is back');
  await assert.rejects(stray.describe(), ScheduleNotFoundError);
});

test('an invalid cron, an unknown zone, or both cron and every are refused at apply with file, line and field', () => {
  const errors = loadDefinitions(
    [
      { path: 'bad-cron.yaml', content: scheduled('bad-cron', 'type: schedule\ncron: "0 25 * * *"') },
      { path: 'bad-zone.yaml', content: scheduled('bad-zone', 'type: schedule\ncron: "0 9 * * *"\ntimezone: Mars/Olympus_Mons') },
      { path: 'both.yaml', content: scheduled('both', 'type: schedule\ncron: "0 9 * * *"\nevery: 1h') },
    ],
    { webhooks: [], automations: [] },
  ).errors;
  assert.deepEqual(
    errors.map((e) => [e.file, e.line, e.path]),
    [
      ['bad-cron.yaml', 5, 'trigger.cron'],
      ['bad-zone.yaml', 6, 'trigger.timezone'],
      ['both.yaml', 5, 'trigger.cron'],
    ],
  );
  assert.match(errors[0].message, /"0 25 \* \* \*" is not a valid cron expression/);
  assert.match(errors[1].message, /expected an IANA time zone/);
  assert.match(errors[2].message, /exactly one of "cron" or "every"/);
});
