/**
 * Table shapes as Kysely sees them. Columns are snake_case; the repositories map rows to the
 * camelCase records of store/types.ts. Only portable column types: TEXT (JSON documents and
 * ISO-8601 timestamps) and INTEGER (numbers; booleans as 0/1; bigint identities on PostgreSQL),
 * so both dialects serve the same queries.
 */
import type { Generated, Kysely, Transaction } from 'kysely';

export interface DefinitionVersionsTable {
  kind: string;
  name: string;
  version: number;
  hash: string;
  /** JSON text. */
  spec: string;
  source: string;
  created_at: string;
  created_by: string;
}

export interface DefinitionHeadsTable {
  kind: string;
  name: string;
  version: number;
  /** 0 or 1. */
  enabled: number;
  updated_at: string;
}

/** A single row (id = 1) whose value increments on every definitions write. */
export interface DefinitionGenerationTable {
  id: number;
  value: number;
}

export interface EventsTable {
  id: string;
  type: string;
  occurred_at: string;
  received_at: string;
  /** JSON text. */
  data: string;
  /** JSON text: EventMatch[]. */
  matches: string;
  processed_at: string | null;
}

export interface RunsTable {
  run_id: string;
  automation: string;
  version: number;
  status: string;
  /** JSON text. */
  trigger: string;
  event_id: string | null;
  parent_run_id: string | null;
  started_at: string;
  ended_at: string | null;
  error: string | null;
  /** Whom the run is about (triggers/events.ts subjectKey): the subject's id, else its email in lower case. */
  subject: string | null;
}

export interface RunStepsTable {
  run_id: string;
  step_index: number;
  name: string;
  type: string;
  status: string;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  /** JSON text; NULL when absent (a JSON null is the text "null"). */
  input: string | null;
  output: string | null;
  error: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  target: string;
  /** JSON text. */
  details: string;
}

export interface TokensTable {
  name: string;
  /** Hex sha256 of the plain token. */
  token_hash: string;
  /** JSON text: Scope[]. */
  scopes: string;
  created_at: string;
  /** ISO time after which the token is refused; null: never expires. */
  expires_at: string | null;
  /** ISO time of `idflow tokens revoke`; a revoked token is refused. */
  revoked_at: string | null;
  /** ISO time of the last accepted request, updated at most once a minute. */
  last_used_at: string | null;
}

export interface Database {
  definition_versions: DefinitionVersionsTable;
  definition_heads: DefinitionHeadsTable;
  definition_generation: DefinitionGenerationTable;
  events: EventsTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
  audit_log: AuditLogTable;
  tokens: TokensTable;
  step_effects: StepEffectsTable;
  dir_users: DirUsersTable;
  dir_apps: DirKeyedTable & { slug: string };
  dir_entitlements: DirKeyedTable & { app_id: string; slug: string };
  dir_grants: { user_id: string; entitlement_id: string; data: string };
  dir_accounts: DirKeyedTable & { app_id: string; user_id: string };
  dir_access_profiles: DirKeyedTable;
  dir_enrollments: { user_id: string; profile_id: string; data: string };
  dir_delegates: { user_id: string; delegate_id: string; data: string };
  dir_tasks: DirKeyedTable & { assignee_id: string; state: string };
  dir_campaign_templates: DirKeyedTable;
  dir_campaigns: DirKeyedTable & { user_id: string };
  directory_outbox: DirectoryOutboxTable;
  function_secrets: FunctionSecretsTable;
  leases: LeasesTable;
  source_deliveries: SourceDeliveriesTable;
  guard_slots: GuardSlotsTable;
  guard_holds: GuardHoldsTable;
  guard_trips: GuardTripsTable;
  approvals: ApprovalsTable;
  approval_decisions: ApprovalDecisionsTable;
  console_sessions: ConsoleSessionsTable;
  console_links: ConsoleLinksTable;
}

/** The web console's sessions (store/console-sessions.ts): the cookie's id is never stored, only its hash. */
export interface ConsoleSessionsTable {
  /** Hex sha256 of the session id the cookie carries. */
  id_hash: string;
  /** Hex sha256 of the API token the session stands for (tokens.token_hash while that token lives). */
  token_hash: string;
  /** What cookie-authenticated writes must send in X-CSRF-Token; not a credential on its own. */
  csrf_token: string;
  created_at: string;
  expires_at: string;
}

/** One-time sign-in links: each opens one session for its token, until it expires. */
export interface ConsoleLinksTable {
  /** Hex sha256 of the link's id (the last segment of /console/signin/<id>). */
  id_hash: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  /** Set by the one use that consumed it. */
  used_at: string | null;
}

/** Requests to event sources (store/source-deliveries.ts). */
export interface SourceDeliveriesTable {
  /** Arrival order, for the retention. */
  seq: Generated<number>;
  source: string;
  id: string;
  status: string;
  reason: string | null;
  received_at: string;
  updated_at: string;
  attempts: number;
  remote_address: string;
  version: number | null;
  body_bytes: number;
  body_sha256: string;
  /** The body as UTF-8 text; NULL for a refused request. */
  body: string | null;
  /** JSON text: Record<string, string>; NULL for a refused request. */
  headers: string | null;
  /** JSON text. */
  result: string | null;
}

/** Who holds a named lease (one process delivering the directory outbox) and until when. */
export interface LeasesTable {
  name: string;
  holder: string;
  /** ISO time after which another holder may take it. */
  expires_at: string;
}

export interface FunctionSecretsTable {
  function_name: string;
  key: string;
  /** AES-256-GCM: "v1:" + base64 of iv, tag and ciphertext (see functions/secrets.ts). */
  sealed: string;
  updated_at: string;
  updated_by: string;
}

/** Directory tables keep the record as JSON text in `data`, beside the columns queries use. */
export interface DirKeyedTable {
  id: string;
  data: string;
}

export interface DirUsersTable extends DirKeyedTable {
  /** Lowercased email: emails are unique whatever their case. */
  email_key: string;
  status: string;
  department: string | null;
  manager_id: string | null;
  /** What a search matches (directory/users.ts userSearchText). */
  search_key: string;
}

/** Directory changes waiting to be delivered to the trigger pipeline (a transactional outbox). */
export interface DirectoryOutboxTable {
  seq: Generated<number>;
  event_id: string;
  type: string;
  /** JSON text. */
  data: string;
  created_at: string;
  delivered_at: string | null;
  /** The id of the user the change is about (directory/changes.ts changeSubject). */
  subject: string | null;
  /** The run and step that made the change, when a governance step did. */
  run_id: string | null;
  step_name: string | null;
}

/** The guard's admitted slots: one row per run or step effect admitted in an automation's hour window (store/guard.ts). */
export interface GuardSlotsTable {
  automation: string;
  /** `runs` or `step:<type>`. */
  counter: string;
  window_start: string;
  /** 1 … the limit: unique per (automation, counter, window). */
  slot: number;
  subject: string;
  admitted_at: string;
}

/** Runs the guard held, and the admin's decision on each. */
export interface GuardHoldsTable {
  run_id: string;
  automation: string;
  reason: string;
  held_at: string;
  /** NULL while held; `released` or `discarded`. */
  decision: string | null;
  decided_at: string | null;
  decided_by: string | null;
}

/** Automations the guard tripped: a row while any of their runs is held. */
export interface GuardTripsTable {
  automation: string;
  reason: string;
  tripped_at: string;
  notified_at: string | null;
}

/** Approval requests of request_approval steps (store/approvals.ts); JSON as text. */
export interface ApprovalsTable {
  id: string;
  run_id: string;
  step_name: string;
  automation: string;
  subject: string | null;
  approvers: string;
  quorum: string;
  state: string;
  message: string;
  round: number;
  created_at: string;
  expires_at: string;
  decided_at: string | null;
}

/** One approver's decision on one request: the key (approval_id, approver) counts it once. */
export interface ApprovalDecisionsTable {
  approval_id: string;
  approver: string;
  decision: string;
  comment: string | null;
  via: string;
  actor: string;
  at: string;
}

/** Results of side effects a step completed (a sent email), keyed by the step's idempotency key. */
export interface StepEffectsTable {
  key: string;
  result: string;
  created_at: string;
}

/** The whole database or an open transaction: repositories accept either. */
export type Db = Kysely<Database> | Transaction<Database>;
