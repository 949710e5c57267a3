/**
 * The contract every step type implements.
 *
 * Step modules stay free of Node built-ins and I/O libraries: whatever they need from the
 * outside world (HTTP, the directory, mail, Slack, webhooks) arrives through the services
 * argument. That keeps the registry importable from workflow code, which must be deterministic,
 * and lets the same step logic run against real adapters in the worker and in tests. Outside
 * services come as integrations, asked for by their key (integrations/types.ts): a new one
 * changes nothing here.
 */
import type { z } from 'zod';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { PlanEffect } from '../core/plan.js';
import type { OwnedSecretRef } from '../core/secret-ref.js';
import type { EscapeSelector } from '../cel/template.js';
import type { GovernanceActions } from '../provisioning/types.js';
import { StepError } from '../core/step-error.js';
import type { IntegrationKey } from '../integrations/types.js';
import type { ApprovalOutcome, ApprovalRequest } from './approval.js';
import type { Scope } from '../store/types.js';

/** Retry settings as written in an automation (`retry:` on a step) or as a step type's default. */
export interface RetrySettings {
  maximumAttempts: number;
  /** Duration string, e.g. "1s". */
  initialInterval: string;
  backoffCoefficient: number;
  /** Duration string, e.g. "1m". */
  maximumInterval: string;
}

export interface StepLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** Identifies one step execution of one run. */
export interface StepRunInfo {
  runId: string;
  automation: string;
  version: number;
  stepName: string;
  /** 1 on the first attempt. */
  attempt: number;
  /** The same on every retry of this step in this run: use it to make side effects idempotent. */
  idempotencyKey: string;
}

/** Host capabilities handed to activity steps by activities/ (see activities/services.ts). */
export interface StepServices {
  run: StepRunInfo;
  log: StepLogger;
  /** Aborted when the activity is cancelled or times out. */
  signal: AbortSignal;
  /** Tells Temporal the step is alive (steps with a heartbeatTimeout call it while they wait). */
  heartbeat(): void;
  /** Global fetch, injected so step modules stay free of host globals and tests can observe calls. */
  fetch: typeof fetch;
  /**
   * The service of an integration this step type lists in `integrations` (mail, Slack, webhooks,
   * ...: see integrations/), as the worker's adapter built it; any other key throws.
   */
  integration<Service>(key: IntegrationKey<Service>): Service;
  /**
   * Runs a side effect at most once for this step of this run: once it succeeded, a retry of
   * the step gets the recorded result instead of doing it again.
   */
  once<T extends JsonValue>(effect: () => Promise<T>): Promise<T>;
  /**
   * The identity directory, for governance steps: each call idempotent for this step of this run,
   * acting first on the apps that declare provisioning (provisioning/service.ts).
   */
  directory: GovernanceActions;
  /**
   * Functions (kind: Function) run in the sandbox, with this run's ctx.trigger and, as
   * ctx.idempotencyKey, a key of this step of this run; `lent` adds credentials to the function's
   * own secrets for the call (by the name ctx.getConfig takes), resolved and redacted where secrets are.
   */
  functions: { call(ref: string, input: JsonValue, options?: { lent?: Record<string, OwnedSecretRef> }): Promise<FunctionCallOutcome> };
}

/** One function call's outcome, as functions/service.ts reports it. */
export interface FunctionCallOutcome {
  ok: boolean;
  output?: JsonValue;
  error?: { code: string; message: string };
  logs: string[];
  durationMs: number;
  function: string;
  version: number;
}

/** Capabilities of workflow-side steps; implemented with Temporal workflow APIs in workflows/. */
export interface WorkflowStepServices {
  run: Omit<StepRunInfo, 'attempt' | 'idempotencyKey'>;
  /** Durable timer. */
  sleep(ms: number): Promise<void>;
  /** Workflow time (deterministic). */
  now(): Date;
  /** Starts another automation as a child run; resolves to its step outputs when wait is true. */
  runAutomation(request: { automation: string; context: JsonObject; wait: boolean }): Promise<JsonObject>;
  /** Opens an approval request, notifies its approvers and waits (durably) for the decision. */
  requestApproval(request: ApprovalRequest): Promise<ApprovalOutcome>;
}

/**
 * What a step's `plan` may ask of the planner (plan/planner.ts): nothing here reaches outside
 * idflow, and nothing is written.
 */
export interface StepPlanServices {
  run: Omit<StepRunInfo, 'attempt'>;
  /** The plan's clock: the moment the step would run (planned waits move it on). */
  now(): Date;
  /** A declared webhook's URL (never its signing secret); throws as the real step would for an unknown one. */
  webhookUrl(name: string): Promise<string>;
  /** Where an app's declared connector action goes; throws as the real step would for an unknown app or action. */
  connectorAction(
    app: string,
    action: string,
  ): Promise<{ app: string; action: string; target: { function: string } | { webhook: string } }>;
  /**
   * Runs a function whose document says `planSafe: true` (no side effects), with ctx.fetch refused
   * and the plan's view of the directory; any other function is not run, and `reason` says why.
   */
  callFunction(ref: string, input: JsonValue): Promise<{ ran: true; outcome: FunctionCallOutcome } | { ran: false; reason: string }>;
}

/** What a step would do: its effects, and its output when a plan can know it. */
export interface StepPlanResult {
  effects: PlanEffect[];
  /** Absent: known only once the step runs (a webhook's answer); later templates reading it are unknown. */
  output?: JsonValue;
  /** Why the output cannot be known. */
  unknownReason?: string;
}

/** A reference problem found at apply time (unknown webhook, unknown automation, ...). */
export interface ReferenceIssue {
  /** Path inside `with`, e.g. ["webhook"]. */
  path: (string | number)[];
  message: string;
}

/** What apply-time checks may look up. */
export interface ReferenceResolver {
  hasWebhook(name: string): boolean;
  hasAutomation(name: string): boolean;
  /** A function (kind: Function), named without @VERSION. */
  hasFunction(name: string): boolean;
  /** An entitlement id or `app:slug` in the directory. */
  hasEntitlement(ref: string): boolean;
  /** An app id or slug in the directory. */
  hasApp(ref: string): boolean;
  /** The connector actions an app (id or slug) declares; undefined when they are not checked (offline). */
  appActions(ref: string): readonly string[] | undefined;
  hasAccessProfile(id: string): boolean;
  hasCampaignTemplate(id: string): boolean;
}

interface StepBase<Schema extends z.ZodType> {
  type: string;
  /** One line, shown in docs and `idflow steps`. */
  description: string;
  /** Schema of the rendered `with` block. */
  with: Schema;
  /**
   * The `with` strings that are markup (Markdown, Slack mrkdwn): values interpolated into them
   * are escaped as literal text, so data from events cannot add links, mentions or headings.
   */
  escapeFor?: EscapeSelector;
  /**
   * What applying an automation with this step needs besides definitions:write (api/scopes.ts):
   * the scope of each effect of the step that definitions:write alone does not cover — governance
   * steps write the directory, for one. Required, so every step type decides it.
   */
  scopes: readonly Scope[];
  /**
   * When what the step can cause depends on its `with` as written (reconcile_app only reads
   * without `apply: true`): the scopes for this input, a template counting as the widest case.
   */
  scopesFor?(input: Record<string, unknown>): readonly Scope[];
  /** Apply-time reference checks beyond the schema. Template values are skipped by the caller. */
  checkReferences?(input: Record<string, unknown>, refs: ReferenceResolver): ReferenceIssue[];
  /**
   * What the step would do, for plans, when it reaches outside idflow (mail, Slack, a webhook, a
   * function, an app's action). Without it, the planner runs the step's own `run` against a
   * copy-on-write view of the directory, with every outside service refused: right for the
   * governance steps, `wait` and `run_automation`, whose effects the view records.
   */
  plan?(input: z.output<Schema>, services: StepPlanServices): Promise<StepPlanResult>;
}

export interface ActivityStep<Schema extends z.ZodType = z.ZodType> extends StepBase<Schema> {
  runsIn: 'activity';
  /**
   * `heartbeatTimeout`: a step that may run long says so by heartbeating (services.heartbeat);
   * if its worker dies, Temporal retries it after this long instead of after the whole timeout.
   */
  defaults: { timeout: string; retry: RetrySettings; heartbeatTimeout?: string };
  /** The integrations `run` reaches through services.integration: the worker loads their adapters. */
  integrations?: readonly IntegrationKey<unknown>[];
  run(input: z.output<Schema>, services: StepServices): Promise<JsonValue>;
}

export interface WorkflowStep<Schema extends z.ZodType = z.ZodType> extends StepBase<Schema> {
  runsIn: 'workflow';
  run(input: z.output<Schema>, services: WorkflowStepServices): Promise<JsonValue>;
}

export type StepType = ActivityStep | WorkflowStep;

/** Identity helpers that keep the input type of `run` inferred from the schema. */
export function defineActivityStep<Schema extends z.ZodType>(step: ActivityStep<Schema>): ActivityStep<Schema> {
  return step;
}
export function defineWorkflowStep<Schema extends z.ZodType>(step: WorkflowStep<Schema>): WorkflowStep<Schema> {
  return step;
}

/**
 * Validates a step's rendered input against its schema: the one check for workflow-side and
 * activity steps alike. Templates can render into anything, so this runs after rendering.
 */
export function parseStepInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((issue) => `with.${issue.path.join('.')}: ${issue.message}`).join('; ');
  throw new StepError('INVALID_STEP_INPUT', `invalid input after rendering templates: ${detail}`, { retryable: false });
}
