/**
 * What the API does with a request before any route sees it: the token is checked before the
 * body is parsed or validated, a body nested too deep is a 400 (never a stack overflow), and
 * every error Fastify itself raises has the documented { error: { code, message } } shape.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { nestsDeeperThan } from '../api/body-depth.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

let api: OfflineApi;
let app: FastifyInstance;
let admin: string;

before(async () => {
  api = await startOfflineApi({ bodyLimitBytes: 64 * 1024 });
  app = api.app;
  admin = await api.store.tokens.create('admin', ['admin']);
});

after(() => api.close());

const json = { 'content-type': 'application/json' };
const withAdmin = () => ({ ...json, authorization: `Bearer ${admin}` });
/** `{"a":{"a":...{}...}}`, `levels` objects deep. */
const nested = (levels: number) => `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
/** The documented error shape, exactly: no Fastify fields (statusCode, error) beside it. */
function assertError(response: { statusCode: number; json(): unknown; body: string }, status: number, code: string, message: RegExp): void {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json() as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ['error'], response.body);
  assert.deepEqual(Object.keys(body.error), ['code', 'message'], response.body);
  assert.equal(body.error.code, code);
  assert.match(body.error.message, message);
}

describe('authentication comes before the body', () => {
  test('a bad body without a token is a 401, not a 400 that describes the schema', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: json,
      payload: JSON.stringify({ type: 'user.exploded', data: 'x' }),
    });
    assertError(response, 401, 'UNAUTHORIZED', /missing bearer token/);
    assert.ok(!response.body.includes('user.created'), 'no schema details leak');
  });

  test('a body that is not JSON, or 2,000 levels deep, without a token is a 401', async () => {
    assertError(
      await app.inject({ method: 'POST', url: '/v1/apply', headers: json, payload: '{not json' }),
      401,
      'UNAUTHORIZED',
      /missing bearer token/,
    );
    assertError(
      await app.inject({ method: 'POST', url: '/v1/events', headers: json, payload: nested(2_000) }),
      401,
      'UNAUTHORIZED',
      /missing bearer token/,
    );
    assertError(
      await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...json, authorization: 'Bearer idf_wrong' },
        payload: nested(2_000),
      }),
      401,
      'UNAUTHORIZED',
      /invalid token/,
    );
  });
});

test('HEAD, the twin Fastify makes of each GET route, needs the same token', async () => {
  assert.equal((await app.inject({ method: 'HEAD', url: '/v1/audit' })).statusCode, 401);
  assert.equal((await app.inject({ method: 'HEAD', url: '/v1/audit', headers: withAdmin() })).statusCode, 200);
});

describe('nesting depth', () => {
  // A function's input is any JSON, which zod's z.json() checks by recursion (POST /v1/events bounds its data itself, naming the field: test/events-ingest.test.ts).
  const functionRun = (input: string) =>
    app.inject({ method: 'POST', url: '/v1/functions/nothing-here/runs', headers: withAdmin(), payload: `{"input":${input}}` });

  test('a body nested 2,000 (or 65) levels deep is a 400 that says so, with a valid token too', async () => {
    for (const levels of [2_000, 65]) {
      const response = await functionRun(nested(levels - 1));
      assertError(response, 400, 'INVALID', /the body is nested too deep: at most 64 levels of arrays and objects/);
    }
    const arrays = await app.inject({
      method: 'POST',
      url: '/v1/apply',
      headers: withAdmin(),
      payload: `{"files":${'['.repeat(5_000)}${']'.repeat(5_000)}}`,
    });
    assertError(arrays, 400, 'INVALID', /nested too deep/);
  });

  test('only arrays and plain objects count: a body a route takes as a stream is not walked', () => {
    assert.equal(nestsDeeperThan(JSON.parse(nested(3)), 2), true);
    assert.equal(nestsDeeperThan(JSON.parse(nested(3)), 3), false);
    // A stream's internals nest deeper than 2 (and refer back to the stream): walking them would be wrong and could loop.
    assert.equal(nestsDeeperThan(Readable.from(['a,b\n']), 2), false);
  });

  test('64 levels reach the route: the depth limit is not what refuses it', async () => {
    assertError(await functionRun(nested(63)), 404, 'NOT_FOUND', /function "nothing-here" does not exist/);
  });
});

describe("Fastify's own errors have the documented shape", () => {
  test('a bad percent-encoding in the URL is a 400 INVALID', async () => {
    assertError(await app.inject({ url: '/v1/runs/%E0%A4%A', headers: withAdmin() }), 400, 'INVALID', /not a valid url component/);
  });

  test('a body that is not JSON is a 400 INVALID', async () => {
    assertError(
      await app.inject({ method: 'POST', url: '/v1/events', headers: withAdmin(), payload: '{"type":' }),
      400,
      'INVALID',
      /not valid JSON/,
    );
  });

  test('an unsupported content type is a 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    assertError(
      await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...withAdmin(), 'content-type': 'application/xml' },
        payload: '<event/>',
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /content-type/i,
    );
  });

  test('a body over the limit is a 413 PAYLOAD_TOO_LARGE, an unknown route a 404 NOT_FOUND', async () => {
    assertError(
      await app.inject({
        method: 'POST',
        url: '/v1/apply',
        headers: withAdmin(),
        payload: JSON.stringify({ files: [{ path: 'a.yaml', content: 'x'.repeat(70 * 1024) }] }),
      }),
      413,
      'PAYLOAD_TOO_LARGE',
      /larger than the API accepts/,
    );
    assertError(await app.inject({ url: '/v1/nowhere', headers: withAdmin() }), 404, 'NOT_FOUND', /no route GET \/v1\/nowhere/);
  });
});

test('an HR feed refused for its size closes the connection: its unread rest never sits before the next request', async () => {
  const small = await startOfflineApi({ importLimitBytes: 1024 });
  try {
    const token = await small.store.tokens.create('importer', ['directory:write']);
    const feed = `id,email\n${Array.from({ length: 200 }, (_, i) => `p-${i},p${i}@acme.example`).join('\n')}\n`;
    const headers = { 'content-type': 'text/csv', authorization: `Bearer ${token}` };
    // Declared too large (refused before reading), and streamed without a length (refused while reading).
    for (const payload of [feed, Readable.from([Buffer.from(feed)])]) {
      const response = await small.app.inject({ method: 'POST', url: '/v1/directory/import', headers, payload });
      assertError(response, 413, 'PAYLOAD_TOO_LARGE', /larger than the import limit of 1 KiB/);
      assert.equal(response.headers.connection, 'close');
    }
  } finally {
    await small.close();
  }
});
