/**
 * The web console's sign-in against the real API over loopback HTTP and a real store: a session
 * cookie from a token or a one-time link, the cookie accepted where a bearer token is, CSRF on
 * every cookie write, the token's current scopes (revoked: the session ends), sign-out, expiry,
 * and the built console served at / with its client-side routes and headers.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { Store } from '../store/types.js';
import { runCli } from './helpers/cli.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

const INDEX_HTML = '<!doctype html><html><head><script type="module" src="/assets/main-0f1e2d3c.js"></script></head><body></body></html>\n';
const ASSET = "console.log('the console');\n";

let consoleDir: string;
let api: OfflineApi;
let store: Store;
let url: string;
let admin: string;
let reader: string;

before(async () => {
  consoleDir = await mkdtemp(join(tmpdir(), 'idflow-console-'));
  await mkdir(join(consoleDir, 'assets'));
  await writeFile(join(consoleDir, 'index.html'), INDEX_HTML);
  await writeFile(join(consoleDir, 'assets', 'main-0f1e2d3c.js'), ASSET);
  api = await startOfflineApi({ console: { dir: consoleDir } });
  store = api.store;
  url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  admin = await store.tokens.create('console-admin', ['admin']);
  reader = await store.tokens.create('console-reader', ['definitions:read']);
});

after(async () => {
  await api.close();
  await rm(consoleDir, { recursive: true, force: true });
});

const webhook = (name: string) => ({
  files: [{ path: `${name}.yaml`, content: `kind: Webhook\nname: ${name}\nurl: https://hooks.example.com/${name}\n` }],
});

function call(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    redirect: 'manual',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

/** A GET with its path exactly as given. */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    get({ hostname, port, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

interface Session {
  cookie: string;
  csrfToken: string;
  setCookie: string;
  body: { name: string; scopes: string[]; csrfToken: string; expiresAt: string };
}

async function signIn(token: string, headers: Record<string, string> = {}): Promise<Session> {
  const response = await call('/v1/console/sessions', { method: 'POST', body: { token }, headers });
  assert.equal(response.status, 201, await response.clone().text());
  const [setCookie] = response.headers.getSetCookie();
  const body = (await response.json()) as Session['body'];
  return { cookie: setCookie.split(';')[0], csrfToken: body.csrfToken, setCookie, body };
}

const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string; message: string } }).error;

describe('sign-in with a token', () => {
  test('answers who and which scopes, and sets an HttpOnly, SameSite=Strict cookie that lasts the session (Secure over https)', async () => {
    const started = Date.now();
    const session = await signIn(admin);
    assert.equal(session.body.name, 'console-admin');
    assert.deepEqual(session.body.scopes, ['admin']);
    assert.match(session.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
    const ttlMs = Date.parse(session.body.expiresAt) - started;
    assert.ok(ttlMs > 12 * 3_600_000 - 5_000 && ttlMs <= 12 * 3_600_000 + 1_000, `a 12 h session: ${session.body.expiresAt}`);
    assert.match(session.setCookie, /^idflow_session=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=43[12]\d\d; HttpOnly; SameSite=Strict$/);
    assert.doesNotMatch(session.setCookie, /Secure/, 'a plain-http request gets no Secure cookie (the browser would drop it)');
    const proxied = await signIn(admin, { 'x-forwarded-proto': 'https' });
    assert.match(proxied.setCookie, /; HttpOnly; SameSite=Strict; Secure$/);
    const [entry] = await store.audit.list({ target: 'token:console-admin', limit: 1 });
    assert.deepEqual([entry.actor, entry.action, (entry.details as { via: string }).via], ['console-admin', 'console.signin', 'token']);
    assert.ok(!JSON.stringify(entry).includes(session.cookie.split('=')[1]), 'the audit entry holds no session id');
  });

  test('a bad token is a 401 that says why; a malformed body a 400 naming the field', async () => {
    const unknown = await call('/v1/console/sessions', { method: 'POST', body: { token: 'idf_nope' } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.headers.get('set-cookie'), null);
    assert.deepEqual(await errorOf(unknown), { code: 'UNAUTHORIZED', message: 'invalid token' });
    const expired = await store.tokens.create('console-expired', ['admin'], { expiresAt: new Date(Date.now() - 60_000) });
    const refused = await call('/v1/console/sessions', { method: 'POST', body: { token: expired } });
    assert.equal(refused.status, 401);
    assert.match((await errorOf(refused)).message, /token "console-expired" was expired at /);
    const long = await call('/v1/console/sessions', { method: 'POST', body: { token: 'x'.repeat(201) } });
    assert.equal(long.status, 400);
    assert.match((await errorOf(long)).message, /^body\.token: at most 200 characters/);
  });
});

describe('the session cookie where a bearer token goes', () => {
  test('reads work with the cookie alone; the session route answers a cookie, not a bearer token', async () => {
    const session = await signIn(reader);
    const read = await call('/v1/automations', { headers: { cookie: session.cookie } });
    assert.equal(read.status, 200, await read.clone().text());
    const current = await call('/v1/console/session', { headers: { cookie: `theme=dark; ${session.cookie}` } });
    assert.equal(current.status, 200);
    assert.deepEqual(await current.json(), session.body);
    const bearer = await call('/v1/console/session', { headers: { authorization: `Bearer ${reader}` } });
    assert.equal(bearer.status, 401);
    assert.match((await errorOf(bearer)).message, /no console session/);
  });

  test('a write with the cookie needs the X-CSRF-Token of its session: without it, or with another, 403 CSRF and nothing written', async () => {
    const session = await signIn(admin);
    const other = await signIn(admin);
    const wrong: Record<string, string>[] = [{}, { 'x-csrf-token': other.csrfToken }, { 'x-csrf-token': `${session.csrfToken}x` }];
    for (const headers of wrong) {
      const forged = await call('/v1/apply', {
        method: 'POST',
        headers: { cookie: session.cookie, ...headers },
        body: webhook('csrf-hook'),
      });
      assert.equal(forged.status, 403);
      const error = await errorOf(forged);
      assert.equal(error.code, 'CSRF');
      assert.match(error.message, /must send the session's csrfToken in the x-csrf-token header/);
    }
    assert.equal(await store.definitions.current('Webhook', 'csrf-hook'), undefined, 'nothing was applied');
    const applied = await call('/v1/apply', {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
      body: webhook('csrf-hook'),
    });
    assert.equal(applied.status, 200, await applied.clone().text());
    assert.equal((await store.definitions.current('Webhook', 'csrf-hook'))?.createdBy, 'console-admin', 'the session acts as its token');
  });

  test("a read-only token's session is refused a write even with the CSRF token; bearer requests need none", async () => {
    const session = await signIn(reader);
    const write = await call('/v1/apply', {
      method: 'POST',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
      body: webhook('reader-hook'),
    });
    assert.equal(write.status, 403);
    assert.deepEqual(await errorOf(write), {
      code: 'FORBIDDEN',
      message: 'token "console-reader" lacks the scope (any one of) "definitions:write", "functions:write", "directory:write"',
    });
    // A bearer token wins over a cookie sent beside it, and needs no CSRF header.
    const bearer = await call('/v1/apply', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, cookie: session.cookie },
      body: webhook('bearer-hook'),
    });
    assert.equal(bearer.status, 200, await bearer.clone().text());
  });

  test('sign-out ends the session and clears the cookie; it needs the CSRF token too', async () => {
    const session = await signIn(admin);
    const forged = await call('/v1/console/session', { method: 'DELETE', headers: { cookie: session.cookie } });
    assert.equal((await errorOf(forged)).code, 'CSRF');
    assert.equal((await call('/v1/console/session', { headers: { cookie: session.cookie } })).status, 200, 'still signed in');
    const out = await call('/v1/console/session', {
      method: 'DELETE',
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.getSetCookie()[0], /^idflow_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    const after = await call('/v1/automations', { headers: { cookie: session.cookie } });
    assert.equal(after.status, 401);
    assert.match((await errorOf(after)).message, /no console session with this cookie \(signed out, or never signed in\)/);
    assert.match(after.headers.getSetCookie()[0], /^idflow_session=; .*Max-Age=0/, 'a dead cookie is cleared');
    assert.equal((await store.audit.list({ target: 'token:console-admin', limit: 1 }))[0].action, 'console.signout');
  });

  test("a session has its token's current standing: revoking the token ends it, and a new token of that name does not revive it", async () => {
    const token = await store.tokens.create('console-revoked', ['admin']);
    const session = await signIn(token);
    assert.equal((await call('/v1/automations', { headers: { cookie: session.cookie } })).status, 200);
    assert.equal(await store.tokens.revoke('console-revoked'), true);
    const revoked = await call('/v1/automations', { headers: { cookie: session.cookie } });
    assert.equal(revoked.status, 401);
    assert.match((await errorOf(revoked)).message, /^the console session ended: token "console-revoked" was revoked at /);
    await store.tokens.create('console-revoked', ['admin']);
    assert.equal((await call('/v1/console/session', { headers: { cookie: session.cookie } })).status, 401);
  });

  test('a session expires: afterwards its cookie is a 401 saying when', async () => {
    // Long enough for the first request on a loaded machine, short enough to wait out.
    const opened = await store.consoleSessions.open(admin, 1_500);
    assert.ok(opened.valid);
    const cookie = `idflow_session=${opened.session.id}`;
    assert.equal((await call('/v1/console/session', { headers: { cookie } })).status, 200, 'valid until it expires');
    await sleep(Date.parse(opened.session.expiresAt) - Date.now() + 20);
    const expired = await call('/v1/console/session', { headers: { cookie } });
    assert.equal(expired.status, 401);
    assert.equal((await errorOf(expired)).message, `the console session expired at ${opened.session.expiresAt}: sign in again`);
  });
});

describe('one-time sign-in links', () => {
  async function link(credential: Record<string, string>, body: unknown = {}): Promise<{ url: string; expiresAt: string }> {
    const response = await call('/v1/console/links', { method: 'POST', headers: credential, body });
    assert.equal(response.status, 201, await response.clone().text());
    return (await response.json()) as { url: string; expiresAt: string };
  }

  const visit = (linkUrl: string) => fetch(linkUrl, { redirect: 'manual' });

  test("a link signs in once, as the caller's own token: 303 to / with the cookie; a second use is refused", async () => {
    const created = await link({ authorization: `Bearer ${reader}` });
    assert.match(created.url, new RegExp(`^${url}/console/signin/[A-Za-z0-9_-]{43}$`));
    const minutes = (Date.parse(created.expiresAt) - Date.now()) / 60_000;
    assert.ok(minutes > 14.9 && minutes <= 15, `15 minutes by default: ${minutes}`);
    const first = await visit(created.url);
    assert.equal(first.status, 303);
    assert.equal(first.headers.get('location'), '/');
    assert.equal(first.headers.get('referrer-policy'), 'no-referrer');
    const cookie = first.headers.getSetCookie()[0].split(';')[0];
    const session = (await (await call('/v1/console/session', { headers: { cookie } })).json()) as Session['body'];
    assert.deepEqual([session.name, session.scopes], ['console-reader', ['definitions:read']], "the reader's scopes, no more");
    const second = await visit(created.url);
    assert.equal(second.status, 410);
    assert.match(second.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await second.text(), /This sign-in link was used at \d{4}-/);
    assert.equal(second.headers.get('set-cookie'), null);
    const audit = await store.audit.list({ target: 'token:console-reader', limit: 2 });
    assert.deepEqual(
      audit.map((entry) => [entry.action, (entry.details as { via?: string }).via]),
      [
        ['console.signin', 'link'],
        ['console.link.create', undefined],
      ],
    );
    assert.ok(!JSON.stringify(audit).includes(created.url.split('/').pop() as string), 'the audit log never holds the link');
  });

  test('of two uses at once, exactly one signs in', async () => {
    for (let round = 0; round < 5; round++) {
      const created = await link({ authorization: `Bearer ${admin}` });
      const statuses = (await Promise.all([visit(created.url), visit(created.url)])).map((response) => response.status).sort();
      assert.deepEqual(statuses, [303, 410], `round ${round}`);
    }
  });

  test("a session's link is for the session's token; creating one takes the CSRF token", async () => {
    const session = await signIn(reader);
    const forged = await call('/v1/console/links', { method: 'POST', headers: { cookie: session.cookie }, body: {} });
    assert.equal((await errorOf(forged)).code, 'CSRF');
    const created = await link({ cookie: session.cookie, 'x-csrf-token': session.csrfToken }, { expiresIn: '2h' });
    assert.ok(Math.abs(Date.parse(created.expiresAt) - Date.now() - 2 * 3_600_000) < 5_000);
    const cookie = (await visit(created.url)).headers.getSetCookie()[0].split(';')[0];
    assert.equal(((await (await call('/v1/console/session', { headers: { cookie } })).json()) as Session['body']).name, 'console-reader');
  });

  test('an expired or unknown link is refused; expiresIn is bounded; a link needs a valid credential', async () => {
    const created = await store.consoleSessions.createLink({ token: admin }, 30);
    assert.ok(created !== undefined);
    await sleep(Date.parse(created.expiresAt) - Date.now() + 20);
    const expired = await visit(`${url}/console/signin/${created.link}`);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /This sign-in link expired at /);
    const unknown = await visit(`${url}/console/signin/${'A'.repeat(43)}`);
    assert.equal(unknown.status, 401);
    assert.match(await unknown.text(), /This sign-in link is not one idflow made/);
    const tooLong = await call('/v1/console/links', {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}` },
      body: { expiresIn: '25h' },
    });
    assert.equal(tooLong.status, 400);
    assert.match((await errorOf(tooLong)).message, /^body\.expiresIn: expected a duration up to 1d/);
    assert.equal((await call('/v1/console/links', { method: 'POST', body: {} })).status, 401);
  });

  test("a revoked token's link signs no one in", async () => {
    const token = await store.tokens.create('console-link-revoked', ['admin']);
    const created = await link({ authorization: `Bearer ${token}` });
    await store.tokens.revoke('console-link-revoked');
    const refused = await visit(created.url);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /token &quot;console-link-revoked&quot; was revoked at/);
  });

  test("idflow console link prints a link for the CLI's token", async () => {
    const saved = { url: process.env.IDFLOW_URL, token: process.env.IDFLOW_TOKEN };
    Object.assign(process.env, { IDFLOW_URL: url, IDFLOW_TOKEN: reader });
    try {
      const result = await runCli(['console', 'link', '--expires-in', '5m']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^${url}/console/signin/[A-Za-z0-9_-]{43}$`));
      assert.match(result.stderr, /^one sign-in, until \d{4}-/);
      assert.equal((await visit(result.stdout)).status, 303);
    } finally {
      for (const [name, value] of [
        ['IDFLOW_URL', saved.url],
        ['IDFLOW_TOKEN', saved.token],
      ] as const)
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
  });
});

describe('the built console at /', () => {
  const SECURITY = {
    'content-security-policy': "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
  const assertSecurityHeaders = (response: Response) => {
    for (const [name, value] of Object.entries(SECURITY)) assert.equal(response.headers.get(name), value, name);
  };

  test('/ and every client-side route answer index.html, checked on each load, with a CSP that allows only its own files', async () => {
    for (const path of ['/', '/runs/engineering-joiner%3Aevt-1', '/people/u-1001?tab=timeline', '/approvals?state=pending', '/signin']) {
      const response = await call(path);
      assert.equal(response.status, 200, path);
      assert.equal(await response.text(), INDEX_HTML, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assertSecurityHeaders(response);
    }
    const head = await call('/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('an asset is cached for a year, immutable; a missing one is a 404, never index.html', async () => {
    const asset = await call('/assets/main-0f1e2d3c.js');
    assert.equal(asset.status, 200);
    assert.equal(await asset.text(), ASSET);
    assert.match(asset.headers.get('content-type') ?? '', /^application\/javascript|^text\/javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assertSecurityHeaders(asset);
    // As sent, not as fetch would normalize them (it resolves dot segments before sending).
    for (const path of [
      '/assets/missing.js',
      '/assets/../index.html',
      '/assets/%2e%2e/index.html',
      '/assets/..%2Findex.html',
      '/assets/.hidden',
    ]) {
      const missing = await rawGet(path);
      assert.equal(missing.status, 404, path);
      assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'NOT_FOUND', path);
    }
  });

  test("API paths keep the API's JSON 404, and writes to a client-side route are no page", async () => {
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['GET', '/v1'],
      ['GET', '/console/signin'],
      ['GET', '/metrics/x'],
      ['POST', '/runs/x'],
    ]) {
      const response = await call(path, { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      assert.deepEqual(await errorOf(response), { code: 'NOT_FOUND', message: `no route ${method} ${path}` });
    }
    const scim = await call('/scim/v2/Nope');
    assert.equal(scim.status, 404);
    assert.match(await scim.text(), /urn:ietf:params:scim:api:messages:2\.0:Error/, "SCIM's own 404");
  });
});
