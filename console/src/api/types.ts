/**
 * What the API answers, as the console reads it: the server's own types where they exist (imported
 * as types only, so no server code reaches the browser), and the shapes of docs/api.md for the rest.
 */
import type { JsonObject, JsonValue } from '../../../core/json.js';
import type { Plan, AutomationPlan } from '../../../core/plan.js';
import type { ApprovalRecord, AuditEntry, DefinitionVersion, EventRecord, RunRecord, RunStatus, Scope } from '../../../store/types.js';
import type { GuardHold, GuardTrip } from '../../../store/guard-types.js';
import type { Account, Delegate, Grant, Task, User } from '../../../directory/types.js';
import type { FunctionCallResult, FunctionVersionSource } from '../../../functions/service.js';
import type { ReplayReport } from '../../../engine/replay-report.js';

export type {
  JsonObject,
  JsonValue,
  Plan,
  AutomationPlan,
  ApprovalRecord,
  AuditEntry,
  DefinitionVersion,
  EventRecord,
  RunRecord,
  RunStatus,
};
export type { Scope, GuardHold, User, Grant, Account, Task, Delegate, ReplayReport };

export interface Session {
  name: string;
  scopes: Scope[];
  csrfToken: string;
  expiresAt: string;
}

export interface RunPage {
  runs: RunRecord[];
  nextCursor?: string;
  warning?: string;
}

export interface RunDetail extends RunRecord {
  webUiLink?: string;
}

export interface Overview {
  since: string;
  runs: { total: number; byStatus: Partial<Record<RunStatus, number>> };
  failures: Pick<RunRecord, 'runId' | 'automation' | 'version' | 'status' | 'startedAt' | 'error'>[];
  guard?: { trips: number; held: number };
  approvals?: { pending: number };
  schedules?: { automation: string; nextFireAt?: string; timezone: string; paused: boolean }[];
}

export interface EventPage {
  events: EventRecord[];
  nextCursor?: string;
}

export interface AutomationSummary {
  name: string;
  version: number;
  enabled: boolean;
  description?: string;
  triggerType?: string;
  updatedAt: string;
  lastRuns?: { runId: string; status: RunStatus; startedAt: string }[];
}

/** A stored version; `yaml` is its source as written when the API has it. */
export type AutomationVersion = DefinitionVersion & { yaml?: string };

export interface UserPage {
  users: User[];
  nextCursor?: string;
}

export type TimelineEntry =
  | {
      at: string;
      kind: 'run';
      run: { runId: string; automation: string; version: number; status: RunStatus; eventId?: string; error?: string };
    }
  | { at: string; kind: 'change'; event: { id: string; type: string; summary: string; runId?: string; stepName?: string } }
  | { at: string; kind: 'audit'; entry: { actor: string; action: string; target: string } };

export interface Timeline {
  entries: TimelineEntry[];
  nextCursor?: string;
}

export interface FunctionSummary {
  name: string;
  version: number;
  description?: string;
  file: string;
  createdAt: string;
  createdBy: string;
  message: string;
  secrets: string[];
  timeout: string;
  memoryMb: number;
  allowedHosts: string[];
}

/** A version with its TypeScript, as `GET /v1/functions/:name/versions` lists it. */
export type FunctionVersion = FunctionVersionSource;

/** What `POST /v1/functions/:name/runs` answers. */
export type FunctionRunResult = FunctionCallResult;

export type { TestCaseResult } from '../../../functions/testing.js';

export interface GuardState {
  trips: (GuardTrip & { held: number })[];
  held: GuardHold[];
}

export interface ScheduleSummary {
  name: string;
  cron?: string;
  every?: string;
  timezone: string;
  paused: boolean;
  nextFireTimes: { at: string; local: string }[];
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor?: string;
}

export interface OutboxItem {
  id: string;
  at: string;
  channel: 'webhook' | 'email' | 'slack';
  to: string;
  body: JsonValue;
}
