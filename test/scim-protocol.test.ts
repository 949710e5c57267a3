/**
 * The SCIM service's edges, over a real store without Temporal (directory changes wait in the
 * outbox): a `scim` token reaches /scim/v2 and nothing else; every refusal is a SCIM error with
 * the scimType the RFC gives it; filters, pages, PATCH operation counts and bodies are bounded;
 * If-Match guards writes; filters compare as the schema says.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../core/json.js';
import { ROUTE_ACCESS } from '../api/scopes.js';
import { MAX_FILTER_EXPRESSIONS, MAX_FILTER_LENGTH } from '../scim/filter.js';
import { MAX_PATCH_OPERATIONS } from '../scim/patch.js';
import { MAX_PAGE_SIZE } from '../scim/resources.js';
import { ERROR_SCHEMA } from '../scim/errors.js';
import { ENTERPRISE_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA } from '../scim/schemas.js';
import type { Store } from '../store/types.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

let api: OfflineApi;
let app: FastifyInstance;
let store: Store;
let token: string;

before(async () => {
  api = await startOfflineApi();
  ({ app, store } = api);
  token = await store.tokens.create('okta', ['scim']);
});
after(() => api.close());

const request = (method: InjectOptions['method'], url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method,
    url: `/scim/v2${url}`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...headers },
    ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });

const person = (name: string, extra: JsonObject = {}) => ({
  schemas: [USER_SCHEMA],
  userName: `${name}@acme.example`,
  emails: [{ value: `${name}@acme.example`, primary: true }],
  ...extra,
});

/** Asserts a SCIM error with this status and scimType (none when undefined), and returns its detail. */
function scimError(response: Awaited<ReturnType<typeof request>>, status: number, scimType?: string): string {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/scim\+json/);
  const body = response.json();
  assert.deepEqual(body.schemas, [ERROR_SCHEMA]);
  assert.equal(body.status, String(status));
  assert.equal(body.scimType, scimType);
  return body.detail as string;
}

describe('the scim scope', () => {
  test('a scim token reaches every /scim/v2 route and no other route', async () => {
    for (const route of Object.keys(ROUTE_ACCESS)) {
      const access = ROUTE_ACCESS[route];
      if (access === 'public') continue;
      assert.equal(Array.isArray(access) && access.includes('scim'), route.includes(' /scim/v2/'), route);
      if (route.includes(' /scim/v2/')) assert.deepEqual(access, ['scim'], `${route}: only scim (and admin)`);
    }
    const elsewhere = await app.inject({ url: '/v1/directory/users', headers: { authorization: `Bearer ${token}` } });
    assert.equal(elsewhere.statusCode, 403);
    const reader = await store.tokens.create('reader', ['directory:read', 'directory:write']);
    const refused = await app.inject({ url: '/scim/v2/Users', headers: { authorization: `Bearer ${reader}` } });
    assert.match(scimError(refused, 403), /token "reader" lacks the scope "scim"/);
    assert.match(scimError(await app.inject({ url: '/scim/v2/Users' }), 401), /missing bearer token/);
  });
});

describe('errors and limits', () => {
  test('bad input is a 400 with its scimType, naming what is wrong', async () => {
    assert.match(scimError(await request('POST', '/Users', { schemas: [USER_SCHEMA] }), 400, 'invalidValue'), /userName/);
    assert.match(
      scimError(await request('POST', '/Users', { schemas: [USER_SCHEMA], userName: 'no-address' }), 400, 'invalidValue'),
      /email/,
    );
    assert.match(scimError(await request('POST', '/Users', person('bad', { active: 'maybe' })), 400, 'invalidValue'), /active.*boolean/);
    scimError(await request('POST', '/Users', '{"userName": '), 400, 'invalidSyntax');
    scimError(await request('POST', '/Users', '[]'), 400, 'invalidSyntax');
    assert.match(
      scimError(await request('GET', `/Users?filter=${encodeURIComponent('userName eq')}`), 400, 'invalidFilter'),
      /not a SCIM filter/,
    );
    const created = await request('POST', '/Users', person('ada'));
    assert.equal(created.statusCode, 201, created.body);
    assert.match(scimError(await request('POST', '/Users', person('ada')), 409, 'uniqueness'), /userName "ada@acme.example" is taken/);
    const id = created.json().id as string;
    scimError(
      await request('PATCH', `/Users/${id}`, { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'id', value: 'x' }] }),
      400,
      'mutability',
    );
    scimError(
      await request('PATCH', `/Users/${id}`, { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'add', path: 'nope', value: 'x' }] }),
      400,
      'invalidPath',
    );
    scimError(await request('PATCH', `/Users/${id}`, { Operations: [] }), 400, 'invalidSyntax');
    scimError(await request('GET', '/Users/nobody'), 404);
    scimError(await request('GET', '/Nothing'), 404);
    scimError(await request('POST', '/Schemas', {}), 405);
  });

  test('filters, pages, PATCH operations and bodies are bounded', async () => {
    const long = `userName eq "${'a'.repeat(MAX_FILTER_LENGTH)}"`;
    assert.match(scimError(await request('GET', `/Users?filter=${encodeURIComponent(long)}`), 400, 'invalidFilter'), /at most 2048/);
    const many = Array.from({ length: MAX_FILTER_EXPRESSIONS }, (_, i) => `title eq "${i}"`).join(' or ');
    assert.match(
      scimError(await request('GET', `/Users?filter=${encodeURIComponent(many)}`), 400, 'invalidFilter'),
      /expressions; at most 64/,
    );
    for (let i = 0; i < 3; i++) assert.equal((await request('POST', '/Users', person(`page-${i}`))).statusCode, 201);
    const page = (await request('GET', `/Users?count=${MAX_PAGE_SIZE + 50}&startIndex=2`)).json();
    assert.equal(page.itemsPerPage, page.totalResults - 1, 'a count above the maximum is cut to it, not refused');
    assert.equal(page.startIndex, 2);
    assert.equal((await request('GET', '/Users?count=1')).json().Resources.length, 1);
    const id = (await request('GET', '/Users?count=1')).json().Resources[0].id;
    const operations = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'replace', path: 'title', value: 'x' }));
    assert.match(
      scimError(await request('PATCH', `/Users/${id}`, { schemas: [PATCH_OP_SCHEMA], Operations: operations }), 400, 'tooMany'),
      /at most 100/,
    );
    const huge = person('huge', { nickName: 'x'.repeat(300 * 1024) });
    assert.match(scimError(await request('POST', '/Users', huge), 413), /256 KiB/);
    const deep = JSON.stringify(person('deep', { nickName: JSON.parse('['.repeat(100) + ']'.repeat(100)) }));
    scimError(await request('POST', '/Users', deep), 400, 'invalidValue');
    const kept = person('kept', { ims: Array.from({ length: 200 }, (_, i) => ({ value: `im-${i}-${'x'.repeat(100)}` })) });
    assert.match(scimError(await request('POST', '/Users', kept), 400, 'invalidValue'), /at most 16384/);
  });

  test('If-Match: a stale version is a 412, the current one or * passes; GET answers the ETag', async () => {
    const created = await request('POST', '/Users', person('etag'));
    const { id } = created.json();
    const version = created.headers.etag as string;
    assert.match(version, /^W\/"/);
    assert.equal((await request('GET', `/Users/${id}`)).headers.etag, version);
    const patch = { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] };
    const changed = await request('PATCH', `/Users/${id}`, patch, { 'if-match': version });
    assert.equal(changed.statusCode, 200, changed.body);
    assert.notEqual(changed.headers.etag, version);
    assert.match(scimError(await request('PUT', `/Users/${id}`, person('etag'), { 'if-match': version }), 412), /read it again/);
    scimError(await request('DELETE', `/Users/${id}`, undefined, { 'if-match': version }), 412);
    assert.equal((await store.directory.getUser(id))?.title, 'Engineer', 'the refused PUT changed nothing');
    assert.equal((await request('DELETE', `/Users/${id}`, undefined, { 'if-match': '*' })).statusCode, 204);
  });
});

describe('filters', () => {
  test('eq, co, sw, pr, and, or, not over userName, emails, externalId, displayName and the enterprise extension', async () => {
    const make = async (name: string, extra: JsonObject) => (await request('POST', '/Users', person(name, extra))).json().id as string;
    const grace = await make('grace', { displayName: 'Grace Hopper', externalId: 'GH-1', [ENTERPRISE_SCHEMA]: { department: 'Navy' } });
    const alan = await make('alan', { displayName: 'Alan Turing', externalId: 'gh-1', title: 'Researcher' });
    const ids = async (filter: string) =>
      ((await request('GET', `/Users?filter=${encodeURIComponent(filter)}`)).json().Resources as JsonObject[])
        .map((user) => user.id)
        .filter((id) => id === grace || id === alan)
        .sort();
    const both = [grace, alan].sort();
    assert.deepEqual(await ids('userName eq "GRACE@acme.example"'), [grace]);
    assert.deepEqual(await ids('emails co "@ACME"'), both);
    assert.deepEqual(await ids('emails[value sw "alan"]'), [alan]);
    assert.deepEqual(await ids('emails.value sw "grace"'), [grace]);
    assert.deepEqual(await ids('externalId eq "GH-1"'), [grace], 'externalId is case-exact');
    assert.deepEqual(await ids('displayName sw "alan" or displayName co "hopper"'), both);
    assert.deepEqual(await ids('title pr and not (displayName eq "Grace Hopper")'), [alan]);
    assert.deepEqual(await ids(`${ENTERPRISE_SCHEMA}:department eq "navy"`), [grace]);
    assert.deepEqual(await ids('active eq true and userName ew "acme.example"'), both);
  });
});
