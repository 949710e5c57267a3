/**
 * The real StepServices: what an activity step may use of the host, the integrations its step
 * type lists among them.
 */
import type { JsonValue } from '../core/json.js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { StepError } from '../core/step-error.js';
import type { IntegrationServices } from '../integrations/adapters.js';
import type { IntegrationKey } from '../integrations/types.js';
import type { StepServices } from '../steps/types.js';
import type { ProvisioningService } from '../provisioning/service.js';
import type { FunctionService } from '../functions/service.js';
import type { Store } from '../store/types.js';
import { triggerContext } from '../triggers/events.js';
import type { RunStepRequest } from './contracts.js';

export interface StepServiceOptions {
  request: RunStepRequest;
  attempt: number;
  log: Logger;
  store: Store;
  signal: AbortSignal;
  /** The worker's integration services, by name. */
  integrations: IntegrationServices;
  /** The integrations the step type lists: the only ones the step may reach. */
  listedIntegrations: readonly IntegrationKey<unknown>[];
  /** The governance actions: the directory, and the apps provisioned with it. */
  provisioning: ProvisioningService;
  functions: FunctionService;
  heartbeat(): void;
}

/** The run's ctx.trigger, as its CEL sees it, from the run record (which keeps the data as sent). */
async function runTrigger(store: Store, request: RunStepRequest): Promise<JsonValue | undefined> {
  const trigger = (await store.runs.get(request.runId))?.trigger;
  const isObject = trigger !== null && typeof trigger === 'object' && !Array.isArray(trigger);
  return request.aliasTrigger && isObject ? triggerContext(trigger) : trigger;
}

/** The namespace of these UUIDs: fixed (the key must not change between workers or releases), random (idflow's own). */
const IDEMPOTENCY_NAMESPACE = Buffer.from('4f1c3a9e6b2d4e8a9c0f7d5b3a1e2c4d', 'hex');

/**
 * ctx.idempotencyKey of the functions a step calls: a name-based UUID (version 5, RFC 9562) of the
 * step's idempotency key, so the same on every retry of this step of this run, another for any
 * other step or run, and short and plain enough for any API's Idempotency-Key.
 */
function functionIdempotencyKey(stepKey: string): string {
  const hash = createHash('sha1').update(IDEMPOTENCY_NAMESPACE).update(stepKey, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function createStepServices(options: StepServiceOptions): StepServices {
  const { request, attempt, log, store, signal } = options;
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
    fetch: globalThis.fetch,
    integration<Service>(key: IntegrationKey<Service>): Service {
      const listed = options.listedIntegrations.some((listedKey) => listedKey.name === key.name);
      if (!listed || !options.integrations.has(key.name)) {
        throw new StepError(
          'INTEGRATION_NOT_LISTED',
          `step type "${request.stepType}" uses the ${key.name} integration without listing it in its integrations`,
          {
            retryable: false,
          },
        );
      }
      return options.integrations.get(key.name) as Service;
    },
    directory: options.provisioning.forStep(
      idempotencyKey,
      { source: `automation ${request.automation} run ${request.runId}`, cause: { runId: request.runId, stepName: request.stepName } },
      { signal, heartbeat: options.heartbeat },
    ),
    functions: {
      // ctx.trigger of the function is the run's: read from its record rather than carried in every step input.
      call: async (ref, input, callOptions) =>
        options.functions.call(ref, input, {
          trigger: await runTrigger(store, request),
          idempotencyKey: functionIdempotencyKey(idempotencyKey),
          lent: callOptions?.lent,
        }),
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
