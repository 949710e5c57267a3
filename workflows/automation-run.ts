/**
 * The interpreter: one workflow type runs any automation version. It walks the steps in order,
 * renders each step's `with` against ctx, runs it (an activity, or in the workflow for `wait`
 * and `run_automation`), and stores the output as ctx.<step name>.
 *
 * Deterministic and replay-safe: no I/O here, time only from Temporal (`new Date()` and timers
 * are Temporal's inside a workflow), and the pinned automation version arrives as input.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  isCancellation,
  proxyActivities,
  sleep,
  startChild,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { PinnedAutomation, StepActivities } from '../activities/contracts.js';
import { parseDuration } from '../core/duration.js';
import type { StepSpec } from '../definitions/schema.js';
import { stepRegistry } from '../steps/registry.js';
import { checkChain } from '../steps/run_automation.js';
import { renderStepInput, skippedOutput, stepConditionHolds } from '../steps/render.js';
import { StepError } from '../core/step-error.js';
import { parseStepInput, type ActivityStep, type WorkflowStepServices } from '../steps/types.js';
import { subjectOf, triggerContext } from '../triggers/events.js';
import { ApprovalRejected } from '../steps/request_approval.js';
import { requestApproval } from './approvals.js';
import { SCHEDULED_START, failureMessage, recorder } from './shared.js';
import { guardRun } from './guard.js';
import { CancelledByEvent, FactsFollower, type NewerEvent } from './follow-facts.js';

export interface AutomationRunInput {
  automation: Omit<PinnedAutomation, 'enabled'>;
  /** The trigger's data as sent: what the run record keeps. */
  trigger: JsonObject;
  /**
   * ctx.trigger is `trigger` with its field aliases and `user` (triggerContext), built here so
   * they never weigh on the input: runs of events, manual runs and per-user runs. Without it,
   * ctx.trigger is `trigger` as given: a run_automation child's context, a schedule tick, and
   * runs started before this flag existed, whose input carries the aliases already.
   */
  aliasTrigger?: boolean;
  eventId?: string;
  /**
   * The starter created the run record before starting the workflow (the engine does, for
   * events and manual runs): the workflow does not record its start again, which saves the first
   * workflow task a store write. Children and schedule ticks are recorded by the workflow.
   */
  runRecorded?: boolean;
  /**
   * When the last step is an activity, its success ends the run in the store with the step's own
   * write, and the workflow records no completion after it. Set by the starters of this version
   * (engine, run_automation, fan-out); runs started before it replay as they ran.
   */
  lastStepCompletesRun?: boolean;
  parentRunId?: string;
  /**
   * A retry of a failed run (engine retryRun): the steps before `step` are not run again, their
   * outputs (recorded by the failed run, carried into this run's record by the engine) are ctx.
   */
  resumeFrom?: { step: number; outputs: JsonObject };
  /** Names of the automations that started this one, root first (run_automation chains). */
  chain: string[];
  /** Started by the automation's Temporal Schedule: ctx.trigger gets the tick's scheduled time. */
  scheduled?: boolean;
  /** The blast-radius guard checks the run (workflows/guard.ts); runs started before it replay as they ran. */
  guarded?: boolean;
  /** Started by its person's queue (workflows/person-queue.ts), this id's: it frees the queue at a wait and hears cancelWhen there. */
  personQueue?: string;
}

export interface AutomationRunOutput {
  /** Step outputs by step name. */
  steps: JsonObject;
}

function activityOptions(step: StepSpec, stepType: ActivityStep): ActivityOptions {
  const retry = { ...stepType.defaults.retry, ...step.retry };
  const heartbeatTimeout = stepType.defaults.heartbeatTimeout;
  return {
    startToCloseTimeout: parseDuration(step.timeout ?? stepType.defaults.timeout),
    ...(heartbeatTimeout !== undefined && { heartbeatTimeout: parseDuration(heartbeatTimeout) }),
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: parseDuration(retry.initialInterval),
      backoffCoefficient: retry.backoffCoefficient,
      maximumInterval: parseDuration(retry.maximumInterval),
    },
  };
}

export async function automationRun(input: AutomationRunInput): Promise<AutomationRunOutput> {
  const { automation } = input;
  const runId = workflowInfo().workflowId;
  const scheduledTime = input.scheduled ? workflowInfo().typedSearchAttributes.get(SCHEDULED_START) : undefined;
  const data: JsonObject = scheduledTime ? { ...input.trigger, scheduledTime: scheduledTime.toISOString() } : input.trigger;
  if (!input.runRecorded) {
    await recorder.recordRunStarted({
      runId,
      automation: automation.name,
      version: automation.version,
      trigger: data,
      eventId: input.eventId,
      parentRunId: input.parentRunId,
      steps: automation.spec.steps.map((step) => ({ name: step.name, type: step.type })),
    });
  }

  const ctx: JsonObject = { trigger: input.aliasTrigger ? triggerContext(data) : data };
  const outputs: JsonObject = {};
  const chain = [...input.chain, automation.name];
  const follower = input.personQueue
    ? new FactsFollower({
        queue: input.personQueue,
        runId,
        eventId: input.eventId,
        cancelWhen: automation.spec.cancelWhen,
        rescheduleWhen: automation.spec.rescheduleWhen,
        runTrigger: ctx.trigger as JsonObject,
      })
    : undefined;
  let current: StepSpec | undefined;
  // A skipped last step records no completion of the run: the workflow records it.
  let lastSkipped = false;
  const guard = input.guarded ? guardRun(runId, automation) : undefined;
  try {
    for (const [index, step] of automation.spec.steps.entries()) {
      if (input.resumeFrom && index < input.resumeFrom.step) {
        ctx[step.name] = input.resumeFrom.outputs[step.name] ?? null;
        outputs[step.name] = ctx[step.name];
        continue;
      }
      current = step;
      lastSkipped = step.if !== undefined && !(await conditionHolds(step.if, step, runId, ctx));
      // The guard counts what acts: a skipped step does nothing.
      if (!lastSkipped && (await guard?.beforeStep(step)) === 'discarded') return { steps: outputs };
      const output = lastSkipped ? skippedOutput(step.if as string) : await runStep(step, runId, input, ctx, chain, follower);
      ctx[step.name] = output;
      outputs[step.name] = output;
    }
  } catch (error) {
    if (isCancellation(error)) {
      const reason = error instanceof CancelledByEvent ? error.reason : 'the run was cancelled';
      await CancellationScope.nonCancellable(async () => {
        if (current) await recorder.recordStepFinished(runId, current.name, { status: 'cancelled', error: reason });
        await recorder.recordRunFinished(runId, 'cancelled', reason);
      });
      // Cancelled by the facts, not by Temporal: the workflow ends normally, its record says why.
      if (error instanceof CancelledByEvent) return { steps: outputs };
      throw error;
    }
    if (error instanceof ApprovalRejected && current) {
      // Not a failure: the approvers (or the timeout) said no.
      await recorder.recordRunFinished(runId, 'rejected', `step "${current.name}": ${error.message}`);
      return { steps: { ...outputs, [current.name]: error.output } };
    }
    const message = `step "${current?.name}" (${current?.type}) failed: ${failureMessage(error)}`;
    await recorder.recordRunFinished(runId, 'failed', message);
    throw ApplicationFailure.create({
      message,
      type: 'AutomationStepFailed',
      nonRetryable: true,
      cause: error instanceof Error ? error : undefined,
    });
  }
  if (lastSkipped || !(input.lastStepCompletesRun && endsInActivity(automation.spec.steps)))
    await recorder.recordRunFinished(runId, 'completed');
  return { steps: outputs };
}

/** A step's `if:`: false records the step skipped, with the value; one that cannot be evaluated fails the step. */
async function conditionHolds(expression: string, step: StepSpec, runId: string, ctx: JsonObject): Promise<boolean> {
  let holds: boolean;
  try {
    holds = stepConditionHolds(expression, ctx, new Date());
  } catch (error) {
    const message = `evaluating its if: ${failureMessage(error)}`;
    await recorder.recordStepStarted(runId, step.name, step.with as JsonObject);
    await recorder.recordStepFinished(runId, step.name, { status: 'failed', error: message });
    throw new StepError('INVALID_STEP_CONDITION', message, { retryable: false });
  }
  if (!holds) {
    await recorder.recordStepStarted(runId, step.name, step.with as JsonObject);
    await recorder.recordStepFinished(runId, step.name, { status: 'skipped', output: skippedOutput(expression) });
  }
  return holds;
}

function endsInActivity(steps: StepSpec[]): boolean {
  const last = steps.at(-1);
  return last !== undefined && stepRegistry.get(last.type)?.runsIn === 'activity';
}

async function runStep(
  step: StepSpec,
  runId: string,
  input: AutomationRunInput,
  ctx: JsonObject,
  chain: string[],
  follower?: FactsFollower,
): Promise<JsonValue> {
  const stepType = stepRegistry.get(step.type);
  const { automation } = input;
  const failBeforeStart = async (code: string, message: string): Promise<never> => {
    await recorder.recordStepStarted(runId, step.name, step.with as JsonObject);
    await recorder.recordStepFinished(runId, step.name, { status: 'failed', error: message });
    throw new StepError(code, message, { retryable: false });
  };
  // Only reachable with a version applied by an idflow that knew more step types.
  if (!stepType) return failBeforeStart('UNKNOWN_STEP_TYPE', `unknown step type "${step.type}"`);
  let rendered: JsonObject;
  try {
    rendered = renderStepInput(step.with as JsonObject, ctx, stepType, new Date());
  } catch (error) {
    return failBeforeStart('INVALID_STEP_INPUT', `rendering its input: ${failureMessage(error)}`);
  }

  if (stepType.runsIn === 'activity') {
    const activities = proxyActivities<StepActivities>(activityOptions(step, stepType));
    try {
      return await activities.runStep({
        runId,
        automation: automation.name,
        version: automation.version,
        stepName: step.name,
        stepType: step.type,
        input: rendered,
        aliasTrigger: input.aliasTrigger,
        completesRun: input.lastStepCompletesRun && step === automation.spec.steps.at(-1),
      });
    } catch (error) {
      if (!isCancellation(error)) await recorder.recordStepFinished(runId, step.name, { status: 'failed', error: failureMessage(error) });
      throw error;
    }
  }

  await recorder.recordStepStarted(runId, step.name, rendered);
  try {
    const input = parseStepInput(stepType.with, rendered);
    const services: WorkflowStepServices = {
      run: { runId, automation: automation.name, version: automation.version, stepName: step.name },
      sleep: (ms) => sleep(ms),
      now: () => new Date(),
      runAutomation: (request) => runChildAutomation(request, runId, step.name, chain),
      requestApproval: (request) =>
        requestApproval(request, {
          runId,
          automation: automation.name,
          stepName: step.name,
          subject: subjectOf(ctx.trigger as JsonObject),
        }),
    };
    const run = (stepInput: typeof input) => stepType.run(stepInput, services);
    // rescheduleWhen: the step rendered again with the newer event as ctx.trigger; one that cannot render (a field the event lacks) stays as it was.
    const rerender = async (event: NewerEvent): Promise<typeof input | undefined> => {
      let again: JsonObject;
      let parsed: typeof input;
      try {
        again = renderStepInput(step.with as JsonObject, { ...ctx, trigger: triggerContext(event.data) }, stepType, new Date());
        parsed = parseStepInput(stepType.with, again);
      } catch {
        return undefined;
      }
      await recorder.recordStepStarted(runId, step.name, again);
      return parsed;
    };
    const output = await (follower ? follower.step(step.type, input, run, rerender) : run(input));
    await recorder.recordStepFinished(runId, step.name, { status: 'completed', output });
    return output;
  } catch (error) {
    if (error instanceof ApprovalRejected)
      await recorder.recordStepFinished(runId, step.name, { status: 'completed', output: error.output });
    else if (!isCancellation(error))
      await recorder.recordStepFinished(runId, step.name, { status: 'failed', error: failureMessage(error) });
    throw error;
  }
}

async function runChildAutomation(
  request: { automation: string; context: JsonObject; wait: boolean },
  parentRunId: string,
  stepName: string,
  chain: string[],
): Promise<JsonObject> {
  checkChain(chain, request.automation);
  const target = await recorder.resolveAutomation(request.automation);
  if (!target) throw new StepError('UNKNOWN_AUTOMATION', `automation "${request.automation}" does not exist`, { retryable: false });
  if (!target.enabled) throw new StepError('AUTOMATION_DISABLED', `automation "${request.automation}" is disabled`, { retryable: false });
  const child = await startChild(automationRun, {
    workflowId: `${parentRunId}.${stepName}`,
    args: [
      {
        automation: { name: target.name, version: target.version, spec: target.spec },
        trigger: request.context,
        parentRunId,
        chain,
        lastStepCompletesRun: true,
        guarded: true,
      },
    ],
    parentClosePolicy: request.wait ? ParentClosePolicy.TERMINATE : ParentClosePolicy.ABANDON,
  });
  if (!request.wait) return { runId: child.workflowId, automation: target.name, version: target.version };
  const result = await child.result();
  return { runId: child.workflowId, automation: target.name, version: target.version, steps: result.steps };
}
