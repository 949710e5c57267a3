/**
 * Replay of recorded events against a candidate version (POST /v1/replay, `idflow replay`,
 * `idflow apply --plan`) over a real store and API, no Temporal: a month of events recorded
 * with their matches and runs, then replayed against changed conditions and templates. The
 * expected outcome of every event is computed here, independently of the replay: the lists must
 * be exactly the events (and runs, and fields) whose outcome changes.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../core/json.js';
import { EventReplay, MAX_PLANNED_EVENTS, type ReplayResult } from '../engine/replay.js';
import type { ReplayReport } from '../engine/replay-report.js';
import { markdownText } from '../steps/send_email.js';
import type { AuditEntry } from '../store/types.js';
import { perUserData } from '../triggers/events.js';
import { runCli } from './helpers/cli.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

let api: OfflineApi;
let url: string;
let token: string;

const WEBHOOK = 'kind: Webhook\nname: hook\nurl: https://hooks.example.com/in\n';
/** On every user.created event, with no condition. */
const EVERYONE = `kind: Automation
name: everyone
trigger: { type: user.created }
steps:
  - name: hello
    type: send_email
    with: { to: "{{ subject.email }}", subject: Hello, message: Hello }
`;

/** The joiner flow; `condition`, the welcome `subject` and the steps after welcome vary between candidates. */
function joiner(options: { condition?: string; subject?: string; after?: string } = {}): string {
  const condition = options.condition ?? 'ctx.trigger.newUser.department == "Engineering"';
  const subject = options.subject ?? 'Welcome {{ ctx.trigger.newUser.firstName }}';
  const rest =
    options.after ??
    `  - name: notify
    type: run_webhook
    with: { webhook: hook, payload: { user: "{{ ctx.trigger.user.email }}", sent: "{{ ctx.welcome.messageId }}" } }
`;
  return `kind: Automation
name: joiner
trigger:
  type: user.created
  condition: ${JSON.stringify(condition)}
steps:
  - name: welcome
    type: send_email
    with:
      to: "{{ subject.email }}"
      subject: ${JSON.stringify(subject)}
      message: "Hello **{{ ctx.trigger.newUser.firstName }}**, from {{ ctx.trigger.newUser.country }}"
${rest}`;
}

interface Recorded {
  id: string;
  receivedAt: number;
  user: { id: string; email: string; firstName: string; department: string; country: string; startDate: string };
  /** THEN: what the event's matches say. */
  then: 'matched' | 'not-matched' | 'not-in-force' | 'unprocessed' | 'not-started';
  runId?: string;
  /** The run failed at its first step: its second never started. */
  failed?: boolean;
}

const DEPARTMENTS = ['Engineering', 'Sales', 'Support'];
/** 60 user.created events over the last 30 days, 6 older ones, and user.updated events beside them. */
const recorded: Recorded[] = [];

function fixture(i: number, receivedAt: number): Recorded {
  const department = DEPARTMENTS[i % 3] as string;
  const user = {
    id: `u-${i}`,
    email: `person${i}@example.com`,
    firstName: i % 5 === 0 ? 'Jean-Luc' : `Ada${i}`,
    department,
    country: i % 4 === 0 ? 'FR' : 'US',
    // Within a week of the event's arrival for odd i, ten days after it for even i.
    startDate: new Date(receivedAt + (i % 2 === 1 ? 3 : 10) * DAY).toISOString(),
  };
  const engineering = department === 'Engineering';
  const then: Recorded['then'] =
    i === 54 ? 'unprocessed' : i % 10 === 7 ? 'not-in-force' : !engineering ? 'not-matched' : i === 18 ? 'not-started' : 'matched';
  return { id: `evt-${i}`, receivedAt, user, then, ...(then === 'matched' && { runId: `joiner:evt-${i}`, failed: i === 30 }) };
}

/** What v1's welcome and notify steps were given for the event (v1 rendered them). */
function recordedInputs(event: Recorded): { welcome: JsonObject; notify: JsonObject } {
  const { user } = event;
  return {
    welcome: {
      to: user.email,
      subject: `Welcome ${user.firstName}`,
      message: `Hello **${markdownText(user.firstName)}**, from ${markdownText(user.country)}`,
    },
    notify: { webhook: 'hook', payload: { user: user.email, sent: `<m-${event.id}@mail>` } },
  };
}

async function record(event: Recorded): Promise<void> {
  const { store } = api;
  const data: JsonObject = { newUser: event.user };
  const at = new Date(event.receivedAt).toISOString();
  await store.events.insert({ id: event.id, type: 'user.created', occurredAt: at, receivedAt: at, data });
  if (event.then === 'unprocessed') return;
  const matches =
    event.then === 'not-in-force'
      ? []
      : event.then === 'not-matched'
        ? [{ automation: 'joiner', version: 1, matched: false, reason: 'condition is false' }]
        : event.then === 'not-started'
          ? [{ automation: 'joiner', version: 1, matched: true, error: 'the run could not be started: unavailable' }]
          : [{ automation: 'joiner', version: 1, matched: true, runId: event.runId }];
  await store.events.setMatches(event.id, matches);
  if (!event.runId) return;
  const { runId } = event;
  const steps = [
    { name: 'welcome', type: 'send_email' },
    { name: 'notify', type: 'run_webhook' },
  ];
  await store.runs.start({ runId, automation: 'joiner', version: 1, trigger: data, eventId: event.id, startedAt: at, steps });
  const inputs = recordedInputs(event);
  await store.runs.stepStarted(runId, 'welcome', inputs.welcome, 1);
  if (event.failed) {
    await store.runs.stepFinished(runId, 'welcome', { status: 'failed', error: 'SMTP refused' });
    await store.runs.finish(runId, 'failed', 'step "welcome" (send_email) failed: SMTP refused');
    return;
  }
  await store.runs.stepFinished(runId, 'welcome', { status: 'completed', output: { messageId: `<m-${event.id}@mail>` } });
  await store.runs.stepStarted(runId, 'notify', inputs.notify, 1);
  await store.runs.lastStepCompleted(runId, 'notify', { status: 200 });
}

const adminHeaders = () => ({ authorization: `Bearer ${token}` });

async function replay(
  body: object,
): Promise<{ status: number; json: ReplayResult & { error?: { code: string; message: string; details?: unknown } } }> {
  const response = await api.app.inject({ method: 'POST', url: '/v1/replay', headers: adminHeaders(), payload: body });
  return { status: response.statusCode, json: response.json() };
}

async function replayOne(body: object): Promise<ReplayReport> {
  const { status, json } = await replay(body);
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.replays.length, 1);
  return json.replays[0] as ReplayReport;
}

const inLast = (days: number) => (event: Recorded) => event.receivedAt >= Date.now() - days * DAY;
const sortedIds = (events: { id: string }[]) => events.map((event) => event.id).sort();
const matchedThen = (event: Recorded) => event.then === 'matched' || event.then === 'not-started';

before(async () => {
  api = await startOfflineApi();
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  const address = api.app.server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  token = await api.store.tokens.create('replayer', ['admin']);
  const applied = await api.engine.apply(
    [
      { path: 'hook.yaml', content: WEBHOOK },
      { path: 'joiner.yaml', content: joiner() },
    ],
    { dryRun: false, actor: 'setup' },
  );
  assert.ok(applied.ok, JSON.stringify(applied.errors));
  const now = Date.now();
  for (let i = 0; i < 60; i++) recorded.push(fixture(i, now - i * 12 * HOUR - HOUR));
  // Older than the default window: they would change too, but a 30-day replay must not see them.
  for (let i = 60; i < 66; i++) recorded.push(fixture(i, now - (35 + (i - 60) * 5) * DAY));
  for (const event of recorded) await record(event);
  // Another type in the window: never seen by a user.created automation.
  for (let i = 0; i < 5; i++) {
    const at = new Date(now - i * DAY - HOUR).toISOString();
    await api.store.events.insert({
      id: `upd-${i}`,
      type: 'user.updated',
      occurredAt: at,
      receivedAt: at,
      data: { newUser: { department: 'Engineering' } },
    });
    await api.store.events.setMatches(`upd-${i}`, []);
  }
});

after(async () => {
  await api?.close();
});

describe('POST /v1/replay', () => {
  test('the version in force against its own month: nothing changes but the events it was not in force for', async () => {
    const report = await replayOne({ automation: 'joiner' });
    const month = recorded.filter(inLast(30));
    assert.deepEqual(report.candidate, { source: 'stored', version: 1 });
    assert.equal(report.summary.seen, month.length, 'every user.created event of the last 30 days, and no other');
    assert.equal(report.summary.matchedThen, month.filter(matchedThen).length);
    const notThen = month.filter((event) => !matchedThen(event) && event.user.department === 'Engineering');
    assert.ok(notThen.length >= 2, 'the fixture has Engineering events the automation was not in force for');
    assert.deepEqual(sortedIds(report.newlyMatched), sortedIds(notThen));
    assert.deepEqual(report.noLongerMatched, []);
    const runs = month.filter((event) => event.runId);
    assert.equal(report.summary.runsCompared, runs.length);
    // Rendered again with the recorded outputs, the step type's Markdown escaping and the subject alias, every input is equal.
    assert.deepEqual(report.inputsDiffer, []);
    const unprocessed = report.newlyMatched.find((event) => event.id === 'evt-54');
    assert.match(unprocessed?.then ?? '', /never matched/);
    assert.match(report.newlyMatched.find((event) => event.id === 'evt-27')?.then ?? '', /was not in force/);
  });

  test('a changed condition (a file not applied): exactly the events whose outcome changes, judged as when they arrived', async () => {
    const condition =
      'ctx.trigger.newUser.department in ["Engineering", "Support"] && ctx.trigger.newUser.country != "FR" && timestamp(ctx.trigger.newUser.startDate) - now() < duration("168h")';
    const report = await replayOne({ file: { path: 'defs/joiner.yaml', content: joiner({ condition }) } });
    assert.deepEqual(report.candidate, { source: 'file', file: 'defs/joiner.yaml', line: 1, version: 2, changed: true });
    // now() is the event's arrival: a start date within a week of it, not of today (every start date is past by now).
    const now = (event: Recorded) =>
      ['Engineering', 'Support'].includes(event.user.department) &&
      event.user.country !== 'FR' &&
      Date.parse(event.user.startDate) - event.receivedAt < 7 * DAY;
    const month = recorded.filter(inLast(30));
    const newly = month.filter((event) => now(event) && !matchedThen(event));
    const noLonger = month.filter((event) => !now(event) && matchedThen(event));
    assert.ok(newly.length >= 5 && noLonger.length >= 5, `the fixture changes both ways (${newly.length}, ${noLonger.length})`);
    assert.deepEqual(sortedIds(report.newlyMatched), sortedIds(newly));
    assert.deepEqual(sortedIds(report.noLongerMatched), sortedIds(noLonger));
    assert.equal(report.summary.matchedNow, month.filter(now).length);
    assert.equal(report.summary.newlyMatched, newly.length);
    assert.equal(report.summary.noLongerMatched, noLonger.length);
    const older = recorded.filter((event) => !inLast(30)(event)).map((event) => event.id);
    for (const listed of [...report.newlyMatched, ...report.noLongerMatched])
      assert.ok(!older.includes(listed.id), `${listed.id} is outside the window`);
    // Then's side of an event no longer matched: its run and outcome, or why it never started.
    const failed = report.noLongerMatched.find((event) => event.id === 'evt-30');
    assert.deepEqual(failed && { runId: failed.runId, outcome: failed.outcome }, { runId: 'joiner:evt-30', outcome: 'failed' });
    const unstarted = report.noLongerMatched.find((event) => event.id === 'evt-18');
    assert.match(unstarted?.error ?? '', /could not be started/);
    assert.equal(unstarted?.outcome, undefined);
    assert.equal(report.noLongerMatched.find((event) => event.id === 'evt-0')?.now, 'condition is false');
    assert.equal((await api.store.definitions.current('Automation', 'joiner'))?.version, 1, 'the file was not applied');
  });

  test('a changed step template: exactly the runs whose inputs differ, with the fields', async () => {
    const subject = 'Welcome {{ ctx.trigger.newUser.firstName }}{{ ctx.trigger.newUser.country == "FR" ? " (FR)" : "" }}';
    const applied = await api.engine.apply([{ path: 'joiner.yaml', content: joiner({ subject }) }], { dryRun: false, actor: 'test' });
    assert.ok(applied.ok && applied.applied[0]?.version === 2, JSON.stringify(applied));
    const report = await replayOne({ automation: 'joiner' });
    assert.deepEqual(report.candidate, { source: 'stored', version: 2 });
    const month = recorded.filter(inLast(30));
    const french = month.filter((event) => event.runId && event.user.country === 'FR');
    assert.ok(french.length >= 2 && french.length < month.filter((event) => event.runId).length);
    assert.deepEqual(report.inputsDiffer.map((run) => run.runId).sort(), french.map((event) => event.runId).sort());
    for (const run of report.inputsDiffer) {
      const event = recorded.find((candidate) => candidate.runId === run.runId) as Recorded;
      assert.deepEqual(run.changes, [
        { field: 'welcome.with.subject', then: `Welcome ${event.user.firstName}`, now: `Welcome ${event.user.firstName} (FR)` },
      ]);
      assert.deepEqual([run.added, run.removed, run.unrendered], [[], [], []]);
      assert.equal(run.eventId, event.id);
    }
    assert.equal(report.summary.inputsDiffer, french.length);
    // The version before is the recorded one: nothing differs.
    assert.deepEqual((await replayOne({ automation: 'joiner', version: 1 })).inputsDiffer, []);
  });

  test('steps added and removed, and a step whose input reads an added step', async () => {
    const after = `  - name: audit
    type: run_webhook
    with: { webhook: hook, payload: { id: "{{ ctx.welcome.messageId }}" } }
  - name: notify
    type: run_webhook
    with: { webhook: hook, payload: { user: "{{ subject.email }}", sent: "{{ ctx.audit.status }}" } }
`;
    const report = await replayOne({ file: { path: 'joiner.yaml', content: joiner({ after }) }, since: '10d' });
    const compared = recorded.filter(inLast(10)).filter((event) => event.runId);
    assert.equal(report.summary.runsCompared, compared.length);
    const completed = compared.filter((event) => !event.failed);
    assert.deepEqual(report.inputsDiffer.map((run) => run.runId).sort(), compared.map((event) => event.runId).sort());
    for (const run of report.inputsDiffer) {
      assert.deepEqual(run.added, ['audit']);
      assert.deepEqual(run.removed, []);
      // notify never started in a failed run: nothing to compare it with.
      const reached = completed.some((event) => event.runId === run.runId);
      assert.deepEqual(
        run.unrendered.map((step) => step.step),
        reached ? ['notify'] : [],
      );
      if (reached) assert.match(run.unrendered[0]?.error ?? '', /audit/);
    }
    const without = await replayOne({ file: { path: 'joiner.yaml', content: joiner({ after: '' }) }, since: '10d' });
    for (const run of without.inputsDiffer) assert.deepEqual([run.added, run.removed, run.changes], [[], ['notify'], []]);
    assert.equal(without.inputsDiffer.length, compared.length);
  });

  test('events named by id, whatever their age', async () => {
    const report = await replayOne({ automation: 'joiner', version: 1, events: ['evt-62', 'evt-27', 'evt-3'] });
    assert.deepEqual(report.window, { events: 3 });
    assert.equal(report.summary.seen, 3);
    assert.deepEqual(sortedIds(report.newlyMatched), ['evt-27'], 'Engineering, and the automation was not in force then');
    assert.equal(report.summary.runsCompared, 1, "evt-3's run");
    // 45 and 50 days old: outside any default window, replayed when named.
    const condition = 'ctx.trigger.newUser.department != "Engineering"';
    const old = await replayOne({ file: { path: 'j.yaml', content: joiner({ condition }) }, events: ['evt-64', 'evt-63'] });
    assert.deepEqual(sortedIds(old.newlyMatched), ['evt-64'], 'Sales');
    assert.deepEqual(sortedIds(old.noLongerMatched), ['evt-63'], 'Engineering, matched then');
  });

  test('errors name what is wrong: 404 for an unknown automation, version or event, 422 at file:line, 400 for the window', async () => {
    const unknown = await replay({ automation: 'nobody' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error?.message, 'automation "nobody" does not exist');
    const version = await replay({ automation: 'joiner', version: 9 });
    assert.equal(version.status, 404);
    assert.equal(version.json.error?.message, 'automation "joiner" has no version 9');
    const event = await replay({ automation: 'joiner', events: ['evt-1', 'evt-none'] });
    assert.equal(event.status, 404);
    assert.match(event.json.error?.message ?? '', /no recorded event "evt-none"/);
    const otherType = await replay({ automation: 'joiner', events: ['upd-1'] });
    assert.equal(otherType.status, 400);
    assert.match(
      otherType.json.error?.message ?? '',
      /"upd-1" is a user\.updated event: automation "joiner" is triggered by user\.created/,
    );

    const bad = await replay({ file: { path: 'defs/bad.yaml', content: joiner({ condition: 'ctx.trigger.newUser.department ==' }) } });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error?.code, 'INVALID_DEFINITIONS');
    assert.match(
      bad.json.error?.message ?? '',
      /^1 error in the candidate, nothing was replayed: defs\/bad\.yaml:5:\d+: trigger\.condition: /,
    );
    assert.deepEqual(
      (bad.json.error?.details as { file: string; line: number; path: string }[]).map((e) => [e.file, e.line, e.path]),
      [['defs/bad.yaml', 5, 'trigger.condition']],
    );
    const notInFile = await replay({ automation: 'other', file: { path: 'j.yaml', content: joiner() } });
    assert.equal(notInFile.status, 404);
    assert.equal(notInFile.json.error?.message, 'automation "other" is not in the file set (it has joiner)');

    const cases: [object, RegExp][] = [
      [{ automation: 'joiner', since: '401d' }, /^body\.since: a replay reads at most the last 400d of events$/],
      [{ automation: 'joiner', since: 'a month' }, /^body\.since: expected a duration such as/],
      [{ automation: 'joiner', events: Array.from({ length: 1001 }, (_, i) => `e-${i}`) }, /^body\.events: /],
      [{ automation: 'joiner', since: '7d', events: ['evt-1'] }, /^body\.events: give since or events, not both$/],
      [{ since: '7d' }, /^body\.automation: name a stored automation, or give a file/],
      [
        { automation: 'joiner', version: 1, file: { path: 'j.yaml', content: joiner() } },
        /^body\.version: a version names a stored automation/,
      ],
      [{ automation: 'Not A Name' }, /^body\.automation: use lowercase letters/],
    ];
    for (const [body, message] of cases) {
      const refused = await replay(body);
      assert.equal(refused.status, 400, JSON.stringify(body).slice(0, 200));
      assert.equal(refused.json.error?.code, 'VALIDATION');
      assert.match(refused.json.error?.message ?? '', message);
    }
  });

  test('a replay writes one audit entry per automation replayed, and nothing else', async () => {
    const snapshot = async () => ({
      events: await api.store.events.list({ limit: 500 }),
      runs: await api.store.runs.list({ limit: 500 }),
      definitions: await api.store.definitions.history('Automation', 'joiner'),
      generation: await api.store.definitions.generation(),
    });
    const before = await snapshot();
    const audited = (await api.store.audit.list({ limit: 500 })).length;
    await replayOne({ automation: 'joiner', since: '14d' });
    await replayOne({ file: { path: 'x.yaml', content: joiner({ condition: 'true' }) }, events: ['evt-3'] });
    assert.deepEqual(await snapshot(), before, 'no event, run or definition written');
    const entries = (await api.store.audit.list({ limit: 500 })).slice(0, -audited || undefined);
    const shape = (entry: AuditEntry) => ({ actor: entry.actor, action: entry.action, target: entry.target, details: entry.details });
    const window = (entries[1]?.details as { window: { from: string; to: string } }).window;
    assert.deepEqual(entries.map(shape), [
      {
        actor: 'replayer',
        action: 'automation.replay',
        target: 'Automation/joiner',
        details: { candidate: { source: 'file', file: 'x.yaml', line: 1, version: 3, changed: true }, window: { events: 1 }, seen: 1 },
      },
      {
        actor: 'replayer',
        action: 'automation.replay',
        target: 'Automation/joiner',
        details: {
          candidate: { source: 'stored', version: 2 },
          window: { since: '14d', ...window },
          seen: recorded.filter(inLast(14)).length,
        },
      },
    ]);
    assert.equal(Date.parse(window.to) - Date.parse(window.from), 14 * DAY);
  });

  test("the planner is asked about the first newly matched events, newest first; its failure is the event's own", async () => {
    assert.ok((await api.engine.apply([{ path: 'everyone.yaml', content: EVERYONE }], { dryRun: false, actor: 'test' })).ok);
    const asked: string[] = [];
    const replays = new EventReplay({
      store: api.store,
      load: () => Promise.reject(new Error('a stored candidate loads no files')),
      planEvent: async (event, automation) => {
        asked.push(event.id);
        if (event.id === 'evt-1') throw new Error('the planner broke');
        return { name: automation.name, version: automation.version, matched: true, steps: [] };
      },
    });
    const [report] = (await replays.replay({ automation: 'everyone' }, 'test')).replays;
    const month = recorded.filter(inLast(30));
    assert.equal(report?.newlyMatched.length, month.length, 'in force for none of them then, matching all now');
    const first = month.slice(0, MAX_PLANNED_EVENTS).map((event) => event.id);
    assert.deepEqual(asked, first, 'the newest first, and no more');
    assert.deepEqual(report?.newlyMatched[0]?.plan, { name: 'everyone', version: 1, matched: true, steps: [] });
    assert.equal(report?.newlyMatched[1]?.planError, 'the planner broke');
    assert.equal(report?.newlyMatched.filter((event) => event.plan).length, MAX_PLANNED_EVENTS - 1);
    assert.ok(report?.newlyMatched.slice(MAX_PLANNED_EVENTS).every((event) => !('plan' in event) && !('planError' in event)));
  });
});

describe('idflow replay and idflow apply --plan, through the API', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idflow-replay-'));
    process.env.IDFLOW_URL = url;
    process.env.IDFLOW_TOKEN = token;
  });

  after(async () => {
    delete process.env.IDFLOW_URL;
    delete process.env.IDFLOW_TOKEN;
    await rm(dir, { recursive: true, force: true });
  });

  /** Support events now, Engineering ones no longer: expected from the fixture, newest first. */
  const supportInstead = (days: number) => {
    const window = recorded.filter(inLast(days));
    return {
      seen: window.length,
      then: window.filter(matchedThen).length,
      now: window.filter((event) => event.user.department === 'Support').length,
      newly: window.filter((event) => event.user.department === 'Support' && !matchedThen(event)).map((event) => event.id),
      noLonger: window.filter((event) => event.user.department !== 'Support' && matchedThen(event)).map((event) => event.id),
    };
  };
  const condition = 'ctx.trigger.newUser.department == "Support"';

  test('idflow replay --file: the counts, the ids and the runs on a terminal; --json has the whole report', async () => {
    const path = join(dir, 'joiner.yaml');
    await writeFile(path, joiner({ condition }));
    const text = await runCli(['replay', '--file', path, '--since', '10d']);
    assert.equal(text.code, 0, text.stderr);
    const expected = supportInstead(10);
    assert.ok(expected.newly.length > 0 && expected.noLonger.length > 0);
    const lines = text.stdout.split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^replay of joiner from ${relative(process.cwd(), path).replaceAll('.', '\\.')}:1 \\(would be v3\\) against user\\.created events of the last 10d \\(\\S+ → \\S+\\)$`,
      ),
    );
    assert.deepEqual(lines.slice(1), [
      `  ${expected.seen} seen · ${expected.then} matched then · ${expected.now} matched now`,
      `  + ${expected.newly.length} newly matched: ${expected.newly.join(', ')}`,
      `  − ${expected.noLonger.length} no longer matched: ${expected.noLonger.join(', ')}`,
      '  ≠ 0 runs whose step inputs would differ (of 0 compared)',
    ]);
    const json = await runCli(['replay', '--file', path, '--since', '10d', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const result = JSON.parse(json.stdout) as ReplayResult;
    assert.deepEqual(result.unchanged, []);
    assert.deepEqual(
      result.replays.map((report) => [report.automation, report.newlyMatched.map((e) => e.id), report.noLongerMatched.map((e) => e.id)]),
      [['joiner', expected.newly, expected.noLonger]],
    );
  });

  test('idflow replay --automation --events, and the runs whose inputs differ', async () => {
    const ids = recorded.filter((event) => event.runId && !event.failed && event.user.country === 'FR').map((event) => event.id);
    const text = await runCli(['replay', '--automation', 'joiner', '--events', ids.join(',')]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.split('\n');
    assert.equal(lines[0], `replay of joiner v2 against ${ids.length} named events`);
    assert.ok(lines.includes(`  ≠ ${ids.length} runs whose step inputs would differ (of ${ids.length} compared)`), text.stdout);
    for (const id of ids) assert.ok(lines.includes(`      joiner:${id}: welcome.with.subject`), `${id} in\n${text.stdout}`);
  });

  test('idflow replay errors: an unknown automation, a file with errors at file:line, a missing candidate', async () => {
    const unknown = await runCli(['replay', '--automation', 'nobody']);
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'idflow: automation "nobody" does not exist']);
    const path = join(dir, 'bad.yaml');
    await writeFile(path, joiner({ condition: 'ctx.trigger.newUser.department ==' }));
    const bad = await runCli(['replay', '--file', path]);
    assert.equal(bad.code, 1);
    const [located, summary] = bad.stderr.split('\n');
    assert.match(located ?? '', new RegExp(`^${relative(process.cwd(), path).replaceAll('.', '\\.')}:5:\\d+: trigger\\.condition: `));
    assert.equal(summary, 'idflow: 1 error in the candidate; nothing was replayed');
    const none = await runCli(['replay', '--since', '3d']);
    assert.deepEqual([none.code, none.stderr], [2, 'idflow: give --automation NAME or --file PATH']);
    const window = await runCli(['replay', '--automation', 'joiner', '--since', '500d']);
    assert.deepEqual([window.code, window.stderr], [1, 'idflow: body.since: a replay reads at most the last 400d of events']);
  });

  test('idflow apply --plan: the new and changed automations against the last 7 days; nothing is applied', async () => {
    const set = join(dir, 'set');
    await mkdir(set);
    await writeFile(join(set, 'hook.yaml'), WEBHOOK);
    await writeFile(join(set, 'joiner.yaml'), joiner({ condition }));
    await writeFile(join(set, 'everyone.yaml'), EVERYONE);
    const plan = await runCli(['apply', '--plan', set]);
    assert.equal(plan.code, 0, plan.stderr);
    const expected = supportInstead(7);
    const lines = plan.stdout.split('\n');
    const listed = (ids: string[]) =>
      ids.slice(0, 10).join(', ') + (ids.length > 10 ? ` … and ${ids.length - 10} more (--json lists all)` : '');
    assert.equal(lines[0], '= unchanged Automation/everyone');
    assert.match(lines[1] ?? '', /^replay of joiner from \S+joiner\.yaml:1 \(would be v3\) against user\.created events of the last 7d /);
    assert.deepEqual(lines.slice(2), [
      `  ${expected.seen} seen · ${expected.then} matched then · ${expected.now} matched now`,
      `  + ${expected.newly.length} newly matched: ${listed(expected.newly)}`,
      `  − ${expected.noLonger.length} no longer matched: ${listed(expected.noLonger)}`,
      '  ≠ 0 runs whose step inputs would differ (of 0 compared)',
      'nothing was applied',
    ]);
    assert.equal((await api.store.definitions.current('Automation', 'joiner'))?.version, 2, 'joiner was not applied');
    const longer = await runCli(['apply', '--plan', set, '--since', '30d']);
    const month = supportInstead(30);
    assert.ok(month.noLonger.length > 10, 'more than ten to list');
    assert.ok(longer.stdout.includes(`  − ${month.noLonger.length} no longer matched: ${listed(month.noLonger)}`), longer.stdout);
    await writeFile(
      join(set, 'joiner.yaml'),
      joiner({ subject: 'Welcome {{ ctx.trigger.newUser.firstName }}{{ ctx.trigger.newUser.country == "FR" ? " (FR)" : "" }}' }),
    );
    const same = await runCli(['apply', '--plan', set]);
    assert.deepEqual(same.stdout.split('\n'), [
      '= unchanged Automation/everyone',
      '= unchanged Automation/joiner',
      'no new or changed automation: nothing to replay; nothing was applied',
    ]);
  });
});

describe('scheduled automations: their recorded ticks', () => {
  const tickAt = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY).toISOString();

  async function recordTick(automation: string, scheduledTime: string, forEachUser?: string): Promise<string> {
    const runId = `${automation}:scheduled-${scheduledTime}`;
    const tick = { schedule: automation, scheduledTime };
    await api.store.runs.start({
      runId,
      automation,
      version: 1,
      trigger: forEachUser ? { ...tick, forEachUser } : tick,
      startedAt: scheduledTime,
      steps: forEachUser ? [{ name: 'for_each_user', type: 'for_each_user' }] : [{ name: 'digest', type: 'send_email' }],
    });
    return runId;
  }

  async function recordUserRun(tickRunId: string, scheduledTime: string, user: JsonObject): Promise<void> {
    const runId = `${tickRunId}.${String(user.id)}`;
    const trigger = perUserData({ schedule: 'expiry', scheduledTime }, user);
    await api.store.runs.start({
      runId,
      automation: 'expiry',
      version: 1,
      trigger,
      parentRunId: tickRunId,
      startedAt: scheduledTime,
      steps: [{ name: 'warn', type: 'send_email' }],
    });
    await api.store.runs.stepStarted(
      runId,
      'warn',
      { to: String(user.email), subject: `Expiring: ${String(user.email)}`, message: 'soon' },
      1,
    );
    await api.store.runs.lastStepCompleted(runId, 'warn', { messageId: `<${runId}>` });
  }

  const expiry = (forEachUser: string, subject: string) => `kind: Automation
name: expiry
trigger: { type: schedule, cron: "0 9 * * *", forEachUser: ${JSON.stringify(forEachUser)} }
steps:
  - name: warn
    type: send_email
    with: { to: "{{ subject.email }}", subject: ${JSON.stringify(subject)}, message: soon }
`;

  test('forEachUser: the users each tick ran for, beside those the candidate selects in the directory now', async () => {
    const people = [
      { id: 'u-e1', email: 'e1@example.com', department: 'Engineering' },
      { id: 'u-p1', email: 'p1@example.com', department: 'Support' },
      { id: 'u-s1', email: 's1@example.com', department: 'Sales' },
      { id: 'u-s2', email: 's2@example.com', department: 'Sales' },
    ];
    const directory = `kind: Directory\nusers:\n${people.map((p) => `  - { id: ${p.id}, email: ${p.email}, department: ${p.department} }`).join('\n')}\n`;
    assert.ok((await api.engine.apply([{ path: 'people.yaml', content: directory }], { dryRun: false, actor: 'test' })).ok);
    const then = 'subject.department == "Sales"';
    const [older, newer, outside] = [tickAt(2), tickAt(1), tickAt(40)];
    const olderTick = await recordTick('expiry', older, then);
    // u-e1 was in Sales at the older tick and has moved since.
    for (const user of [{ ...people[0], department: 'Sales' }, people[2]]) await recordUserRun(olderTick, older, user as JsonObject);
    const newerTick = await recordTick('expiry', newer, then);
    for (const user of [people[2], people[3]]) await recordUserRun(newerTick, newer, user as JsonObject);
    await recordUserRun(await recordTick('expiry', outside, then), outside, people[2] as JsonObject);
    // A run by hand is no tick.
    await api.store.runs.start({
      runId: 'expiry:manual-1',
      automation: 'expiry',
      version: 1,
      trigger: {},
      startedAt: tickAt(1),
      steps: [],
    });

    const report = await replayOne({
      file: { path: 'expiry.yaml', content: expiry('subject.department in ["Sales", "Support"]', 'Expiring soon: {{ subject.email }}') },
      since: '30d',
    });
    assert.equal(report.trigger, 'schedule');
    assert.deepEqual(
      report.ticks?.map((tick) => [tick.runId, tick.scheduledTime, tick.forEachUser]),
      [
        [newerTick, newer, { then: 2, now: 3, newlySelected: ['u-p1'], noLongerSelected: [], evaluationErrors: 0 }],
        [olderTick, older, { then: 2, now: 3, newlySelected: ['u-p1', 'u-s2'], noLongerSelected: ['u-e1'], evaluationErrors: 0 }],
      ],
    );
    assert.deepEqual(report.summary, {
      seen: 2,
      matchedThen: 4,
      matchedNow: 6,
      newlyMatched: 3,
      noLongerMatched: 1,
      runsCompared: 3,
      inputsDiffer: 3,
    });
    assert.deepEqual(
      report.inputsDiffer.map((run) => run.runId).sort(),
      [`${newerTick}.u-s1`, `${newerTick}.u-s2`, `${olderTick}.u-s1`].sort(),
    );
    for (const run of report.inputsDiffer) {
      const email = run.runId.endsWith('u-s1') ? 's1@example.com' : 's2@example.com';
      assert.deepEqual(run.changes, [{ field: 'warn.with.subject', then: `Expiring: ${email}`, now: `Expiring soon: ${email}` }]);
    }
    const same = await replayOne({ file: { path: 'expiry.yaml', content: expiry(then, 'Expiring: {{ subject.email }}') } });
    assert.deepEqual([same.summary.newlyMatched, same.summary.noLongerMatched, same.summary.inputsDiffer], [1, 1, 0]);
  });

  test("without forEachUser: each tick's own step inputs, its trigger as recorded", async () => {
    const digest = (subject: string) => `kind: Automation
name: digest
trigger: { type: schedule, every: 1d }
steps:
  - name: digest
    type: send_email
    with: { to: ops@example.com, subject: ${JSON.stringify(subject)}, message: daily }
`;
    const times = [tickAt(3), tickAt(2), tickAt(1)];
    for (const scheduledTime of times) {
      const runId = await recordTick('digest', scheduledTime);
      await api.store.runs.stepStarted(
        runId,
        'digest',
        { to: 'ops@example.com', subject: `Digest of ${scheduledTime}`, message: 'daily' },
        1,
      );
      await api.store.runs.lastStepCompleted(runId, 'digest', {});
    }
    const unchanged = await replayOne({ file: { path: 'digest.yaml', content: digest('Digest of {{ ctx.trigger.scheduledTime }}') } });
    assert.deepEqual([unchanged.summary.seen, unchanged.summary.runsCompared, unchanged.summary.inputsDiffer], [3, 3, 0]);
    const changed = await replayOne({
      file: { path: 'digest.yaml', content: digest('Daily digest ({{ ctx.trigger.schedule }})') },
      since: '2d12h',
    });
    assert.deepEqual(
      changed.inputsDiffer.map((run) => run.changes),
      times
        .slice(1)
        .reverse()
        .map((time) => [{ field: 'digest.with.subject', then: `Digest of ${time}`, now: 'Daily digest (digest)' }]),
    );
    const events = await replay({ file: { path: 'digest.yaml', content: digest('x') }, events: ['evt-1'] });
    assert.deepEqual(
      [events.status, events.json.error?.message],
      [400, 'automation "digest" runs on a schedule: replay its ticks with since, not events'],
    );
  });
});
