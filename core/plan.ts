/**
 * What a plan says: the JSON document `idflow plan … --json` prints and POST /v1/plan/* answers
 * (the planner is plan/; step types describe their own effects with these types, so they live here).
 * A plan is computed against a copy-on-write view of the directory and changes nothing.
 */
import type { JsonObject, JsonValue } from './json.js';

/** One thing a step would do, concretely; `kind` names it (docs/automations.md lists the kinds). */
export type PlanEffect =
  | { kind: 'grant'; user: string; entitlement: string; expiresAt?: string }
  | { kind: 'revoke'; user: string; entitlement: string }
  | { kind: 'status'; user: string; from: string; to: string }
  | { kind: 'account'; user: string; app: string; username: string; email?: string }
  | { kind: 'account_status'; user: string; app: string; from: string; to: string }
  | { kind: 'delegate'; user: string; from: string | null; to: string | null; removedAsDelegateOf: string[] }
  | { kind: 'access_profiles'; user: string; removed: string[] }
  | { kind: 'tasks'; user: string; action: string; tasks: string[]; to: string | null }
  | { kind: 'campaign'; user: string; template: string; reviewer: string | null; items: string[] }
  | { kind: 'email'; to: string[]; cc: string[]; bcc: string[]; subject: string; text: string }
  | { kind: 'slack'; channel: string; text: string }
  | { kind: 'webhook'; webhook: string; url: string; payload: JsonValue }
  | { kind: 'wait'; until: string; ms: number }
  | { kind: 'approval'; approvers: string[]; quorum: string; notify: string; expiresAt: string; text: string }
  | { kind: 'function'; function: string; ran: boolean; reason?: string; output?: JsonValue }
  | { kind: 'provision'; app: string; via: string; action: string; user: string }
  | { kind: 'connector_action'; app: string; action: string; input: JsonValue }
  | { kind: 'reconcile'; app: string; apply: boolean }
  | { kind: 'run_automation'; automation: string; wait: boolean; plan?: AutomationPlan; stopped?: string };

export interface StepPlan {
  name: string;
  type: string;
  /** The rendered `with` (as written where it could not be rendered). */
  input: JsonValue;
  effects: PlanEffect[];
  /** The input reads the output of a step the plan could not know (a function not run, a webhook's answer). */
  unknown: boolean;
  /** Its `if:` is false: the step would be skipped (`reason` says so). */
  skipped?: true;
  /** Why unknown, or why the step would fail. */
  reason?: string;
  /** The step would fail here: the run stops (error as the run would record it). */
  error?: string;
  /** The step's output as the plan knows it (absent when unknown). */
  output?: JsonValue;
}

export interface AutomationPlan {
  name: string;
  version: number;
  matched: boolean;
  /** Why not matched: the condition's value or its error. */
  reason?: string;
  steps: StepPlan[];
}

export interface PlannedEvent {
  /** The event as it would be ingested (an import's events carry the ids they would have, prefixed "planned-"). */
  event: { id?: string; type: string; data: JsonObject };
  /** What emitted it inside the plan (an import, or a planned step). */
  cause?: { source: 'import' } | { source: 'step'; automation: string; step: string };
  automations: AutomationPlan[];
}

export interface FieldChange {
  field: string;
  from: JsonValue;
  to: JsonValue;
}

/** The directory's own changes (an import's people), before the automations they trigger. */
export interface DirectoryPlan {
  created: { id: string; email: string; fields: JsonObject }[];
  updated: { id: string; changes: FieldChange[] }[];
  deactivated: { id: string; reason: string; changes: FieldChange[] }[];
  unchanged: number;
  errors: { line: number; id?: string; message: string }[];
}

export interface PlanSummary {
  automations: number;
  steps: number;
  /** Effects by kind, e.g. { grant: 5, revoke: 2, status: 1, email: 2, webhook: 1 }. */
  effects: Record<string, number>;
  usersCreated: number;
  usersUpdated: number;
  usersDeactivated: number;
  unknownSteps: number;
  failingSteps: number;
  /** The plan stopped early (too many events or steps): what was left out. */
  truncated?: string;
  /** One line: "3 automations, 14 steps: +5 grants, −2 grants, 1 user disabled, 2 emails, 1 webhook". */
  text: string;
}

export interface Plan {
  summary: PlanSummary;
  directory?: DirectoryPlan;
  events: PlannedEvent[];
}
