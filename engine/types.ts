/**
 * What the HTTP API (and through it the CLI) asks of the engine. engine/engine.ts implements it
 * on top of the store and a Temporal client.
 */
import type { GuardService } from './guard.js';
import type { ApprovalService } from './approvals.js';
import type { JsonObject } from '../core/json.js';
import type { DefinitionKind, EventRecord, RunFilter, RunRecord, Store } from '../store/types.js';
import type { DirectoryApplySummary } from '../directory/document.js';
import type { LoadedDocument } from '../definitions/load.js';
import type { DefinitionError, SourceFile } from '../definitions/types.js';

import type { FunctionService } from '../functions/service.js';
import type { SealedSecrets } from '../functions/sealed-secrets.js';
import type { ProvisioningService } from '../provisioning/service.js';
import type { DirectoryService } from '../directory/service.js';
import type { PlanService } from './plans.js';
import type { ScheduleManager } from './schedules.js';
import type { EventSources } from './sources.js';
import type { ReplayRequest, ReplayResult } from './replay.js';

export interface AppliedDefinition {
  kind: DefinitionKind;
  name: string;
  version: number;
  /** false when the content was unchanged and no version was written. */
  created: boolean;
}

export interface ApplyOptions {
  dryRun: boolean;
  actor: string;
  /** Called with the loaded documents before anything is compiled or written (dry runs too); throws to refuse the whole apply. */
  authorize?: (documents: LoadedDocument[]) => void;
}

export interface ApplyResult {
  ok: boolean;
  errors: DefinitionError[];
  /** Empty when there are errors: nothing is applied from a file set with errors. */
  applied: AppliedDefinition[];
  /** What Directory documents in the file set changed (or would, on a dry run). */
  directory?: DirectoryApplySummary;
}

export interface EventInput {
  id?: string;
  type: string;
  occurredAt?: string;
  data: JsonObject;
}

export interface IngestResult {
  event: EventRecord;
  /** The runs this event started (on a repeated id: the runs the first delivery started). */
  runs: RunRecord[];
  /**
   * false for exactly one delivery of an event id: the one whose insert recorded it. Every other
   * delivery gets true and the runs of the first (which it completed if the first never finished).
   */
  duplicate: boolean;
  /**
   * Matched runs that could not start for a reason that may pass (Temporal unreachable): a
   * delivery of the same id again starts them. 0 when every matched run started or cannot start
   * at all (its input is too large for Temporal: the match says why).
   */
  notStarted: number;
}

/** A run list's filters, and `person`: runs about them (a user id or email; see engine/people.ts personKeys). */
export type RunQuery = Omit<RunFilter, 'subjects'> & { person?: string };

export interface RunList {
  runs: RunRecord[];
  /**
   * true when every listed run that says running was checked with Temporal (those that ended
   * outside idflow are listed, and stored, with Temporal's status); false when Temporal did not
   * answer in time and the list is the store's alone.
   */
  reconciled: boolean;
  /** Why the list is not reconciled. */
  warning?: string;
}

export interface Engine {
  readonly store: Store;
  /** Scheduled automations on Temporal Schedules. */
  readonly schedules: Pick<ScheduleManager, 'list' | 'trigger' | 'setPaused' | 'backfill'>;
  /** Directory writes (imports, API); the changes' events go through the outbox. */
  readonly directory: DirectoryService;
  /** Function versions, secrets and calls into the sandbox. */
  readonly functions: FunctionService;
  /** Event sources: signed HR webhooks, their deliveries, replays and secrets. */
  readonly sources: EventSources;
  /** Reconciles apps provisioned over SCIM with the directory. */
  readonly provisioning: ProvisioningService;
  /** Sealed secrets of apps (`app:<slug>`) and event sources (`source:<name>`). */
  readonly sealedSecrets: SealedSecrets;
  /** Plans: what an event, a manual run or an HR import would do, changing nothing. */
  readonly plans: PlanService;
  /** The blast-radius guard: tripped automations, held runs, release and discard. */
  readonly guard: GuardService;
  /** Approval requests (request_approval) and their decisions. */
  readonly approvals: ApprovalService;
  apply(files: SourceFile[], options: ApplyOptions): Promise<ApplyResult>;
  ingest(event: EventInput, actor: string): Promise<IngestResult>;
  runManually(automation: string, context: JsonObject, actor: string): Promise<RunRecord>;
  /** Recorded events (or ticks) against a candidate version: what would match, and run, differently. Writes only an audit entry. */
  replay(request: ReplayRequest, actor: string): Promise<ReplayResult>;
  /** The run record, reconciled with Temporal when it still says running. */
  getRun(runId: string): Promise<RunRecord | undefined>;
  /** Runs newest first, those that still say running reconciled with Temporal before the filter applies. */
  listRuns(query: RunQuery): Promise<RunList>;
  cancelRun(runId: string, actor: string): Promise<void>;
  /** A failed run again from its failed step: a new run (its parent the failed one) with the earlier steps' outputs. */
  retryRun(runId: string, actor: string): Promise<RunRecord>;
  /** Resolves with the run record once the run is no longer running, or when timeoutMs passes. */
  waitForRun(runId: string, timeoutMs: number): Promise<RunRecord>;
  rollback(automation: string, version: number, actor: string): Promise<AppliedDefinition>;
  setEnabled(automation: string, enabled: boolean, actor: string): Promise<void>;
  /** Link to the run in the Temporal Web UI, when one is known. */
  webUiLink(runId: string): string | undefined;
}
