/**
 * Plans through the API over a real store (no Temporal: a plan never reaches it): which
 * automations an event matches and why not, each step's rendered input and effects, later steps
 * seeing earlier planned effects, planSafe functions run with ctx.fetch refused, nested
 * run_automation plans with cycles stopped, an import's directory changes — and the store exactly
 * as it was afterwards, but for one audit entry per plan.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Plan, StepPlan } from '../core/plan.js';
import type { Scope } from '../store/types.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { Planner } from '../plan/planner.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

let api: OfflineApi;
let hits = 0;
let loopback: Server;
let loopbackUrl: string;

const DIRECTORY = `kind: Directory
apps:
  - slug: github
    entitlements: [{ slug: org-member }, { slug: engineering }, { slug: admins }]
  - slug: google
    entitlements: [{ slug: workspace }]
users:
  - { id: u-ada, email: ada@example.com, firstName: Ada, lastName: Lovelace, department: Engineering }
  - { id: u-bob, email: bob@example.com, firstName: Bob, lastName: Byte, department: Sales, manager: ada@example.com }
grants:
  - { user: u-bob, entitlement: github:admins }
  - { user: u-bob, entitlement: google:workspace }
`;

const FUNCTIONS = [
  { path: 'defs/upper.yaml', content: 'kind: Function\nname: upper\nfile: upper.ts\nplanSafe: true\n' },
  {
    path: 'defs/upper.ts',
    content: 'export default async function (input: { name: string }) {\n  return { upper: input.name.toUpperCase() };\n}\n',
  },
  { path: 'defs/unsafe.yaml', content: 'kind: Function\nname: unsafe\nfile: unsafe.ts\n' },
  { path: 'defs/unsafe.ts', content: 'export default async function () {\n  return { ticket: "T-1" };\n}\n' },
];

const automations = (fetchUrl: string) => `kind: Webhook
name: hook
url: https://hooks.example.com/in
---
kind: Function
name: fetcher
file: fetcher.ts
planSafe: true
allowedHosts: ["127.0.0.1"]
---
kind: Automation
name: leaver
trigger: { type: user.deactivated, condition: ctx.trigger.newUser.department == "Sales" }
steps:
  - name: grant_then
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [github:engineering] }
  - name: revoke
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", all: true, exclude: [google:workspace] }
  - name: disable
    type: modify_user_status
    with: { user: "{{ subject.id }}", status: DISABLED }
  - name: tell
    type: run_webhook
    with: { webhook: hook, payload: { revoked: "{{ ctx.revoke.revoked }}", who: "{{ subject.email }}" } }
  - name: later
    type: wait
    with: { duration: 2d }
---
kind: Automation
name: engineering-only
trigger: { type: user.deactivated, condition: ctx.trigger.newUser.department == "Engineering" }
steps:
  - name: noop
    type: wait
    with: { duration: 1s }
---
kind: Automation
name: broken-condition
trigger: { type: user.deactivated, condition: ctx.trigger.newUser.nosuch.field == "x" }
steps:
  - name: noop
    type: wait
    with: { duration: 1s }
---
kind: Automation
name: functions
trigger: { type: manual }
steps:
  - name: upper
    type: call_function
    with: { function: upper, input: { name: "{{ ctx.trigger.name }}" } }
  - name: unsafe
    type: call_function
    with: { function: unsafe }
  - name: uses_upper
    type: run_webhook
    with: { webhook: hook, payload: { name: "{{ ctx.upper.output.upper }}" } }
  - name: uses_unsafe
    type: run_webhook
    with: { webhook: hook, payload: { ticket: "{{ ctx.unsafe.output.ticket }}" } }
---
kind: Automation
name: fetching
trigger: { type: manual }
steps:
  - name: fetch
    type: call_function
    with: { function: fetcher, input: { url: "${fetchUrl}" } }
---
kind: Automation
name: parent
trigger: { type: manual }
steps:
  - name: child
    type: run_automation
    with: { automation: child, context: { who: "{{ ctx.trigger.who }}" } }
  - name: after_child
    type: run_webhook
    with: { webhook: hook, payload: { granted: "{{ ctx.child.steps.grant.granted }}" } }
---
kind: Automation
name: child
trigger: { type: manual }
steps:
  - name: grant
    type: grant_entitlements
    with: { user: "{{ ctx.trigger.who }}", entitlements: [github:org-member] }
---
kind: Automation
name: loop-a
trigger: { type: manual }
steps:
  - name: to_b
    type: run_automation
    with: { automation: loop-b }
---
kind: Automation
name: loop-b
trigger: { type: manual }
steps:
  - name: to_a
    type: run_automation
    with: { automation: loop-a }
`;

const tokens = new Map<string, string>();
async function token(...scopes: Scope[]): Promise<string> {
  const key = scopes.join('+');
  if (!tokens.has(key)) tokens.set(key, await api.store.tokens.create(`t-${key.replaceAll(':', '-')}`, scopes));
  return tokens.get(key) as string;
}

async function post(
  url: string,
  payload: unknown,
  scopes: Scope[],
): Promise<{ status: number; body: Plan & { error?: { message: string } } }> {
  const response = await api.app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${await token(...scopes)}` },
  });
  return { status: response.statusCode, body: response.json() };
}

const PLAN_EVENTS: Scope[] = ['plan', 'events:read'];
const PLAN_RUNS: Scope[] = ['plan', 'runs:read', 'functions:run'];

const bobLeaves = {
  type: 'user.deactivated',
  data: {
    oldUser: { id: 'u-bob', email: 'bob@example.com', department: 'Sales', status: 'ENABLED' },
    newUser: { id: 'u-bob', email: 'bob@example.com', department: 'Sales', status: 'DISABLED' },
  },
};

function step(plan: Plan, automation: string, name: string): StepPlan {
  const found = plan.events[0]?.automations.find((a) => a.name === automation)?.steps.find((s) => s.name === name);
  assert.ok(found, `${automation}.${name} is planned`);
  return found;
}

/** Everything a plan must leave as it was: the directory, events, runs, recorded effects, the outbox. */
async function storeSnapshot(): Promise<string> {
  const { store } = api;
  const directory = store.directory;
  return JSON.stringify({
    users: await directory.listUsers(),
    grants: await directory.listGrants({}),
    accounts: await directory.listAccounts({}),
    tasks: await directory.listTasks({}),
    campaigns: await directory.listCampaigns({}),
    delegates: await directory.listDelegates({}),
    outbox: await directory.outboxBacklog(),
    events: await store.events.list({ limit: 500 }),
    runs: await store.runs.list({ limit: 500 }),
  });
}

before(async () => {
  loopback = createServer((_request, response) => {
    hits++;
    response.end('{}');
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  loopbackUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/`;
  api = await startOfflineApi({
    env: { IDFLOW_MASTER_KEY: Buffer.alloc(32, 5).toString('base64'), IDFLOW_FUNCTIONS_PRIVATE_NETWORKS: '127.0.0.0/8' },
  });
  assert.deepEqual(
    (await api.engine.apply([{ path: 'defs/directory.yaml', content: DIRECTORY }], { dryRun: false, actor: 'test' })).errors,
    [],
  );
  const files = [
    { path: 'defs/automations.yaml', content: automations(loopbackUrl) },
    {
      path: 'defs/fetcher.ts',
      content:
        'export default async function (input: { url: string }, ctx: { fetch(url: string): Promise<unknown> }) {\n  await ctx.fetch(input.url);\n  return { fetched: true };\n}\n',
    },
    ...FUNCTIONS,
  ];
  const result = await api.engine.apply(files, { dryRun: false, actor: 'test' });
  assert.deepEqual(result.errors, []);
  // The directory document's own events stay pending in the outbox (no delivery runs here).
});

after(async () => {
  await api.close();
  await new Promise((resolve) => loopback.close(resolve));
});

describe('plan an event', () => {
  test('says which automations match and why the others do not', async () => {
    const { status, body } = await post('/v1/plan/events', bobLeaves, PLAN_EVENTS);
    assert.equal(status, 200, JSON.stringify(body));
    const outcomes = Object.fromEntries(body.events[0]?.automations.map((a) => [a.name, a]) ?? []);
    assert.equal(outcomes.leaver?.matched, true);
    assert.deepEqual([outcomes['engineering-only']?.matched, outcomes['engineering-only']?.reason], [false, 'condition is false']);
    assert.equal(outcomes['broken-condition']?.matched, false);
    assert.match(outcomes['broken-condition']?.reason ?? '', /^condition error: .*nosuch/);
  });

  test("each step's rendered input and concrete effects; later steps see earlier planned effects", async () => {
    const { body } = await post('/v1/plan/events', bobLeaves, PLAN_EVENTS);
    assert.deepEqual(step(body, 'leaver', 'grant_then').effects, [{ kind: 'grant', user: 'u-bob', entitlement: 'github:engineering' }]);
    // The revoke sees the grant planned just before it, and keeps what exclude names.
    const revoke = step(body, 'leaver', 'revoke');
    assert.deepEqual(revoke.input, { user: 'u-bob', all: true, exclude: ['google:workspace'] });
    assert.deepEqual(revoke.effects.map((e) => (e.kind === 'revoke' ? e.entitlement : e.kind)).sort(), [
      'github:admins',
      'github:engineering',
    ]);
    assert.deepEqual(step(body, 'leaver', 'disable').effects, [{ kind: 'status', user: 'u-bob', from: 'ENABLED', to: 'DISABLED' }]);
    // The webhook's payload is rendered from the revoke's planned output.
    const tell = step(body, 'leaver', 'tell');
    assert.equal(tell.effects[0]?.kind, 'webhook');
    assert.deepEqual(tell.effects[0], {
      kind: 'webhook',
      webhook: 'hook',
      // A URL can carry a credential: whole only for a token that may read webhooks.
      url: 'https://hooks.example.com/… (the path needs definitions:read)',
      payload: { revoked: (revoke.output as { revoked: string[] }).revoked, who: 'bob@example.com' },
    });
    const wait = step(body, 'leaver', 'later').effects[0];
    assert.equal(wait?.kind, 'wait');
    const until = Date.parse((wait as { until: string }).until);
    assert.ok(Math.abs(until - (Date.now() + 2 * 86_400_000)) < 60_000, 'the wait ends two days from now');
    // Disabling Bob emits user.deactivated, as the directory would: the leaver's second run is in the plan, as it would happen.
    const cascade = body.events[1];
    assert.deepEqual(
      [cascade?.event.type, cascade?.cause],
      ['user.deactivated', { source: 'step', automation: 'leaver', step: 'disable' }],
    );
    assert.match(body.summary.text, /^2 automations, 10 steps: \+2 grants, −3 grants, 1 user disabled, 2 webhooks, 2 waits/);
  });

  test('a token that may read webhooks sees their URLs whole', async () => {
    const { body } = await post('/v1/plan/events', bobLeaves, [...PLAN_EVENTS, 'definitions:read']);
    assert.equal((step(body, 'leaver', 'tell').effects[0] as { url: string }).url, 'https://hooks.example.com/in');
  });

  test('changes nothing: the store is as it was, with one audit entry "plan" naming who planned', async () => {
    const snapshot = await storeSnapshot();
    const audit = (await api.store.audit.list({ limit: 500 })).length;
    const { status } = await post('/v1/plan/events', bobLeaves, PLAN_EVENTS);
    assert.equal(status, 200);
    assert.equal(await storeSnapshot(), snapshot);
    const entries = await api.store.audit.list({ limit: 500 });
    assert.equal(entries.length, audit + 1);
    assert.equal(entries[0]?.action, 'plan');
    assert.equal(entries[0]?.actor, 't-plan+events-read');
    // Bob still holds what the plan revoked.
    assert.ok(
      await api.store.directory.getGrant('u-bob', (await api.store.directory.listGrants({ userId: 'u-bob' }))[0]?.entitlementId ?? ''),
    );
    assert.equal((await api.store.directory.getUser('u-bob'))?.status, 'ENABLED');
  });

  test('an event id received already is a 409: sending it again would start nothing', async () => {
    await api.store.events.insert({
      id: 'evt-seen',
      type: 'user.deactivated',
      occurredAt: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      data: bobLeaves.data,
    });
    const { status, body } = await post('/v1/plan/events', { ...bobLeaves, id: 'evt-seen' }, PLAN_EVENTS);
    assert.equal(status, 409);
    assert.match(body.error?.message ?? '', /event "evt-seen" was received already/);
    assert.equal((await post('/v1/plan/events', { ...bobLeaves, id: 'evt-new' }, PLAN_EVENTS)).status, 200);
  });

  test('an invalid event is a 400 naming the field, as POST /v1/events would answer', async () => {
    const { status, body } = await post('/v1/plan/events', { type: 'user.nope', data: {} }, PLAN_EVENTS);
    assert.equal(status, 400);
    assert.match(body.error?.message ?? '', /type/);
  });
});

describe('plan a run', () => {
  test('a planSafe function runs and later templates read its output; another is not run and what reads it is unknown', async () => {
    const { status, body } = await post('/v1/plan/runs', { automation: 'functions', context: { name: 'ada' } }, PLAN_RUNS);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(step(body, 'functions', 'upper').effects, [
      { kind: 'function', function: 'upper', ran: true, output: { upper: 'ADA' } },
    ]);
    const unsafe = step(body, 'functions', 'unsafe');
    assert.equal(unsafe.unknown, true);
    assert.match(unsafe.reason ?? '', /not marked planSafe/);
    assert.deepEqual(step(body, 'functions', 'uses_upper').input, { webhook: 'hook', payload: { name: 'ADA' } });
    const usesUnsafe = step(body, 'functions', 'uses_unsafe');
    assert.equal(usesUnsafe.unknown, true);
    assert.match(usesUnsafe.reason ?? '', /reads ctx\.unsafe/);
    assert.deepEqual(usesUnsafe.effects, []);
  });

  test('without functions:run no function runs in a plan', async () => {
    const { body } = await post('/v1/plan/runs', { automation: 'functions', context: { name: 'ada' } }, ['plan', 'runs:read']);
    const upper = step(body, 'functions', 'upper');
    assert.equal(upper.unknown, true);
    assert.match(upper.reason ?? '', /functions:run/);
  });

  test("a planSafe function's ctx.fetch is refused: nothing reaches the network", async () => {
    hits = 0;
    const { body } = await post('/v1/plan/runs', { automation: 'fetching', context: {} }, PLAN_RUNS);
    const fetched = step(body, 'fetching', 'fetch');
    assert.ok(fetched.error, `the call fails: ${JSON.stringify(fetched)}`);
    assert.equal(hits, 0, 'the loopback server saw no request');
  });

  test("run_automation is the child's own plan, its effects seen by the parent's later steps", async () => {
    const { body } = await post('/v1/plan/runs', { automation: 'parent', context: { who: 'u-ada' } }, PLAN_RUNS);
    const child = step(body, 'parent', 'child').effects[0];
    assert.equal(child?.kind, 'run_automation');
    assert.deepEqual(child?.kind === 'run_automation' ? child.plan?.steps.map((s) => s.effects) : undefined, [
      [{ kind: 'grant', user: 'u-ada', entitlement: 'github:org-member' }],
    ]);
    assert.deepEqual(step(body, 'parent', 'after_child').input, { webhook: 'hook', payload: { granted: ['github:org-member'] } });
  });

  test('a cycle of run_automation is stopped where the run would fail', async () => {
    const { body } = await post('/v1/plan/runs', { automation: 'loop-a', context: {} }, PLAN_RUNS);
    const toB = step(body, 'loop-a', 'to_b').effects[0];
    assert.ok(toB?.kind === 'run_automation' && toB.plan);
    const toA = toB.plan.steps[0];
    assert.match(toA?.error ?? '', /cycle: loop-a → loop-b → loop-a/);
    assert.match(toA?.effects[0]?.kind === 'run_automation' ? (toA.effects[0].stopped ?? '') : '', /cycle/);
  });

  test('an unknown automation is a 404 naming it', async () => {
    const { status, body } = await post('/v1/plan/runs', { automation: 'nope', context: {} }, PLAN_RUNS);
    assert.equal(status, 404);
    assert.match(body.error?.message ?? '', /"nope"/);
  });
});

describe('limits', () => {
  test('a plan stops at its limits and its summary says what was left out', async () => {
    const planner = (limits: { events: number; steps: number }) =>
      new Planner({
        directory: api.store.directory,
        match: async (type, data, now) => (await api.engine.triggerIndex()).match(type, data, now),
        automation: async () => undefined,
        functions: api.engine.functions,
        runFunctions: false,
        webhookUrls: false,
        adapters: { env: {}, store: api.store },
        limits,
      });
    const events = Array.from({ length: 3 }, () => bobLeaves);
    const byEvents = await planner({ events: 2, steps: 1_000 }).planEvents(events);
    assert.equal(byEvents.events.length, 2);
    assert.match(byEvents.summary.truncated ?? '', /planned the first 2 events; \d+ more were left out/);
    const bySteps = await planner({ events: 1_000, steps: 3 }).planEvents(events);
    assert.equal(bySteps.summary.steps, 3);
    assert.match(bySteps.summary.truncated ?? '', /planned the first 3 steps/);
    assert.equal((await planner({ events: 1_000, steps: 1_000 }).planEvents([bobLeaves])).summary.truncated, undefined);
  });
});

describe('replay', () => {
  test('an event a candidate newly matches comes with the plan of what the candidate would do with it', async () => {
    const at = new Date().toISOString();
    await api.store.events.insert({ id: 'evt-replayed', type: 'user.deactivated', occurredAt: at, receivedAt: at, data: bobLeaves.data });
    const candidate = `kind: Automation
name: engineering-only
trigger: { type: user.deactivated }
steps:
  - name: revoke
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", entitlements: [github:admins] }
`;
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/replay',
      payload: { file: { path: 'engineering-only.yaml', content: candidate }, events: ['evt-replayed'] },
      headers: { authorization: `Bearer ${await token('plan', 'definitions:read', 'events:read', 'runs:read')}` },
    });
    assert.equal(response.statusCode, 200, response.body);
    const [report] = (response.json() as { replays: { newlyMatched: { id: string; plan?: { steps: StepPlan[] } }[] }[] }).replays;
    assert.deepEqual(
      report?.newlyMatched.map((event) => event.id),
      ['evt-replayed'],
    );
    assert.deepEqual(report?.newlyMatched[0]?.plan?.steps[0]?.effects, [{ kind: 'revoke', user: 'u-bob', entitlement: 'github:admins' }]);
  });
});

describe('plan an import', () => {
  const feed = [
    'id,email,firstName,lastName,department,status,managerEmail',
    'u-ada,ada@example.com,Ada,Lovelace,Engineering,ENABLED,',
    'u-bob,bob@example.com,Bob,Byte,Sales,DISABLED,ada@example.com',
    'u-cy,cy@example.com,Cy,Press,Sales,ENABLED,',
    'u-bad,not-an-email,Bad,Row,Sales,ENABLED,',
  ].join('\n');

  const planImport = async (scopes: Scope[]) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/plan/imports?file=feed.csv',
      payload: feed,
      headers: { authorization: `Bearer ${await token(...scopes)}`, 'content-type': 'text/csv' },
    });
    return { status: response.statusCode, body: response.json() as Plan };
  };

  test('the directory changes with field diffs, then the automations their events start', async () => {
    const snapshot = await storeSnapshot();
    const { status, body } = await planImport(['plan', 'directory:read']);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      body.directory?.created.map((c) => c.id),
      ['u-cy'],
    );
    assert.deepEqual(body.directory?.deactivated, [
      { id: 'u-bob', reason: 'status DISABLED', changes: [{ field: 'status', from: 'ENABLED', to: 'DISABLED' }] },
    ]);
    assert.equal(body.directory?.errors[0]?.line, 5);
    const leaver = body.events.find((e) => e.event.type === 'user.deactivated')?.automations.find((a) => a.name === 'leaver');
    assert.equal(leaver?.matched, true);
    // The import made Bob DISABLED already: the step changes nothing more.
    assert.deepEqual(leaver?.steps.find((s) => s.name === 'disable')?.effects, []);
    assert.match(body.summary.text, /\+1 (person|people)/);
    assert.equal(await storeSnapshot(), snapshot, 'nothing imported');
  });
});

describe('idflow plan', () => {
  let dir: string;
  before(async () => {
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    process.env.IDFLOW_URL = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    process.env.IDFLOW_TOKEN = await token('plan', 'events:read', 'runs:read', 'directory:read');
    dir = await mkdtemp(join(tmpdir(), 'idflow-plan-'));
    await writeFile(join(dir, 'bob.json'), JSON.stringify(bobLeaves.data));
    await writeFile(
      join(dir, 'feed.csv'),
      'id,email,firstName,lastName,department,status\nu-new,new@example.com,New,Person,Sales,ENABLED\n',
    );
  });
  after(async () => {
    delete process.env.IDFLOW_URL;
    delete process.env.IDFLOW_TOKEN;
    await rm(dir, { recursive: true, force: true });
  });

  test('plan event prints the tree in the order things would happen, and the summary line last', async () => {
    const result = await runCli(['plan', 'event', 'user.deactivated', '--data', `@${join(dir, 'bob.json')}`]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    assert.ok(at(/grant .*github:engineering/) < at(/revoke .*github:admins/), 'the grant before the revoke');
    assert.ok(at(/revoke .*github:admins/) < at(/ENABLED → DISABLED/));
    assert.match(lines.at(-1) ?? '', /^2 automations, 10 steps: \+2 grants, −3 grants/);
    assert.match(result.stdout, /engineering-only.*condition is false/);
  });

  test('plan event --json prints the plan document', async () => {
    const result = await runCli(['plan', 'event', 'user.deactivated', '--data', `@${join(dir, 'bob.json')}`, '--json']);
    const plan = JSON.parse(result.stdout) as Plan;
    assert.deepEqual(Object.keys(plan).sort(), ['events', 'summary']);
    assert.equal(plan.events[0]?.event.type, 'user.deactivated');
  });

  test('plan import shows the directory changes first, then the runs; plan run a manual automation', async () => {
    const imported = await runCli(['plan', 'import', join(dir, 'feed.csv')]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /u-new/);
    const run = await runCli(['plan', 'run', 'child', '--context', '{"who":"u-ada"}']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /github:org-member/);
    const missing = await runCli(['plan', 'run', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /automation "nope" does not exist/);
  });
});
