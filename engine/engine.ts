/**
 * The engine: applies definitions, turns events into runs, and answers questions about runs.
 * It owns no state of its own beyond a cache of the trigger index; the store and Temporal are
 * the sources of truth.
 */
import { runIdFor } from '../core/names.js';
import { ApprovalService } from './approvals.js';
import { ApprovalLinks } from '../functions/approval-links.js';
import { loadIntegrations } from '../integrations/adapters.js';
import { slack, type SlackService } from '../integrations/slack/types.js';
import type { DefinitionError, SourceFile } from '../definitions/types.js';
import { IdflowError } from '../core/errors.js';
import { asJson, type JsonObject } from '../core/json.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { loadDefinitions, type DirectoryNames, type LoadedDocument, type LoadResult } from '../definitions/load.js';
import { applyDirectoryDocument, emptySummary, type DirectoryApplySummary } from '../directory/document.js';
import { OutboxDispatcher } from '../directory/outbox.js';
import { DirectoryService } from '../directory/service.js';
import { storedAutomationSpec, type AutomationSpec } from '../definitions/schema.js';
import type { EventMatch, EventRecord, RunRecord, Store } from '../store/types.js';
import { jsonBytes, parseEventInput, TEMPORAL_INPUT_LIMIT_BYTES } from './event-input.js';
import { TriggerIndex } from '../triggers/trigger-index.js';
import { PlanService } from './plans.js';
import { GuardService } from './guard.js';
import { personKeys } from './people.js';
import { PersonQueues, personOf, type PersonTurn } from './person-queues.js';
import { RunReconciler } from './runs-reconcile.js';
import { ScheduleManager } from './schedules.js';
import { FunctionCompileError } from '../functions/compile.js';
import { FunctionService, storedFunctionSpec } from '../functions/service.js';
import { SealedSecrets } from '../functions/sealed-secrets.js';
import { EventSources } from './sources.js';
import { EventReplay, type ReplayRequest, type ReplayResult } from './replay.js';
import { ProvisioningService } from '../provisioning/service.js';
import { eventsIngested } from '../metrics/registry.js';
import { automationRun, type AutomationRunInput } from '../workflows/automation-run.js';
import { followsFacts } from '../workflows/follow-facts.js';
import type { QueuedRun } from '../workflows/person-queue.js';
import { failureMessage } from '../workflows/shared.js';
import {
  type AppliedDefinition,
  type ApplyOptions,
  type ApplyResult,
  type Engine,
  type EventInput,
  type IngestResult,
  type RunList,
  type RunQuery,
} from './types.js';

export interface EngineOptions {
  store: Store;
  client: Client;
  namespace: string;
  taskQueue: string;
  logger: Logger;
  /** Base URL of the Temporal Web UI, for run links. */
  webUiUrl?: string;
  /**
   * The client shares its NativeConnection with a worker of the task queue in this process (idflow
   * dev): runs start eagerly, their first workflow task handed to that worker in the start's
   * response instead of through the server's task matching (bench/engine.ts measures the gain).
   */
  eagerStart?: boolean;
  /** Where the secrets' master key is read from: IDFLOW_MASTER_KEY(_FILE), else `<dataDir>/master.key`. */
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
}

const WAIT_POLL_MS = 100;
const APPLY_ORDER: Record<Exclude<LoadedDocument['kind'], 'Directory'>, number> = {
  Webhook: 0,
  Function: 1,
  Automation: 2,
  EventSource: 3,
  ScimService: 4,
};
/** What the payload's encoding and metadata add to its JSON (measured: 32 bytes), with room to spare. */
const PAYLOAD_OVERHEAD_BYTES = 1024;
/** How long a failed start waits to learn whether its workflow exists (the client retries an unreachable server for ~20 s). */
const DESCRIBE_AFTER_FAILED_START_MS = 5_000;

/** An event about to be recorded: its matches come from processing it. */
type NewEvent = Omit<EventRecord, 'matches' | 'processedAt'>;

/** A retry of a failed run (retryRun): from which step, and whether its trigger had its aliases. */
interface RetryOf {
  of: RunRecord;
  from: number;
  aliasTrigger: boolean;
}

/** An automation in force, as the trigger index holds it and runs start from it. */
interface ActiveAutomation {
  name: string;
  version: number;
  enabled: boolean;
  spec: AutomationSpec;
}

export class IdflowEngine implements Engine {
  readonly store: Store;
  readonly schedules: ScheduleManager;
  readonly functions: FunctionService;
  /** Directory writes; their events reach ingest through the outbox. */
  readonly directory: DirectoryService;
  /** Reconciles apps with the directory (the steps' provisioning runs in the workers). */
  readonly provisioning: ProvisioningService;
  /** Sealed secrets of apps (`app:<slug>`) and event sources (`source:<name>`). */
  readonly sealedSecrets: SealedSecrets;
  /** Delivers directory events to ingest; started by startDelivery(). */
  readonly outbox: OutboxDispatcher;
  /** Signed webhooks of HR systems (kind: EventSource), mapped to events and directory changes. */
  readonly sources: EventSources;
  /** What an event, a manual run or an import would do, changing nothing. */
  readonly plans: PlanService;
  /** The blast-radius guard: tripped automations, held runs, and the admins' decisions on them. */
  readonly guard: GuardService;
  /** Approval requests and their decisions from links, Slack and tokens. */
  readonly approvals: ApprovalService;
  /** Run records reconciled with Temporal when they say running. */
  private readonly reconciler: RunReconciler;
  private readonly replays: EventReplay;
  private cachedIndex?: { generation: number; index: TriggerIndex<ActiveAutomation>; followsFacts: boolean };
  /** Runs about a person start through the person's queue, one at a time. */
  private readonly personQueues: PersonQueues;
  /** Ingests in progress in this process, by event id: later deliveries of the id wait for them. */
  private readonly ingesting = new Map<string, Promise<IngestResult>>();

  constructor(private readonly options: EngineOptions) {
    this.store = options.store;
    this.schedules = new ScheduleManager(options.client, options.store, options.taskQueue);
    this.reconciler = new RunReconciler(options.client, options.store.runs, options.logger);
    this.personQueues = new PersonQueues(options.client, options.taskQueue);
    this.outbox = new OutboxDispatcher(
      options.store.directory,
      options.store.leases,
      async (event) => {
        const { notStarted } = await this.ingest({ id: event.id, type: event.type, data: event.data }, 'directory');
        // Kept in the outbox (and in order) until Temporal takes the runs: the next pass redelivers it.
        if (notStarted > 0) throw new Error(`event "${event.id}": ${notStarted} matched run(s) could not start yet`);
      },
      options.logger,
    );
    this.directory = new DirectoryService(options.store.directory, { onEvents: () => this.outbox.wake() });
    this.replays = new EventReplay({
      store: options.store,
      load: (files) => this.load(files),
      // What the candidate would do with an event it newly matches; no function runs for a replay's plans.
      planEvent: (event, automation) =>
        this.plans.candidate(event, automation, { actor: 'replay', runFunctions: false, webhookUrls: true }),
    });
    const env = options.env ?? process.env;
    const secretSource = { store: options.store, env, dataDir: options.dataDir };
    this.functions = new FunctionService(secretSource);
    this.sealedSecrets = new SealedSecrets(secretSource);
    this.sources = new EventSources({
      store: options.store,
      directory: this.directory,
      secrets: this.sealedSecrets,
      ingest: (event, actor) => this.ingest(event, actor),
      logger: options.logger,
    });
    // idflow directory reconcile reaches the app from this process: { env } tokens are read from its environment.
    this.provisioning = ProvisioningService.create({
      env,
      store: options.store,
      dataDir: options.dataDir,
      directory: this.directory,
      functions: this.functions,
    });
    this.approvals = new ApprovalService({
      store: options.store,
      client: options.client,
      env,
      links: new ApprovalLinks({ env, dataDir: options.dataDir }),
      slack: async () =>
        (await loadIntegrations([slack], { env, store: options.store, dataDir: options.dataDir })).get(slack.name) as SlackService,
    });
    this.plans = new PlanService({
      store: options.store,
      triggerIndex: () => this.triggerIndex(),
      currentAutomation: (name) => this.currentAutomation(name),
      functions: this.functions,
      adapters: secretSource,
    });
    this.guard = new GuardService({ store: options.store, client: options.client, plans: this.plans });
  }

  /** Starts delivering directory events to the trigger pipeline (where the API runs). */
  startDelivery(): void {
    this.outbox.start();
  }

  async stopDelivery(): Promise<void> {
    await this.outbox.stop();
  }

  /** Loads a file set, its references checked against what the store and the directory hold (apply and replay). */
  private async load(files: SourceFile[]): Promise<LoadResult> {
    const [webhooks, automations, functions, directory] = await Promise.all([
      this.store.definitions.list('Webhook'),
      this.store.definitions.list('Automation'),
      this.store.definitions.list('Function'),
      this.directoryNames(),
    ]);
    const names = (list: { name: string }[]) => list.map((d) => d.name);
    return loadDefinitions(files, {
      webhooks: names(webhooks),
      automations: names(automations),
      functions: names(functions),
      directory,
    });
  }

  async apply(files: SourceFile[], { dryRun, actor, authorize }: ApplyOptions): Promise<ApplyResult> {
    const loaded = await this.load(files);
    if (loaded.errors.length > 0) return { ok: false, errors: loaded.errors, applied: [] };
    authorize?.(loaded.documents);
    // Functions compile before anything is written: a compile error applies nothing.
    const compiled = await this.compileFunctions(loaded.documents);
    if ('errors' in compiled) return { ok: false, errors: compiled.errors, applied: [] };
    // The directory first (automations may name its entitlements), then webhooks: an automation
    // is never in force while a webhook it names is missing.
    const directoryDocuments = loaded.documents.flatMap((d) => (d.kind === 'Directory' ? [d] : []));
    let summary: DirectoryApplySummary | undefined;
    if (directoryDocuments.length > 0) {
      const outcome = await this.applyDirectory(directoryDocuments, dryRun, actor);
      if ('errors' in outcome) return { ok: false, errors: outcome.errors, applied: [] };
      summary = outcome.summary;
    }
    const definitions = loaded.documents.flatMap((d) => (d.kind === 'Directory' ? [] : [d]));
    // Webhooks and functions before the automations that name them.
    const ordered = [...definitions].sort((a, b) => APPLY_ORDER[a.kind] - APPLY_ORDER[b.kind]);
    const applied: AppliedDefinition[] = [];
    for (const document of ordered) {
      const spec = document.kind === 'Function' ? (compiled.specs.get(document.name) as JsonObject) : asJson(document.spec);
      if (dryRun) {
        applied.push(await this.preview(document, spec));
        continue;
      }
      const wasScheduled = document.kind === 'Automation' && (await this.isScheduled(document.name));
      applied.push(await this.put(document, spec, actor));
      if (document.kind === 'Automation' && (wasScheduled || document.spec.trigger.type === 'schedule'))
        await this.schedules.reconcileAutomation(document.name);
    }
    if (!dryRun)
      this.options.logger.info(
        { actor, applied: applied.filter((a) => a.created).map((a) => `${a.kind}/${a.name}@${a.version}`) },
        'definitions applied',
      );
    return { ok: true, errors: [], applied, ...(summary && { directory: summary }) };
  }

  /** Entitlements, apps, profiles and templates the directory holds, for apply-time reference checks. */
  private async directoryNames(): Promise<DirectoryNames> {
    const repo = this.store.directory;
    const [entitlements, apps, profiles, templates] = await Promise.all([
      repo.listEntitlements(),
      repo.listApps(),
      repo.listAccessProfiles(),
      repo.listCampaignTemplates(),
    ]);
    return {
      entitlements: entitlements.flatMap((e) => [e.id, `${e.app}:${e.slug}`]),
      apps: apps.flatMap((a) => [a.id, a.slug]),
      appActions: new Map(apps.flatMap((a) => [a.id, a.slug].map((ref) => [ref, Object.keys(a.provisioning?.actions ?? {})]))),
      accessProfiles: profiles.map((p) => p.id),
      campaignTemplates: templates.map((t) => t.id),
    };
  }

  /** Applies Directory documents in one transaction (rolled back on a dry run or any error). */
  private async applyDirectory(
    documents: Extract<LoadedDocument, { kind: 'Directory' }>[],
    dryRun: boolean,
    actor: string,
  ): Promise<{ summary: DirectoryApplySummary } | { errors: DefinitionError[] }> {
    const summary = emptySummary();
    const rollback = new Error('directory apply rolled back');
    const errors: DefinitionError[] = [];
    try {
      await this.directory.write(async (tx) => {
        for (const document of documents) {
          const issues = await applyDirectoryDocument(tx, document.spec, summary, `directory apply by ${actor}`);
          errors.push(...issues.map((issue) => document.locate(issue.path, issue.message)));
        }
        if (errors.length > 0 || dryRun) throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    }
    if (errors.length > 0) return { errors };
    if (!dryRun)
      await this.store.audit.record({ actor, action: 'directory.apply', target: 'Directory', details: summary as unknown as JsonObject });
    return { summary };
  }

  /** Whether the automation in force runs on a schedule. */
  private async isScheduled(name: string): Promise<boolean> {
    const current = await this.store.definitions.current('Automation', name);
    return current !== undefined && storedAutomationSpec(current.spec).trigger.type === 'schedule';
  }

  /** The stored spec of each Function document (its source compiled), or the compile errors at file:line:column. */
  private async compileFunctions(documents: LoadedDocument[]): Promise<{ specs: Map<string, JsonObject> } | { errors: DefinitionError[] }> {
    const specs = new Map<string, JsonObject>();
    const errors: DefinitionError[] = [];
    for (const document of documents) {
      if (document.kind !== 'Function') continue;
      try {
        specs.set(document.name, asJson(await storedFunctionSpec(document.spec, document.source)));
      } catch (error) {
        if (!(error instanceof FunctionCompileError)) throw error;
        errors.push({ file: document.source.path, ...error.position, path: '', message: `function ${document.name}: ${error.message}` });
      }
    }
    return errors.length > 0 ? { errors } : { specs };
  }

  private async preview(document: Exclude<LoadedDocument, { kind: 'Directory' }>, spec: JsonObject): Promise<AppliedDefinition> {
    const current = await this.store.definitions.current(document.kind, document.name);
    const unchanged = current !== undefined && isDeepStrictEqual(current.spec, spec);
    return {
      kind: document.kind,
      name: document.name,
      version: unchanged ? current.version : (current?.version ?? 0) + 1,
      created: !unchanged,
    };
  }

  private async put(document: Exclude<LoadedDocument, { kind: 'Directory' }>, spec: JsonObject, actor: string): Promise<AppliedDefinition> {
    const enabled = document.kind === 'Automation' || document.kind === 'EventSource' ? document.spec.enabled : true;
    const result = await this.store.definitions.put({
      kind: document.kind,
      name: document.name,
      spec,
      enabled,
      source: `${document.file}:${document.line}`,
      actor,
    });
    return { kind: document.kind, name: document.name, version: result.version.version, created: result.created };
  }

  /** The trigger index for the definitions in force, rebuilt only when they changed. */
  async triggerIndex(): Promise<TriggerIndex<ActiveAutomation>> {
    const generation = await this.store.definitions.generation();
    if (this.cachedIndex?.generation === generation) return this.cachedIndex.index;
    const automations = await this.store.definitions.list('Automation');
    const index = new TriggerIndex(
      automations.map((a): ActiveAutomation => ({
        name: a.name,
        version: a.version,
        enabled: a.enabled,
        spec: storedAutomationSpec(a.spec),
      })),
    );
    this.cachedIndex = { generation, index, followsFacts: automations.some((a) => followsFacts(storedAutomationSpec(a.spec))) };
    return index;
  }

  /**
   * Records the event and starts a run of every automation it matches. Each delivery of an id
   * is told whether it was the first (`duplicate: false`): the store's unique event id decides,
   * and deliveries of one id in this process wait for the first before answering.
   */
  async ingest(input: EventInput, actor: string): Promise<IngestResult> {
    const result = await this.ingestEvent(input, actor);
    eventsIngested.inc({ type: result.event.type, duplicate: String(result.duplicate) });
    return result;
  }

  private async ingestEvent(input: EventInput, actor: string): Promise<IngestResult> {
    const parsed = parseEventInput(input);
    const { data } = parsed;
    const receivedAt = new Date().toISOString();
    const event: NewEvent = {
      id: parsed.id ?? `evt-${randomUUID()}`,
      type: parsed.type,
      occurredAt: parsed.occurredAt ?? receivedAt,
      receivedAt,
      data,
    };

    // Taken now, before any await: the person's events reach their queue in the order received.
    const person = personOf(data);
    const turn = person === undefined ? undefined : this.personQueues.turn(person);
    try {
      const first = this.ingesting.get(event.id);
      if (first) {
        await first.catch(() => undefined); // its caller sees its error; this delivery reads what it left
        return await this.redelivery(event.id, actor, turn);
      }
      const ingesting = this.ingestFirst(event, actor, turn);
      this.ingesting.set(event.id, ingesting);
      try {
        return await ingesting;
      } finally {
        this.ingesting.delete(event.id);
      }
    } finally {
      turn?.done();
    }
  }

  private async ingestFirst(event: NewEvent, actor: string, turn?: PersonTurn): Promise<IngestResult> {
    if (!(await this.store.events.insert(event))) return this.redelivery(event.id, actor, turn);
    const processed = await this.process(event, actor, turn);
    return { ...processed, duplicate: false };
  }

  /**
   * A delivery of an id received before: what the first delivery did. When that one never
   * finished (a crash between the insert and the matching, or another process still at it), or
   * some of its runs could not start, this one processes the stored event: starting runs is
   * idempotent by workflow id, so the runs that started are not started again.
   */
  private async redelivery(id: string, actor: string, turn?: PersonTurn): Promise<IngestResult> {
    const existing = await this.store.events.get(id);
    if (!existing) throw new Error(`event "${id}" was inserted but cannot be read back`);
    const unstarted = existing.matches.some((match) => match.error !== undefined);
    if (existing.processedAt && !unstarted) {
      return { event: existing, runs: await this.runsOf(existing.matches), duplicate: true, notStarted: 0 };
    }
    return { ...(await this.process(existing, actor, turn)), duplicate: true };
  }

  /** Matches the event and starts its runs; one automation that cannot start never stops the others. */
  private async process(event: NewEvent, actor: string, turn?: PersonTurn): Promise<Omit<IngestResult, 'duplicate'>> {
    const outcomes = (await this.triggerIndex()).match(event.type, event.data, new Date());
    const matches: EventMatch[] = [];
    let notStarted = 0;
    const queued: QueuedRun[] = [];
    for (const outcome of outcomes) {
      const { name, version } = outcome.automation;
      if (!outcome.matched) {
        matches.push({ automation: name, version, matched: false, reason: outcome.reason });
        continue;
      }
      const runId = runIdFor(name, event.id);
      try {
        if (turn) {
          const { trigger: _sentOnceWithTheEvent, ...input } = await this.recordRun(outcome.automation, event.data, runId, event.id);
          queued.push({ runId, input });
        } else await this.startRun(outcome.automation, event.data, runId, event.id);
        matches.push({ automation: name, version, matched: true, runId });
      } catch (error) {
        // idflow's own refusals are for good; anything else (Temporal's trouble) may pass.
        if (!(error instanceof IdflowError)) notStarted++;
        const message = failureMessage(error);
        this.options.logger.error({ err: error, eventId: event.id, automation: name }, 'a matched automation could not start');
        matches.push({ automation: name, version, matched: true, error: `the run could not be started: ${message}` });
      }
    }
    if (turn) notStarted += await this.handOver(turn, event, queued, matches);
    const processedAt = await this.store.events.setMatches(event.id, matches);
    const failed = matches.filter((m) => m.error !== undefined).length;
    this.options.logger.info(
      { eventId: event.id, type: event.type, actor, started: matches.filter((m) => m.runId).length, failed },
      'event ingested',
    );
    return { event: { ...event, matches, processedAt }, runs: await this.runsOf(matches), notStarted };
  }

  private async runsOf(matches: EventMatch[]): Promise<RunRecord[]> {
    const runs = await Promise.all(matches.filter((m) => m.runId).map((m) => this.store.runs.get(m.runId as string)));
    return runs.filter((run): run is RunRecord => run !== undefined);
  }

  /**
   * Records the run, then starts its workflow (at most once per run id). Recorded first, the
   * workflow need not record its own start (runRecorded): one store write less in its first task.
   * `data` goes as it is: the workflow builds ctx.trigger's aliases itself (aliasTrigger).
   */
  private async startRun(automation: ActiveAutomation, data: JsonObject, runId: string, eventId?: string, retry?: RetryOf): Promise<void> {
    const input = await this.recordRun(automation, data, runId, eventId, retry);
    try {
      await this.options.client.workflow.start(automationRun, {
        taskQueue: this.options.taskQueue,
        workflowId: runId,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        requestEagerStart: this.options.eagerStart,
      });
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      await this.discardUnstarted(runId);
      throw error;
    }
  }

  /**
   * Hands the event to its person's queue, in the person's turn: its runs (started there one at
   * a time), or, when it started none, the event alone for the person's waiting runs to hear
   * (cancelWhen, rescheduleWhen). Runs it could not hand over are marked in `matches` and stay recorded: Temporal
   * may have taken them, and a redelivery of the event queues them (once) if it did not.
   */
  private async handOver(turn: PersonTurn, event: NewEvent, queued: QueuedRun[], matches: EventMatch[]): Promise<number> {
    await turn.ready;
    try {
      if (queued.length > 0) await this.personQueues.enqueue(turn.person, event, queued);
      else if (this.cachedIndex?.followsFacts) await this.personQueues.tell(turn.person, event);
      return 0;
    } catch (error) {
      this.options.logger.error({ err: error, eventId: event.id, person: turn.person }, "the event's runs could not be queued");
      const runIds = new Set(queued.map((run) => run.runId));
      for (const match of matches) {
        if (match.runId === undefined || !runIds.has(match.runId)) continue;
        match.error = `the run could not be started: ${failureMessage(error)}`;
        delete match.runId;
      }
      return queued.length;
    }
  }

  /** Checks the run's workflow input against Temporal's limit and records the run: what it starts with. */
  private async recordRun(
    automation: ActiveAutomation,
    data: JsonObject,
    runId: string,
    eventId?: string,
    retry?: RetryOf,
  ): Promise<AutomationRunInput> {
    const { name, version, spec } = automation;
    const carried = retry?.of.steps.slice(0, retry.from) ?? [];
    const input: AutomationRunInput = {
      automation: { name, version, spec },
      trigger: data,
      aliasTrigger: retry?.aliasTrigger ?? true,
      eventId,
      runRecorded: true,
      lastStepCompletesRun: true,
      chain: [],
      guarded: true,
      ...(retry && {
        parentRunId: retry.of.runId,
        resumeFrom: { step: retry.from, outputs: Object.fromEntries(carried.map((step) => [step.name, step.output ?? null])) },
      }),
    };
    const inputBytes = jsonBytes(input);
    if (inputBytes + PAYLOAD_OVERHEAD_BYTES > TEMPORAL_INPUT_LIMIT_BYTES) {
      throw new IdflowError(
        'PAYLOAD_TOO_LARGE',
        `the run's workflow input (automation "${name}" v${version} and the trigger data) is ${inputBytes} bytes as JSON; Temporal refuses inputs over ${TEMPORAL_INPUT_LIMIT_BYTES} bytes`,
      );
    }
    await this.store.runs.start({
      runId,
      automation: name,
      version,
      trigger: data,
      eventId,
      ...(retry && { parentRunId: retry.of.runId }),
      startedAt: new Date().toISOString(),
      steps: spec.steps.map((step) => ({ name: step.name, type: step.type })),
    });
    // A retry's record shows the steps it carries over as the failed run ran them.
    for (const step of carried) {
      await this.store.runs.stepStarted(runId, step.name, step.input ?? null, step.attempts);
      await this.store.runs.stepFinished(runId, step.name, {
        status: step.status === 'skipped' ? 'skipped' : 'completed',
        output: step.output ?? null,
      });
    }
    return input;
  }

  /**
   * After a failed start: the record goes when Temporal confirms there is no workflow (a start can
   * fail on the client's side and still have started it, or another process may have started it),
   * so a redelivery of the event starts the run afresh. Temporal unreachable: the record stays,
   * running, until a redelivery of the event starts its workflow.
   */
  private async discardUnstarted(runId: string): Promise<void> {
    try {
      await this.options.client.withDeadline(Date.now() + DESCRIBE_AFTER_FAILED_START_MS, () =>
        this.options.client.workflow.getHandle(runId).describe(),
      );
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) await this.store.runs.discard(runId);
      else
        this.options.logger.warn({ err: error, runId }, 'a run whose start failed stays recorded: Temporal did not say whether it exists');
    }
  }

  private async currentAutomation(name: string): Promise<ActiveAutomation> {
    const current = await this.store.definitions.current('Automation', name);
    if (!current) throw new IdflowError('NOT_FOUND', `automation "${name}" does not exist`);
    return { name, version: current.version, enabled: current.enabled, spec: storedAutomationSpec(current.spec) };
  }

  async replay(request: ReplayRequest, actor: string): Promise<ReplayResult> {
    return this.replays.replay(request, actor);
  }

  async runManually(automationName: string, context: JsonObject, actor: string): Promise<RunRecord> {
    const automation = await this.currentAutomation(automationName);
    if (!automation.enabled)
      throw new IdflowError(
        'DISABLED',
        `automation "${automationName}" is disabled: enable it with \`idflow automations enable ${automationName}\``,
      );
    const runId = `${automationName}:manual-${randomUUID()}`;
    await this.startRun(automation, context, runId);
    await this.store.audit.record({
      actor,
      action: 'run.manual',
      target: `Automation/${automationName}`,
      details: { runId, version: automation.version },
    });
    return this.requireRun(runId);
  }

  /**
   * Runs a failed run again from its failed step: a new run of the same version, linked to the
   * failed one (its parent), with the earlier steps' recorded outputs instead of running them again.
   */
  async retryRun(runId: string, actor: string): Promise<RunRecord> {
    const failed = await this.requireRun(runId);
    if (failed.status !== 'failed')
      throw new IdflowError('CONFLICT', `run "${runId}" is ${failed.status}: only a failed run is retried from its failed step`);
    const from = failed.steps.findIndex((step) => step.status !== 'completed' && step.status !== 'skipped');
    const stored = await this.store.definitions.get('Automation', failed.automation, failed.version);
    if (!stored) throw new IdflowError('NOT_FOUND', `automation "${failed.automation}" has no version ${failed.version} to retry with`);
    const automation: ActiveAutomation = {
      name: failed.automation,
      version: failed.version,
      enabled: true,
      spec: storedAutomationSpec(stored.spec),
    };
    let attempt = 1;
    while (await this.store.runs.get(`${runId}.retry-${attempt}`)) attempt++;
    const retryId = `${runId}.retry-${attempt}`;
    // Runs of events and manual runs saw their trigger with its aliases; children and ticks as given.
    const aliasTrigger = failed.parentRunId === undefined;
    await this.startRun(automation, failed.trigger as JsonObject, retryId, undefined, {
      of: failed,
      from: Math.max(from, 0),
      aliasTrigger,
    });
    await this.store.audit.record({
      actor,
      action: 'run.retry',
      target: `Run/${runId}`,
      details: { retryId, fromStep: failed.steps[from]?.name ?? null },
    });
    return this.requireRun(retryId);
  }

  private async requireRun(runId: string): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (!run) throw new IdflowError('NOT_FOUND', `run "${runId}" does not exist`);
    return run;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    return this.reconciler.get(runId);
  }

  async listRuns(query: RunQuery): Promise<RunList> {
    const { person, ...filter } = query;
    if (person === undefined) return this.reconciler.list(filter);
    return this.reconciler.list({ ...filter, subjects: (await personKeys(this.store.directory, person)).subjects });
  }

  async cancelRun(runId: string, actor: string): Promise<void> {
    const run = await this.requireRun(runId);
    if (run.status !== 'running') throw new IdflowError('CONFLICT', `run "${runId}" is ${run.status}, not running`);
    try {
      await this.options.client.workflow.getHandle(runId).cancel();
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      // Not started yet: a run queued behind its person's earlier runs is cancelled by the queue.
      const person = personOf(run.trigger as JsonObject);
      if (person === undefined || !(await this.personQueues.cancel(person, runId)))
        throw new IdflowError('NOT_FOUND', `run "${runId}" is not known to Temporal`);
    }
    await this.store.audit.record({ actor, action: 'run.cancel', target: `Run/${runId}`, details: {} });
  }

  async waitForRun(runId: string, timeoutMs: number): Promise<RunRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const run = await this.store.runs.get(runId);
      if (!run) throw new IdflowError('NOT_FOUND', `run "${runId}" does not exist`);
      if (run.status !== 'running') return run;
      if (Date.now() >= deadline) return this.requireRun(runId);
      await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, deadline - Date.now())));
    }
  }

  async rollback(automationName: string, version: number, actor: string): Promise<AppliedDefinition> {
    const target = await this.store.definitions.get('Automation', automationName, version);
    if (!target) throw new IdflowError('NOT_FOUND', `automation "${automationName}" has no version ${version}`);
    const head = await this.store.definitions.head('Automation', automationName);
    const wasScheduled = await this.isScheduled(automationName);
    const result = await this.store.definitions.put({
      kind: 'Automation',
      name: automationName,
      spec: target.spec,
      enabled: head?.enabled ?? true,
      source: `rollback to v${version}`,
      actor,
    });
    if (wasScheduled || storedAutomationSpec(target.spec).trigger.type === 'schedule')
      await this.schedules.reconcileAutomation(automationName);
    return { kind: 'Automation', name: automationName, version: result.version.version, created: result.created };
  }

  async setEnabled(automationName: string, enabled: boolean, actor: string): Promise<void> {
    const automation = await this.currentAutomation(automationName);
    await this.store.definitions.setEnabled('Automation', automationName, enabled, actor);
    if (automation.spec.trigger.type === 'schedule') await this.schedules.reconcileAutomation(automationName);
  }

  webUiLink(runId: string): string | undefined {
    if (!this.options.webUiUrl) return undefined;
    return `${this.options.webUiUrl}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(runId)}`;
  }
}
