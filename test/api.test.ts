/**
 * The HTTP API's contract: tokens and scopes on every route but /healthz and /openapi.json,
 * JSON errors with a code and a message, validated and size-limited bodies, OpenAPI.
 * (These routes never reach Temporal; runs through the API are covered in test/cli.test.ts.)
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import { IdflowEngine } from '../engine/engine.js';
import type { Store } from '../store/types.js';
import { silentLogger } from './helpers/engine.js';
import { openTestStore } from './helpers/store.js';

let app: FastifyInstance;
let store: Store;
let admin: string;
let reader: string;

before(async () => {
  store = await openTestStore();
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: silentLogger });
  app = await buildApiServer({ engine, bodyLimitBytes: 64 * 1024 });
  admin = await store.tokens.create('admin', ['admin']);
  reader = await store.tokens.create('reader', ['definitions:read']);
});

after(async () => {
  await app.close();
  await store.close();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

test('/healthz and /openapi.json are public; the spec lists the routes', async () => {
  assert.deepEqual((await app.inject({ url: '/healthz' })).json(), { ok: true });
  const spec = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
  for (const path of ['/v1/apply', '/v1/events', '/v1/runs', '/v1/runs/{id}', '/v1/automations/{name}/runs'])
    assert.ok(spec.paths[path], `${path} in openapi.json`);
});

test('no token and a bad token are 401; a missing scope is 403 and names it', async () => {
  const none = await app.inject({ url: '/v1/automations' });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error.code, 'UNAUTHORIZED');
  assert.equal((await app.inject({ url: '/v1/automations', headers: auth('idf_wrong') })).statusCode, 401);
  const forbidden = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(reader),
    payload: { type: 'user.created', data: {} },
  });
  assert.equal(forbidden.statusCode, 403);
  assert.match(forbidden.json().error.message, /lacks the scope "events:write"/);
});

test('an invalid body is a 400 that names the field', async () => {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: auth(admin),
    payload: { type: 'user.exploded', data: {} },
  });
  assert.equal(response.statusCode, 400);
  assert.equal(response.json().error.code, 'VALIDATION');
  assert.match(response.json().error.message, /body\.type: /);
});

test('a body over the limit is a 413', async () => {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/apply',
    headers: { ...auth(admin), 'content-type': 'application/json' },
    payload: JSON.stringify({ files: [{ path: 'a.yaml', content: 'x'.repeat(70 * 1024) }] }),
  });
  assert.equal(response.statusCode, 413);
  assert.equal(response.json().error.code, 'PAYLOAD_TOO_LARGE');
});

test('unknown things are 404s in the same JSON shape', async () => {
  const run = await app.inject({ url: `/v1/runs/${encodeURIComponent('joiner:evt/1')}`, headers: auth(admin) });
  assert.equal(run.statusCode, 404);
  assert.deepEqual(run.json(), { error: { code: 'NOT_FOUND', message: 'run "joiner:evt/1" does not exist' } });
  assert.equal((await app.inject({ url: '/v1/nowhere', headers: auth(admin) })).json().error.code, 'NOT_FOUND');
});

test('apply answers 422 with located errors, and 200 with versions; both are audited by token name', async () => {
  const bad = await app.inject({
    method: 'POST',
    url: '/v1/apply',
    headers: auth(admin),
    payload: { files: [{ path: 'a.yaml', content: 'kind: Automation\nname: a\ntrigger: { type: manual }\nsteps: []\n' }] },
  });
  assert.equal(bad.statusCode, 422);
  assert.deepEqual(bad.json().errors[0], {
    file: 'a.yaml',
    line: 4,
    column: 8,
    path: 'steps',
    message: 'an automation needs at least one step',
  });
  const good = await app.inject({
    method: 'POST',
    url: '/v1/apply',
    headers: auth(admin),
    payload: {
      files: [
        {
          path: 'a.yaml',
          content: 'kind: Automation\nname: a\ntrigger: { type: manual }\nsteps: [{ name: w, type: wait, with: { duration: 1s } }]\n',
        },
      ],
    },
  });
  assert.equal(good.statusCode, 200);
  assert.deepEqual(good.json().applied, [{ kind: 'Automation', name: 'a', version: 1, created: true }]);
  const audit = (await app.inject({ url: '/v1/audit', headers: auth(admin) })).json() as { entries: { actor: string; target: string }[] };
  assert.ok(audit.entries.some((entry) => entry.actor === 'admin' && entry.target === 'Automation/a'));
});
