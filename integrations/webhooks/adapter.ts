/**
 * The webhooks integration's adapter: a webhook by name, from its kind: Webhook document in force
 * and the signing secret in the worker's environment ($NAME as the document says).
 */
import { parseDuration } from '../../core/duration.js';
import { StepError } from '../../core/step-error.js';
import type { Store } from '../../store/types.js';
import { defineAdapter, type AdapterContext } from '../types.js';
import type { WebhookSpec } from './document.js';
import { webhooks, type ResolvedWebhook } from './types.js';

async function resolveWebhook(store: Store, env: AdapterContext['env'], name: string): Promise<ResolvedWebhook> {
  const current = await store.definitions.current('Webhook', name);
  if (!current) {
    throw new StepError('UNKNOWN_WEBHOOK', `webhook "${name}" is not defined: apply a kind: Webhook document named "${name}"`, {
      retryable: false,
    });
  }
  const spec = current.spec as unknown as WebhookSpec;
  let signingSecret: string | undefined;
  if (spec.signingSecret) {
    signingSecret = env[spec.signingSecret.env];
    if (!signingSecret) {
      throw new StepError(
        'WEBHOOK_SECRET_UNSET',
        `webhook "${name}" is signed with the secret in $${spec.signingSecret.env}, which is not set in the worker's environment`,
        {
          retryable: false,
        },
      );
    }
  }
  return { name, url: spec.url, headers: spec.headers ?? {}, signingSecret, timeoutMs: parseDuration(spec.timeout ?? '10s') ?? 10_000 };
}

export default defineAdapter(webhooks, ({ store, env }) => ({ resolve: (name) => resolveWebhook(store, env, name) }));
