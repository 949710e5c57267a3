/**
 * The dev outbox and its routes (idflow dev): bounded by bytes however large and many the posts,
 * and the token-less sink and Slack endpoint answer loopback clients only — refused before the
 * body is read. Through a real API on loopback, and Fastify's inject for other peer addresses.
 */
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DEV_ROUTES } from '../api/scopes.js';
import { devRoutes, isLoopbackAddress } from '../dev/routes.js';
import { buildApiServer } from '../api/server.js';
import { DEFAULT_OUTBOX_LIMITS, DevOutbox, type TruncatedBody } from '../dev/outbox.js';
import { IdflowEngine } from '../engine/engine.js';
import type { Store } from '../store/types.js';
import { silentLogger } from './helpers/engine.js';
import { openTestStore } from './helpers/store.js';

let app: FastifyInstance;
let store: Store;
let outbox: DevOutbox;
let apiUrl: string;
let reader: string;

before(async () => {
  store = await openTestStore();
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: silentLogger });
  outbox = new DevOutbox();
  app = await buildApiServer({ engine, routes: [devRoutes(outbox)] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  reader = await store.tokens.create('reader', ['runs:read']);
});

after(async () => {
  await app.close();
  await store.close();
});

/** JSON bytes of every body the outbox holds, measured from what it lists. */
function heldBytes(items: { body: unknown }[]): number {
  return items.reduce((sum, item) => sum + Buffer.byteLength(JSON.stringify(item.body)), 0);
}

test('40 posts of almost 1 MiB to the sink over loopback keep the outbox within its byte bound, newest first, each cut with a note', async () => {
  const big = 'x'.repeat(1000 * 1000);
  for (let i = 1; i <= 40; i++) {
    const response = await fetch(`${apiUrl}/v1/dev/sink/bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ i, big }),
    });
    assert.equal(response.status, 200, await response.text());
  }
  const listed = await fetch(`${apiUrl}/v1/outbox`, { headers: { authorization: `Bearer ${reader}` } });
  const { items } = (await listed.json()) as { items: { to: string; body: TruncatedBody }[] };
  const held = heldBytes(items);
  assert.ok(held <= DEFAULT_OUTBOX_LIMITS.maxBytes, `the outbox holds ${held} bytes of JSON, over ${DEFAULT_OUTBOX_LIMITS.maxBytes}`);
  assert.ok(held > DEFAULT_OUTBOX_LIMITS.maxBytes / 2, `it still holds the newest items (${held} bytes)`);
  assert.equal(outbox.retainedBytes, held);
  assert.ok(items.length >= 20 && items.length < 40, `${items.length} of 40 items kept: the oldest were dropped`);
  for (const item of items) {
    assert.ok(Buffer.byteLength(JSON.stringify(item.body)) <= DEFAULT_OUTBOX_LIMITS.maxItemBytes + 200);
    assert.match(item.body.truncated, /^kept the first 262144 of 1000\d{3} bytes of JSON$/);
  }
  assert.ok(items[0].body.json.startsWith('{"i":40,'), 'the newest is first');
});

test('the outbox drops its oldest items past its byte bound and keeps small bodies whole', () => {
  const small = new DevOutbox({ maxItems: 500, maxBytes: 1000, maxItemBytes: 400 });
  for (let i = 0; i < 20; i++) small.add({ channel: 'webhook', to: 'w', body: { i, pad: 'y'.repeat(90) } });
  const items = small.list();
  assert.ok(heldBytes(items) <= 1000);
  assert.equal(small.retainedBytes, heldBytes(items));
  assert.deepEqual((items[0].body as { i: number }).i, 19);
  assert.equal(items.length, Math.floor(1000 / Buffer.byteLength(JSON.stringify({ i: 19, pad: 'y'.repeat(90) }))));
});

test('the sink and the Slack endpoint refuse a client that is not on loopback, before reading its body', async () => {
  const before = outbox.list().length;
  for (const url of ['/v1/dev/sink/ticketing', '/v1/dev/slack/api/chat.postMessage', '/v1/dev/slack/api/conversations.list']) {
    for (const remoteAddress of ['203.0.113.7', '10.0.0.2', '::ffff:192.168.1.4', '2001:db8::1']) {
      // Over the 1 MiB body limit: a 413 would mean the body was read before the peer was checked.
      const response = await app.inject({
        method: 'POST',
        url,
        remoteAddress,
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ pad: 'z'.repeat(2 * 1024 * 1024) }),
      });
      assert.equal(response.statusCode, 403, `${url} from ${remoteAddress}: ${response.body}`);
      assert.equal(response.json().error.code, 'FORBIDDEN');
      assert.match(response.json().error.message, /answers loopback clients only/);
    }
  }
  assert.equal(outbox.list().length, before, 'nothing was filed');
  for (const remoteAddress of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) {
    const response = await app.inject({ method: 'POST', url: '/v1/dev/sink/ticketing', remoteAddress, payload: { from: remoteAddress } });
    assert.equal(response.statusCode, 200, `${remoteAddress}: ${response.body}`);
  }
});

test('isLoopbackAddress accepts 127.0.0.0/8 and ::1 only', () => {
  for (const address of ['127.0.0.1', '127.255.0.3', '::1', '::ffff:127.0.0.1', '::FFFF:127.1.2.3'])
    assert.equal(isLoopbackAddress(address), true, address);
  for (const address of [
    undefined,
    '',
    '0.0.0.0',
    '::',
    '128.0.0.1',
    '10.127.0.1',
    '::ffff:10.0.0.1',
    '127.0.0.1.nip.io',
    'fe80::1',
    '::2',
  ])
    assert.equal(isLoopbackAddress(address), false, String(address));
});

test('DEV_ROUTES lists every dev route the API mounts, with how it is reached', async () => {
  const spec = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const devPaths = Object.keys(spec.paths).filter((path) => path.startsWith('/v1/dev/') || path === '/v1/outbox');
  const declared = Object.values(DEV_ROUTES).map((route) => route.url.replace(/:(\w+)/g, '{$1}'));
  assert.deepEqual(devPaths.sort(), declared.sort());
  const anonymous = await app.inject({ url: DEV_ROUTES.outbox.url });
  assert.equal(anonymous.statusCode, 401, 'the outbox itself needs a token');
});
