/**
 * HR webhooks (kind: EventSource) end to end: real Temporal, a real store, the API on a loopback
 * port and signed requests sent to it over HTTP. A signed request's events run automations once
 * however often it comes; a forged, tampered or old one is refused and recorded; a mapping that
 * fails keeps the body, and a replay after the fix runs it; people go through the directory and
 * its outbox; the example's BambooHR-style source drives a real webhook; the secret appears in
 * no answer, log or record.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { buildApiServer } from '../api/server.js';
import { main } from '../cli/main.js';
import type { DeliveryOutcome } from '../engine/sources.js';
import type { Scope, SourceDeliverySummary } from '../store/types.js';
import { capturingLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { until } from './helpers/worker-process.js';

/** The secrets under test: each must appear in no answer, log line or stored record. */
const SIGNING_SECRET = `whsec_${Buffer.alloc(24, 0x5a).toString('base64')}`;
const HMAC_KEY = 'hmac-key-for-the-hr-system-0123456789';
const BAMBOOHR_KEY = 'bamboohr-private-key-9f8e7d6c5b4a';
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');

let idflow: TestEngine;
let api: FastifyInstance;
let url: string;
let receiver: Receiver;
let admin: string;
const logs = capturingLogger();
/** Every answer the API gave in this file, to look for the secrets in. */
const answers: string[] = [];

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

async function send(
  method: string,
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.token && { authorization: `Bearer ${options.token}` }),
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body,
  });
  const text = await response.text();
  answers.push(text);
  return { status: response.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

const post = (source: string, body: string, headers: Record<string, string>) => send('POST', `/v1/sources/${source}`, { body, headers });

function applyAs(token: string, content: string): Promise<Answer> {
  return send('POST', '/v1/apply', { token, body: JSON.stringify({ files: [{ path: 'sources.yaml', content }] }) });
}

async function applied(content: string): Promise<void> {
  const answer = await applyAs(admin, content);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

function standardHeaders(secret: string, id: string, body: string, at = new Date()): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

const hmac = (key: string, content: string, encoding: 'hex' | 'base64') => createHmac('sha256', key).update(content).digest(encoding);
const unixSeconds = (offsetMs = 0) => String(Math.floor((Date.now() + offsetMs) / 1000));

async function deliveries(source: string): Promise<SourceDeliverySummary[]> {
  const answer = await send('GET', `/v1/sources/${source}/deliveries`, { token: admin });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.deliveries as SourceDeliverySummary[];
}

const collected = (path: string) => receiver.requests.filter((request) => request.path === path).map((request) => JSON.parse(request.body));

async function cli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (text) => out.push(text), err: (text) => err.push(text) });
  assert.equal(code, 0, `idflow ${args.join(' ')} failed: ${err.join('\n')}`);
  answers.push(...out);
  return out.join('\n');
}

/** An automation that posts the moved person to the receiver, for the events the sources below map. */
const MOVER = () => `kind: Webhook
name: hr-collector
url: ${receiver.url}/collector
---
kind: Automation
name: hr-mover
trigger:
  type: user.updated
  condition: ctx.trigger.newUser.email.endsWith("@mover.example")
steps:
  - name: post
    type: run_webhook
    with: { webhook: hr-collector, payload: { user: "{{ ctx.trigger.newUser.email }}", via: "{{ ctx.trigger.via }}" } }
`;

/** Events from `body.changes`, ids prefixed so each source's are its own. */
const changesToEvents = (prefix: string) =>
  `'body.changes.map(c, {"type": "user.updated", "id": "${prefix}-" + c.id, "data": {"newUser": {"id": c.id, "email": c.email}, "via": delivery.source}})'`;

const changes = (...ids: string[]) => JSON.stringify({ changes: ids.map((id) => ({ id, email: `${id}@mover.example` })) });

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine({
    env: { HR_HMAC_KEY: HMAC_KEY, BAMBOOHR_WEBHOOK_KEY: BAMBOOHR_KEY, IDFLOW_MASTER_KEY: MASTER_KEY },
    logger: logs.logger,
  });
  api = await buildApiServer({ engine: idflow.engine, logger: logs.logger });
  await api.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  admin = await idflow.store.tokens.create('admin', ['admin']);
  process.env.IDFLOW_URL = url;
  process.env.IDFLOW_TOKEN = admin;
  await applied(MOVER());
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  await api?.close();
  await idflow?.stop();
  await receiver?.close();
});

describe('standard-webhooks', () => {
  before(async () => {
    await applied(`kind: EventSource
name: hr-std
signature: { scheme: standard-webhooks, secret: { secret: SIGNING_KEY } }
mapping:
  events: ${changesToEvents('hr-std')}
`);
    const set = await send('PUT', '/v1/sources/hr-std/secrets/SIGNING_KEY', {
      token: admin,
      body: JSON.stringify({ value: SIGNING_SECRET }),
    });
    assert.equal(set.status, 204, JSON.stringify(set.body));
  });

  test('a signed request is accepted (202) and its event runs the automation; the same request, or its event id again, doubles nothing', async () => {
    const body = changes('e1');
    const headers = standardHeaders(SIGNING_SECRET, 'msg_std_1', body);
    const first = await post('hr-std', body, headers);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(first.body, {
      source: 'hr-std',
      delivery: 'msg_std_1',
      duplicate: false,
      events: [{ id: 'hr-std-e1', type: 'user.updated', duplicate: false }],
      users: { created: 0, updated: 0, deactivated: 0, unchanged: 0 },
    });
    const run = await idflow.finished('hr-mover:hr-std-e1');
    assert.equal(run.status, 'completed', run.error);
    assert.deepEqual(collected('/collector'), [{ user: 'e1@mover.example', via: 'hr-std' }]);

    const again = await post('hr-std', body, headers);
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.equal(again.body.duplicate, true);
    // Another delivery id whose mapping gives the same event id: ingested as a repeated id.
    const other = await post('hr-std', body, standardHeaders(SIGNING_SECRET, 'msg_std_2', body));
    assert.equal(other.status, 202, JSON.stringify(other.body));
    assert.deepEqual(other.body.events, [{ id: 'hr-std-e1', type: 'user.updated', duplicate: true }]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await idflow.store.runs.list({ automation: 'hr-mover', eventId: 'hr-std-e1' })).length, 1, 'one run');
    assert.equal(collected('/collector').length, 1, 'one webhook');
    const recorded = await deliveries('hr-std');
    assert.deepEqual(
      recorded.map((delivery) => [delivery.id, delivery.status, delivery.attempts]),
      [
        ['msg_std_2', 'accepted', 1],
        ['msg_std_1', 'accepted', 1],
      ],
    );
  });

  test('a wrong, missing or old signature is a 401, recorded without the body; nothing is ingested', async () => {
    const body = changes('e2');
    const forged = await post('hr-std', body, standardHeaders(`whsec_${Buffer.alloc(24, 1).toString('base64')}`, 'msg_std_forged', body));
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    assert.equal(forged.body.error?.code, 'UNAUTHORIZED');
    assert.match(forged.body.error?.message ?? '', /signature was refused: Standard Webhooks: No matching signature found/);
    const old = await post('hr-std', body, standardHeaders(SIGNING_SECRET, 'msg_std_old', body, new Date(Date.now() - 10 * 60_000)));
    assert.equal(old.status, 401, JSON.stringify(old.body));
    assert.match(old.body.error?.message ?? '', /timestamp too old/);
    const unsigned = await post('hr-std', body, {});
    assert.equal(unsigned.status, 401);
    assert.match(unsigned.body.error?.message ?? '', /Missing required headers/);

    assert.equal(await idflow.store.events.get('hr-std-e2'), undefined, 'nothing ingested');
    const refused = (await deliveries('hr-std')).filter((delivery) => delivery.status === 'rejected');
    assert.deepEqual(
      refused.map((delivery) => delivery.reason),
      [
        'Standard Webhooks: Missing required headers',
        'Standard Webhooks: Message timestamp too old',
        'Standard Webhooks: No matching signature found',
      ],
    );
    for (const delivery of refused) {
      assert.equal(delivery.remoteAddress, '127.0.0.1');
      assert.equal(delivery.bodyBytes, Buffer.byteLength(body));
      const stored = await idflow.store.sourceDeliveries.get('hr-std', delivery.id);
      assert.equal(stored?.body, undefined, "an unsigned request's body is not kept");
    }
  });
});

describe('hmac-sha256', () => {
  before(() =>
    applied(`kind: EventSource
name: hr-hex
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex, prefix: "sha256=", timestampHeader: X-Timestamp }
mapping:
  events: ${changesToEvents('hr-hex')}
---
kind: EventSource
name: hr-b64
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: base64 }
mapping:
  events: ${changesToEvents('hr-b64')}
`),
  );

  test('hex with a prefix over "{timestamp}.{body}": accepted when fresh; old, tampered or unprefixed is a 401', async () => {
    const signed = (body: string, timestamp: string, content = `${timestamp}.${body}`) => ({
      'x-timestamp': timestamp,
      'x-signature': `sha256=${hmac(HMAC_KEY, content, 'hex')}`,
    });
    const now = unixSeconds();
    const accepted = await post('hr-hex', changes('h1'), signed(changes('h1'), now));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    assert.ok(await idflow.store.events.get('hr-hex-h1'), 'the event was ingested');

    const body = changes('h2');
    const refusals: [Record<string, string>, RegExp][] = [
      [signed(body, unixSeconds(-10 * 60_000)), /X-Timestamp header is \d+ s from now, more than the tolerance of 5m/],
      [signed(body, now, `${now}.${changes('h1')}`), /the signature does not match/],
      [{ ...signed(body, now), 'x-signature': hmac(HMAC_KEY, `${now}.${body}`, 'hex') }, /does not start with "sha256="/],
      [{ 'x-signature': signed(body, now)['x-signature'] }, /no X-Timestamp header/],
    ];
    for (const [headers, reason] of refusals) {
      const refused = await post('hr-hex', body, headers);
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.match(refused.body.error?.message ?? '', reason);
    }
    assert.equal(await idflow.store.events.get('hr-hex-h2'), undefined);
  });

  test('base64 over the body: the same signed request twice is one delivery; a hex signature is refused', async () => {
    const body = changes('b1');
    const headers = { 'x-signature': hmac(HMAC_KEY, body, 'base64') };
    const first = await post('hr-b64', body, headers);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(first.body.events, [{ id: 'hr-b64-b1', type: 'user.updated', duplicate: false }]);
    const again = await post('hr-b64', body, headers);
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.delivery, first.body.delivery);
    const hex = await post('hr-b64', body, { 'x-signature': hmac(HMAC_KEY, body, 'hex') });
    assert.equal(hex.status, 401);
    assert.match(hex.body.error?.message ?? '', /not a base64 HMAC-SHA256/);
  });
});

test('a mapping that fails is a 422 with the CEL error, the body kept; after the fix a replay runs the event', async () => {
  const source = (events: string) => `kind: EventSource
name: hr-fix
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex }
mapping:
  events: ${events}
`;
  // `employee`: the sender posts `changes`. A dyn body compiles; the key is missing when it runs.
  await applied(
    source(`'body.employee.map(c, {"type": "user.updated", "id": "hr-fix-" + c.id, "data": {"newUser": {"email": c.email}}})'`),
  );
  const body = changes('f1');
  // The hop's credentials (authorization) are neither mapped nor kept; the sender's own headers are, for the replay.
  const failed = await post('hr-fix', body, {
    'x-signature': hmac(HMAC_KEY, body, 'hex'),
    'x-hr-system': 'workday',
    authorization: 'Basic aG9wOmNyZWRlbnRpYWw=',
  });
  assert.equal(failed.status, 422, JSON.stringify(failed.body));
  assert.equal(failed.body.error?.code, 'MAPPING_FAILED');
  assert.match(
    failed.body.error?.message ?? '',
    /^mapping\.events: CEL evaluation error: in `body\.employee\.map.*: No such key: employee/,
  );
  const [delivery] = await deliveries('hr-fix');
  assert.equal(delivery?.status, 'failed');
  assert.match(delivery?.reason ?? '', /No such key: employee/);
  const kept = await idflow.store.sourceDeliveries.get('hr-fix', delivery?.id as string);
  assert.equal(kept?.body, body, 'the body is kept');
  assert.equal(kept?.headers?.['x-hr-system'], 'workday');
  assert.equal(kept?.headers?.authorization, undefined);
  assert.equal(await idflow.store.events.get('hr-fix-f1'), undefined);

  await applied(
    source(
      `'body.changes.map(c, {"type": "user.updated", "id": "hr-fix-" + c.id, "data": {"newUser": {"id": c.id, "email": c.email}, "via": headers["x-hr-system"] + ", " + headers.?authorization.orValue("no authorization")}})'`,
    ),
  );
  const replayed = JSON.parse(await cli('sources', 'replay', 'hr-fix', delivery?.id as string, '--json')) as DeliveryOutcome;
  assert.deepEqual(replayed.events, [{ id: 'hr-fix-f1', type: 'user.updated', duplicate: false }]);
  assert.equal((await idflow.finished('hr-mover:hr-fix-f1')).status, 'completed');
  assert.deepEqual(
    collected('/collector').find((item) => item.user === 'f1@mover.example'),
    { user: 'f1@mover.example', via: 'workday, no authorization' },
    'the replay mapped the headers the request came with',
  );
  const [after] = await deliveries('hr-fix');
  assert.deepEqual([after?.status, after?.attempts, after?.version], ['accepted', 2, 2]);
  const [audit] = await idflow.store.audit.list({ target: 'EventSource/hr-fix' });
  assert.deepEqual([audit?.action, audit?.actor], ['source.replay', 'admin']);
});

test('each mapped event must be one POST /v1/events takes, with an id: else a 422 names it and nothing is ingested', async () => {
  await applied(`kind: EventSource
name: hr-shapes
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex }
mapping:
  events: 'body.events'
`);
  const cases: [unknown[], RegExp][] = [
    [
      [
        { type: 'user.updated', id: 'ok-1', data: {} },
        { type: 'manual', id: 'manual-1', data: {} },
      ],
      /^mapping\.events\[1\]\.type: the event type "manual" cannot be sent/,
    ],
    [[{ type: 'user.updated', data: {} }], /^mapping\.events\[0\]\.id: a mapped event needs an id/],
    [[{ type: 'user.updated', id: 'x', data: {}, extra: 1 }], /^mapping\.events\[0\]: Unrecognized key: "extra"/],
    [
      Array.from({ length: 101 }, (_, i) => ({ type: 'user.updated', id: `many-${i}`, data: {} })),
      /^mapping\.events: 101 items; at most 100 per delivery/,
    ],
  ];
  for (const [events, message] of cases) {
    const body = JSON.stringify({ events });
    const refused = await post('hr-shapes', body, { 'x-signature': hmac(HMAC_KEY, body, 'hex') });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(refused.body.error?.message ?? '', message);
  }
  assert.equal(await idflow.store.events.get('ok-1'), undefined, 'nothing of a refused mapping is ingested');
});

test('a mapping to people writes the directory as an HR import: user.created leaves through the outbox and runs the joiner flow', async () => {
  await applied(`kind: EventSource
name: hr-people
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex, timestampHeader: X-Timestamp, signedPayload: "{body}{timestamp}" }
mapping:
  users: |
    body.hires.map(h, {"id": h.id, "email": h.email, "firstName": h.first, "department": h.department, "costCenter": h.cc})
---
kind: Automation
name: hr-joiner
trigger: { type: user.created, condition: 'ctx.trigger.newUser.email.endsWith("@joiner.example")' }
steps:
  - name: post
    type: run_webhook
    with: { webhook: hr-collector, payload: { joiner: "{{ ctx.trigger.newUser.email }}", costCenter: "{{ ctx.trigger.newUser.attributes.costCenter }}" } }
`);
  const body = JSON.stringify({ hires: [{ id: 'j-1', email: 'jo@joiner.example', first: 'Jo', department: 'Sales', cc: 'CC-7' }] });
  const signed = (offsetMs = 0) => {
    const timestamp = unixSeconds(offsetMs);
    return { 'x-timestamp': timestamp, 'x-signature': hmac(HMAC_KEY, `${body}${timestamp}`, 'hex') };
  };
  const accepted = await post('hr-people', body, signed());
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  assert.deepEqual(accepted.body.users, { created: 1, updated: 0, deactivated: 0, unchanged: 0 });
  const user = await idflow.store.directory.getUser('j-1');
  assert.deepEqual(
    [user?.email, user?.firstName, user?.department, user?.attributes],
    ['jo@joiner.example', 'Jo', 'Sales', { costCenter: 'CC-7' }],
  );
  await until('the joiner flow ran', async () => {
    const runs = await idflow.store.runs.list({ automation: 'hr-joiner' });
    return runs.length === 1 && runs[0]?.status === 'completed';
  });
  const [run] = await idflow.store.runs.list({ automation: 'hr-joiner' });
  assert.match(run?.eventId ?? '', /^dir-/, 'the event came from the directory outbox');
  assert.deepEqual(
    collected('/collector').filter((item) => item.joiner),
    [{ joiner: 'jo@joiner.example', costCenter: 'CC-7' }],
  );
  // Sent again with another timestamp, so another delivery: the person is unchanged, nothing is emitted.
  const again = await post('hr-people', body, signed(-2000));
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.deepEqual(again.body.users, { created: 0, updated: 0, deactivated: 0, unchanged: 1 });
  const created = (await idflow.store.events.list({ type: 'user.created', limit: 500 })).filter((event) =>
    JSON.stringify(event.data).includes('j-1'),
  );
  assert.equal(created.length, 1, 'one user.created');

  // A row the import refuses fails the whole delivery (422), naming it; nothing of it is written.
  const bad = JSON.stringify({
    hires: [
      { id: 'j-2', email: 'jay@joiner.example', first: 'Jay', department: 'Sales', cc: 'CC-8' },
      { id: 'j-3', email: 'not-an-email', first: 'X', department: 'Sales', cc: 'CC-9' },
    ],
  });
  const timestamp = unixSeconds();
  const refused = await post('hr-people', bad, { 'x-timestamp': timestamp, 'x-signature': hmac(HMAC_KEY, `${bad}${timestamp}`, 'hex') });
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.match(refused.body.error?.message ?? '', /^mapping\.users\[1\] \(j-3\): .*email is not an email address/);
  assert.equal(await idflow.store.directory.getUser('j-2'), undefined, 'the valid row was not written either');
});

test('limits: a body over 1 MiB is a 413, a deep one a 400; an unknown or disabled source is a 404', async () => {
  const large = JSON.stringify({ changes: [], padding: 'x'.repeat(1024 * 1024) });
  const tooLarge = await post('hr-b64', large, { 'x-signature': hmac(HMAC_KEY, large, 'base64') });
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.body.error?.code, 'PAYLOAD_TOO_LARGE');

  const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
  const nested = await post('hr-b64', deep, { 'x-signature': hmac(HMAC_KEY, deep, 'base64') });
  assert.equal(nested.status, 400, JSON.stringify(nested.body));
  assert.match(nested.body.error?.message ?? '', /nested too deep: at most 64 levels/);

  // Not JSON (a NUL byte, which no text column takes): refused, recorded, its body not kept, so there is nothing to replay.
  const binary = 'not json\u0000';
  const notJson = await post('hr-b64', binary, { 'x-signature': hmac(HMAC_KEY, binary, 'base64') });
  assert.equal(notJson.status, 400, JSON.stringify(notJson.body));
  assert.match(notJson.body.error?.message ?? '', /^the body is not JSON: /);
  const [failed] = await deliveries('hr-b64');
  assert.deepEqual([failed?.status, failed?.bodyBytes], ['failed', 9]);
  assert.equal((await idflow.store.sourceDeliveries.get('hr-b64', failed?.id as string))?.body, undefined);
  const replay = await send('POST', `/v1/sources/hr-b64/deliveries/${failed?.id}/replay`, { token: admin });
  assert.equal(replay.status, 409, JSON.stringify(replay.body));
  assert.match(replay.body.error?.message ?? '', /kept no body to map again \(failed: the body is not JSON/);

  const unknown = await post('no-such-source', '{}', {});
  assert.equal(unknown.status, 404);
  await applied(`kind: EventSource
name: hr-off
enabled: false
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex }
mapping: { events: "[]" }
`);
  const disabled = await post('hr-off', '{}', { 'x-signature': hmac(HMAC_KEY, '{}', 'hex') });
  assert.equal(disabled.status, 404);
  assert.deepEqual(
    [unknown.body.error?.message, disabled.body.error?.message],
    ['no enabled event source "no-such-source"', 'no enabled event source "hr-off"'],
  );
});

test('a source whose secret is not set, or too short, answers every request 503 and records why', async () => {
  await applied(`kind: EventSource
name: hr-unset
signature: { scheme: hmac-sha256, secret: { secret: SIGNING_KEY }, header: X-Signature, encoding: hex }
mapping: { events: "[]" }
---
kind: EventSource
name: hr-no-env
signature: { scheme: hmac-sha256, secret: { env: HR_NOT_SET }, header: X-Signature, encoding: hex }
mapping: { events: "[]" }
`);
  const body = '{}';
  const headers = { 'x-signature': hmac('short', body, 'hex') };
  const unset = await post('hr-unset', body, headers);
  assert.equal(unset.status, 503, JSON.stringify(unset.body));
  assert.equal(unset.body.error?.code, 'UNAVAILABLE');
  assert.equal((await post('hr-no-env', body, headers)).status, 503);
  assert.equal(
    (await send('PUT', '/v1/sources/hr-unset/secrets/SIGNING_KEY', { token: admin, body: JSON.stringify({ value: 'short' }) })).status,
    204,
  );
  assert.equal((await post('hr-unset', body, headers)).status, 503, 'a key shorter than 16 bytes signs nothing');
  assert.deepEqual(
    [...(await deliveries('hr-unset')), ...(await deliveries('hr-no-env'))].map((delivery) => [delivery.status, delivery.reason]),
    [
      ['rejected', 'the source cannot check signatures: the secret is shorter than 16 bytes: a signature with it proves little'],
      [
        'rejected',
        'the source cannot check signatures: the secret SIGNING_KEY is not set: `idflow sources secrets set hr-unset SIGNING_KEY`',
      ],
      ['rejected', 'the source cannot check signatures: the environment variable HR_NOT_SET of the API process is not set'],
    ],
  );
});

test('applying a source, setting its secret and replaying need the scopes of what it causes', async () => {
  const token = (...scopes: Scope[]) => idflow.store.tokens.create(`t-${scopes.join('+')}`, scopes);
  const mapsPeople = `kind: EventSource
name: hr-scoped
signature: { scheme: hmac-sha256, secret: { secret: KEY }, header: X-Signature, encoding: hex }
mapping:
  events: "[]"
  users: "[]"
`;
  const definitionsOnly = await token('definitions:write');
  const refused = await applyAs(definitionsOnly, mapsPeople);
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  assert.match(refused.body.error?.message ?? '', /sources\.yaml:1: EventSource\/hr-scoped needs "events:write", "directory:write"/);
  const writer = await token('definitions:write', 'events:write', 'directory:write');
  assert.equal((await applyAs(writer, mapsPeople)).status, 200);

  const setSecret = await send('PUT', '/v1/sources/hr-scoped/secrets/KEY', {
    token: definitionsOnly,
    body: JSON.stringify({ value: HMAC_KEY }),
  });
  assert.equal(setSecret.status, 403, JSON.stringify(setSecret.body));
  assert.match(
    setSecret.body.error?.message ?? '',
    /setting a secret of EventSource\/hr-scoped needs the scope "events:write", "directory:write"/,
  );
  assert.equal(
    (await send('PUT', '/v1/sources/hr-scoped/secrets/KEY', { token: writer, body: JSON.stringify({ value: HMAC_KEY }) })).status,
    204,
  );
  const listed = await send('GET', '/v1/sources/hr-scoped/secrets', { token: await token('definitions:read') });
  assert.deepEqual(
    (listed.body.secrets as { key: string }[]).map((secret) => secret.key),
    ['KEY'],
  );

  const replay = await send('POST', '/v1/sources/hr-scoped/deliveries/any/replay', { token: await token('events:write') });
  assert.equal(replay.status, 403, JSON.stringify(replay.body));
  assert.match(replay.body.error?.message ?? '', /replaying a delivery of EventSource\/hr-scoped@1 needs the scope "directory:write"/);
});

test('apply refuses, with file and line, a mapping that does not compile or give a list, and an unsigned timestamp', async () => {
  const result = await idflow.engine.apply(
    [
      {
        path: 'bad.yaml',
        content: `kind: EventSource
name: hr-bad
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex }
mapping:
  events: 'bodyy.changes'
  users: '"one person"'
---
kind: EventSource
name: hr-bad-timestamp
signature: { scheme: hmac-sha256, secret: { env: HR_HMAC_KEY }, header: X-Signature, encoding: hex, timestampHeader: X-Timestamp, signedPayload: "{body}" }
mapping: { events: "[]" }
`,
      },
    ],
    { dryRun: true, actor: 'test' },
  );
  assert.deepEqual(
    result.errors.map((error) => [error.line, error.path, error.message.replace(/:.*?:/, ':…:')]),
    [
      [5, 'mapping.events', 'CEL type error:…: Unknown variable: bodyy (the variables are body, headers and delivery)'],
      [6, 'mapping.users', 'CEL type error:…: the mapping must give a list, got string'],
      [
        10,
        'signature.signedPayload',
        'name {timestamp}: with a timestampHeader, an unsigned timestamp could be replaced to replay an old request',
      ],
    ],
  );
});

test('the example: a BambooHR-style signed request makes a new hire, whose onboarding ticket reaches IT', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'idflow-sources-example-'));
  try {
    const example = await readFile(new URL('../examples/connectors/sources/bamboohr.yaml', import.meta.url), 'utf8');
    const file = join(folder, 'bamboohr.yaml');
    await writeFile(file, example.replace('http://127.0.0.1:8484/v1/dev/sink/it-onboarding', `${receiver.url}/it-onboarding`));
    await cli('apply', file);
    assert.match(await cli('sources', 'list'), /bamboohr +v1 +enabled +hmac-sha256 +→ users +POST \/v1\/sources\/bamboohr/);

    const body = JSON.stringify({
      employees: [
        {
          id: '4021',
          fields: {
            firstName: 'Ada',
            lastName: 'Lovelace',
            workEmail: 'ada@acme.example',
            department: 'Engineering',
            jobTitle: 'Engineer',
            status: 'Active',
          },
        },
      ],
    });
    const timestamp = unixSeconds();
    const accepted = await post('bamboohr', body, {
      'x-bamboohr-timestamp': timestamp,
      'x-bamboohr-signature': hmac(BAMBOOHR_KEY, `${body}${timestamp}`, 'hex'),
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await until('IT received the onboarding ticket', () => collected('/it-onboarding').length > 0);
    assert.deepEqual(collected('/it-onboarding'), [{ summary: 'Onboard Ada Lovelace, Engineer in Engineering', user: 'ada@acme.example' }]);
    assert.match(await cli('sources', 'deliveries', 'bamboohr'), /accepted +[0-9a-f]{64} +127\.0\.0\.1/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the delivery record keeps the retention: refused requests cannot push out a signed one', async () => {
  const deliveries = idflow.store.sourceDeliveries;
  const at = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
  const base = { source: 'retention', remoteAddress: '127.0.0.1', bodyBytes: 2, bodySha256: 'ab' };
  assert.equal(await deliveries.insert({ ...base, id: 'ancient', status: 'received', receivedAt: at(31), body: '{}', headers: {} }), true);
  assert.equal(await deliveries.insert({ ...base, id: 'signed', status: 'received', receivedAt: at(1), body: '{}', headers: {} }), true);
  assert.equal(await deliveries.insert({ ...base, id: 'signed', status: 'received', receivedAt: at(0), body: '{}', headers: {} }), false);
  for (let i = 0; i < 1005; i++)
    await deliveries.insert({ ...base, id: `rejected-${i}`, status: 'rejected', reason: 'forged', receivedAt: at(0) });
  assert.equal(await deliveries.get('retention', 'ancient'), undefined, 'older than 30 days');
  assert.equal((await deliveries.get('retention', 'signed'))?.body, '{}', 'the signed one stays');
  assert.equal(await deliveries.get('retention', 'rejected-4'), undefined, 'the oldest refused ones go');
  assert.ok(await deliveries.get('retention', 'rejected-5'), 'the last 1,000 refused ones stay');
});

test('no secret appears in any answer, log line or record', async () => {
  const records = JSON.stringify([
    await idflow.store.audit.list({ limit: 500 }),
    await idflow.store.events.list({ limit: 500 }),
    ...(await Promise.all(
      ['hr-std', 'hr-hex', 'hr-b64', 'hr-fix', 'hr-people', 'bamboohr'].map((source) =>
        idflow.store.sourceDeliveries.list(source, { limit: 500 }),
      ),
    )),
  ]);
  const sources = await send('GET', '/v1/sources', { token: admin });
  assert.equal(sources.status, 200);
  assert.ok(answers.length > 30, `${answers.length} answers`);
  assert.ok(
    logs.lines.some((line) => line.includes('event source request refused')),
    'refusals are logged',
  );
  for (const secret of [SIGNING_SECRET, SIGNING_SECRET.slice('whsec_'.length), HMAC_KEY, BAMBOOHR_KEY])
    for (const [where, text] of [
      ['answers', answers.join('\n')],
      ['logs', logs.lines.join('\n')],
      ['records', records],
    ] as const)
      assert.ok(!text.includes(secret), `a secret in the ${where}`);
});
