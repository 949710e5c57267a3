/**
 * Apps without SCIM, end to end: examples/connectors/provisioning/crm.yaml (provisioned through a signed
 * webhook) and wiki.yaml (through a function calling the wiki's REST API), applied to a real
 * engine, each app a loopback server. Each operation reaches the app with the user and the
 * account, the answer is the outcome and `{ id }` the account's appUserId; a 503 is retried with
 * the same webhook-id, a 4xx fails the step at once with nothing recorded; a Directory document
 * naming a webhook or function that does not exist is refused at apply, at its line and field.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import type { Account } from '../directory/types.js';
import type { RunRecord } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type ReceivedRequest, type Receiver } from './helpers/receiver.js';
import './helpers/store.js';

const SIGNING_SECRET = `whsec_${Buffer.from('provisioning-test-signing-key-32b').toString('base64')}`;

let idflow: TestEngine;
let crm: Receiver;
let wiki: Receiver;

const example = (name: string): Promise<string> =>
  readFile(fileURLToPath(new URL(`../examples/connectors/provisioning/${name}`, import.meta.url)), 'utf8');

const json = (body: object) => ({ status: 200, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

interface Message {
  operation: string;
  app: string;
  user: { id: string; email: string };
  account: { username: string; appUserId?: string; status: string };
  group?: { entitlement: string; displayName?: string };
}

/** The CRM's messages, each checked against its Standard Webhooks signature. */
function messages(requests: ReceivedRequest[]): (Message & { webhookId: string })[] {
  const verifier = new Webhook(SIGNING_SECRET);
  return requests.map((request) => {
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
    return { ...(verifier.verify(request.body, headers) as Message), webhookId: headers['webhook-id'] as string };
  });
}

const accountsOf = async (userId: string): Promise<Record<string, Account>> =>
  Object.fromEntries((await idflow.store.directory.listAccounts({ userId })).map((account) => [account.app, account]));

async function run(automation: string, user: string): Promise<RunRecord> {
  const started = await idflow.engine.runManually(automation, { user }, 'test');
  return idflow.finished(started.runId);
}

before(async () => {
  crm = await startReceiver();
  wiki = await startReceiver();
  idflow = await startTestEngine({
    env: {
      CRM_WEBHOOK_SECRET: SIGNING_SECRET,
      IDFLOW_FUNCTIONS_PRIVATE_NETWORKS: '127.0.0.1/32',
      IDFLOW_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    },
  });
  const wikiHost = new URL(wiki.url).host;
  const files = [
    { path: 'examples/connectors/provisioning/crm.yaml', content: (await example('crm.yaml')).replace('http://127.0.0.1:8091', crm.url) },
    {
      path: 'examples/connectors/provisioning/wiki.yaml',
      content: (await example('wiki.yaml')).replace('[wiki.acme.example]', `["${wikiHost}"]`),
    },
    { path: 'examples/connectors/provisioning/wiki.ts', content: await example('wiki.ts') },
    {
      path: 'flows.yaml',
      content: `
kind: Directory
users:
  - { id: u-1, email: ada@acme.example, firstName: Ada, lastName: Lovelace }
  - { id: u-2, email: alan@acme.example, firstName: Alan, lastName: Turing }
---
kind: Automation
name: onboard
trigger: { type: manual }
steps:
  - { name: crm_account, type: create_account, with: { app: crm, user: "{{ ctx.trigger.user }}" }, retry: { initialInterval: 100ms } }
  - { name: wiki_account, type: create_account, with: { app: wiki, user: "{{ ctx.trigger.user }}" } }
  - { name: access, type: grant_entitlements, with: { user: "{{ ctx.trigger.user }}", entitlements: [crm:sales, wiki:editors] } }
---
kind: Automation
name: offboard
trigger: { type: manual }
steps:
  - { name: disable, type: modify_user_status, with: { user: "{{ ctx.trigger.user }}", status: DISABLED } }
  - { name: revoke, type: revoke_entitlements, with: { user: "{{ ctx.trigger.user }}", apps: [crm, wiki] } }
`,
    },
  ];
  const applied = await idflow.engine.apply(files, { dryRun: false, actor: 'test' });
  assert.deepEqual(applied.errors, []);
  await idflow.engine.functions.setSecret('wiki-provisioning', 'WIKI_TOKEN', 'wiki-token-b71c', 'test');
  await idflow.engine.functions.setSecret('wiki-provisioning', 'WIKI_URL', wiki.url, 'test');
});

after(async () => {
  await idflow?.stop();
  await crm?.close();
  await wiki?.close();
});

test('a joiner and a leaver through a webhook and a function: each operation, its answer, the app ids recorded', async () => {
  crm.script(json({ id: 'crm-7' }));
  wiki.script({ status: 201, body: JSON.stringify({ id: 'w-42' }), headers: { 'content-type': 'application/json' } }, { status: 204 });
  const onboarded = await run('onboard', 'u-1');
  assert.equal(onboarded.status, 'completed', onboarded.error);

  const accounts = await accountsOf('u-1');
  assert.deepEqual([accounts.crm?.appUserId, accounts.wiki?.appUserId], ['crm-7', 'w-42']);
  const joined = messages(crm.requests);
  assert.deepEqual(
    joined.map((m) => [m.operation, m.app, m.user.id, m.account.username, m.account.appUserId ?? null, m.group ?? null]),
    [
      ['createAccount', 'crm', 'u-1', 'ada', null, null],
      ['addToGroup', 'crm', 'u-1', 'ada', 'crm-7', { entitlement: 'crm:sales', displayName: 'sales' }],
    ],
  );
  assert.deepEqual(
    wiki.requests.map((r) => [r.method, r.path, r.headers.authorization]),
    [
      ['POST', '/rest/api/users', 'Bearer wiki-token-b71c'],
      ['PUT', '/rest/api/groups/wiki-editors/members/w-42', 'Bearer wiki-token-b71c'],
    ],
  );
  const outputs = Object.fromEntries(onboarded.steps.map((step) => [step.name, step.output as { apps: unknown }]));
  assert.deepEqual(outputs.crm_account?.apps, {
    crm: { provisioned: { via: 'webhook', appUserId: 'crm-7', operations: [{ operation: 'createAccount', outcome: { id: 'crm-7' } }] } },
  });
  assert.deepEqual(outputs.access?.apps, {
    crm: {
      provisioned: { via: 'webhook', appUserId: 'crm-7', operations: [{ operation: 'addToGroup', group: 'sales', outcome: { ok: true } }] },
    },
    wiki: {
      provisioned: {
        via: 'function',
        appUserId: 'w-42',
        operations: [{ operation: 'addToGroup', group: 'wiki-editors', outcome: { id: 'w-42', group: 'wiki-editors' } }],
      },
    },
  });

  wiki.script({ status: 204 }, { status: 204 });
  const offboarded = await run('offboard', 'u-1');
  assert.equal(offboarded.status, 'completed', offboarded.error);
  assert.deepEqual(
    messages(crm.requests.slice(2)).map((m) => [m.operation, m.account.appUserId, m.account.status, m.group?.entitlement ?? null]),
    [
      ['disableAccount', 'crm-7', 'APP_USER_STATUS_DISABLED', null],
      ['removeFromGroup', 'crm-7', 'APP_USER_STATUS_DISABLED', 'crm:sales'],
    ],
  );
  assert.deepEqual(
    wiki.requests.slice(2).map((r) => [r.method, r.path, r.body]),
    [
      ['PUT', '/rest/api/users/w-42/status', '{"active":false}'],
      ['DELETE', '/rest/api/groups/wiki-editors/members/w-42', ''],
    ],
  );
  const after = await accountsOf('u-1');
  assert.deepEqual([after.crm?.status, after.wiki?.status], ['APP_USER_STATUS_DISABLED', 'APP_USER_STATUS_DISABLED']);
  assert.equal((await idflow.store.directory.listGrants({ userId: 'u-1' })).length, 0);
});

test('a webhook 503 is retried with the same webhook-id; a 4xx fails the step at once and records nothing', async () => {
  const before = crm.requests.length;
  crm.script({ status: 503, headers: { 'retry-after': '0' } }, json({ id: 'crm-8' }));
  wiki.script({ status: 422, body: '{"message":"username taken by a deactivated user"}', headers: { 'content-type': 'application/json' } });
  const onboarded = await run('onboard', 'u-2');
  assert.equal(onboarded.status, 'failed');
  const [crmStep, wikiStep] = onboarded.steps;
  assert.equal(crmStep?.status, 'completed', crmStep?.error);
  assert.equal(crmStep?.attempts, 2);
  const retried = messages(crm.requests.slice(before));
  assert.equal(retried.length, 2);
  assert.equal(retried[0]?.webhookId, retried[1]?.webhookId, 'the retried message keeps its webhook-id');
  assert.equal((await accountsOf('u-2')).crm?.appUserId, 'crm-8');

  assert.equal(wikiStep?.status, 'failed');
  assert.equal(wikiStep?.attempts, 1, "the function's failure is not retried");
  assert.match(wikiStep?.error ?? '', /app "wiki" \(createAccount\): function wiki-provisioning@1: RUNTIME_ERROR: .*422 .*username taken/);
  assert.equal((await accountsOf('u-2')).wiki, undefined, 'nothing recorded for what the app refused');
});

test('a Directory document naming a webhook or function that does not exist is refused at its line and field', async () => {
  const result = await idflow.engine.apply(
    [
      {
        path: 'apps.yaml',
        content: `kind: Directory
apps:
  - slug: billing
    provisioning: { webhook: billing-hook }
  - slug: lms
    provisioning: { function: lms-provisioning }
`,
      },
    ],
    { dryRun: false, actor: 'test' },
  );
  assert.deepEqual(
    result.errors.map((error) => [error.line, error.path, error.message]),
    [
      [4, 'apps[0].provisioning.webhook', 'unknown webhook "billing-hook": declare it with kind: Webhook'],
      [
        6,
        'apps[1].provisioning.function',
        'function "lms-provisioning" is not defined: apply a kind: Function document named "lms-provisioning"',
      ],
    ],
  );
  assert.equal(await idflow.store.directory.getAppBySlug('billing'), undefined);
});
