/**
 * perform_connector_action end to end on a real dev server: examples/connectors/connector-actions applied as
 * it is (its hosts pointed at loopback servers standing in for Figma's SCIM API and the SOC's
 * webhook, then enabled), a function action that finds and suspends the account with the app's token and
 * ctx.idempotencyKey — failing once with a 503 and retried with the same key — whose output a
 * later webhook action reads; the app's token (from the environment or sealed for `app:<slug>`)
 * never in outputs, errors or logs; ctx.idempotencyKey per step and per run; unknown apps and
 * actions refused at apply time with file, line and field.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { functionOutputReach, automationScopes } from '../api/scopes.js';
import type { JsonObject } from '../core/json.js';
import type { SourceFile } from '../definitions/types.js';
import { sealSecret } from '../functions/secrets.js';
import type { RunRecord } from '../store/types.js';
import { capturingLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const FIGMA_TOKEN = 'figma-scim-token-5e3c9a7d';
const VAULT_TOKEN = 'vault-sealed-token-81f2';
const SOC_SECRET = `whsec_${Buffer.from('idflow-soc-secret-0123456789abcdef').toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EXAMPLE = new URL('../examples/connectors/connector-actions/', import.meta.url);

let idflow: TestEngine;
let scim: Receiver;
let soc: Receiver;
const logs = capturingLogger();

before(async () => {
  [scim, soc] = await Promise.all([startReceiver(), startReceiver()]);
  idflow = await startTestEngine({
    logger: logs.logger,
    env: {
      FIGMA_SCIM_TOKEN: FIGMA_TOKEN,
      SOC_SIGNING_SECRET: SOC_SECRET,
      IDFLOW_MASTER_KEY: MASTER_KEY,
      IDFLOW_FUNCTIONS_PRIVATE_NETWORKS: '127.0.0.1/32',
    },
  });
});

after(async () => {
  await idflow?.stop();
  await Promise.all([scim?.close(), soc?.close()]);
});

/** The example's files, with each `from` (which must occur) replaced: its hosts become the loopback servers. */
async function exampleFiles(replacements: [string, string][]): Promise<SourceFile[]> {
  const files = await Promise.all(
    (await readdir(EXAMPLE)).sort().map(async (name) => ({
      path: `examples/connectors/connector-actions/${name}`,
      content: await readFile(new URL(name, EXAMPLE), 'utf8'),
    })),
  );
  for (const [from, to] of replacements) {
    const holding = files.filter((file) => file.content.includes(from));
    assert.equal(holding.length, 1, `exactly one example file holds ${from}`);
    holding[0].content = holding[0].content.replaceAll(from, to);
  }
  return files;
}

async function deactivate(eventId: string, email: string): Promise<RunRecord> {
  const user = { id: `u-${eventId}`, email, status: 'ENABLED' };
  const result = await idflow.engine.ingest(
    { id: eventId, type: 'user.deactivated', data: { oldUser: user, newUser: { ...user, status: 'DISABLED' } } },
    'test',
  );
  assert.equal(result.runs.length, 1, JSON.stringify(result));
  return idflow.finished(result.runs[0].runId);
}

const scimUser = (id: string, userName: string) => ({
  status: 200,
  body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 1, Resources: [{ id, userName }] }),
  headers: { 'content-type': 'application/scim+json' },
});
const suspended = (id: string) => ({
  status: 200,
  body: JSON.stringify({ id, active: false }),
  headers: { 'content-type': 'application/scim+json' },
});

/** Everything a run shows: its record and every log line the engine and the worker wrote. */
const everywhere = (run: RunRecord): string => `${JSON.stringify(run)}\n${logs.lines.join('\n')}`;

test('examples/connectors/connector-actions: the function action suspends the account (retried after a 503 with the same key), the webhook action reads its output', async () => {
  const port = new URL(scim.url).port;
  const files = await exampleFiles([
    ['https://api.example.com', scim.url],
    ['allowedHosts: [api.example.com]', `allowedHosts: ["127.0.0.1:${port}"]`],
    ['https://soc.example.com', soc.url],
  ]);
  const applied = await idflow.engine.apply(files, { dryRun: false, actor: 'test' });
  assert.deepEqual(applied.errors, []);
  assert.equal(applied.directory?.apps, 1);
  // Applied disabled (its hosts and token are placeholders): enabled as its comment says.
  assert.equal((await idflow.store.definitions.head('Automation', 'lock-leavers'))?.enabled, false);
  await idflow.engine.setEnabled('lock-leavers', true, 'test');

  scim.script(
    scimUser('fig-42', 'ada@acme.example'),
    { status: 503, body: 'maintenance' },
    scimUser('fig-42', 'ada@acme.example'),
    suspended('fig-42'),
  );
  soc.script({ status: 200, body: JSON.stringify({ ticket: 'SOC-7' }), headers: { 'content-type': 'application/json' } });
  const run = await deactivate('leaver-ada', 'ada@acme.example');
  assert.equal(run.status, 'completed', run.error);

  const [lock, notify] = run.steps;
  assert.equal(lock.attempts, 2, 'the 503 made the function throw a retryable error: the step ran again');
  const lockOutput = lock.output as JsonObject;
  assert.deepEqual(lockOutput.output, { locked: true, id: 'fig-42' });
  assert.deepEqual([lockOutput.app, lockOutput.action, lockOutput.function], ['figma', 'lock-account', 'scim-suspend']);

  // The API saw the app's token, the search built with URL, and one key for both attempts to suspend.
  assert.deepEqual(
    scim.requests.map((request) => `${request.method} ${request.path}`),
    [
      'GET /scim/v2/Users?filter=userName+eq+%22ada%40acme.example%22',
      'PATCH /scim/v2/Users/fig-42',
      'GET /scim/v2/Users?filter=userName+eq+%22ada%40acme.example%22',
      'PATCH /scim/v2/Users/fig-42',
    ],
  );
  for (const request of scim.requests) assert.equal(request.headers.authorization, `Bearer ${FIGMA_TOKEN}`);
  const [first, retried] = scim.requests
    .filter((request) => request.method === 'PATCH')
    .map((request) => request.headers['idempotency-key']);
  assert.match(String(first), UUID);
  assert.equal(retried, first, 'the retry of the same step of the same run has the same ctx.idempotencyKey');
  assert.deepEqual(JSON.parse(scim.requests[3].body), {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });

  // The webhook action: { app, action, input, run } signed, its input read from ctx.lock.output; its answer is the output.
  assert.equal(soc.requests.length, 1);
  const delivery = soc.requests[0];
  new Webhook(SOC_SECRET).verify(delivery.body, delivery.headers as Record<string, string>);
  assert.deepEqual(JSON.parse(delivery.body), {
    app: { slug: 'figma', displayName: 'Figma', scimBaseUrl: `${scim.url}/scim/v2` },
    action: 'notify-soc',
    input: { user: 'ada@acme.example', accountId: 'fig-42', locked: true },
    run: { id: run.runId, automation: 'lock-leavers', step: 'notify' },
  });
  assert.deepEqual(notify.output, { app: 'figma', action: 'notify-soc', output: { ticket: 'SOC-7' }, webhook: 'soc-hook', status: 200 });
  assert.ok(!everywhere(run).includes(FIGMA_TOKEN), 'the token is in no run record or log line');

  // Another run: another key.
  scim.requests.length = 0;
  scim.script(scimUser('fig-43', 'bob@acme.example'), suspended('fig-43'));
  const other = await deactivate('leaver-bob', 'bob@acme.example');
  assert.equal(other.status, 'completed', other.error);
  const otherKey = scim.requests.find((request) => request.method === 'PATCH')?.headers['idempotency-key'];
  assert.match(String(otherKey), UUID);
  assert.notEqual(otherKey, first, 'another run has another ctx.idempotencyKey');
});

const echo = `import type { FunctionContext } from '../functions/sdk.js';
export default async function (request: { app: unknown; input: { fail?: boolean } }, ctx: FunctionContext) {
  const token = ctx.getConfig('app.token');
  ctx.log('calling with', token);
  if (request.input.fail) throw new Error('the vault refused ' + token);
  return { key: ctx.idempotencyKey, token, encoded: encodeURIComponent(String(token)), app: request.app };
}
`;

const vault = `kind: Directory
apps:
  - slug: vault
    provisioning:
      scim: { baseUrl: "https://vault.example/scim", token: { secret: TOKEN } }
      actions:
        echo: { function: echo-action }
  - slug: bare
    provisioning:
      scim: { baseUrl: "https://bare.example/scim", token: { env: BARE_TOKEN_UNSET } }
      actions:
        echo: { function: echo-action }
---
kind: Function
name: echo-action
file: echo.ts
`;

const automation = (name: string, steps: [string, string, JsonObject][]) => `kind: Automation
name: ${name}
trigger: { type: user.created, condition: 'ctx.trigger.newUser.department == "${name}"' }
steps:
${steps.map(([step, app, input]) => `  - name: ${step}\n    type: perform_connector_action\n    with: { app: ${app}, action: echo, input: ${JSON.stringify(input)} }`).join('\n')}
`;

async function create(eventId: string, department: string): Promise<RunRecord> {
  const result = await idflow.engine.ingest(
    {
      id: eventId,
      type: 'user.created',
      data: { newUser: { id: `u-${eventId}`, email: `${eventId}@acme.example`, department, status: 'ENABLED' } },
    },
    'test',
  );
  const started = result.runs.find((r) => r.automation === department);
  assert.ok(started, JSON.stringify(result));
  return idflow.finished(started.runId);
}

test('a sealed app token reaches the function as app.token and is redacted from outputs, logs and errors; each step has its own key', async () => {
  const applied = await idflow.engine.apply(
    [
      { path: 'vault/directory.yaml', content: vault },
      { path: 'vault/echo.ts', content: echo },
      {
        path: 'vault/automations.yaml',
        content: [
          automation('echo-twice', [
            ['first', 'vault', {}],
            ['second', 'vault', {}],
          ]),
          automation('echo-fail', [['failing', 'vault', { fail: true }]]),
          automation('echo-unset', [['unset', 'bare', {}]]),
        ].join('---\n'),
      },
    ],
    { dryRun: false, actor: 'test' },
  );
  assert.deepEqual(applied.errors, []);
  // What a CLI for apps' secrets will do: seal the value for the owner app:vault.
  const sealed = sealSecret(Buffer.from(MASTER_KEY, 'base64'), 'app:vault', 'TOKEN', VAULT_TOKEN);
  await idflow.store.secrets.put({ functionName: 'app:vault', key: 'TOKEN', sealed, actor: 'test' });

  const run = await create('echo-1', 'echo-twice');
  assert.equal(run.status, 'completed', run.error);
  const [first, second] = run.steps.map(
    (step) => (step.output as { output: { key: string; token: string; encoded: string; app: JsonObject } }).output,
  );
  assert.deepEqual(
    [first.token, first.encoded],
    ['[REDACTED]', '[REDACTED]'],
    'the function saw the token, and its output shows none of it',
  );
  assert.deepEqual(first.app, { slug: 'vault', displayName: 'vault', scimBaseUrl: 'https://vault.example/scim' });
  assert.deepEqual((run.steps[0].output as { logs: string[] }).logs, ['calling with [REDACTED]']);
  assert.match(first.key, UUID);
  assert.match(second.key, UUID);
  assert.notEqual(first.key, second.key, 'another step of the same run has another ctx.idempotencyKey');

  const failed = await create('echo-2', 'echo-fail');
  assert.equal(failed.status, 'failed');
  assert.equal(failed.steps[0].attempts, 1, "the function's own error is not retried");
  assert.match(failed.steps[0].error ?? '', /RUNTIME_ERROR: Error: the vault refused \[REDACTED\]/);

  const unset = await create('echo-3', 'echo-unset');
  assert.equal(unset.status, 'failed');
  assert.equal(unset.steps[0].attempts, 1);
  assert.match(
    unset.steps[0].error ?? '',
    /INVALID_REQUEST: app\.token comes from \$BARE_TOKEN_UNSET, which is not set in the worker's environment/,
  );

  for (const record of [run, failed, unset])
    assert.ok(!everywhere(record).includes(VAULT_TOKEN), 'the token is in no run record or log line');
});

test('a function run by hand gets a fresh ctx.idempotencyKey each time', async () => {
  const keys = await Promise.all(
    [1, 2].map(async () => ((await idflow.engine.functions.call('echo-action', { input: {} })).output as { key: string }).key),
  );
  assert.match(keys[0], UUID);
  assert.match(keys[1], UUID);
  assert.notEqual(keys[0], keys[1]);
});

test('apply refuses an unknown app or an action the app does not declare, naming file, line and field', async () => {
  const flow = (app: string, action: string) => `kind: Automation
name: lock-it
trigger: { type: user.deactivated }
steps:
  - name: lock
    type: perform_connector_action
    with: { app: ${app}, action: ${action} }
`;
  const apply = (files: SourceFile[]) => idflow.engine.apply(files, { dryRun: true, actor: 'test' });
  await idflow.apply(
    'kind: Directory\napps:\n  - slug: ledger\n    provisioning:\n      actions: { freeze: { webhook: ledger-hook }, report: { webhook: ledger-hook } }\n',
  );
  const unknownApp = await apply([{ path: 'flows/lock.yaml', content: flow('gitlab', 'freeze') }]);
  assert.deepEqual(
    unknownApp.errors.map(({ file, line, path }) => ({ file, line, path })),
    [{ file: 'flows/lock.yaml', line: 7, path: 'steps[0].with.app' }],
  );
  assert.match(unknownApp.errors[0].message, /unknown app "gitlab": declare it in a kind: Directory document/);

  const unknownAction = await apply([{ path: 'flows/lock.yaml', content: flow('ledger', 'wipe-books') }]);
  assert.deepEqual(
    unknownAction.errors.map(({ file, line, column, path }) => ({ file, line, column, path })),
    [{ file: 'flows/lock.yaml', line: 7, column: 34, path: 'steps[0].with.action' }],
  );
  assert.match(unknownAction.errors[0].message, /app "ledger" declares no action "wipe-books" \(its actions: freeze, report\)/);

  // An app and its actions declared in the same apply count; what that document declares replaces what the directory held.
  const declared = (actions: string) => `kind: Directory\napps:\n  - slug: ledger\n    provisioning:\n      actions: ${actions}\n`;
  const together = await apply([
    { path: 'flows/lock.yaml', content: flow('ledger', 'wipe-books') },
    { path: 'flows/directory.yaml', content: declared('{ wipe-books: { webhook: ledger-hook } }') },
  ]);
  assert.deepEqual(together.errors, []);
  const removed = await apply([
    { path: 'flows/lock.yaml', content: flow('ledger', 'freeze') },
    { path: 'flows/directory.yaml', content: declared('{ wipe-books: { webhook: ledger-hook } }') },
  ]);
  assert.deepEqual(
    removed.errors.map(({ path, message }) => ({ path, message })),
    [
      {
        path: 'steps[0].with.action',
        message: 'app "ledger" declares no action "freeze" (its actions: wipe-books): add it under provisioning.actions',
      },
    ],
  );
  // A templated app is checked when the step runs, not at apply time.
  assert.deepEqual((await apply([{ path: 'flows/lock.yaml', content: flow('"{{ subject.department }}"', 'freeze') }])).errors, []);
});

test('applying an automation with perform_connector_action needs functions:run, and its function output reaches what it starts', () => {
  const steps = [{ name: 'lock', type: 'perform_connector_action', with: { app: 'figma', action: 'lock-account' } }];
  assert.deepEqual(automationScopes({ trigger: { type: 'user.deactivated' }, steps }), ['definitions:write', 'functions:run']);
  const reach = functionOutputReach([
    { name: 'locks', steps },
    { name: 'post', steps: [{ name: 'post', type: 'run_webhook', with: { webhook: 'hook' } }] },
  ]);
  assert.deepEqual([...reach.automations], ['locks']);
});
