/**
 * Activity implementations: run one activity step against real services, and record runs and
 * steps in the store. Created with their dependencies so the worker and tests wire them alike.
 */
import type { JsonValue } from '../core/json.js';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { DirectoryService } from '../directory/service.js';
import { DirectoryError } from '../directory/types.js';
import { storedAutomationSpec } from '../definitions/schema.js';
import { stepRegistry } from '../steps/registry.js';
import { StepError } from '../core/step-error.js';
import { parseStepInput } from '../steps/types.js';
import type { Store } from '../store/types.js';
import type { FanOutActivities, RecordActivities, RunStepRequest, StepActivities } from './contracts.js';
import { createFanOutActivities } from './fan-out.js';
import type { ApprovalActivities } from './approval-contracts.js';
import { createApprovalActivities } from './approvals.js';
import { ApprovalLinks } from '../functions/approval-links.js';
import { FunctionService } from '../functions/service.js';
import { loadIntegrations } from '../integrations/adapters.js';
import { stepDuration } from '../metrics/registry.js';
import type { IntegrationKey } from '../integrations/types.js';
import { ProvisioningService } from '../provisioning/service.js';
import { createStepServices } from './services.js';
import type { GuardActivities } from './guard-contract.js';
import { createGuardActivities } from './guard.js';
import { mail, type MailService } from '../integrations/mail/types.js';
import { slack, type SlackService } from '../integrations/slack/types.js';

export interface ActivityDependencies {
  store: Store;
  logger: Logger;
  /** Where secrets referenced as { env: NAME } are read from; the worker's environment by default. */
  env?: NodeJS.ProcessEnv;
  /** The data dir, where functions' secrets' master key is when IDFLOW_MASTER_KEY(_FILE) is not set. */
  dataDir?: string;
}

/** Converts what step code throws into a Temporal failure with the right retry behaviour. */
export function toApplicationFailure(error: unknown): ApplicationFailure {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof StepError) {
    return ApplicationFailure.create({
      message: error.message,
      type: error.code,
      nonRetryable: !error.retryable,
      // Retry-After: 0 means now: Temporal refuses a zero delay (the step would fail), so the policy's backoff applies.
      nextRetryDelay: error.retryAfterMs || undefined,
      details: error.details === undefined ? undefined : [error.details],
    });
  }
  if (error instanceof DirectoryError) {
    // A reference that is gone or input the directory refuses: retrying cannot help.
    return ApplicationFailure.create({ message: error.message, type: `DIRECTORY_${error.code}`, nonRetryable: true });
  }
  // Unknown errors are bugs or infrastructure trouble: retry them under the step's policy.
  const message = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.create({ message, type: error instanceof Error ? error.name : 'Error', nonRetryable: false });
}

/** The integrations the registered step types list: the adapters a worker loads. */
function listedIntegrations(): IntegrationKey<unknown>[] {
  return [...stepRegistry.values()].flatMap((step) => (step.runsIn === 'activity' ? (step.integrations ?? []) : []));
}

export async function createActivities(
  deps: ActivityDependencies,
): Promise<StepActivities & RecordActivities & FanOutActivities & GuardActivities & ApprovalActivities> {
  const { store, logger } = deps;
  const env = deps.env ?? process.env;
  // Built once per worker, from the worker's environment: a missing or failing adapter stops the start.
  const integrations = await loadIntegrations([...listedIntegrations(), mail, slack], { env, store, dataDir: deps.dataDir });
  // Events of the changes steps make are delivered by the engine's outbox dispatcher (a poll).
  const directory = new DirectoryService(store.directory);
  const functions = new FunctionService({ store, env, dataDir: deps.dataDir });
  // Steps' app calls read { env } tokens from this worker's environment.
  const provisioning = ProvisioningService.create({ env, store, dataDir: deps.dataDir, directory, functions });

  return {
    ...createFanOutActivities(store.directory),
    ...createGuardActivities({
      store,
      logger,
      env,
      mail: integrations.get(mail.name) as MailService | undefined,
      slack: integrations.get(slack.name) as SlackService | undefined,
    }),
    // request_approval notifies by mail and Slack: loaded above whatever steps are registered.
    ...createApprovalActivities({
      store,
      directory,
      integrations,
      links: new ApprovalLinks({ env, dataDir: deps.dataDir }),
      publicUrl: env.IDFLOW_PUBLIC_URL || undefined,
    }),

    async runStep(request: RunStepRequest): Promise<JsonValue> {
      const context = Context.current();
      const attempt = context.info.attempt;
      const log = logger.child({ runId: request.runId, step: request.stepName, stepType: request.stepType, attempt });
      await store.runs.stepStarted(request.runId, request.stepName, request.input, attempt);
      const stepType = stepRegistry.get(request.stepType);
      if (!stepType || stepType.runsIn !== 'activity') {
        throw ApplicationFailure.nonRetryable(`"${request.stepType}" is not an activity step type`, 'UNKNOWN_STEP_TYPE');
      }
      const services = createStepServices({
        request,
        attempt,
        log,
        store,
        signal: context.cancellationSignal,
        heartbeat: () => context.heartbeat(),
        integrations,
        listedIntegrations: stepType.integrations ?? [],
        provisioning,
        functions,
      });
      const attemptEnded = stepDuration.startTimer({ step_type: request.stepType });
      try {
        const output = await stepType.run(parseStepInput(stepType.with, request.input), services);
        if (request.completesRun) await store.runs.lastStepCompleted(request.runId, request.stepName, output);
        else await store.runs.stepFinished(request.runId, request.stepName, { status: 'completed', output });
        attemptEnded({ status: 'completed' });
        log.info({}, 'step completed');
        return output;
      } catch (error) {
        const failure = toApplicationFailure(error);
        attemptEnded({ status: failure.nonRetryable ? 'non_retryable_error' : 'retryable_error' });
        log.warn({ err: failure.message, retryable: !failure.nonRetryable }, 'step attempt failed');
        throw failure;
      }
    },

    async recordRunStarted(record) {
      await store.runs.start({
        runId: record.runId,
        automation: record.automation,
        version: record.version,
        trigger: record.trigger,
        eventId: record.eventId,
        parentRunId: record.parentRunId,
        startedAt: new Date().toISOString(),
        steps: record.steps,
      });
    },
    async recordStepStarted(runId, stepName, input) {
      await store.runs.stepStarted(runId, stepName, input, 1);
    },
    async recordStepFinished(runId, stepName, result) {
      await store.runs.stepFinished(runId, stepName, result);
    },
    async recordRunFinished(runId, status, error) {
      // The workflow's own ending: it replaces a completion its last step recorded before failing on a retry.
      await store.runs.finish(runId, status, error, { overCompleted: true });
      logger.info({ runId, status, error }, 'run finished');
    },
    async resolveAutomation(name) {
      const current = await store.definitions.current('Automation', name);
      if (!current) return undefined;
      return { name, version: current.version, enabled: current.enabled, spec: storedAutomationSpec(current.spec) };
    },
  };
}
