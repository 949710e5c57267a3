/**
 * Replay of a scheduled automation: its recorded ticks in the window. A tick fires whatever the
 * version, so what can change is what it does: without forEachUser, the tick's own step inputs;
 * with it, the users it runs for — THEN the tick's per-user runs, NOW the candidate's CEL over the
 * directory as it is now, `now()` being the tick's scheduled time as in the tick — and the inputs
 * of the runs of users selected both times.
 */
import { createFanOutActivities } from '../activities/fan-out.js';
import type { JsonObject } from '../core/json.js';
import type { AutomationSpec } from '../definitions/schema.js';
import type { RunRecord, Store } from '../store/types.js';
import type { ScheduleTrigger } from '../triggers/schema.js';
import { compareRun, type ReplayReport, type TickReplay } from './replay-report.js';
import { tickWorkflowId } from './schedules.js';

/** Runs read per page, and users selected per call (as a tick selects them, a page at a time). */
const PAGE_SIZE = 500;

interface ScheduledCandidate {
  name: string;
  spec: AutomationSpec;
}

/** The users the candidate's forEachUser selects now for a tick; evaluation errors are counted, as the tick skips them. */
async function selectedNow(store: Store, expression: string, tick: JsonObject): Promise<{ ids: string[]; evaluationErrors: number }> {
  const { selectUsers } = createFanOutActivities(store.directory);
  const ids: string[] = [];
  let evaluationErrors = 0;
  let afterId: string | undefined;
  do {
    const page = await selectUsers({ expression, tick, afterId, limit: PAGE_SIZE });
    ids.push(...page.users.map((user) => String(user.id)));
    evaluationErrors += page.errorCount;
    afterId = page.nextAfterId;
  } while (afterId !== undefined);
  return { ids, evaluationErrors };
}

/**
 * Replays the ticks started from `from` to `to`, newest first, into `report`; stops (saying so)
 * after `limit` ticks or `limit` compared runs.
 */
export async function replayTicks(
  store: Store,
  candidate: ScheduledCandidate,
  window: { from: string; to: string },
  report: ReplayReport,
  limit: number,
): Promise<void> {
  const trigger = candidate.spec.trigger as ScheduleTrigger;
  const ticks: TickReplay[] = (report.ticks = []);
  // Manual runs of the automation are roots too; a tick's id is the schedule's workflow id and its time.
  const tickPrefix = `${tickWorkflowId(candidate.name)}-`;
  let before: RunRecord | undefined;
  for (;;) {
    const page = await store.runs.listRoots({ automation: candidate.name, ...window, before, limit: PAGE_SIZE });
    for (const run of page.filter((root) => root.runId.startsWith(tickPrefix))) {
      if (report.summary.seen >= limit || report.summary.runsCompared >= limit) {
        report.truncated = `the replay stopped after ${report.summary.seen} ticks and ${report.summary.runsCompared} runs (back to ${ticks.at(-1)?.scheduledTime}): replay a shorter window for the rest`;
        return;
      }
      report.summary.seen++;
      const recorded = run.trigger as JsonObject;
      const tick: TickReplay = { runId: run.runId, scheduledTime: String(recorded.scheduledTime ?? run.startedAt), outcome: run.status };
      ticks.push(tick);
      if (trigger.forEachUser === undefined) compareRun(report, candidate.spec, run, { aliasTrigger: false });
      else tick.forEachUser = await replaySelection(store, candidate, trigger.forEachUser, run, tick.scheduledTime, report);
    }
    if (page.length < PAGE_SIZE) return;
    before = page.at(-1);
  }
}

async function replaySelection(
  store: Store,
  candidate: ScheduledCandidate,
  expression: string,
  tickRun: RunRecord,
  scheduledTime: string,
  report: ReplayReport,
): Promise<TickReplay['forEachUser']> {
  // Per-user runs are `<tick run id>.<user id>`.
  const childPrefix = `${tickRun.runId}.`;
  const then = new Map((await store.runs.childIds(tickRun.runId)).map((runId) => [runId.slice(childPrefix.length), runId]));
  const now = await selectedNow(store, expression, { schedule: candidate.name, scheduledTime });
  const selectedNowIds = new Set(now.ids);
  const selection = {
    then: then.size,
    now: now.ids.length,
    newlySelected: now.ids.filter((id) => !then.has(id)),
    noLongerSelected: [...then.keys()].filter((id) => !selectedNowIds.has(id)),
    evaluationErrors: now.evaluationErrors,
  };
  const { summary } = report;
  summary.matchedThen += selection.then;
  summary.matchedNow += selection.now;
  summary.newlyMatched += selection.newlySelected.length;
  summary.noLongerMatched += selection.noLongerSelected.length;
  const both = now.ids.flatMap((id) => then.get(id) ?? []);
  for (let from = 0; from < both.length; from += PAGE_SIZE) {
    for (const run of await store.runs.getMany(both.slice(from, from + PAGE_SIZE)))
      compareRun(report, candidate.spec, run, { aliasTrigger: true });
  }
  return selection;
}
