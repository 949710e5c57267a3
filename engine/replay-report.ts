/**
 * What a replay answers (POST /v1/replay, `idflow replay --json`), and the tallies every kind of
 * replay (events, schedule ticks) keeps in it.
 */
import type { AutomationSpec } from '../definitions/schema.js';
import type { AutomationPlan } from '../core/plan.js';
import type { RunRecord, RunStatus } from '../store/types.js';
import { compareRunInputs, differs, type RunInputComparison } from './replay-inputs.js';

/** The version replayed. A file's says which version it would become if applied. */
export type ReplayCandidate =
  { source: 'stored'; version: number } | { source: 'file'; file: string; line: number; version: number; changed: boolean };

export type ReplayWindow = { since: string; from: string; to: string } | { events: number };

/** For a scheduled automation, "matched" counts the users its forEachUser selected over the ticks. */
export interface ReplaySummary {
  /** Events of the trigger's type in the window (ticks, for a scheduled automation). */
  seen: number;
  matchedThen: number;
  matchedNow: number;
  newlyMatched: number;
  noLongerMatched: number;
  /** Runs matched then and now whose inputs were rendered again. */
  runsCompared: number;
  inputsDiffer: number;
}

export interface NewlyMatched {
  id: string;
  receivedAt: string;
  /** Why it did not match then. */
  then: string;
  /** What the candidate would do (the first MAX_PLANNED_EVENTS, when a planner is wired). */
  plan?: AutomationPlan;
  planError?: string;
}

export interface NoLongerMatched {
  id: string;
  receivedAt: string;
  /** Why the candidate does not match it. */
  now: string;
  runId?: string;
  /** The run's outcome then; absent when its run could not start (`error` says why). */
  outcome?: RunStatus;
  error?: string;
}

export interface RunInputDiff extends RunInputComparison {
  runId: string;
  /** The event the run was for (absent for a schedule's runs). */
  eventId?: string;
  outcome: RunStatus;
}

/** One recorded tick of a scheduled automation; with forEachUser, the users it ran for then and would now. */
export interface TickReplay {
  runId: string;
  scheduledTime: string;
  outcome: RunStatus;
  forEachUser?: {
    then: number;
    now: number;
    newlySelected: string[];
    noLongerSelected: string[];
    /** Users the candidate's CEL could not be evaluated for (skipped, as a tick skips them). */
    evaluationErrors: number;
  };
}

export interface ReplayReport {
  automation: string;
  candidate: ReplayCandidate;
  /** The trigger type replayed (`schedule` for ticks). */
  trigger: string;
  window: ReplayWindow;
  summary: ReplaySummary;
  newlyMatched: NewlyMatched[];
  noLongerMatched: NoLongerMatched[];
  inputsDiffer: RunInputDiff[];
  /** A scheduled automation's recorded ticks, newest first. */
  ticks?: TickReplay[];
  /** Why the replay stopped before the window's oldest event (or tick). */
  truncated?: string;
}

export function emptyReport(automation: string, candidate: ReplayCandidate, trigger: string, window: ReplayWindow): ReplayReport {
  return {
    automation,
    candidate,
    trigger,
    window,
    summary: { seen: 0, matchedThen: 0, matchedNow: 0, newlyMatched: 0, noLongerMatched: 0, runsCompared: 0, inputsDiffer: 0 },
    newlyMatched: [],
    noLongerMatched: [],
    inputsDiffer: [],
  };
}

/** Compares one recorded run with the candidate's steps, keeping it in the report when it would differ. */
export function compareRun(
  report: ReplayReport,
  spec: Pick<AutomationSpec, 'steps'>,
  run: RunRecord,
  options: { eventId?: string; aliasTrigger: boolean },
): void {
  report.summary.runsCompared++;
  const comparison = compareRunInputs(spec, run, options.aliasTrigger);
  if (!differs(comparison)) return;
  report.summary.inputsDiffer++;
  report.inputsDiffer.push({
    runId: run.runId,
    ...(options.eventId !== undefined && { eventId: options.eventId }),
    outcome: run.status,
    ...comparison,
  });
}
