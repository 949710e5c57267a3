/**
 * The planner: the interpreter's dry twin. It walks an automation's steps as
 * workflows/automation-run.ts does — the same templates, the same input checks, the same step
 * code — against a copy-on-write view of the directory (plan/directory-view.ts), with every
 * outside service replaced by a description of what it would have been asked. Later steps see
 * earlier steps' planned effects; the directory events the plan's own changes emit are planned
 * in turn (cascades), as the outbox would deliver them.
 */
import { runIdFor } from '../core/names.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { AutomationPlan, DirectoryPlan, FieldChange, Plan, PlanEffect, PlannedEvent, StepPlan } from '../core/plan.js';
import { StepError } from '../core/step-error.js';
import { compile } from '../cel/index.js';
import { templateCtxReferences } from '../cel/template.js';
import type { AutomationSpec, StepSpec } from '../definitions/schema.js';
import type { DirectoryOps } from '../directory/repository.js';
import { importFeed, type Feed, type ImportOptions } from '../directory/import.js';
import { DirectoryService, changedUserFields } from '../directory/service.js';
import type { User } from '../directory/types.js';
import { functionDirectory } from '../functions/directory.js';
import type { FunctionService } from '../functions/service.js';
import connectorsAdapter from '../integrations/connectors/adapter.js';
import type { ConnectorActions } from '../integrations/connectors/types.js';
import type { AdapterContext } from '../integrations/types.js';
import webhooksAdapter from '../integrations/webhooks/adapter.js';
import type { WebhookResolver } from '../integrations/webhooks/types.js';
import { stepRegistry } from '../steps/registry.js';
import { renderStepInput, skippedOutput, stepConditionHolds } from '../steps/render.js';
import { checkChain } from '../steps/run_automation.js';
import { parseStepInput, type StepPlanServices, type StepServices, type WorkflowStepServices } from '../steps/types.js';
import { triggerContext } from '../triggers/events.js';
import type { MatchOutcome } from '../triggers/trigger-index.js';
import { DirectoryView } from './directory-view.js';
import { effectsOfWrites } from './effects.js';
import { PlannedProvisioning } from './provisioning.js';
import { summarize } from './summary.js';

/** An automation version as the planner runs it. */
export interface PlannableAutomation {
  name: string;
  version: number;
  enabled: boolean;
  spec: AutomationSpec;
}

export interface PlannerDependencies {
  /** The real directory: read, never written. */
  directory: DirectoryOps;
  /** The automations in force an event would start, each with whether its condition holds (triggers/trigger-index.ts). */
  match(eventType: string, data: JsonObject, now: Date): Promise<MatchOutcome<PlannableAutomation>[]>;
  /** The automation run_automation would start (its current version), if any. */
  automation(name: string): Promise<PlannableAutomation | undefined>;
  /** Functions: only those whose document says planSafe run, and only when `runFunctions`. */
  functions: Pick<FunctionService, 'planCall'>;
  /** The plan may run planSafe functions: the asker may see what functions return (functions:run). */
  runFunctions: boolean;
  /** Webhooks' URLs in full (a URL can carry a credential, as Slack's do): for those who may read webhooks (definitions:read); others see the origin. */
  webhookUrls: boolean;
  /** Default PLAN_LIMITS. */
  limits?: PlanLimits;
  /** How the integrations' adapters resolve webhooks and connector actions (no request is made). */
  adapters: AdapterContext;
}

/** A plan stops growing here: what was left out is said in the summary. */
export const PLAN_LIMITS: PlanLimits = { events: 5_000, steps: 20_000 };

export interface PlanLimits {
  events: number;
  steps: number;
}

const NOT_PLANNABLE = 'NOT_PLANNABLE';

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const refuse = (stepType: string, what: string) => (): never => {
  throw new StepError(NOT_PLANNABLE, `step type "${stepType}" reaches ${what}, which a plan does not simulate`, { retryable: false });
};

/** One plan: its own directory view, its event queue and its budget. */
class PlanSession {
  readonly view: DirectoryView;
  private readonly directory: DirectoryService;
  private readonly provisioning: PlannedProvisioning;
  private readonly queue: PlannedEvent[] = [];
  readonly planned: PlannedEvent[] = [];
  private steps = 0;
  private truncated?: string;
  private runs = 0;
  private readonly webhooks: WebhookResolver;
  private readonly connectors: ConnectorActions;

  private readonly limits: PlanLimits;

  constructor(private readonly deps: PlannerDependencies) {
    this.limits = deps.limits ?? PLAN_LIMITS;
    this.view = new DirectoryView(deps.directory);
    this.directory = new DirectoryService(this.view);
    this.provisioning = new PlannedProvisioning(this.directory);
    this.webhooks = webhooksAdapter.create(deps.adapters);
    this.connectors = connectorsAdapter.create(deps.adapters);
  }

  /** Plans `event` and, after it, every event the plan's changes emit, in order. */
  async planEvents(events: PlannedEvent['event'][], cause?: PlannedEvent['cause']): Promise<void> {
    for (const event of events) this.enqueue(event, cause);
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      if (this.planned.length >= this.limits.events) {
        this.truncated ??= `planned the first ${this.limits.events} events; ${this.queue.length + 1} more were left out`;
        break;
      }
      const outcomes = await this.deps.match(next.event.type, next.event.data, new Date());
      // An event the plan's own steps emit and no automation listens to is noise in a plan.
      if (outcomes.length === 0 && next.cause?.source === 'step') continue;
      this.planned.push(next);
      for (const outcome of outcomes) {
        const { automation } = outcome;
        if (!outcome.matched) {
          next.automations.push({ name: automation.name, version: automation.version, matched: false, reason: outcome.reason, steps: [] });
          continue;
        }
        const runId = runIdFor(automation.name, next.event.id ?? `planned-${++this.runs}`);
        next.automations.push(await this.planAutomation(automation, next.event.data, { aliasTrigger: true, chain: [], runId }));
      }
    }
  }

  private enqueue(event: PlannedEvent['event'], cause?: PlannedEvent['cause']): void {
    this.queue.push({ event, ...(cause && { cause }), automations: [] });
  }

  /** Plans one run of `automation` with `trigger` as its trigger's data. */
  async planAutomation(
    automation: PlannableAutomation,
    trigger: JsonObject,
    run: { aliasTrigger: boolean; chain: string[]; runId: string; now?: Date },
  ): Promise<AutomationPlan> {
    const plan: AutomationPlan = { name: automation.name, version: automation.version, matched: true, steps: [] };
    const ctx: JsonObject = { trigger: run.aliasTrigger ? triggerContext(trigger) : trigger };
    const unknown = new Map<string, string>();
    const clock = { now: run.now ?? new Date() };
    const chain = [...run.chain, automation.name];
    for (const step of automation.spec.steps) {
      if (this.steps >= this.limits.steps) {
        this.truncated ??= `planned the first ${this.limits.steps} steps; the rest were left out`;
        break;
      }
      this.steps++;
      const planned = await this.planStep(step, automation, ctx, unknown, clock, chain, run.runId);
      plan.steps.push(planned);
      if (planned.error !== undefined) break;
      if (planned.unknown) unknown.set(step.name, planned.reason ?? 'unknown');
      else ctx[step.name] = planned.output ?? null;
    }
    return plan;
  }

  private async planStep(
    step: StepSpec,
    automation: PlannableAutomation,
    ctx: JsonObject,
    unknown: Map<string, string>,
    clock: { now: Date },
    chain: string[],
    runId: string,
  ): Promise<StepPlan> {
    const base = { name: step.name, type: step.type };
    const raw = step.with as JsonObject;
    const stepType = stepRegistry.get(step.type);
    if (!stepType) return { ...base, input: raw, effects: [], unknown: false, error: `unknown step type "${step.type}"` };
    const reads = [...templateCtxReferences(raw), ...(step.if === undefined ? [] : compile(step.if).ctxReferences)].find((key) =>
      unknown.has(key),
    );
    if (reads !== undefined)
      return { ...base, input: raw, effects: [], unknown: true, reason: `it reads ctx.${reads}: ${unknown.get(reads)}` };
    if (step.if !== undefined) {
      try {
        if (!stepConditionHolds(step.if, ctx, clock.now))
          return {
            ...base,
            input: raw,
            effects: [],
            unknown: false,
            skipped: true,
            reason: `if: ${step.if} is false`,
            output: skippedOutput(step.if),
          };
      } catch (error) {
        return { ...base, input: raw, effects: [], unknown: false, error: `evaluating its if: ${messageOf(error)}` };
      }
    }
    let input: JsonValue;
    try {
      input = renderStepInput(raw, ctx, stepType, clock.now);
    } catch (error) {
      return { ...base, input: raw, effects: [], unknown: false, error: `rendering its input: ${messageOf(error)}` };
    }
    const appRequests: PlanEffect[] = [];
    const writes = this.view.writes.length;
    const events = this.view.events.length;
    const run = {
      runId,
      automation: automation.name,
      version: automation.version,
      stepName: step.name,
      idempotencyKey: `${runId}.${step.name}`,
    };
    this.provisioning.recordInto((effect) => appRequests.push(effect));
    // A workflow step's own effects (a wait, a child's plan); the child's steps record their writes and events themselves.
    const timed: PlanEffect[] = [];
    try {
      const parsed = parseStepInput(stepType.with, input);
      let described: PlanEffect[] = [];
      let output: JsonValue | undefined;
      let unknownReason: string | undefined;
      if (stepType.plan) {
        ({ effects: described, output, unknownReason } = await stepType.plan(parsed, this.planServices(run, clock, ctx)));
      } else if (stepType.runsIn === 'activity') {
        output = await stepType.run(parsed, this.simulatedServices(run, step.type));
      } else {
        output = await stepType.run(parsed, this.workflowServices(run, clock, chain, timed));
        return { ...base, input, effects: timed, unknown: false, output };
      }
      for (const event of this.view.events.slice(events))
        this.enqueue(
          { id: event.id, type: event.type, data: event.data },
          { source: 'step', automation: automation.name, step: step.name },
        );
      return {
        ...base,
        input,
        effects: [...appRequests, ...effectsOfWrites(this.view.writes.slice(writes)), ...described],
        unknown: output === undefined,
        ...(output === undefined ? { reason: unknownReason ?? 'known only once the step runs' } : { output }),
      };
    } catch (error) {
      if (error instanceof StepError && error.code === NOT_PLANNABLE)
        return { ...base, input, effects: appRequests, unknown: true, reason: error.message };
      return { ...base, input, effects: timed, unknown: false, error: messageOf(error) };
    }
  }

  private planServices(run: StepPlanServices['run'], clock: { now: Date }, ctx: JsonObject): StepPlanServices {
    return {
      run,
      now: () => clock.now,
      webhookUrl: async (name) => {
        const { url } = await this.webhooks.resolve(name);
        return this.deps.webhookUrls ? url : `${new URL(url).origin}/… (the path needs definitions:read)`;
      },
      connectorAction: async (app, action) => {
        const resolved = await this.connectors.resolve(app, action);
        return { app: resolved.app.slug, action: resolved.action, target: resolved.target };
      },
      callFunction: async (ref, input) => {
        if (!this.deps.runFunctions) return { ran: false, reason: 'functions run in plans only for a token with functions:run' };
        return this.deps.functions.planCall(ref, input, { trigger: ctx.trigger, directory: functionDirectory(this.view) });
      },
    };
  }

  /** A step's own `run`, reaching the plan's directory and nothing outside idflow. */
  private simulatedServices(run: StepPlanServices['run'], stepType: string): StepServices {
    const signal = new AbortController().signal;
    return {
      run: { ...run, attempt: 1 },
      log: { info() {}, warn() {}, error() {} },
      signal,
      heartbeat() {},
      fetch: refuse(stepType, 'the network'),
      integration: refuse(stepType, 'an outside service'),
      once: (effect) => effect(),
      directory: this.provisioning.forStep(
        run.idempotencyKey,
        { source: `automation ${run.automation} run ${run.runId}` },
        { signal, heartbeat() {} },
      ),
      functions: { call: refuse(stepType, 'a function') },
    };
  }

  /** Workflow steps: a wait moves the plan's clock on; run_automation plans the child in place. */
  private workflowServices(
    run: StepPlanServices['run'],
    clock: { now: Date },
    chain: string[],
    effects: PlanEffect[],
  ): WorkflowStepServices {
    return {
      run,
      // request_approval plans itself (its `plan`): nothing here opens a request.
      requestApproval: () =>
        Promise.reject(new StepError('NOT_PLANNED', 'approvals are planned by the step, not run', { retryable: false })),
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now = new Date(clock.now.getTime() + ms);
        effects.push({ kind: 'wait', until: clock.now.toISOString(), ms });
      },
      runAutomation: async (request) => {
        try {
          checkChain(chain, request.automation);
        } catch (error) {
          effects.push({ kind: 'run_automation', automation: request.automation, wait: request.wait, stopped: messageOf(error) });
          throw error;
        }
        const target = await this.deps.automation(request.automation);
        if (!target) throw new StepError('UNKNOWN_AUTOMATION', `automation "${request.automation}" does not exist`, { retryable: false });
        if (!target.enabled)
          throw new StepError('AUTOMATION_DISABLED', `automation "${request.automation}" is disabled`, { retryable: false });
        const childRunId = `${run.runId}.${run.stepName}`;
        const child = await this.planAutomation(target, request.context, { aliasTrigger: false, chain, runId: childRunId, now: clock.now });
        effects.push({ kind: 'run_automation', automation: target.name, wait: request.wait, plan: child });
        const started = { runId: childRunId, automation: target.name, version: target.version };
        if (!request.wait) return started;
        // The child's outputs, as far as the plan knows them: a step it cannot know is absent.
        const steps: JsonObject = {};
        for (const step of child.steps) if (step.output !== undefined) steps[step.name] = step.output;
        return { ...started, steps };
      },
    };
  }

  result(directory?: DirectoryPlan): Plan {
    const plan = { ...(directory && { directory }), events: this.planned };
    return { summary: summarize(plan, this.truncated), ...plan };
  }
}

function fieldChanges(before: User, after: User): FieldChange[] {
  return changedUserFields(before, after).map((field) => ({
    field,
    from: (before[field as keyof User] ?? null) as JsonValue,
    to: (after[field as keyof User] ?? null) as JsonValue,
  }));
}

export class Planner {
  constructor(private readonly deps: PlannerDependencies) {}

  /** What these events would do, one after the other, with the events their runs' changes emit. */
  async planEvents(events: PlannedEvent['event'][]): Promise<Plan> {
    const session = new PlanSession(this.deps);
    await session.planEvents(events);
    return session.result();
  }

  /** What `automation` (in force or not: a replay's candidate) would do for one event, without its cascades. */
  async planCandidate(event: { id: string; type: string; data: JsonObject }, automation: PlannableAutomation): Promise<AutomationPlan> {
    const session = new PlanSession(this.deps);
    return session.planAutomation(automation, event.data, { aliasTrigger: true, chain: [], runId: `${automation.name}:${event.id}` });
  }

  /** What a manual run of `automation` with `context` as its trigger would do. */
  async planRun(automation: PlannableAutomation, context: JsonObject): Promise<Plan> {
    const session = new PlanSession(this.deps);
    const plan = await session.planAutomation(automation, context, {
      aliasTrigger: true,
      chain: [],
      runId: `${automation.name}:manual-planned`,
    });
    session.planned.push({ event: { type: 'manual', data: context }, automations: [plan] });
    await session.planEvents([]);
    return session.result();
  }

  /** What an HR import would change in the directory, then what the events of those changes would do. */
  async planImport(feed: Feed, options: Omit<ImportOptions, 'dryRun'>): Promise<Plan> {
    const session = new PlanSession(this.deps);
    const report = await importFeed(new DirectoryService(session.view), feed, { ...options, dryRun: false });
    const users = new Map(
      session.view.writes.flatMap((write) => (write.table === 'users' && write.after ? [[write.after.id, write]] : [])),
    );
    const before = (id: string) => users.get(id)?.before as User;
    const after = (id: string) => users.get(id)?.after as User;
    const directory: DirectoryPlan = {
      created: report.created.map(({ id, email }) => ({ id, email, fields: after(id) as unknown as JsonObject })),
      updated: report.updated.map(({ id }) => ({ id, changes: fieldChanges(before(id), after(id)) })),
      deactivated: report.deactivated.map(({ id, reason }) => ({ id, reason, changes: fieldChanges(before(id), after(id)) })),
      unchanged: report.unchanged,
      errors: report.errors,
    };
    await session.planEvents(
      session.view.events.map((event) => ({ id: event.id, type: event.type, data: event.data })),
      { source: 'import' },
    );
    return session.result(directory);
  }
}
