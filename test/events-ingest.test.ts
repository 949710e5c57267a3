/**
 * Ingesting events through the real API, engine and Temporal server, at the sizes and
 * concurrency that broke it: the data is stored and sent to workflows as it arrived (aliases are
 * built where CEL evaluates), an event that cannot be run is refused before anything is stored,
 * an automation that cannot start never stops the others, and exactly one delivery of an id is
 * the first.
 */
import type { JsonObject } from '../core/json.js';
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import { main } from '../cli/main.js';
import type { EventRecord, RunRecord } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

let idflow: TestEngine;
let api: FastifyInstance;
let receiver: Receiver;
let apiUrl: string;
let token: string;

interface IngestBody {
  event: EventRecord;
  runs: RunRecord[];
  duplicate: boolean;
  error?: { code: string; message: string };
}

/** POSTs an event: an object, or JSON text (for nesting JSON.stringify cannot write). */
async function postEvent(event: object | string): Promise<{ status: number; body: IngestBody }> {
  const response = await fetch(`${apiUrl}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: typeof event === 'string' ? event : JSON.stringify(event),
  });
  return { status: response.status, body: (await response.json()) as IngestBody };
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** The JSON the sink received with this `run` field (each automation's payload names its run). */
function delivered(run: string): JsonObject {
  const request = receiver.requests.find((r) => r.body.includes(`"run":"${run}"`));
  assert.ok(request, `a delivery with run "${run}"`);
  return JSON.parse(request.body) as JsonObject;
}

/** The input Temporal holds for the run's workflow: what a start sends and every replay reads. */
async function workflowInput(runId: string): Promise<{ bytes: number; input: { trigger: JsonObject } }> {
  const history = await idflow.client.workflow.getHandle(runId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  assert.ok(payload, `the started event of ${runId} has an input`);
  return { bytes: payload.length, input: JSON.parse(new TextDecoder().decode(payload)) as { trigger: JsonObject } };
}

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine();
  // Above the data limit, so that the engine's own check is what answers an oversized event.
  api = await buildApiServer({ engine: idflow.engine, bodyLimitBytes: 4 * 1024 * 1024 });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  token = await idflow.store.tokens.create('events-test', ['admin']);
  await idflow.apply(`
kind: Webhook
name: sink
url: ${receiver.url}/sink
---
kind: Automation
name: greet
trigger:
  type: user.created
  condition: ctx.trigger.new_user.department == "Engineering"
steps:
  - name: notify
    type: run_webhook
    with:
      webhook: sink
      payload:
        run: "{{ ctx.trigger.user.id + ':' + ctx.trigger.new_user.id }}"
        nameLength: "{{ size(subject.first_name) }}"
        email: "{{ ctx.trigger.user.email }}"
        department: "{{ ctx.trigger.newUser.department }}"
---
kind: Automation
name: leaver
trigger: { type: user.deactivated }
steps:
  - name: notify
    type: run_webhook
    with: { webhook: sink, payload: { run: "leaver:{{ ctx.trigger.old_user.id }}", email: "{{ subject.email }}" } }
`);
});

after(async () => {
  await api?.close();
  await idflow?.stop();
  await receiver?.close();
});

const engineer = (id: string, firstName = 'Ada'): JsonObject => ({
  id,
  email: `${id}@example.com`,
  firstName,
  lastName: 'Lovelace',
  department: 'Engineering',
});

describe('event data is stored and sent as it arrived', () => {
  test('the run record and the workflow input carry the data once, while CEL and templates still see every alias', async () => {
    const data = { newUser: engineer('u-alias') };
    const { status, body } = await postEvent({ id: 'u-alias', type: 'user.created', data });
    assert.equal(status, 202, JSON.stringify(body));
    const run = await idflow.finished('greet:u-alias');
    assert.equal(run.status, 'completed', run.error);
    // Aliases resolved in the condition (new_user) and the templates (user, subject.first_name).
    assert.deepEqual(delivered('u-alias:u-alias'), {
      run: 'u-alias:u-alias',
      nameLength: 3,
      email: 'u-alias@example.com',
      department: 'Engineering',
    });
    // Stored and sent without them: no new_user, user, first_name copies.
    assert.deepEqual(run.trigger, data);
    assert.deepEqual((await idflow.store.events.get('u-alias'))?.data, data);
    const { input } = await workflowInput('greet:u-alias');
    assert.deepEqual(input.trigger, data);
  });

  test('a firstName of 400,000 and of 700,000 characters runs (it failed with 500: Blob data size, gRPC message larger than max)', async () => {
    for (const length of [400_000, 700_000]) {
      const id = `u-long-${length}`;
      const { status, body } = await postEvent({ id, type: 'user.created', data: { newUser: engineer(id, 'a'.repeat(length)) } });
      assert.equal(status, 202, JSON.stringify(body.error));
      const run = await idflow.finished(`greet:${id}`);
      assert.equal(run.status, 'completed', run.error);
      assert.equal(delivered(`${id}:${id}`).nameLength, length);
      const { bytes } = await workflowInput(`greet:${id}`);
      assert.ok(bytes < length + 10_000, `the workflow input is about the data's size once: ${bytes} bytes for ${length} characters`);
    }
  });
});

describe('an event that cannot be run is refused up front', () => {
  test('data over 1 MiB is a 413 that gives the limit, and nothing is stored or started', async () => {
    const { status, body } = await postEvent({
      id: 'u-huge',
      type: 'user.created',
      data: { newUser: engineer('u-huge', 'a'.repeat(1_100_000)) },
    });
    assert.equal(status, 413);
    assert.equal(body.error?.code, 'PAYLOAD_TOO_LARGE');
    assert.match(body.error?.message ?? '', /event data is 11\d{5} bytes as JSON; events are limited to 1048576 bytes/);
    assert.equal((await getJson('/v1/events/u-huge')).status, 404);
    assert.deepEqual(await idflow.store.runs.list({ eventId: 'u-huge' }), []);
  });

  test('data nested deeper than 32 levels is a 400 that names the field, at any depth (5,000 levels was a 500)', async () => {
    /** An event whose newUser.attributes holds `depth` objects nested in one another, as JSON text. */
    const nested = (id: string, depth: number, department: string): string =>
      `{"id":"${id}","type":"user.created","data":{"newUser":{"id":"${id}","department":"${department}","attributes":${'{"a":'.repeat(depth - 1)}{"leaf":true}${'}'.repeat(depth - 1)}}}}`;
    for (const depth of [31, 5_000]) {
      const { status, body } = await postEvent(nested(`u-deep-${depth}`, depth, 'Engineering'));
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body.error?.code, 'VALIDATION');
      assert.match(
        body.error?.message ?? '',
        /^body\.data\.newUser\.attributes(\.a)+: nested deeper than 32 levels, the limit for event data/,
      );
      assert.equal((await getJson(`/v1/events/u-deep-${depth}`)).status, 404);
    }
    // 32 levels in all (data, newUser and 30 in attributes) are allowed.
    const { status, body } = await postEvent(nested('u-deep-ok', 30, 'Sales'));
    assert.equal(status, 202, JSON.stringify(body.error));
  });
});

describe('one automation that cannot start never stops the others', () => {
  test('3,000 steps, a spec too big for Temporal and a condition that no longer compiles are each recorded; the other automation runs', async () => {
    // Stored directly, as by an idflow without apply-time caps: such automations exist in stores.
    const put = (name: string, spec: JsonObject) =>
      idflow.store.definitions.put({ kind: 'Automation', name, spec, enabled: true, source: 'test', actor: 'test' });
    const waitHour = (name: string): JsonObject => ({ name, type: 'wait', with: { duration: '1h' } });
    await put('many-steps', {
      name: 'many-steps',
      trigger: { type: 'user.deactivated' },
      steps: Array.from({ length: 3_000 }, (_, i) => waitHour(`wait_${i}`)),
    });
    await put('too-big', {
      name: 'too-big',
      description: 'x'.repeat(2_200_000),
      trigger: { type: 'user.deactivated' },
      steps: [waitHour('pause')],
    });
    await put('bad-condition', {
      name: 'bad-condition',
      trigger: { type: 'user.deactivated', condition: 'ctxx.trigger == 1' },
      steps: [waitHour('pause')],
    });

    const { status, body } = await postEvent({ id: 'u-leaving', type: 'user.deactivated', data: { oldUser: engineer('u-leaving') } });
    assert.equal(status, 202, JSON.stringify(body.error));
    const byName = Object.fromEntries(body.event.matches.map((m) => [m.automation, m]));
    assert.deepEqual(byName['leaver'], { automation: 'leaver', version: 1, matched: true, runId: 'leaver:u-leaving' });
    assert.deepEqual(byName['many-steps'], { automation: 'many-steps', version: 1, matched: true, runId: 'many-steps:u-leaving' });
    assert.equal(byName['too-big'].matched, true);
    assert.equal(byName['too-big'].runId, undefined);
    assert.match(
      byName['too-big'].error ?? '',
      /^the run could not be started: the run's workflow input .* is 22\d{5} bytes as JSON; Temporal refuses inputs over 2097152 bytes$/,
    );
    assert.equal(byName['bad-condition'].matched, false);
    assert.match(byName['bad-condition'].reason ?? '', /^condition error: .*Unknown variable: ctxx/);

    const leaver = await idflow.finished('leaver:u-leaving');
    assert.equal(leaver.status, 'completed', leaver.error);
    assert.deepEqual(delivered('leaver:u-leaving'), { run: 'leaver:u-leaving', email: 'u-leaving@example.com' });
    const many = await idflow.store.runs.get('many-steps:u-leaving');
    assert.equal(many?.steps.length, 3_000);
    await idflow.engine.cancelRun('many-steps:u-leaving', 'test');

    // What was stored is what `idflow events show` prints.
    process.env.IDFLOW_URL = apiUrl;
    process.env.IDFLOW_TOKEN = token;
    try {
      const out: string[] = [];
      assert.equal(await main(['events', 'show', 'u-leaving'], { out: (text) => out.push(text), err: (text) => out.push(text) }), 0);
      assert.match(out.join('\n'), /✗ too-big v1 matched, but the run could not be started: the run's workflow input/);
      assert.match(out.join('\n'), /✓ leaver v1 → run leaver:u-leaving/);
    } finally {
      delete process.env.IDFLOW_URL;
      delete process.env.IDFLOW_TOKEN;
    }
  });
});

describe('deliveries of one event id', () => {
  test('50 concurrent posts of one id: one 202 with duplicate false, 49 200s with duplicate true, one run', async () => {
    const id = 'u-concurrent';
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => postEvent({ id, type: 'user.created', data: { newUser: engineer(id) } })),
    );
    const firsts = responses.filter((r) => r.body.duplicate === false);
    assert.equal(firsts.length, 1, `responses with duplicate: false: ${firsts.length}`);
    assert.equal(firsts[0].status, 202);
    for (const response of responses.filter((r) => r.body.duplicate === true)) {
      assert.equal(response.status, 200);
      assert.deepEqual(
        response.body.runs.map((run) => run.runId),
        [`greet:${id}`],
      );
    }
    assert.equal(responses.filter((r) => r.body.duplicate === true).length, 49);
    await idflow.finished(`greet:${id}`);
    assert.equal((await idflow.store.runs.list({ eventId: id })).length, 1);
  });

  test('a delivery of an id recorded but never processed (a crash in between) processes it, as a duplicate', async () => {
    const id = 'u-crashed';
    const data = { newUser: engineer(id) };
    const receivedAt = new Date().toISOString();
    assert.equal(await idflow.store.events.insert({ id, type: 'user.created', occurredAt: receivedAt, receivedAt, data }), true);
    const { status, body } = await postEvent({ id, type: 'user.created', data });
    assert.equal(status, 200);
    assert.equal(body.duplicate, true);
    assert.deepEqual(
      body.runs.map((run) => run.runId),
      [`greet:${id}`],
    );
    assert.ok(body.event.processedAt, 'the event is processed now');
    assert.equal((await idflow.finished(`greet:${id}`)).status, 'completed');
  });
});
