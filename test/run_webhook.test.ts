/**
 * run_webhook against a real loopback HTTP server: what is retryable, what fails at once, and
 * what each outcome says. (Signing, retries through Temporal and the 400 path run end to end in
 * test/engine.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseRetryAfter } from '../integrations/http.js';
import { runWebhookStep } from '../steps/run_webhook.js';
import { StepError } from '../core/step-error.js';
import type { IntegrationKey } from '../integrations/types.js';
import { webhooks, type ResolvedWebhook, type WebhookResolver } from '../integrations/webhooks/types.js';
import type { StepServices } from '../steps/types.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';

let receiver: Receiver;

before(async () => {
  receiver = await startReceiver();
});
after(() => receiver.close());

function services(webhook: Partial<ResolvedWebhook> = {}): StepServices {
  const resolved: ResolvedWebhook = { name: 'hook', url: `${receiver.url}/hook`, headers: {}, timeoutMs: 2000, ...webhook };
  const ignore = (): void => undefined;
  return {
    run: { runId: 'auto:evt-1', automation: 'auto', version: 1, stepName: 'notify', attempt: 1, idempotencyKey: 'auto:evt-1.notify' },
    log: { info: ignore, warn: ignore, error: ignore },
    signal: new AbortController().signal,
    heartbeat: ignore,
    fetch: globalThis.fetch,
    integration: <Service>(key: IntegrationKey<Service>): Service => {
      assert.equal(key.name, webhooks.name, 'run_webhook reaches only the webhooks integration');
      return { resolve: async () => resolved } satisfies WebhookResolver as Service;
    },
    once: (effect) => effect(),
    directory: new Proxy({} as StepServices['directory'], { get: () => () => Promise.reject(new Error('run_webhook uses no directory')) }),
    functions: { call: () => Promise.reject(new Error('run_webhook calls no function')) },
  };
}

async function failure(promise: Promise<unknown>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof StepError, `expected a StepError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the step to fail');
}

const send = (payload: unknown = { a: 1 }, hook?: Partial<ResolvedWebhook>) =>
  runWebhookStep.run({ webhook: 'hook', payload: payload as never }, services(hook));

test('a 2xx returns the status and the body, parsed when it is JSON', async () => {
  receiver.script(
    { status: 201, body: '{"id":7}', headers: { 'content-type': 'application/json' } },
    { status: 200, body: 'plain', headers: { 'content-type': 'text/plain' } },
  );
  assert.deepEqual(await send(), { status: 201, body: { id: 7 } });
  assert.deepEqual(await send(), { status: 200, body: 'plain' });
  const last = receiver.requests.at(-1);
  assert.equal(last?.headers['content-type'], 'application/json');
  assert.equal(last?.headers['webhook-signature'], undefined, 'an unsigned webhook sends no signature headers');
});

test('429 is retryable after Retry-After; 503 is retryable', async () => {
  receiver.script({ status: 429, headers: { 'retry-after': '2' } });
  const limited = await failure(send());
  assert.equal(limited.retryable, true);
  assert.equal(limited.retryAfterMs, 2000);
  receiver.script({ status: 503 });
  assert.equal((await failure(send())).retryable, true);
  assert.ok((parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) ?? 0) > 3000, 'an HTTP date works too');
});

test('a 4xx fails at once with the status and body; a redirect fails and names its target', async () => {
  receiver.script({ status: 422, body: '{"error":"missing user"}' });
  const rejected = await failure(send());
  assert.equal(rejected.retryable, false);
  assert.match(rejected.message, /webhook "hook" answered 422 Unprocessable Entity: \{"error":"missing user"\}/);
  receiver.script({ status: 302, headers: { location: 'https://elsewhere.example/hook' } });
  const redirected = await failure(send());
  assert.equal(redirected.retryable, false);
  assert.match(redirected.message, /redirects \(302 Found\) to https:\/\/elsewhere\.example\/hook/);
});

test('a webhook that never answers times out, retryably, and quickly', async () => {
  receiver.script({ status: 200, hang: true });
  const started = Date.now();
  const timedOut = await failure(send({}, { timeoutMs: 200 }));
  assert.equal(timedOut.code, 'WEBHOOK_TIMEOUT');
  assert.equal(timedOut.retryable, true);
  assert.ok(Date.now() - started < 2000);
});

test('an unreachable webhook is retryable and says where it tried', async () => {
  const unreachable = await failure(send({}, { url: 'http://127.0.0.1:1/hook' }));
  assert.equal(unreachable.retryable, true);
  assert.match(unreachable.message, /could not be reached at http:\/\/127\.0\.0\.1:1\/hook/);
});

test('a response over 1 MiB fails instead of filling the run record', async () => {
  receiver.script({ status: 200, body: 'x'.repeat(1024 * 1024 + 1), headers: { 'content-type': 'text/plain' } });
  const tooLarge = await failure(send());
  assert.equal(tooLarge.code, 'WEBHOOK_RESPONSE_TOO_LARGE');
  assert.equal(tooLarge.retryable, false);
});

test('the input schema refuses unknown fields and apply-time checks name unknown webhooks', () => {
  assert.equal(runWebhookStep.with.safeParse({ webhook: 'hook', payload: {}, extra: 1 }).success, false);
  const issues = runWebhookStep.checkReferences?.(
    { webhook: 'nope' },
    {
      hasWebhook: () => false,
      hasAutomation: () => false,
      hasFunction: () => false,
      hasEntitlement: () => false,
      hasApp: () => false,
      appActions: () => undefined,
      hasAccessProfile: () => false,
      hasCampaignTemplate: () => false,
    },
  );
  assert.deepEqual(issues, [{ path: ['webhook'], message: 'unknown webhook "nope": declare it with kind: Webhook' }]);
});
