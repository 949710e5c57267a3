/**
 * Outbound provisioning over SCIM, end to end: the examples of examples/connectors/provisioning/ applied to
 * a real engine (Temporal, a worker, the store under test), provisioning into python-scim's
 * scim2-server on loopback — an app nobody here wrote — read back directly from it. A loopback
 * proxy in front of the app answers for it where a test needs an app's failure (a 503, a 400).
 * A joiner gets one SCIM user and their groups, a mover changes teams, a leaver is deactivated and
 * re-activated; the app's 4xx fails a step at once with its SCIM detail, a 503 is retried; drift
 * made behind idflow's back is found and fixed by `idflow directory reconcile`; the token shows
 * nowhere.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { automationScopes } from '../api/scopes.js';
import { buildApiServer } from '../api/server.js';
import { main } from '../cli/main.js';
import type { Account } from '../directory/types.js';
import type { ReconcileReport } from '../provisioning/types.js';
import type { RunRecord, Scope } from '../store/types.js';
import { capturingLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startScimProxy, type ScimProxy } from './helpers/scim-proxy.js';
import { startScimServer, type ScimServer } from './helpers/scim-tools.js';
import { readRows } from './helpers/store.js';
import { until } from './helpers/worker-process.js';

let app: ScimServer;
let proxy: ScimProxy;
let idflow: TestEngine;
let api: FastifyInstance;
const logs = capturingLogger();
/** Another app's token, wrong for scim2-server: what a 401 does. */
const WRONG_TOKEN = 'wrong-token-4a8f0d3c9e';

const example = (name: string): string => fileURLToPath(new URL(`../examples/connectors/provisioning/${name}`, import.meta.url));

/** The examples as written, the app's base URL pointed at the proxy. */
async function examples(): Promise<string> {
  const files = ['directory.yaml', 'joiner.yaml', 'mover.yaml', 'leaver.yaml'];
  const texts = await Promise.all(files.map((file) => readFile(example(file), 'utf8')));
  return texts.join('\n---\n').replace('baseUrl: http://127.0.0.1:8090', `baseUrl: ${proxy.url}`);
}

/** A manual automation running one step with the run's context as its `with`. */
const manual = (name: string, type: string, withBlock: string): string => `
kind: Automation
name: ${name}
trigger: { type: manual }
steps:
  - name: the_step
    type: ${type}
    retry: { initialInterval: 100ms }
    with: ${withBlock}
`;

interface ScimUserResource {
  id: string;
  userName: string;
  externalId?: string;
  active?: boolean;
}

/** The app's answer to a request made directly, not through idflow or the proxy. */
async function scim<T>(path: string, init: { method?: string; body?: object } = {}): Promise<T> {
  const response = await fetch(`${app.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/scim+json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  assert.ok(response.ok, `${init.method ?? 'GET'} ${path}: ${response.status} ${await response.clone().text()}`);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

async function scimUsers(): Promise<ScimUserResource[]> {
  return (await scim<{ Resources?: ScimUserResource[] }>('/Users?count=1000')).Resources ?? [];
}

/** The app's users with this externalId (a directory user id). */
async function usersOf(userId: string): Promise<ScimUserResource[]> {
  return (await scimUsers()).filter((user) => user.externalId === userId);
}

/** The members of the app's group named so, as externalIds (or userNames), sorted; undefined when the app has no such group. */
async function members(displayName: string): Promise<string[] | undefined> {
  const query = new URLSearchParams({ filter: `displayName eq ${JSON.stringify(displayName)}` });
  const [group] = (await scim<{ Resources?: { id: string }[] }>(`/Groups?${query}`)).Resources ?? [];
  if (!group) return undefined;
  const full = await scim<{ members?: { value: string }[] }>(`/Groups/${group.id}`);
  const users = new Map((await scimUsers()).map((user) => [user.id, user.externalId ?? user.userName]));
  return (full.members ?? []).map((member) => users.get(member.value) ?? member.value).sort();
}

const patch = (operations: object[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations });

async function cli<T>(...args: string[]): Promise<{ code: number; output: T }> {
  const out: string[] = [];
  const code = await main(args, { out: (text) => out.push(text), err: (text) => out.push(text) });
  return { code, output: (args.includes('--json') ? JSON.parse(out.join('\n')) : out.join('\n')) as T };
}

/** Waits for `count` runs of the automation to end; the runs, oldest first. */
async function runsOf(automation: string, count: number): Promise<RunRecord[]> {
  let runs: RunRecord[] = [];
  await until(`${count} ${automation} runs ended`, async () => {
    runs = await idflow.store.runs.list({ automation, limit: 100 });
    return runs.length >= count && runs.every((run) => run.status !== 'running');
  });
  return runs.reverse();
}

async function runManually(automation: string, context: Record<string, string>): Promise<RunRecord> {
  const run = await idflow.engine.runManually(automation, context, 'test');
  return idflow.finished(run.runId);
}

const accountOf = async (userId: string): Promise<Account | undefined> =>
  (await idflow.store.directory.listAccounts({ userId })).find((account) => account.app === 'github');

before(async () => {
  app = await startScimServer();
  proxy = await startScimProxy(app.url);
  idflow = await startTestEngine({
    env: { GITHUB_SCIM_TOKEN: app.token, OTHER_SCIM_TOKEN: WRONG_TOKEN, IDFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') },
    logger: logs.logger,
  });
  await idflow.apply(await examples());
  await idflow.apply(
    [
      manual('create-github-account', 'create_account', '{ app: github, user: "{{ ctx.trigger.user }}" }'),
      manual('set-status', 'modify_user_status', '{ user: "{{ ctx.trigger.user }}", status: "{{ ctx.trigger.status }}" }'),
      manual('reconcile-github', 'reconcile_app', '{ app: github }'),
      manual('create-gitlab-account', 'create_account', '{ app: gitlab, user: "{{ ctx.trigger.user }}" }'),
      manual('create-sealed-account', 'create_account', '{ app: github-sealed, user: "{{ ctx.trigger.user }}" }'),
      `
kind: Directory
apps:
  - slug: gitlab
    provisioning: { scim: { baseUrl: "${proxy.url}", token: { env: OTHER_SCIM_TOKEN } } }
  - slug: github-sealed
    provisioning: { scim: { baseUrl: "${proxy.url}", token: { secret: SCIM_TOKEN } } }
`,
    ].join('\n---\n'),
  );
  api = await buildApiServer({ engine: idflow.engine });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  process.env.IDFLOW_URL = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  process.env.IDFLOW_TOKEN = await idflow.store.tokens.create('provisioning-test', ['admin']);
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  await api?.close();
  await idflow?.stop();
  await proxy?.close();
  await app?.stop();
});

test('joiners get one SCIM user each, active, in the groups of their grants; the account records the app id', async () => {
  await idflow.apply(`
kind: Directory
users:
  - { id: u-1, email: ada@acme.example, firstName: Ada, lastName: Lovelace, department: Engineering }
  - { id: u-2, email: alan@acme.example, firstName: Alan, lastName: Turing, department: Sales }
`);
  const runs = await runsOf('provisioning-joiner', 2);
  for (const run of runs) assert.equal(run.status, 'completed', run.error);

  const [ada] = await usersOf('u-1');
  assert.deepEqual(
    (await usersOf('u-1')).map((user) => [user.userName, user.active]),
    [['ada', true]],
  );
  assert.equal((await usersOf('u-2')).length, 1);
  assert.deepEqual(await members('Org Members'), ['u-1', 'u-2']);
  assert.deepEqual(await members('Engineering'), ['u-1']);
  assert.deepEqual(await members('sales-engineering'), ['u-2'], 'an entitlement without a mapping is the group named by its slug');
  assert.equal(await members('member'), undefined, 'Slack is recorded only: nothing reaches the SCIM app');

  const account = await accountOf('u-1');
  assert.equal(account?.appUserId, ada?.id, "the account records the app's id");
  const steps = Object.fromEntries(runs[0]?.steps.map((step) => [step.name, step.output]) ?? []);
  assert.deepEqual(steps.github_account, {
    created: true,
    account,
    apps: {
      github: { provisioned: { via: 'scim', appUserId: ada?.id, operations: [{ operation: 'createAccount', outcome: 'created' }] } },
    },
  });
  assert.deepEqual((steps.access as { apps: unknown }).apps, {
    github: {
      provisioned: {
        via: 'scim',
        appUserId: ada?.id,
        operations: [
          { operation: 'addToGroup', group: 'Org Members', outcome: 'added' },
          { operation: 'addToGroup', group: 'Engineering', outcome: 'added' },
        ],
      },
    },
    slack: { recordOnly: true },
  });
});

test("a mover leaves the old department's team and joins the new one's", async () => {
  await idflow.apply(`
kind: Directory
users:
  - { id: u-1, email: ada@acme.example, firstName: Ada, lastName: Lovelace, department: Sales }
`);
  const [run] = await runsOf('provisioning-mover', 1);
  assert.equal(run?.status, 'completed', run?.error);
  assert.deepEqual(await members('Engineering'), []);
  assert.deepEqual(await members('sales-engineering'), ['u-1', 'u-2']);
  assert.deepEqual(await members('Org Members'), ['u-1', 'u-2']);
  assert.equal((await usersOf('u-1')).length, 1);
});

test('a leaver is deactivated in the app and leaves its groups; re-enabling re-activates the account', async () => {
  await idflow.apply(`
kind: Directory
users:
  - { id: u-2, email: alan@acme.example, firstName: Alan, lastName: Turing, department: Sales, status: DISABLED }
`);
  const [run] = await runsOf('provisioning-leaver', 1);
  assert.equal(run?.status, 'completed', run?.error);
  assert.deepEqual(
    (await usersOf('u-2')).map((user) => user.active),
    [false],
  );
  assert.deepEqual(await members('Org Members'), ['u-1']);
  assert.deepEqual(await members('sales-engineering'), ['u-1']);
  assert.equal((await accountOf('u-2'))?.status, 'APP_USER_STATUS_DISABLED');
  assert.deepEqual((run?.steps[0]?.output as { apps: unknown }).apps, {
    github: {
      provisioned: {
        via: 'scim',
        appUserId: (await usersOf('u-2'))[0]?.id,
        operations: [{ operation: 'disableAccount', outcome: 'deactivated' }],
      },
    },
  });

  const enabled = await runManually('set-status', { user: 'u-2', status: 'ENABLED' });
  assert.equal(enabled.status, 'completed', enabled.error);
  assert.deepEqual(
    (await usersOf('u-2')).map((user) => user.active),
    [true],
  );
  assert.equal((await accountOf('u-2'))?.status, 'APP_USER_STATUS_ENABLED');
});

test('a person DELETED loses their SCIM user; enabled again, they get a new one, recorded on the account', async () => {
  // Deleting someone enabled deactivates them (user.deactivated): the example leaver would run too, and race this test.
  await idflow.engine.setEnabled('provisioning-leaver', false, 'test');
  const deleted = await runManually('set-status', { user: 'u-2', status: 'DELETED' });
  assert.equal(deleted.status, 'completed', deleted.error);
  assert.deepEqual(await usersOf('u-2'), []);
  const account = await accountOf('u-2');
  assert.deepEqual([account?.status, account?.appUserId], ['APP_USER_STATUS_DELETED', undefined]);

  const enabled = await runManually('set-status', { user: 'u-2', status: 'ENABLED' });
  assert.equal(enabled.status, 'completed', enabled.error);
  const [again] = await usersOf('u-2');
  assert.equal(again?.active, true);
  assert.deepEqual([(await accountOf('u-2'))?.status, (await accountOf('u-2'))?.appUserId], ['APP_USER_STATUS_ENABLED', again?.id]);
  await idflow.engine.setEnabled('provisioning-leaver', true, 'test');
});

test("the app's 4xx fails the step at once with its SCIM detail, and nothing is recorded", async () => {
  await idflow.apply(`
kind: Directory
users:
  - { id: u-3, email: edsger@acme.example, firstName: Edsger, lastName: Dijkstra, status: DISABLED }
`);
  proxy.answer((request) => request.method === 'POST' && request.path === '/Users', {
    status: 400,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'invalidValue',
      detail: 'userName "edsger" is reserved for the organisation',
    },
  });
  const run = await runManually('create-github-account', { user: 'u-3' });
  assert.equal(run.status, 'failed');
  const [step] = run.steps;
  assert.equal(step?.attempts, 1, 'a 4xx is not retried');
  assert.match(step?.error ?? '', /POST \/Users answered 400 \(invalidValue\): userName "edsger" is reserved for the organisation/);
  assert.equal(await accountOf('u-3'), undefined, 'the directory records nothing the app refused');
  assert.deepEqual(await usersOf('u-3'), []);
});

test('a 503 with Retry-After is retried, and the account is created once', async () => {
  proxy.answer((request) => request.method === 'POST' && request.path === '/Users', {
    status: 503,
    headers: { 'retry-after': '1' },
    body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503', detail: 'maintenance' },
  });
  const run = await runManually('create-github-account', { user: 'u-3' });
  assert.equal(run.status, 'completed', run.error);
  assert.equal(run.steps[0]?.attempts, 2);
  const users = await usersOf('u-3');
  assert.equal(users.length, 1);
  assert.equal((await accountOf('u-3'))?.appUserId, users[0]?.id);
});

test('drift made in the app behind idflow is listed by reconcile, fixed by --apply, and gone after', async () => {
  // A grant recorded in the directory alone (a document, not a step) is drift too.
  await idflow.apply(`
kind: Directory
grants: [{ user: u-3, entitlement: github:org-member }]
`);
  const [ada] = await usersOf('u-1');
  const [edsger] = await usersOf('u-3');
  const intruder = await scim<ScimUserResource>('/Users', {
    method: 'POST',
    body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'intruder', active: true },
  });
  const [orgMembers] = (await scim<{ Resources: { id: string }[] }>(`/Groups?filter=${encodeURIComponent('displayName eq "Org Members"')}`))
    .Resources;
  await scim(`/Users/${ada?.id}`, { method: 'PATCH', body: patch([{ op: 'replace', path: 'active', value: false }]) });
  await scim(`/Groups/${orgMembers?.id}`, {
    method: 'PATCH',
    body: patch([
      { op: 'remove', path: `members[value eq "${ada?.id}"]` },
      { op: 'add', path: 'members', value: [{ value: intruder.id }] },
    ]),
  });
  await scim(`/Users/${edsger?.id}`, { method: 'DELETE' });

  const { code, output: report } = await cli<ReconcileReport>('directory', 'reconcile', 'github', '--json');
  assert.equal(code, 0);
  const found = report.drift.map((drift) => [drift.kind, 'user' in drift ? drift.user : 'userName' in drift ? drift.userName : '']).sort();
  assert.deepEqual(found, [
    ['extraMember', 'intruder'],
    ['missingMember', 'u-1'],
    ['missingMember', 'u-3'],
    ['onlyInApp', 'intruder'],
    ['onlyInDirectory', 'u-3'],
    ['statusDiffers', 'u-1'],
  ]);
  assert.deepEqual(await members('Org Members'), ['intruder'], 'reconcile without --apply changes nothing');

  const applied = await cli<ReconcileReport>('directory', 'reconcile', 'github', '--apply', '--json');
  assert.equal(applied.code, 0);
  assert.deepEqual([applied.output.fixed, applied.output.failed], [6, 0]);
  assert.deepEqual(await members('Org Members'), ['u-1', 'u-3']);
  assert.deepEqual(
    (await usersOf('u-1')).map((user) => user.active),
    [true],
  );
  assert.deepEqual(
    (await scimUsers()).filter((user) => user.userName === 'intruder').map((user) => user.active),
    [false],
  );
  assert.equal((await usersOf('u-3')).length, 1);

  assert.match(
    (await cli<string>('directory', 'reconcile', 'github')).output,
    /^github: 4 users in the app, 3 accounts in the directory, 3 groups: no drift$/m,
  );
  // The reconcile_app step sees the same: nothing left.
  const run = await runManually('reconcile-github', {});
  assert.equal(run.status, 'completed', run.error);
  assert.deepEqual((run.steps[0]?.output as unknown as ReconcileReport).drift, []);
});

test('a wrong token fails at once, and no token shows in an output, an error, a log line or the API', async () => {
  await idflow.apply(`
kind: Directory
users:
  - { id: u-4, email: barbara@acme.example, firstName: Barbara, lastName: Liskov, status: DISABLED }
`);
  const refused = await runManually('create-gitlab-account', { user: 'u-4' });
  assert.equal(refused.status, 'failed');
  assert.equal(refused.steps[0]?.attempts, 1);
  assert.match(refused.steps[0]?.error ?? '', /app "gitlab" \(SCIM\): GET \/Users\?filter=.* answered 401/);

  // An app that echoes the token back in its error has it redacted.
  proxy.answer((request) => request.method === 'POST' && request.path === '/Users', {
    status: 400,
    body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: `bad request with token ${app.token}` },
  });
  const echoed = await runManually('create-github-account', { user: 'u-4' });
  assert.match(echoed.steps[0]?.error ?? '', /bad request with token \[redacted\]/);

  const everything = JSON.stringify([
    await idflow.store.runs.list({ limit: 500 }),
    await idflow.store.directory.listApps(),
    await idflow.store.directory.listAccounts({}),
    (await cli('directory', 'apps', 'list', '--json')).output,
    logs.lines,
  ]);
  assert.ok(everything.includes('u-4'), 'the check reads what the runs, the API and the logs hold');
  for (const token of [app.token, WRONG_TOKEN]) assert.ok(!everything.includes(token), 'a token leaked');
});

/** A request to the running API with a token of these scopes. */
async function asToken(scopes: Scope[], method: string, path: string, body: object): Promise<Response> {
  const token = await idflow.store.tokens.create(`t-${randomUUID()}`, scopes);
  return fetch(`${process.env.IDFLOW_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('reconciling needs directory:read, fixing the app directory:write', async () => {
  const read = await asToken(['directory:read'], 'POST', '/v1/directory/apps/github/reconcile', {});
  assert.equal(read.status, 200, await read.clone().text());
  const refused = await asToken(['directory:read'], 'POST', '/v1/directory/apps/github/reconcile', { apply: true });
  assert.equal(refused.status, 403);
  assert.match(
    ((await refused.json()) as { error: { message: string } }).error.message,
    /reconcile with apply needs the scope "directory:write"/,
  );
  const notScim = await asToken(['directory:read'], 'POST', '/v1/directory/apps/slack/reconcile', {});
  assert.equal(notScim.status, 400);

  // The same for an automation with the step: applying it needs what its runs will do.
  const scopesOf = (withBlock: Record<string, unknown>) =>
    automationScopes({ trigger: { type: 'manual' }, steps: [{ name: 'r', type: 'reconcile_app', with: withBlock }] } as never);
  assert.deepEqual(scopesOf({ app: 'github' }), ['definitions:write', 'directory:read']);
  assert.deepEqual(scopesOf({ app: 'github', apply: true }), ['definitions:write', 'directory:write']);
  assert.deepEqual(scopesOf({ app: 'github', apply: '{{ ctx.trigger.apply }}' }), ['definitions:write', 'directory:write']);
});

test('a sealed token: unset, the step says how to set it; set through the API, it is used, and stored only sealed', async () => {
  const unset = await runManually('create-sealed-account', { user: 'u-4' });
  assert.equal(unset.status, 'failed');
  assert.equal(unset.steps[0]?.attempts, 1);
  assert.match(
    unset.steps[0]?.error ?? '',
    /its SCIM token is the sealed secret SCIM_TOKEN, which is not set: printf %s "\$TOKEN" \| idflow directory secrets set github-sealed SCIM_TOKEN/,
  );
  const path = '/v1/directory/apps/github-sealed/secrets/SCIM_TOKEN';
  assert.equal((await asToken(['directory:read'], 'PUT', path, { value: app.token })).status, 403);
  assert.equal((await asToken(['directory:write'], 'PUT', path, { value: app.token })).status, 204);

  const created = await runManually('create-sealed-account', { user: 'u-4' });
  assert.equal(created.status, 'completed', created.error);
  assert.equal((await usersOf('u-4')).length, 1);
  const stored = JSON.stringify(await readRows(idflow.database, 'select * from function_secrets'));
  assert.ok(stored.includes('app:github-sealed') && !stored.includes(app.token), 'the secret is stored sealed');
});
