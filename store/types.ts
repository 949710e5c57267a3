/**
 * The data-access contract. Callers depend on this interface only; the repositories back it with
 * Kysely over better-sqlite3 (store/sqlite.ts, the embedded default) or pg (store/postgres.ts).
 */
import type { DirectoryRepository } from '../directory/repository.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { GuardRepository } from './guard-types.js';
import type { ApprovalsRepository } from './approval-types.js';

export type * from './approval-types.js';

/** Kinds of versioned definitions (documents applied with `idflow apply`). */
export type DefinitionKind = 'Automation' | 'Webhook' | 'Function' | 'EventSource' | 'ScimService';

export interface DefinitionVersion {
  kind: DefinitionKind;
  name: string;
  /** 1, 2, 3 ... per (kind, name). Immutable once written. */
  version: number;
  /** sha256 of the canonical JSON of `spec`. */
  hash: string;
  spec: JsonObject;
  /** Where it came from: "examples/joiner.yaml", "rollback of v2", ... */
  source: string;
  createdAt: string;
  createdBy: string;
}

export interface DefinitionHead {
  kind: DefinitionKind;
  name: string;
  /** The version in force. */
  version: number;
  enabled: boolean;
  updatedAt: string;
}

export interface PutDefinitionResult {
  version: DefinitionVersion;
  /** false when the content equals the current head's: nothing was written. */
  created: boolean;
}

/** `rejected`: a request_approval step was rejected (or timed out to a rejection); not a failure. */
export const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed_out', 'rejected'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** skipped: its `if:` condition was false (its output says so). */
export type StepStatus = 'pending' | 'running' | 'completed' | 'skipped' | 'failed' | 'cancelled';

export interface StepRecord {
  index: number;
  name: string;
  type: string;
  status: StepStatus;
  attempts: number;
  startedAt?: string;
  endedAt?: string;
  input?: JsonValue;
  output?: JsonValue;
  error?: string;
}

export interface RunRecord {
  /** The Temporal workflow id; stable, derived from automation + event id for event runs. */
  runId: string;
  automation: string;
  version: number;
  status: RunStatus;
  trigger: JsonValue;
  eventId?: string;
  parentRunId?: string;
  startedAt: string;
  endedAt?: string;
  error?: string;
  steps: StepRecord[];
}

/** A run's place in the newest-first order of run lists: the cursor of the page after it. */
export type RunPosition = Pick<RunRecord, 'startedAt' | 'runId'>;

/** A run without its trigger and steps: what lists about many runs show. */
export type RunSummary = Pick<RunRecord, 'runId' | 'automation' | 'version' | 'status' | 'startedAt'> &
  Partial<Pick<RunRecord, 'eventId' | 'parentRunId' | 'endedAt' | 'error'>>;

export interface RunFilter {
  automation?: string;
  status?: RunStatus;
  eventId?: string;
  /** Runs started by this run: run_automation children, a forEachUser tick's per-user runs. */
  parentRunId?: string;
  /** Runs about any of these people: their keys (triggers/events.ts subjectKey, a user's id or lower-case email). */
  subjects?: readonly string[];
  /** Started at or after this ISO time. */
  since?: string;
  /** Started at or before this ISO time. */
  until?: string;
  /** Only runs after this one in the newest-first order: the next page. */
  before?: RunPosition;
  limit?: number;
}

/** The outcome of matching one automation against one event. */
export interface EventMatch {
  automation: string;
  version: number;
  matched: boolean;
  /** Why it did not match (condition false, condition error, ...). */
  reason?: string;
  runId?: string;
  /** The automation matched but its run could not be started: why. The event's other runs went ahead. */
  error?: string;
}

export interface EventRecord {
  id: string;
  type: string;
  occurredAt: string;
  receivedAt: string;
  data: JsonObject;
  matches: EventMatch[];
  /**
   * Set by setMatches. An event inserted but never processed (a crash between the insert and
   * the matching) has none, and a re-delivery of its id processes it again.
   */
  processedAt?: string;
}

/**
 * What became of a request to an event source: `received` while it is being mapped (or when that
 * never finished), `accepted`, `failed` (a mapping or data error; the body is kept for a replay),
 * `unavailable` (runs it matched could not start yet), `rejected` (no valid signature).
 */
export type SourceDeliveryStatus = 'received' | 'accepted' | 'failed' | 'unavailable' | 'rejected';

/** A request to an event source, as `idflow sources deliveries` lists it: never its body. */
export interface SourceDeliverySummary {
  source: string;
  /** The webhook-id, the SHA-256 of the signed content (hmac-sha256), or `rejected-<uuid>`. */
  id: string;
  status: SourceDeliveryStatus;
  reason?: string;
  receivedAt: string;
  updatedAt: string;
  /** How many times the mapping ran over it (deliveries of its id again, replays). */
  attempts: number;
  remoteAddress: string;
  /** The source's version that mapped it last. */
  version?: number;
  bodyBytes: number;
  bodySha256: string;
  /** What it was mapped to: the events' ids and the people changed. */
  result?: JsonObject;
}

export interface SourceDelivery extends SourceDeliverySummary {
  /** Kept only when the signature was valid: what a replay maps again. */
  body?: string;
  headers?: Record<string, string>;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: JsonValue;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  /** At or after / at or before these ISO times. */
  since?: string;
  until?: string;
  /** Only entries older than this id (newest first): the next page. */
  beforeId?: number;
  limit?: number;
}

/** An event's place in the newest-first order of event lists. */
export type EventPosition = Pick<EventRecord, 'receivedAt' | 'id'>;

/** What a person's timeline holds, newest first (store/timeline.ts). */
export type TimelineRow =
  | { at: string; kind: 'run'; run: RunSummary }
  | {
      at: string;
      kind: 'change';
      change: { seq: number; id: string; type: string; data: JsonObject; runId?: string; stepName?: string };
    }
  | { at: string; kind: 'audit'; entry: Omit<AuditEntry, 'details'> };

/** A timeline row's place in its order (at, then kind, then key, all descending): the cursor of the page after it. */
export interface TimelinePosition {
  at: string;
  kind: TimelineRow['kind'];
  /** The run's id, the change's outbox seq, the audit entry's id. */
  key: string | number;
}

export type Scope =
  | 'admin'
  | 'definitions:read'
  | 'definitions:write'
  | 'events:write'
  | 'events:read'
  | 'runs:read'
  | 'runs:write'
  | 'directory:read'
  | 'directory:write'
  | 'functions:read'
  | 'functions:write'
  /** Run functions by hand (POST /v1/functions/:name/runs and tests). */
  | 'functions:run'
  /** Scrape GET /metrics (Prometheus). */
  | 'metrics:read'
  /** A SCIM client (Okta, Entra ID) pushing people and groups to /scim/v2, and nothing else. */
  | 'scim'
  /** Plan and replay (with the read scope of what is planned): computes, changes nothing. */
  | 'plan'
  /** Read approval requests (who is asked, the message, the decisions). */
  | 'approvals:read'
  /** Decide approval requests: as the approver the token's name maps to (or any, with admin). */
  | 'approvals:write';

export interface TokenInfo {
  name: string;
  scopes: Scope[];
}

/** A token as `idflow tokens list` shows it: never the token or its hash. */
export interface TokenRecord extends TokenInfo {
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

/** Why a presented token was accepted or refused. */
export type TokenVerdict =
  | { valid: true; token: TokenInfo }
  | { valid: false; reason: 'unknown' }
  | { valid: false; reason: 'expired' | 'revoked'; name: string; at: string };

/**
 * The web console's sign-ins (store/console-sessions.ts). A session stands for one API token and
 * carries that token's current name and scopes, so revoking or expiring the token ends its
 * sessions. A sign-in link opens one session for its token, once, before it expires.
 */
export interface ConsoleSession {
  /** The token's name and scopes as they are now. */
  token: TokenInfo;
  /** What a cookie-authenticated write sends in X-CSRF-Token. */
  csrfToken: string;
  /** When the session ends: its own lifetime, or the token's expiry when that comes first. */
  expiresAt: string;
}

/** A session just opened, with its id: the cookie's value, shown this once (only its hash is stored). */
export interface OpenedSession extends ConsoleSession {
  id: string;
}

/** Whose token a link is for: an API token as presented, or the token behind a session (by the session's id). */
export type ConsoleCredential = { token: string } | { sessionId: string };

/** Why a token was refused, as tokens.verify says it; `unknown` also when a session's token was replaced. */
export type TokenRefusal = Exclude<TokenVerdict, { valid: true }>;

export type SignIn = { valid: true; session: OpenedSession } | TokenRefusal;

export type SessionVerdict =
  | { valid: true; session: ConsoleSession }
  /** `unknown` (never opened, signed out, or its token gone) comes as a TokenRefusal. */
  | { valid: false; reason: 'session-expired'; at: string }
  | TokenRefusal;

export type LinkRedemption =
  | SignIn
  /** An unknown link is a TokenRefusal `unknown`. */
  | { valid: false; reason: 'used'; at: string }
  | { valid: false; reason: 'link-expired'; at: string };

export interface ConsoleSessionsRepository {
  /** Opens a session for an API token (a sign-in), or says why the token is refused. */
  open(token: string, ttlMs: number): Promise<SignIn>;
  /** The session of a cookie's id, with its token's current name and scopes. */
  resolve(sessionId: string): Promise<SessionVerdict>;
  /** Ends a session (sign-out); false when there was none. */
  close(sessionId: string): Promise<boolean>;
  /** A one-time sign-in link for the credential's own token; undefined when a session credential has ended. */
  createLink(credential: ConsoleCredential, ttlMs: number): Promise<{ link: string; expiresAt: string } | undefined>;
  /**
   * Consumes a link and opens a session for its token. One atomic update marks it used, so of
   * two uses at once exactly one opens a session.
   */
  redeemLink(link: string, sessionTtlMs: number): Promise<LinkRedemption>;
}

export interface Store {
  /** Which database is underneath: 'sqlite' (the embedded default) or 'postgres'. */
  dialect: 'sqlite' | 'postgres';
  definitions: {
    /** Writes a new version when spec differs from the head's; sets the head to it. */
    put(input: {
      kind: DefinitionKind;
      name: string;
      spec: JsonObject;
      enabled: boolean;
      source: string;
      actor: string;
    }): Promise<PutDefinitionResult>;
    head(kind: DefinitionKind, name: string): Promise<DefinitionHead | undefined>;
    /** The head's version with its spec. */
    current(kind: DefinitionKind, name: string): Promise<(DefinitionVersion & { enabled: boolean }) | undefined>;
    get(kind: DefinitionKind, name: string, version: number): Promise<DefinitionVersion | undefined>;
    history(kind: DefinitionKind, name: string): Promise<DefinitionVersion[]>;
    /** Every head of a kind with its current spec, ordered by name. */
    list(kind: DefinitionKind): Promise<(DefinitionVersion & { enabled: boolean })[]>;
    setEnabled(kind: DefinitionKind, name: string, enabled: boolean, actor: string): Promise<void>;
    /** Increments on every write to definitions; lets caches (the trigger index) notice changes cheaply. */
    generation(): Promise<number>;
  };
  events: {
    /** Inserts the event; returns false (and writes nothing) when the id exists already. */
    insert(event: Omit<EventRecord, 'matches' | 'processedAt'>): Promise<boolean>;
    /** Stores the match results and sets processedAt; returns it. */
    setMatches(id: string, matches: EventMatch[]): Promise<string>;
    get(id: string): Promise<EventRecord | undefined>;
    /** The events of these ids that exist, in no particular order. */
    getMany(ids: readonly string[]): Promise<EventRecord[]>;
    /** Newest first (received_at, then id, descending); `since`/`until` bound received_at; `before` gives the page after that event. */
    list(options: { type?: string; since?: string; until?: string; before?: EventPosition; limit?: number }): Promise<EventRecord[]>;
    /**
     * Events of one type received from `from` to `to` (ISO times, both included), newest first,
     * a page of at most `limit` (≤ 500): pass the last event of a page as `before` for the next.
     */
    listReceived(options: {
      type: string;
      from: string;
      to: string;
      before?: Pick<EventRecord, 'receivedAt' | 'id'>;
      limit?: number;
    }): Promise<EventRecord[]>;
  };
  runs: {
    /** Creates the run record or, when it exists (a replayed start), leaves it unchanged; true when this call created it. */
    start(
      run: Omit<RunRecord, 'steps' | 'status' | 'endedAt' | 'error'> & { steps: Pick<StepRecord, 'name' | 'type'>[] },
    ): Promise<boolean>;
    /**
     * Removes a run record whose workflow never started: only while it is running with no step
     * begun. True when it was removed.
     */
    discard(runId: string): Promise<boolean>;
    /**
     * Ends a running run; the first terminal status wins, except that `overCompleted` lets a
     * failure or cancellation replace a completion (the workflow's own ending over its last step's
     * early one). Returns the run's automation when this call ended it.
     */
    finish(
      runId: string,
      status: Exclude<RunStatus, 'running'>,
      error?: string,
      options?: { overCompleted?: boolean },
    ): Promise<{ automation: string } | undefined>;
    stepStarted(runId: string, stepName: string, input: JsonValue, attempt: number): Promise<void>;
    stepFinished(
      runId: string,
      stepName: string,
      result: { status: 'completed' | 'skipped'; output: JsonValue } | { status: 'failed' | 'cancelled'; error: string },
    ): Promise<void>;
    /**
     * The run's last step completed: the step, then the run (when still running), end as completed
     * (no transaction needed: a crash in between retries the step, which writes both again).
     * Returns the run's automation when this call ended the run.
     */
    lastStepCompleted(runId: string, stepName: string, output: JsonValue): Promise<{ automation: string } | undefined>;
    get(runId: string): Promise<RunRecord | undefined>;
    /** The runs of these ids that exist, with their steps, in no particular order. */
    getMany(runIds: readonly string[]): Promise<RunRecord[]>;
    /**
     * Runs of an automation that neither an event nor another run started (its schedule's ticks,
     * manual runs), started from `from` to `to` (ISO times, both included), newest first, a page of
     * at most `limit` (≤ 500): pass the last run of a page as `before` for the next.
     */
    listRoots(options: {
      automation: string;
      from: string;
      to: string;
      before?: Pick<RunRecord, 'startedAt' | 'runId'>;
      limit?: number;
    }): Promise<RunRecord[]>;
    /** The ids of every run this run started (run_automation children, a forEachUser tick's per-user runs). */
    childIds(parentRunId: string): Promise<string[]>;
    /** Newest first (started_at, then run id, descending), at most `limit` (≤ 500). */
    list(filter: RunFilter): Promise<RunRecord[]>;
    /** How many runs started at or after `since`, by status (statuses with none are left out). */
    countByStatus(since: string): Promise<Partial<Record<RunStatus, number>>>;
    /** The newest `count` (≤ 20) runs of each automation named, in one statement. */
    latestOf(automations: readonly string[], count: number): Promise<Map<string, RunSummary[]>>;
  };
  audit: {
    record(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
    /** Newest first (by id), at most `limit` (≤ 500). */
    list(filter: AuditFilter): Promise<AuditEntry[]>;
  };
  /**
   * A person's timeline: runs about them, directory changes about them (with the run step that
   * made each, when one did) and, with `audit`, audit entries about their runs and approvals;
   * newest first, at most `limit` (≤ 500) rows after `before`.
   */
  timeline: {
    about(
      person: { subjects: readonly string[]; userId?: string },
      options: { before?: TimelinePosition; limit?: number; audit: boolean },
    ): Promise<TimelineRow[]>;
  };
  tokens: {
    /**
     * Returns the plain token once; only its hash is stored. A name in use is refused unless
     * its token was revoked (then the new token takes the name).
     */
    create(name: string, scopes: Scope[], options?: { expiresAt?: Date }): Promise<string>;
    /** Valid: not unknown, expired or revoked. Records the use (at most once a minute). */
    verify(token: string): Promise<TokenVerdict>;
    list(): Promise<TokenRecord[]>;
    /** false when no token has that name or it was revoked already. */
    revoke(name: string): Promise<boolean>;
  };
  /**
   * Results of side effects that must not repeat when a step is retried (an email the SMTP
   * server accepted): recorded right after the effect, looked up before trying it again.
   */
  effects: {
    get(key: string): Promise<JsonValue | undefined>;
    /** First write wins: a second put for the same key keeps the first result and returns false. */
    put(key: string, result: JsonValue): Promise<boolean>;
  };
  /** The identity directory (users, apps, entitlements, grants, ...) and its event outbox. */
  directory: DirectoryRepository;
  /** Functions' secrets, sealed: the store never sees a plain value. */
  secrets: {
    put(entry: { functionName: string; key: string; sealed: string; actor: string }): Promise<void>;
    get(functionName: string, key: string): Promise<string | undefined>;
    /** Every sealed secret of a function, by key. */
    all(functionName: string): Promise<Record<string, string>>;
    list(functionName: string): Promise<{ key: string; updatedAt: string; updatedBy: string }[]>;
    /** false when there was no such secret. */
    delete(functionName: string, key: string): Promise<boolean>;
  };
  /**
   * Requests to event sources: the last 1,000 signed and the last 1,000 refused per source, none
   * older than 30 days (SOURCE_DELIVERY_RETENTION in store/source-deliveries.ts).
   */
  sourceDeliveries: {
    /** Records a delivery unless its (source, id) is recorded already: true when this call did. Removes what falls out of the retention. */
    insert(delivery: Omit<SourceDelivery, 'updatedAt' | 'attempts' | 'version' | 'result'>): Promise<boolean>;
    /** The outcome of one more mapping of a delivery. */
    settle(
      source: string,
      id: string,
      outcome: { status: Exclude<SourceDeliveryStatus, 'received' | 'rejected'>; reason?: string; version: number; result?: JsonObject },
    ): Promise<void>;
    get(source: string, id: string): Promise<SourceDelivery | undefined>;
    /** Newest first. */
    list(source: string, options: { limit?: number }): Promise<SourceDeliverySummary[]>;
  };
  /**
   * Named leases: at most one holder at a time, for `ttlMs` after its last acquire. A holder that
   * dies loses its lease when the time runs out. Times come from the processes' clocks, which
   * must agree within a fraction of the TTL (NTP).
   */
  /** Approval requests of request_approval steps and their decisions (store/approvals.ts). */
  approvals: ApprovalsRepository;
  leases: {
    /** Takes the lease, or renews it for its holder; false while another holder's lease runs. */
    acquire(name: string, holder: string, ttlMs: number): Promise<boolean>;
    /** Gives the lease up at once, if `holder` has it. */
    release(name: string, holder: string): Promise<void>;
  };
  /** The blast-radius guard's counts, held runs and tripped automations (store/guard.ts). */
  guard: GuardRepository;
  /** The web console's sessions and one-time sign-in links (store/console-sessions.ts). */
  consoleSessions: ConsoleSessionsRepository;
  close(): Promise<void>;
}
