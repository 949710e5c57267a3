/**
 * `run_webhook`: POST a JSON payload to a declared webhook, signed per Standard Webhooks.
 * Network errors, timeouts, 5xx and 429 are retryable (Retry-After honoured); other 4xx and
 * redirects fail at once with the status and body in the error (integrations/webhooks/deliver.ts).
 */
import type { JsonValue } from '../core/json.js';
import { z } from 'zod';
import { deliverWebhook, webhookMessageId } from '../integrations/webhooks/deliver.js';
import { webhooks } from '../integrations/webhooks/types.js';
import { defineActivityStep, type StepServices } from './types.js';

const schema = z
  .object({
    webhook: z.string().min(1).describe('Name of a declared kind: Webhook document.'),
    payload: z.json().default({}).describe('The JSON body; templates allowed anywhere inside.'),
  })
  .strict();

/**
 * POSTs `payload` to the declared webhook `name`, signed, and reads its answer: the one way a step
 * posts to a webhook (run_webhook, perform_connector_action's webhook actions). 2xx is
 * `{ status, body }`; anything else throws a StepError that says whether a retry helps.
 */
export async function postToWebhook(
  name: string,
  payload: JsonValue,
  services: StepServices,
): Promise<{ status: number; body: JsonValue }> {
  const webhook = await services.integration(webhooks).resolve(name);
  // webhook-id: the same on every retry of this step in this run, so receivers can dedupe.
  return deliverWebhook(webhook, payload, {
    messageId: webhookMessageId(services.run.idempotencyKey),
    fetch: services.fetch,
    signal: services.signal,
  });
}

export const runWebhookStep = defineActivityStep({
  type: 'run_webhook',
  description: 'POST a JSON payload to a declared webhook, signed per Standard Webhooks, retried on network errors, 5xx and 429.',
  runsIn: 'activity',
  scopes: [],
  with: schema,
  integrations: [webhooks],
  defaults: { timeout: '30s', retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } },
  checkReferences(input, refs) {
    const name = input.webhook;
    if (typeof name === 'string' && !refs.hasWebhook(name)) {
      return [{ path: ['webhook'], message: `unknown webhook "${name}": declare it with kind: Webhook` }];
    }
    return [];
  },
  async plan(input, services) {
    const url = await services.webhookUrl(input.webhook);
    return {
      effects: [{ kind: 'webhook', webhook: input.webhook, url, payload: input.payload }],
      unknownReason: "the webhook's answer is known only once it is posted",
    };
  },
  run: (input, services) => postToWebhook(input.webhook, input.payload, services),
});
