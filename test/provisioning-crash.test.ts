/**
 * A worker process SIGKILLed while its SCIM request is provably in flight — held by a loopback
 * proxy in front of scim2-server, then let through to the app after the worker died, as an app
 * finishes a request whose client is gone — twice in one joiner run: during the account's
 * creation and during its group membership. The next worker retries each step: it finds the
 * user the dead one created (by externalId) instead of creating a second, and adding the member
 * again doubles nothing. One SCIM user, one membership, one account in the directory.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startScimProxy, type ScimProxy } from './helpers/scim-proxy.js';
import { startScimServer, type ScimServer } from './helpers/scim-tools.js';
import './helpers/store.js';
import { kill, startWorkerProcess, until } from './helpers/worker-process.js';

let app: ScimServer;
let proxy: ScimProxy;
let idflow: TestEngine;
const workers: ChildProcess[] = [];

const example = (name: string): Promise<string> =>
  readFile(fileURLToPath(new URL(`../examples/connectors/provisioning/${name}`, import.meta.url)), 'utf8');

async function scim<T>(path: string): Promise<T> {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${app.token}` } });
  assert.ok(response.ok, `GET ${path}: ${response.status}`);
  return (await response.json()) as T;
}

function startWorker(): void {
  workers.push(startWorkerProcess(idflow, { GITHUB_SCIM_TOKEN: app.token }));
}

before(async () => {
  app = await startScimServer();
  proxy = await startScimProxy(app.url);
  idflow = await startTestEngine({ worker: false });
  const directory = (await example('directory.yaml')).replace('baseUrl: http://127.0.0.1:8090', `baseUrl: ${proxy.url}`);
  await idflow.apply(`${directory}\n---\n${await example('joiner.yaml')}`);
});

after(async () => {
  for (const worker of workers) await kill(worker);
  await idflow?.stop();
  await proxy?.close();
  await app?.stop();
});

test('a worker killed mid-provisioning, twice: the retries duplicate no SCIM user and no membership', async () => {
  const creating = proxy.hold((request) => request.method === 'POST' && request.path === '/Users');
  const adding = proxy.hold((request) => request.method === 'PATCH' && request.path.startsWith('/Groups/'));
  startWorker();
  await idflow.apply(`
kind: Directory
users:
  - { id: u-1, email: ada@acme.example, firstName: Ada, lastName: Lovelace, department: Engineering }
`);

  await creating.arrived;
  await kill(workers.at(-1) as ChildProcess);
  creating.release(); // the app creates the user; the worker that asked is gone
  await until('the app has the user', async () => (await scim<{ totalResults: number }>('/Users')).totalResults === 1);
  startWorker();

  await adding.arrived;
  await kill(workers.at(-1) as ChildProcess);
  adding.release();
  startWorker();

  await until(
    'the joiner run ended',
    async () => (await idflow.store.runs.list({ automation: 'provisioning-joiner' }))[0]?.status !== 'running',
    120_000,
  );
  const [run] = await idflow.store.runs.list({ automation: 'provisioning-joiner' });
  assert.equal(run?.status, 'completed', run?.error);
  const attempts = Object.fromEntries(run?.steps.map((step) => [step.name, step.attempts]) ?? []);
  assert.ok(attempts.github_account >= 2 && attempts.access >= 2, `both steps were retried: ${JSON.stringify(attempts)}`);
  const created = run?.steps[0]?.output as { apps: { github: { provisioned: { operations: { outcome: string }[] } } } };
  assert.equal(created.apps.github.provisioned.operations[0]?.outcome, 'existing', 'the retry found the user the killed worker created');

  assert.equal(
    proxy.requests.filter((request) => request.method === 'POST' && request.path === '/Users').length,
    1,
    'the retry looked the user up instead of asking the app to create it again',
  );
  const users = await scim<{ Resources: { id: string; externalId?: string }[] }>('/Users');
  assert.deepEqual(
    users.Resources.map((user) => user.externalId),
    ['u-1'],
    'exactly one SCIM user',
  );
  const groups = await scim<{ Resources: { displayName: string; members?: { value: string }[] }[] }>('/Groups');
  assert.deepEqual(
    groups.Resources.map((group) => [group.displayName, (group.members ?? []).map((member) => member.value)]).sort(),
    [
      ['Engineering', [users.Resources[0]?.id]],
      ['Org Members', [users.Resources[0]?.id]],
    ],
    'each group once, with the member once',
  );
  const accounts = await idflow.store.directory.listAccounts({ userId: 'u-1' });
  assert.deepEqual(
    accounts.map((account) => [account.app, account.appUserId]),
    [['github', users.Resources[0]?.id]],
  );
  assert.equal((await idflow.store.directory.listGrants({ userId: 'u-1' })).length, 3);
});
