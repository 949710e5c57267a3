/**
 * `idflow tokens create|list|revoke` against a real store (a SQLite file or a PostgreSQL database), and what the API answers the
 * tokens they make: a listed token never shows its secret, an expired or revoked one is a 401
 * that says so, and a revoked name can be given to a new token.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TokenRecord } from '../store/types.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';
import { createTestDatabase, type TestDatabase } from './helpers/store.js';

let dataDir: string;
let database: TestDatabase;
let api: OfflineApi;
let app: FastifyInstance;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'idflow-tokens-'));
  database = await createTestDatabase({ dir: dataDir });
  // The CLI writes the store; the API reads the same store, as `idflow api` would.
  assert.equal((await cli('tokens', 'list')).code, 0);
  api = await startOfflineApi({ database });
  app = api.app;
});

after(async () => {
  await api.close();
  await rm(dataDir, { recursive: true, force: true });
});

const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--data-dir', dataDir, ...database.args]);

async function create(...args: string[]): Promise<string> {
  const created = await cli('tokens', 'create', ...args);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^idf_[A-Za-z0-9_-]{43}$/);
  return created.stdout;
}

async function listed(): Promise<TokenRecord[]> {
  const result = await cli('tokens', 'list', '--json');
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as TokenRecord[];
}

const readAutomations = (token: string) => app.inject({ url: '/v1/automations', headers: { authorization: `Bearer ${token}` } });

test('create prints a token once; list shows name, scopes, created, expiry and last use, never the token or its hash', async () => {
  const before = Date.now();
  const token = await create('ci-bot', '--scopes', 'definitions:read,runs:read', '--expires-in', '30d');
  const [entry] = (await listed()).filter((t) => t.name === 'ci-bot');
  assert.deepEqual(entry.scopes, ['definitions:read', 'runs:read']);
  assert.ok(Date.parse(entry.createdAt) >= before - 1000);
  const expiresInMs = Date.parse(entry.expiresAt as string) - before;
  assert.ok(Math.abs(expiresInMs - 30 * 86_400_000) < 60_000, `expires in 30 days (${expiresInMs} ms)`);
  assert.equal(entry.lastUsedAt, undefined, 'never used yet');

  assert.equal((await readAutomations(token)).statusCode, 200);
  const used = (await listed()).find((t) => t.name === 'ci-bot');
  assert.ok(used?.lastUsedAt && Date.parse(used.lastUsedAt) >= before - 1000, 'the use is recorded');

  const text = await cli('tokens', 'list');
  assert.match(text.stdout, /^ci-bot {2}definitions:read,runs:read {2}created \S+ {2}expires \S+ {2}last used \S+$/m);
  const hash = createHash('sha256').update(token).digest('hex');
  for (const output of [text.stdout, JSON.stringify(await listed())]) {
    assert.ok(!output.includes(token.slice(4)) && !output.includes(hash), 'neither the token nor its hash is shown');
  }
});

test('a revoked token is a 401 that says so; its name can then be given to a new token, a live name cannot', async () => {
  const token = await create('deployer', '--scopes', 'definitions:read');
  assert.equal((await readAutomations(token)).statusCode, 200);
  const taken = await cli('tokens', 'create', 'deployer', '--scopes', 'admin');
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /a token with that name exists \(revoke it first\)/);

  const revoked = await cli('tokens', 'revoke', 'deployer');
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(revoked.stdout, 'revoked token "deployer"');
  const refused = await readAutomations(token);
  assert.equal(refused.statusCode, 401);
  assert.deepEqual(Object.keys(refused.json().error), ['code', 'message']);
  assert.match(refused.json().error.message, /^token "deployer" was revoked at \d{4}-\d{2}-\d{2}T.*: ask for a new one/);
  assert.ok((await listed()).find((t) => t.name === 'deployer')?.revokedAt, 'list shows the revocation');
  assert.match((await cli('tokens', 'list')).stdout, /^deployer .* revoked \S+ /m);

  const again = await cli('tokens', 'revoke', 'deployer');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no live token named "deployer"/);

  const successor = await create('deployer', '--scopes', 'definitions:read');
  assert.equal((await readAutomations(successor)).statusCode, 200);
  assert.equal((await readAutomations(token)).statusCode, 401, 'the old token stays refused');
});

test('an expired token is a 401 that says so', async () => {
  const token = await create('short-lived', '--scopes', 'definitions:read', '--expires-in', '1s');
  const expiresAt = Date.parse((await listed()).find((t) => t.name === 'short-lived')?.expiresAt as string);
  // Wait for the expiry itself (not a fixed sleep), then ask.
  while (Date.now() <= expiresAt) await new Promise((resolve) => setTimeout(resolve, Math.max(1, expiresAt - Date.now() + 1)));
  const refused = await readAutomations(token);
  assert.equal(refused.statusCode, 401, refused.body);
  assert.match(refused.json().error.message, /^token "short-lived" was expired at /);
  assert.match((await cli('tokens', 'list')).stdout, /^short-lived .* expired \S+ /m);
});

test('create refuses unknown scopes, bad or past expiries, and both expiry options at once', async () => {
  const cases: [string[], RegExp][] = [
    [['x', '--scopes', 'root'], /unknown scope "root"; scopes are admin, /],
    [['x', '--scopes', 'admin', '--expires-in', 'soon'], /--expires-in: "soon" is not a duration such as/],
    [['x', '--scopes', 'admin', '--expires-at', 'tomorrow'], /--expires-at: "tomorrow" is not an RFC 3339 time/],
    [['x', '--scopes', 'admin', '--expires-at', new Date(Date.now() - 60_000).toISOString()], /--expires-at: .* is in the past/],
    [
      ['x', '--scopes', 'admin', '--expires-in', '1d', '--expires-at', '2099-01-01T00:00:00Z'],
      /give --expires-in or --expires-at, not both/,
    ],
  ];
  for (const [args, message] of cases) {
    const result = await cli('tokens', 'create', ...args);
    assert.equal(result.code, 1, args.join(' '));
    assert.match(result.stderr, message);
  }
  assert.equal(
    (await listed()).some((t) => t.name === 'x'),
    false,
    'nothing was created',
  );
});
