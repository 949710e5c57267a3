/**
 * The example functions work: each passes its own test cases through `idflow function test FILE`
 * (stubbed fetch, offline), and the three that call APIs do the real HTTP exchange with a
 * loopback server standing in for Microsoft Graph, the HR system and the ticketing system (the
 * operator exempts 127.0.0.1 for this, as IDFLOW_FUNCTIONS_PRIVATE_NETWORKS would).
 */
import type { JsonValue } from '../core/json.js';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.js';
import { FunctionSandbox } from '../functions/sandbox/pool.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const example = (name: string): string => fileURLToPath(new URL(`../examples/functions/${name}`, import.meta.url));
let sandbox: FunctionSandbox;
let receiver: Receiver;

before(async () => {
  sandbox = new FunctionSandbox();
  receiver = await startReceiver();
});

after(async () => {
  sandbox.close();
  await receiver.close();
});

for (const name of ['username', 'temporary-access-pass', 'hr-writeback', 'ticket']) {
  test(`examples/functions/${name}.ts passes its test cases`, async () => {
    const out: string[] = [];
    const code = await main(['function', 'test', example(`${name}.ts`)], { out: (text) => out.push(text), err: (text) => out.push(text) });
    assert.equal(code, 0, out.join('\n'));
    assert.match(out.at(-1) ?? '', /^\d+ passed, 0 failed$/);
  });
}

/** Runs an example against the loopback receiver, with its base URL and secrets pointed there. */
async function runAgainstReceiver(name: string, input: JsonValue, secrets: Record<string, string>) {
  const port = new URL(receiver.url).port;
  return sandbox.run({
    source: await readFile(example(`${name}.ts`), 'utf8'),
    filename: `${name}.ts`,
    input,
    secrets,
    allowHosts: [`127.0.0.1:${port}`],
    allowPrivateNetworks: ['127.0.0.1/32'],
  });
}

test('temporary-access-pass POSTs to Graph with the bearer token and returns the pass', async () => {
  receiver.script({
    status: 201,
    body: JSON.stringify({
      id: 'tap-9',
      temporaryAccessPass: 'Zq!4',
      startDateTime: '2026-12-01T08:00:00Z',
      lifetimeInMinutes: 120,
      isUsableOnce: true,
    }),
  });
  const before = receiver.requests.length;
  const result = await runAgainstReceiver(
    'temporary-access-pass',
    { userPrincipalName: 'ada@acme.example', lifetimeInMinutes: 120, isUsableOnce: true },
    { GRAPH_TOKEN: 'graph-token-123', GRAPH_URL: receiver.url },
  );
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.deepEqual(result.output, {
    id: 'tap-9',
    temporaryAccessPass: 'Zq!4',
    startDateTime: '2026-12-01T08:00:00Z',
    expiresAt: '2026-12-01T10:00:00.000Z',
    isUsableOnce: true,
  });
  const request = receiver.requests[before];
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/v1.0/users/ada%40acme.example/authentication/temporaryAccessPassMethods');
  assert.equal(request.headers.authorization, 'Bearer graph-token-123');
  assert.deepEqual(JSON.parse(request.body), { lifetimeInMinutes: 120, isUsableOnce: true });
  assert.ok(!JSON.stringify(result.logs).includes('graph-token-123'));
});

test('hr-writeback PATCHes the employee and reports what HR holds', async () => {
  receiver.script({
    status: 200,
    body: JSON.stringify({ id: 'E-7', workEmail: 'grace@acme.example', username: 'ghopper', updatedAt: '2026-12-01T09:00:00Z' }),
  });
  const before = receiver.requests.length;
  const result = await runAgainstReceiver(
    'hr-writeback',
    { employeeId: 'E-7', workEmail: 'grace@acme.example', username: 'ghopper' },
    { HR_TOKEN: 'hr-token-456', HR_URL: receiver.url },
  );
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.deepEqual(result.output, {
    employeeId: 'E-7',
    workEmail: 'grace@acme.example',
    username: 'ghopper',
    updatedAt: '2026-12-01T09:00:00Z',
  });
  const request = receiver.requests[before];
  assert.deepEqual(
    [request.method, request.path, request.headers.authorization],
    ['PATCH', '/api/v1/employees/E-7', 'Bearer hr-token-456'],
  );
  assert.deepEqual(JSON.parse(request.body), { workEmail: 'grace@acme.example', username: 'ghopper' });
});

test('ticket opens an incident with basic auth', async () => {
  receiver.script({ status: 201, body: JSON.stringify({ result: { number: 'INC0000007', sys_id: 'abc123' } }) });
  const before = receiver.requests.length;
  const result = await runAgainstReceiver(
    'ticket',
    { summary: 'Ship a laptop', priority: 3 },
    { TICKETS_USER: 'idflow', TICKETS_PASSWORD: 'pässwörd', TICKETS_URL: receiver.url },
  );
  assert.equal(result.ok, true, JSON.stringify(result.error));
  // Everything getConfig returns is a secret, TICKETS_URL too: redacted wherever it shows.
  assert.deepEqual(result.output, { number: 'INC0000007', id: 'abc123', url: '[REDACTED]/nav_to.do?uri=incident.do?sys_id=abc123' });
  const request = receiver.requests[before];
  assert.equal(request.headers.authorization, `Basic ${Buffer.from('idflow:pässwörd', 'utf8').toString('base64')}`);
  assert.deepEqual(JSON.parse(request.body), {
    short_description: 'Ship a laptop',
    description: '',
    assignment_group: 'IT Service Desk',
    priority: '3',
  });
});

test('without the operator exemption, the same call to loopback is NETWORK_DENIED and nothing is sent', async () => {
  const before = receiver.requests.length;
  const port = new URL(receiver.url).port;
  const result = await sandbox.run({
    source: await readFile(example('ticket.ts'), 'utf8'),
    input: { summary: 'x' },
    secrets: { TICKETS_USER: 'idflow', TICKETS_PASSWORD: 'pw12', TICKETS_URL: receiver.url },
    allowHosts: [`127.0.0.1:${port}`],
  });
  assert.equal(result.error?.code, 'NETWORK_DENIED');
  assert.equal(receiver.requests.length, before);
});
