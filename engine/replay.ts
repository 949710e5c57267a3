/**
 * Replay: what really happened to recorded events beside what a candidate version of an
 * automation (a stored version, or a file not yet applied) would have done with them. For every
 * event of the trigger's type in a window: THEN, what the event's recorded matches say for the
 * automation (and the run's outcome); NOW, the candidate's condition on the event's data. Runs
 * matched both times are rendered again with the candidate's steps and compared field by field.
 * Scheduled automations replay their recorded ticks instead. Reads only: nothing starts, and the
 * one write is an audit entry per automation replayed. No Temporal involved.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { IdflowError } from '../core/errors.js';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import { asJson, type JsonObject } from '../core/json.js';
import { DefinitionNameSchema } from '../core/names.js';
import { MAX_FILE_BYTES } from '../definitions/limits.js';
import { formatDefinitionError, type LoadResult } from '../definitions/load.js';
import { storedAutomationSpec, type AutomationSpec } from '../definitions/schema.js';
import type { SourceFile } from '../definitions/types.js';
import type { AutomationPlan } from '../core/plan.js';
import type { EventRecord, Store } from '../store/types.js';
import { EventIdSchema } from '../triggers/events.js';
import { TriggerIndex } from '../triggers/trigger-index.js';
import {
  compareRun,
  emptyReport,
  type NewlyMatched,
  type NoLongerMatched,
  type ReplayCandidate,
  type ReplayReport,
  type ReplayWindow,
} from './replay-report.js';
import { replayTicks } from './replay-ticks.js';

export const DEFAULT_REPLAY_WINDOW = '30d';
/** The longest window: a year and a month, so yearly events (reviews, anniversaries) can be replayed. */
export const MAX_REPLAY_WINDOW_DAYS = 400;
const MAX_REPLAY_WINDOW_MS = MAX_REPLAY_WINDOW_DAYS * 86_400_000;
/** Events named one by one (`--events`). */
export const MAX_REPLAY_EVENT_IDS = 1_000;
/**
 * Events (or ticks) replayed per automation, newest first; the report says where it stopped
 * beyond. bench/replay.ts replays 10,000 in well under a second of CEL and templates.
 */
export const MAX_REPLAYED_EVENTS = 50_000;
/** Automations one request replays (a file set whose automations are not named one by one). */
export const MAX_REPLAYED_AUTOMATIONS = 20;
/** Newly matched events the planner is asked about, newest first. */
export const MAX_PLANNED_EVENTS = 20;
/** Events read per page (the store's page limit). */
const PAGE_SIZE = 500;

const SourceFileSchema = z.object({ path: z.string().min(1).max(1_000), content: z.string().max(MAX_FILE_BYTES) }).strict();

const WindowSchema = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` })
  .refine((text) => (parseDuration(text) ?? 0) <= MAX_REPLAY_WINDOW_MS, {
    message: `a replay reads at most the last ${MAX_REPLAY_WINDOW_DAYS}d of events`,
  });

export const ReplayRequestSchema = z
  .object({
    automation: DefinitionNameSchema.optional().describe('A stored automation; with a file set, the one of its automations to replay.'),
    version: z.number().int().min(1).optional().describe('A stored version (default: the version in force).'),
    file: SourceFileSchema.optional().describe('A definition file not yet applied, validated as an apply would.'),
    files: z.array(SourceFileSchema).min(1).max(1_000).optional().describe('A file set not yet applied (as POST /v1/apply takes).'),
    changedOnly: z
      .boolean()
      .optional()
      .describe('With a file set: skip the automations equal to their stored version (`idflow apply --plan`).'),
    since: WindowSchema.optional().describe(`The window, back from now (default ${DEFAULT_REPLAY_WINDOW}).`),
    events: z.array(EventIdSchema).min(1).max(MAX_REPLAY_EVENT_IDS).optional().describe('These events instead of a window.'),
  })
  .strict()
  .superRefine((request, check) => {
    const withFiles = request.file !== undefined || request.files !== undefined;
    if (request.automation === undefined && !withFiles)
      check.addIssue({ code: 'custom', path: ['automation'], message: 'name a stored automation, or give a file with the candidate' });
    if (request.file !== undefined && request.files !== undefined)
      check.addIssue({ code: 'custom', path: ['files'], message: 'give file or files, not both' });
    if (request.version !== undefined && withFiles)
      check.addIssue({ code: 'custom', path: ['version'], message: 'a version names a stored automation: not with a file' });
    if (request.changedOnly !== undefined && !withFiles)
      check.addIssue({ code: 'custom', path: ['changedOnly'], message: 'changedOnly compares a file set with what is stored: give files' });
    if (request.since !== undefined && request.events !== undefined)
      check.addIssue({ code: 'custom', path: ['events'], message: 'give since or events, not both' });
  });

export type ReplayRequest = z.output<typeof ReplayRequestSchema>;

/** What the planner says a candidate would do for an event (the engine wires its plans; none: no plans). */
export type PlanEventHook = (
  event: { id: string; type: string; data: JsonObject },
  automation: { name: string; version: number; spec: AutomationSpec },
) => Promise<AutomationPlan>;

export interface ReplayResult {
  replays: ReplayReport[];
  /** With changedOnly: the file set's automations equal to their stored version, not replayed. */
  unchanged: string[];
}

export interface ReplayDependencies {
  store: Store;
  /** Loads a file set as an apply does, references checked against what is stored. */
  load(files: SourceFile[]): Promise<LoadResult>;
  planEvent?: PlanEventHook;
}

interface Candidate {
  name: string;
  spec: AutomationSpec;
  version: ReplayCandidate;
}

/** THEN for one event: what its recorded matches say about the automation. */
type Then = { matched: true; runId?: string; error?: string } | { matched: false; reason: string };

function thenOf(event: EventRecord, name: string): Then {
  if (event.processedAt === undefined) return { matched: false, reason: 'the event was never matched (ingest stopped before it)' };
  const match = event.matches.find((candidate) => candidate.automation === name);
  if (!match) return { matched: false, reason: `automation "${name}" was not in force (absent, disabled or on another trigger)` };
  if (!match.matched) return { matched: false, reason: match.reason ?? 'not matched' };
  return {
    matched: true,
    ...(match.runId !== undefined && { runId: match.runId }),
    ...(match.error !== undefined && { error: match.error }),
  };
}

export class EventReplay {
  constructor(private readonly deps: ReplayDependencies) {}

  async replay(request: ReplayRequest, actor: string): Promise<ReplayResult> {
    const { candidates, unchanged } = await this.candidates(request);
    const replays: ReplayReport[] = [];
    for (const candidate of candidates) {
      const report = await this.replayCandidate(candidate, request);
      await this.deps.store.audit.record({
        actor,
        action: 'automation.replay',
        target: `Automation/${candidate.name}`,
        details: asJson({ candidate: candidate.version, window: report.window, seen: report.summary.seen }),
      });
      replays.push(report);
    }
    return { replays, unchanged };
  }

  private async candidates(request: ReplayRequest): Promise<{ candidates: Candidate[]; unchanged: string[] }> {
    const files = request.files ?? (request.file && [request.file]);
    if (files === undefined) return { candidates: [await this.stored(request.automation as string, request.version)], unchanged: [] };
    const loaded = await this.deps.load(files);
    if (loaded.errors.length > 0) {
      const count = `${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}`;
      throw new IdflowError(
        'INVALID_DEFINITIONS',
        `${count} in the candidate, nothing was replayed: ${loaded.errors.map(formatDefinitionError).join('; ')}`,
        loaded.errors,
      );
    }
    const documents = loaded.documents.flatMap((document) => (document.kind === 'Automation' ? [document] : []));
    if (documents.length === 0) throw new IdflowError('INVALID', 'the file set has no Automation document to replay');
    const named = request.automation === undefined ? documents : documents.filter((document) => document.name === request.automation);
    if (named.length === 0)
      throw new IdflowError(
        'NOT_FOUND',
        `automation "${request.automation}" is not in the file set (it has ${documents.map((d) => d.name).join(', ')})`,
      );
    const candidates: Candidate[] = [];
    const unchanged: string[] = [];
    for (const document of named) {
      const head = await this.deps.store.definitions.current('Automation', document.name);
      const changed = head === undefined || !isDeepStrictEqual(head.spec, asJson(document.spec));
      if (!changed && request.changedOnly) {
        unchanged.push(document.name);
        continue;
      }
      const version = changed ? (head?.version ?? 0) + 1 : head.version;
      candidates.push({
        name: document.name,
        spec: document.spec,
        version: { source: 'file', file: document.file, line: document.line, version, changed },
      });
    }
    if (candidates.length > MAX_REPLAYED_AUTOMATIONS)
      throw new IdflowError(
        'INVALID',
        `the file set has ${candidates.length} automations to replay; a replay takes at most ${MAX_REPLAYED_AUTOMATIONS}: name one (automation) or replay fewer files`,
      );
    return { candidates, unchanged };
  }

  private async stored(name: string, version: number | undefined): Promise<Candidate> {
    const { definitions } = this.deps.store;
    const found =
      version === undefined ? await definitions.current('Automation', name) : await definitions.get('Automation', name, version);
    if (!found) {
      const exists = version !== undefined && (await definitions.head('Automation', name)) !== undefined;
      throw new IdflowError('NOT_FOUND', exists ? `automation "${name}" has no version ${version}` : `automation "${name}" does not exist`);
    }
    return { name, spec: storedAutomationSpec(found.spec), version: { source: 'stored', version: found.version } };
  }

  private async replayCandidate(candidate: Candidate, request: ReplayRequest): Promise<ReplayReport> {
    const { name, spec } = candidate;
    const since = request.since ?? DEFAULT_REPLAY_WINDOW;
    const to = new Date().toISOString();
    const from = new Date(Date.parse(to) - (parseDuration(since) as number)).toISOString();
    const window: ReplayWindow = request.events ? { events: new Set(request.events).size } : { since, from, to };
    const report = emptyReport(name, candidate.version, spec.trigger.type, window);
    if (spec.trigger.type === 'schedule') {
      if (request.events)
        throw new IdflowError('INVALID', `automation "${name}" runs on a schedule: replay its ticks with since, not events`);
      await replayTicks(this.deps.store, candidate, { from, to }, report, MAX_REPLAYED_EVENTS);
      return report;
    }
    if (spec.trigger.type === 'manual')
      throw new IdflowError('INVALID', `automation "${name}" runs by hand (trigger manual): no recorded events start it`);
    const pages = request.events ? this.namedEvents(request.events, candidate) : this.eventsInWindow(spec.trigger.type, from, to, report);
    // The index the engine matches with, holding the candidate alone (enabled: a disabled candidate is replayed as if it were on).
    const index = new TriggerIndex([{ name, enabled: true, spec }]);
    for await (const page of pages) await this.replayPage(page, candidate, index, report);
    return report;
  }

  /** The window's events of the type, newest first, a page at a time, stopping at MAX_REPLAYED_EVENTS. */
  private async *eventsInWindow(type: string, from: string, to: string, report: ReplayReport): AsyncGenerator<EventRecord[]> {
    const { events } = this.deps.store;
    let before: EventRecord | undefined;
    for (let read = 0; read < MAX_REPLAYED_EVENTS;) {
      const page = await events.listReceived({ type, from, to, before, limit: Math.min(PAGE_SIZE, MAX_REPLAYED_EVENTS - read) });
      if (page.length === 0) return;
      yield page;
      read += page.length;
      before = page.at(-1);
    }
    const older = await events.listReceived({ type, from, to, before, limit: 1 });
    if (older.length > 0)
      report.truncated = `the replay stopped after the newest ${MAX_REPLAYED_EVENTS} events (back to ${before?.receivedAt}): replay a shorter window for the rest`;
  }

  /** The events named, newest first; each must exist and be of the candidate's trigger type. */
  private async *namedEvents(ids: string[], candidate: Candidate): AsyncGenerator<EventRecord[]> {
    const found = await this.deps.store.events.getMany(ids);
    const byId = new Map(found.map((event) => [event.id, event]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length > 0) throw new IdflowError('NOT_FOUND', `no recorded event ${missing.map((id) => `"${id}"`).join(', ')}`);
    const { type } = candidate.spec.trigger;
    const other = found.find((event) => event.type !== type);
    if (other)
      throw new IdflowError(
        'INVALID',
        `event "${other.id}" is a ${other.type} event: automation "${candidate.name}" is triggered by ${type} events`,
      );
    const newestFirst = found.sort((a, b) =>
      a.receivedAt === b.receivedAt ? b.id.localeCompare(a.id) : b.receivedAt.localeCompare(a.receivedAt),
    );
    for (let from = 0; from < newestFirst.length; from += PAGE_SIZE) yield newestFirst.slice(from, from + PAGE_SIZE);
  }

  private async replayPage(page: EventRecord[], candidate: Candidate, index: TriggerIndex, report: ReplayReport): Promise<void> {
    const { summary } = report;
    const compared: { eventId: string; runId: string }[] = [];
    const noLonger: NoLongerMatched[] = [];
    for (const event of page) {
      const then = thenOf(event, candidate.name);
      // now() in the condition is when the event arrived, as it was when the event was matched: a
      // condition on a date relative to now (a start date within the week) is judged as it was
      // then, not as the days since have made it.
      const [now] = index.match(event.type, event.data, new Date(event.receivedAt));
      summary.seen++;
      if (then.matched) summary.matchedThen++;
      if (now?.matched) summary.matchedNow++;
      if (now?.matched && !then.matched) {
        summary.newlyMatched++;
        const plan = summary.newlyMatched <= MAX_PLANNED_EVENTS ? await this.plan(event, candidate) : {};
        report.newlyMatched.push({ id: event.id, receivedAt: event.receivedAt, then: then.reason, ...plan });
      } else if (then.matched && !now?.matched) {
        summary.noLongerMatched++;
        noLonger.push({
          id: event.id,
          receivedAt: event.receivedAt,
          now: now && !now.matched ? now.reason : 'not matched',
          ...(then.runId !== undefined && { runId: then.runId }),
          ...(then.error !== undefined && { error: then.error }),
        });
      } else if (then.matched && then.runId !== undefined) compared.push({ eventId: event.id, runId: then.runId });
    }
    const runIds = [...compared.map((entry) => entry.runId), ...noLonger.flatMap((entry) => entry.runId ?? [])];
    const runs = new Map((await this.deps.store.runs.getMany(runIds)).map((run) => [run.runId, run]));
    for (const entry of noLonger) {
      const run = entry.runId === undefined ? undefined : runs.get(entry.runId);
      report.noLongerMatched.push(run ? { ...entry, outcome: run.status } : entry);
    }
    for (const { eventId, runId } of compared) {
      const run = runs.get(runId);
      if (run) compareRun(report, candidate.spec, run, { eventId, aliasTrigger: true });
    }
  }

  /** What the planner says the candidate would do with a newly matched event; the planner's failure is that event's alone. */
  private async plan(event: EventRecord, candidate: Candidate): Promise<Pick<NewlyMatched, 'plan' | 'planError'>> {
    const { planEvent } = this.deps;
    if (!planEvent) return {};
    try {
      const automation = { name: candidate.name, version: candidate.version.version, spec: candidate.spec };
      return { plan: await planEvent({ id: event.id, type: event.type, data: event.data }, automation) };
    } catch (error) {
      return { planError: error instanceof Error ? error.message : String(error) };
    }
  }
}
