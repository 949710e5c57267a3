/**
 * Delivering a JSON payload to a declared webhook: signed per Standard Webhooks, its answer read
 * and classified. run_webhook and provisioning through a webhook both send with it. Network
 * errors, timeouts, 5xx and 429 are retryable (Retry-After honoured); other 4xx and redirects
 * fail at once with the status and body in the error. Workflow-safe: the caller hands it fetch.
 */
import type { JsonValue } from '../../core/json.js';
import { Webhook } from 'standardwebhooks';
import { StepError } from '../../core/step-error.js';
import { networkReason, parseRetryAfter, readLimitedBody } from '../http.js';
import type { ResolvedWebhook } from './types.js';

/** Responses larger than this fail the delivery: an automation has no use for megabytes of body. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** How much of a rejected response's body goes into the error. */
const ERROR_BODY_CHARS = 2000;

export interface WebhookDelivery {
  /** webhook-id: the same on every retry of one message, so receivers can dedupe. */
  messageId: string;
  fetch: typeof fetch;
  /** Aborts the request (the activity was cancelled). */
  signal: AbortSignal;
}

/** A webhook-id from any key: Standard Webhooks ids are [A-Za-z0-9_.-]. */
export const webhookMessageId = (key: string): string => `msg_${key.replace(/[^A-Za-z0-9_.-]/g, '_')}`;

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

function parseBody(text: string, contentType: string | null): JsonValue {
  if (!contentType?.includes('json')) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

async function post(webhook: ResolvedWebhook, body: string, delivery: WebhookDelivery): Promise<Response> {
  const timeout = AbortSignal.timeout(webhook.timeoutMs);
  try {
    return await delivery.fetch(webhook.url, {
      method: 'POST',
      body,
      headers: headersFor(webhook, delivery.messageId, body),
      redirect: 'manual',
      signal: AbortSignal.any([delivery.signal, timeout]),
    });
  } catch (error) {
    if (timeout.aborted) {
      throw new StepError('WEBHOOK_TIMEOUT', `webhook "${webhook.name}" did not answer within ${webhook.timeoutMs} ms`, {
        retryable: true,
      });
    }
    throw new StepError(
      'WEBHOOK_UNAVAILABLE',
      `webhook "${webhook.name}" could not be reached at ${webhook.url}: ${networkReason(error)}`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
}

/** POSTs `payload`; resolves with the 2xx status and body (parsed when JSON), else throws a StepError. */
export async function deliverWebhook(
  webhook: ResolvedWebhook,
  payload: JsonValue,
  delivery: WebhookDelivery,
): Promise<{ status: number; body: JsonValue }> {
  const response = await post(webhook, JSON.stringify(payload), delivery);
  const text = await readLimitedBody(response, MAX_RESPONSE_BYTES);
  if (text === undefined) {
    throw new StepError('WEBHOOK_RESPONSE_TOO_LARGE', `webhook "${webhook.name}" answered with more than ${MAX_RESPONSE_BYTES} bytes`, {
      retryable: false,
    });
  }
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
      { retryable: false },
    );
  }
  throw new StepError('WEBHOOK_REJECTED', `webhook "${webhook.name}" answered ${status}: ${text.slice(0, ERROR_BODY_CHARS)}`, {
    retryable: false,
    details: { status: response.status, body: text.slice(0, ERROR_BODY_CHARS) },
  });
}
