/**
 * Retry from the failed step, on a real engine: a leaver that revoked access and then failed at
 * its webhook is retried — the revoke is not done again (one grant.revoked per grant), the webhook
 * and the steps after it run, the retry completes and is linked to the failed run, which stays
 * failed. Only failed runs are retried.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../api/server.js';
import type { RunRecord } from '../store/types.js';
import { runCli } from './helpers/cli.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let idflow: TestEngine;
let hooks: Receiver;
let api: FastifyInstance;
let token: string;

before(async () => {
  hooks = await startReceiver();
  idflow = await startTestEngine({ env: { IDFLOW_WEBHOOKS_PRIVATE_NETWORKS: '127.0.0.0/8' } });
  await idflow.apply(`kind: Directory
apps:
  - slug: github
    entitlements: [{ slug: engineering }, { slug: admins }]
users:
  - { id: u-lee, email: lee@example.com, status: ENABLED }
grants:
  - { user: u-lee, entitlement: github:engineering }
  - { user: u-lee, entitlement: github:admins }
`);
  await idflow.apply(`kind: Webhook
name: hr
url: ${hooks.url}/hr
---
kind: Automation
name: offboard
trigger: { type: manual }
steps:
  - name: revoke
    type: revoke_entitlements
    with: { user: "{{ ctx.trigger.user }}", all: true }
  - name: tell_hr
    type: run_webhook
    retry: { maximumAttempts: 1 }
    with: { webhook: hr, payload: { revoked: "{{ ctx.revoke.revoked }}" } }
  - name: disable
    type: modify_user_status
    with: { user: "{{ ctx.trigger.user }}", status: DISABLED }
`);
  api = await buildApiServer({ engine: idflow.engine });
  token = await idflow.store.tokens.create('operator', ['runs:write', 'runs:read']);
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  await api?.close();
  await idflow?.stop();
  await hooks?.close();
});

const retry = (runId: string) =>
  api.inject({ method: 'POST', url: `/v1/runs/${encodeURIComponent(runId)}/retry`, headers: { authorization: `Bearer ${token}` } });

test('a run that failed half-way is finished from its failed step, not restarted and not reported as done', async () => {
  hooks.script({ status: 400, body: '{"error":"HR is closed"}' });
  const started = await idflow.engine.runManually('offboard', { user: 'u-lee' }, 'test');
  const failed = await idflow.finished(started.runId);
  assert.equal(failed.status, 'failed');
  assert.deepEqual(
    failed.steps.map((s) => s.status),
    ['completed', 'failed', 'pending'],
  );
  assert.deepEqual(await idflow.store.directory.listGrants({ userId: 'u-lee' }), []);
  /** grant.revoked events, once the outbox has delivered all it holds. */
  const revokedEvents = async () => {
    while ((await idflow.store.directory.outboxBacklog()).pending > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    return (await idflow.store.events.list({ type: 'grant.revoked', limit: 500 })).length;
  };
  const revokedBefore = await revokedEvents();

  const response = await retry(started.runId);
  assert.equal(response.statusCode, 202, response.body);
  const retried = response.json() as RunRecord;
  assert.equal(retried.runId, `${started.runId}.retry-1`);
  assert.equal(retried.parentRunId, started.runId);
  const done = await idflow.finished(retried.runId);
  assert.equal(done.status, 'completed', done.error);
  // The revoke is carried over with its recorded input and output, not done again.
  assert.deepEqual(done.steps[0], { ...failed.steps[0], endedAt: done.steps[0]?.endedAt, startedAt: done.steps[0]?.startedAt });
  assert.deepEqual(
    done.steps.map((s) => s.status),
    ['completed', 'completed', 'completed'],
  );
  assert.equal(await revokedEvents(), revokedBefore, 'no grant revoked twice');
  assert.deepEqual((JSON.parse(hooks.requests.at(-1)?.body ?? '{}') as { revoked: string[] }).revoked.sort(), [
    'github:admins',
    'github:engineering',
  ]);
  assert.equal((await idflow.store.directory.getUser('u-lee'))?.status, 'DISABLED');
  assert.equal((await idflow.engine.getRun(started.runId))?.status, 'failed', 'the failed run stays failed');
  const children = await idflow.store.runs.list({ parentRunId: started.runId });
  assert.deepEqual(
    children.map((run) => run.runId),
    [retried.runId],
  );
});

test('only a failed run is retried: a completed one is a 409 naming its status', async () => {
  hooks.script({ status: 200 });
  const started = await idflow.engine.runManually('offboard', { user: 'u-lee' }, 'test');
  assert.equal((await idflow.finished(started.runId)).status, 'completed');
  const response = await retry(started.runId);
  assert.equal(response.statusCode, 409);
  assert.match(response.json().error.message, /is completed: only a failed run is retried/);
  assert.equal((await retry('no-such-run')).statusCode, 404);
});

test('idflow runs retry', async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  process.env.IDFLOW_URL = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  process.env.IDFLOW_TOKEN = token;
  hooks.script({ status: 400 });
  const started = await idflow.engine.runManually('offboard', { user: 'u-lee' }, 'test');
  assert.equal((await idflow.finished(started.runId)).status, 'failed');
  const result = await runCli(['runs', 'retry', started.runId]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    `retrying ${started.runId} as ${started.runId}.retry-1 from step tell_hr: idflow runs show ${started.runId}.retry-1`,
  );
  assert.equal((await idflow.finished(`${started.runId}.retry-1`)).status, 'completed');
});
