/**
 * The real adapters behind StepServices: what an activity step may use of the host.
 */
import type { JsonValue } from '../core/json.js';
import type { Logger } from 'pino';
import { parseDuration } from '../core/duration.js';
import type { WebhookSpec } from '../definitions/schema.js';
import { StepError } from '../core/step-error.js';
import type { ResolvedWebhook, StepServices } from '../steps/types.js';
import type { DirectoryService } from '../directory/service.js';
import type { FunctionService } from '../functions/service.js';
import type { Store } from '../store/types.js';
import { triggerContext } from '../triggers/events.js';
import type { RunStepRequest } from './contracts.js';
import type { Mailer } from '../integrations/mail/adapter.js';
import type { SlackPoster } from '../integrations/slack/adapter.js';

export interface StepServiceOptions {
  request: RunStepRequest;
  attempt: number;
  log: Logger;
  store: Store;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  mailer: Mailer;
  slack: SlackPoster;
  directory: DirectoryService;
  functions: FunctionService;
  heartbeat(): void;
}

async function resolveWebhook(store: Store, env: NodeJS.ProcessEnv, name: string): Promise<ResolvedWebhook> {
  const current = await store.definitions.current('Webhook', name);
  if (!current) {
    throw new StepError('UNKNOWN_WEBHOOK', `webhook "${name}" is not defined: apply a kind: Webhook document named "${name}"`, { retryable: false });
  }
  const spec = current.spec as unknown as WebhookSpec;
  let signingSecret: string | undefined;
  if (spec.signingSecret) {
    signingSecret = env[spec.signingSecret.env];
    if (!signingSecret) {
      throw new StepError('WEBHOOK_SECRET_UNSET', `webhook "${name}" is signed with the secret in $${spec.signingSecret.env}, which is not set in the worker's environment`, {
        retryable: false,
      });
    }
  }
  return { name, url: spec.url, headers: spec.headers ?? {}, signingSecret, timeoutMs: parseDuration(spec.timeout ?? '10s') ?? 10_000 };
}

/** The run's ctx.trigger, as its CEL sees it, from the run record (which keeps the data as sent). */
async function runTrigger(store: Store, request: RunStepRequest): Promise<JsonValue | undefined> {
  const trigger = (await store.runs.get(request.runId))?.trigger;
  const isObject = trigger !== null && typeof trigger === 'object' && !Array.isArray(trigger);
  return request.aliasTrigger && isObject ? triggerContext(trigger) : trigger;
}

export function createStepServices(options: StepServiceOptions): StepServices {
  const { request, attempt, log, store, env, signal } = options;
  const idempotencyKey = `${request.runId}.${request.stepName}`;
  return {
    run: {
      runId: request.runId,
      automation: request.automation,
      version: request.version,
      stepName: request.stepName,
      attempt,
      idempotencyKey,
    },
    log: {
      info: (fields, message) => log.info(fields, message),
      warn: (fields, message) => log.warn(fields, message),
      error: (fields, message) => log.error(fields, message),
    },
    signal,
    heartbeat: options.heartbeat,
    webhooks: { resolve: (name) => resolveWebhook(store, env, name) },
    fetch: globalThis.fetch,
    mail: options.mailer,
    slack: options.slack,
    directory: options.directory.forStep(idempotencyKey, { source: `automation ${request.automation} run ${request.runId}` }),
    functions: {
      // ctx.trigger of the function is the run's: read from its record rather than carried in every step input.
      call: async (ref, input) => options.functions.call(ref, input, { trigger: await runTrigger(store, request) }),
    },
    async once(effect) {
      const recorded = await store.effects.get(idempotencyKey);
      if (recorded !== undefined) {
        log.info({ idempotencyKey }, 'side effect already done by an earlier attempt: returning its result');
        return recorded as Awaited<ReturnType<typeof effect>>;
      }
      const result = await effect();
      await store.effects.put(idempotencyKey, result);
      return result;
    },
  };
}
