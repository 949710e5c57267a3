/**
 * `run_webhook`: POST a JSON payload to a declared webhook, signed per Standard Webhooks.
 * Network errors, timeouts, 5xx and 429 are retryable (Retry-After honoured); other 4xx and
 * redirects fail at once with the status and body in the error.
 */
import type { JsonValue } from '../core/json.js';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { StepError } from '../core/step-error.js';
import { webhooks, type ResolvedWebhook } from '../integrations/webhooks/types.js';
import { defineActivityStep, type StepServices } from './types.js';

/** Responses larger than this fail the step: an automation has no use for megabytes of body. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** How much of a rejected response's body goes into the error. */
const ERROR_BODY_CHARS = 2000;
/** A Retry-After beyond this is capped: the step's retry policy still bounds the total. */
const MAX_RETRY_AFTER_MS = 3_600_000;

const schema = z
  .object({
    webhook: z.string().min(1).describe('Name of a declared kind: Webhook document.'),
    payload: z.json().default({}).describe('The JSON body; templates allowed anywhere inside.'),
  })
  .strict();

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/** webhook-id: the same on every retry of this step in this run, so receivers can dedupe. */
function messageId(services: StepServices): string {
  return `msg_${services.run.idempotencyKey.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
}

function headersFor(webhook: ResolvedWebhook, id: string, body: string): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'idflow', ...webhook.headers, 'content-type': 'application/json' };
  if (webhook.signingSecret) {
    const timestamp = new Date();
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(Math.floor(timestamp.getTime() / 1000));
    headers['webhook-signature'] = new Webhook(webhook.signingSecret).sign(id, timestamp, body);
  }
  return headers;
}

/** Reads at most MAX_RESPONSE_BYTES of the body; more is an error. */
async function readBody(response: Response, webhook: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new StepError('WEBHOOK_RESPONSE_TOO_LARGE', `webhook "${webhook}" answered with more than ${MAX_RESPONSE_BYTES} bytes`, {
        retryable: false,
      });
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

function parseBody(text: string, contentType: string | null): JsonValue {
  if (!contentType?.includes('json')) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

async function post(webhook: ResolvedWebhook, body: string, headers: Record<string, string>, services: StepServices): Promise<Response> {
  const timeout = AbortSignal.timeout(webhook.timeoutMs);
  try {
    return await services.fetch(webhook.url, {
      method: 'POST',
      body,
      headers,
      redirect: 'manual',
      signal: AbortSignal.any([services.signal, timeout]),
    });
  } catch (error) {
    if (timeout.aborted) {
      throw new StepError('WEBHOOK_TIMEOUT', `webhook "${webhook.name}" did not answer within ${webhook.timeoutMs} ms`, {
        retryable: true,
      });
    }
    const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    throw new StepError('WEBHOOK_UNAVAILABLE', `webhook "${webhook.name}" could not be reached at ${webhook.url}: ${reason}`, {
      retryable: true,
      cause: error,
    });
  }
}

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
  const body = JSON.stringify(payload);
  const response = await post(webhook, body, headersFor(webhook, messageId(services), body), services);
  const text = await readBody(response, webhook.name);
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;

  if (response.status >= 200 && response.status < 300) {
    return { status: response.status, body: parseBody(text, response.headers.get('content-type')) };
  }
  if (response.status === 429 || response.status >= 500) {
    throw new StepError(
      response.status === 429 ? 'WEBHOOK_RATE_LIMITED' : 'WEBHOOK_UNAVAILABLE',
      `webhook "${webhook.name}" answered ${status}`,
      {
        retryable: true,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      },
    );
  }
  if (response.status >= 300 && response.status < 400) {
    throw new StepError(
      'WEBHOOK_REDIRECTED',
      `webhook "${webhook.name}" redirects (${status}) to ${response.headers.get('location') ?? 'an unnamed location'}: point its url there`,
      {
        retryable: false,
      },
    );
  }
  throw new StepError('WEBHOOK_REJECTED', `webhook "${webhook.name}" answered ${status}: ${text.slice(0, ERROR_BODY_CHARS)}`, {
    retryable: false,
    details: { status: response.status, body: text.slice(0, ERROR_BODY_CHARS) },
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
  run: (input, services) => postToWebhook(input.webhook, input.payload, services),
});
