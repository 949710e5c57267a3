/**
 * A scheduled tick with `forEachUser`: selects the matching directory users a page at a time (an
 * activity evaluates the CEL), runs the automation once per user as a child `automationRun`
 * (ctx.trigger.user / subject = that user) with at most `forEachUserConcurrency` in flight, and
 * continues as new after every page so 10,000 users never make one huge history.
 *
 * The tick is one run record (step "for_each_user" holds the tally); each user's run is its own
 * record with this run as parent. A user's failed run does not stop the others: the tick ends
 * failed, naming the first users that failed, once every user has had their run.
 */
import type { ScheduleTrigger } from '../triggers/schema.js';
import type { JsonObject } from '../core/json.js';
import { CancellationScope, continueAsNew, executeChild, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { FanOutActivities } from '../activities/contracts.js';
import { DEFAULT_FAN_OUT_CONCURRENCY } from '../triggers/fan-out.js';
import { perUserData } from '../triggers/events.js';
import { automationRun, type AutomationRunInput } from './automation-run.js';
import { SCHEDULED_START, failureMessage, recorder } from './shared.js';

/** Matches started per page; a page's history is a few events per user, then continue-as-new. */
export const FAN_OUT_PAGE_SIZE = 250;
/** The pseudo step that carries the tick's tally in the run record. */
export const FAN_OUT_STEP = 'for_each_user';
/** Users named in the summary when their runs failed or their CEL could not be evaluated. */
const MAX_LISTED = 20;

export interface FanOutProgress {
  /** The tick's ctx.trigger (schedule, scheduledTime), the same for every page. */
  tick: JsonObject;
  afterId?: string;
  pages: number;
  scanned: number;
  matched: number;
  completed: number;
  failed: number;
  failures: { userId: string; runId: string; error: string }[];
  evaluationErrors: number;
  evaluationErrorSamples: { userId: string; message: string }[];
}

export interface ForEachUserInput extends AutomationRunInput {
  /** Carried across continue-as-new; absent on the tick's first page. */
  progress?: FanOutProgress;
}

const fanOut = proxyActivities<FanOutActivities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Runs `run` over `items` with at most `limit` pending at once; `run` must not reject except on cancellation. */
async function withBoundedConcurrency<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  const pending = new Set<Promise<void>>();
  for (const item of items) {
    if (pending.size >= limit) await Promise.race(pending);
    const task: Promise<void> = run(item).finally(() => pending.delete(task));
    pending.add(task);
  }
  await Promise.all(pending);
}

function summary(progress: FanOutProgress): JsonObject {
  const { tick: _tick, afterId: _afterId, ...tally } = progress;
  return tally as unknown as JsonObject;
}

export async function forEachUserRun(input: ForEachUserInput): Promise<JsonObject> {
  const { automation } = input;
  const trigger = automation.spec.trigger as ScheduleTrigger;
  const expression = trigger.forEachUser as string;
  const concurrency = trigger.forEachUserConcurrency ?? DEFAULT_FAN_OUT_CONCURRENCY;
  const runId = workflowInfo().workflowId;

  let progress = input.progress;
  if (!progress) {
    // A start outside a Schedule (tests, replays of old starts) has no tick: use workflow time.
    const scheduledTime = workflowInfo().typedSearchAttributes.get(SCHEDULED_START) ?? new Date();
    const tick: JsonObject = { ...input.trigger, scheduledTime: scheduledTime.toISOString() };
    await recorder.recordRunStarted({
      runId,
      automation: automation.name,
      version: automation.version,
      trigger: { ...tick, forEachUser: expression },
      parentRunId: input.parentRunId,
      steps: [{ name: FAN_OUT_STEP, type: FAN_OUT_STEP }],
    });
    await recorder.recordStepStarted(runId, FAN_OUT_STEP, { forEachUser: expression, concurrency });
    progress = {
      tick,
      pages: 0,
      scanned: 0,
      matched: 0,
      completed: 0,
      failed: 0,
      failures: [],
      evaluationErrors: 0,
      evaluationErrorSamples: [],
    };
  }

  let nextAfterId: string | undefined;
  try {
    const page = await fanOut.selectUsers({ expression, tick: progress.tick, afterId: progress.afterId, limit: FAN_OUT_PAGE_SIZE });
    progress.pages++;
    progress.scanned += page.scanned;
    progress.matched += page.users.length;
    progress.evaluationErrors += page.errorCount;
    progress.evaluationErrorSamples.push(...page.errors.slice(0, MAX_LISTED - progress.evaluationErrorSamples.length));
    const tally = progress;
    await withBoundedConcurrency(page.users, concurrency, async (user) => {
      const userId = String(user.id);
      const childId = `${runId}.${userId}`;
      try {
        await executeChild(automationRun, {
          workflowId: childId,
          args: [
            {
              automation,
              trigger: perUserData(tally.tick, user),
              aliasTrigger: true,
              parentRunId: runId,
              chain: [],
              lastStepCompletesRun: true,
              guarded: true,
            },
          ],
        });
        tally.completed++;
      } catch (error) {
        if (isCancellation(error)) throw error;
        tally.failed++;
        if (tally.failures.length < MAX_LISTED) tally.failures.push({ userId, runId: childId, error: failureMessage(error) });
      }
    });
    nextAfterId = page.nextAfterId;
  } catch (error) {
    // A cancelled tick, or a selection that cannot go on (a CEL that no longer compiles).
    const status = isCancellation(error) ? 'cancelled' : 'failed';
    const message = status === 'cancelled' ? 'the run was cancelled' : `selecting users failed: ${failureMessage(error)}`;
    await CancellationScope.nonCancellable(async () => {
      await recorder.recordStepFinished(runId, FAN_OUT_STEP, { status, error: message });
      await recorder.recordRunFinished(runId, status, message);
    });
    throw error;
  }

  // Every child of this page has finished, so nothing in flight is left behind by the new run.
  if (nextAfterId !== undefined) return continueAsNew<typeof forEachUserRun>({ ...input, progress: { ...progress, afterId: nextAfterId } });

  const output = summary(progress);
  if (progress.failed > 0) {
    const listed = progress.failures
      .map((failure) => failure.userId)
      .sort()
      .join(', ');
    const message = `${progress.failed} of ${progress.matched} users' runs failed (first: ${listed})`;
    await recorder.recordStepFinished(runId, FAN_OUT_STEP, { status: 'failed', error: message });
    await recorder.recordRunFinished(runId, 'failed', message);
    return output;
  }
  await recorder.recordStepFinished(runId, FAN_OUT_STEP, { status: 'completed', output });
  await recorder.recordRunFinished(runId, 'completed');
  return output;
}
