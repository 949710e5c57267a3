/**
 * The webhooks integration's contract (workflow-safe: run_webhook imports it): a declared
 * outbound webhook with its secret resolved, and the service that resolves one by name. The step
 * itself signs and posts; its adapter reads kind: Webhook documents from the store and secrets
 * from the worker's environment.
 */
import { integrationKey } from '../types.js';

/** A declared outbound webhook (a `kind: Webhook` document), with its secret resolved. */
export interface ResolvedWebhook {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** `whsec_...` secret, already resolved from env; undefined when the webhook is unsigned. */
  signingSecret?: string;
  timeoutMs: number;
}

export interface WebhookResolver {
  /** Throws a non-retryable StepError when the webhook does not exist or its secret is unset. */
  resolve(name: string): Promise<ResolvedWebhook>;
}

export const webhooks = integrationKey<WebhookResolver>('webhooks');
