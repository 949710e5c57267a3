/**
 * One person at a time: a workflow per person (`person:<user id>`) starts the runs about that
 * person, in the order their events reached it, as its children. Each run goes when the one
 * before it has ended or reached a waiting step (workflows/follow-facts.ts); different people
 * have different queues, so they never wait for each other. The engine sends each event about
 * the person here (signal-with-start, engine/person-queues.ts); the queue passes it on to its
 * live runs, whose cancelWhen may end their wait. It ends when nothing is queued or live, and the
 * person's next event starts a new one.
 *
 * Children, not runs the engine starts and the queue releases: Temporal tells a parent when its
 * child closes, however it closes (cancelled, terminated, timed out), so no ended run can hold
 * the queue.
 */
import type { JsonObject } from '../core/json.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  defineSignal,
  getExternalWorkflowHandle,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { automationRun, type AutomationRunInput } from './automation-run.js';
import { followsFacts, newerEventSignal, runWaitingSignal } from './follow-facts.js';
import { recorder } from './shared.js';

/** A run of an event about the person, recorded by the engine and started by the queue in its turn. */
export interface QueuedRun {
  runId: string;
  /** The run's input but its trigger: that is the event's data, sent once for all its runs. */
  input: Omit<AutomationRunInput, 'trigger'>;
}

/** An event about the person, with the runs it starts (none when it matched nothing). */
export interface PersonEvent {
  eventId: string;
  data: JsonObject;
  runs: QueuedRun[];
}

export const personEventSignal = defineSignal<[PersonEvent]>('personEvent');
/** Cancels one of the person's runs, queued (it never starts) or started. */
export const cancelPersonRunSignal = defineSignal<[string]>('cancelRun');

export function personQueueId(personId: string): string {
  return `person:${personId}`;
}

export async function personQueue(): Promise<void> {
  const queued: { runId: string; input: AutomationRunInput }[] = [];
  /** Run ids queued in this queue's life: a redelivered event queues nothing twice. */
  const seen = new Set<string>();
  /** Started runs that have not ended, with their inputs. */
  const live = new Map<string, AutomationRunInput>();
  const waiting = new Set<string>();

  setHandler(runWaitingSignal, (runId) => void waiting.add(runId));
  setHandler(cancelPersonRunSignal, async (runId) => {
    const at = queued.findIndex((run) => run.runId === runId);
    if (at >= 0) {
      queued.splice(at, 1);
      await recorder.recordRunFinished(runId, 'cancelled', 'the run was cancelled before its turn');
    } else if (live.has(runId)) {
      await getExternalWorkflowHandle(runId)
        .cancel()
        .catch(() => undefined);
    }
  });
  setHandler(personEventSignal, async (event) => {
    for (const run of event.runs) {
      if (seen.has(run.runId)) continue;
      seen.add(run.runId);
      queued.push({ runId: run.runId, input: { ...run.input, trigger: event.data } });
    }
    const listeners = [...live].filter(([, input]) => followsFacts(input.automation.spec)).map(([runId]) => runId);
    // A run that ended since is no longer there to hear it: nothing to do for it.
    await Promise.all(
      listeners.map((runId) =>
        getExternalWorkflowHandle(runId)
          .signal(newerEventSignal, { eventId: event.eventId, data: event.data })
          .catch(() => undefined),
      ),
    );
  });

  for (;;) {
    await condition(() => queued.length > 0 || live.size === 0);
    const next = queued.shift();
    if (next) {
      await startInTurn(next);
      continue;
    }
    // Idle: end once the handlers are done, unless one of them queued a run meanwhile.
    await condition(allHandlersFinished);
    if (queued.length === 0) return;
  }

  /** Starts the run and waits until it ends or reaches a waiting step. */
  async function startInTurn({ runId, input }: { runId: string; input: AutomationRunInput }): Promise<void> {
    try {
      const child = await startChild(automationRun, {
        workflowId: runId,
        args: [{ ...input, personQueue: workflowInfo().workflowId }],
        // The runs are the person's, not the queue's: a terminated queue leaves them running.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      live.set(runId, input);
      void child
        .result()
        .catch(() => undefined)
        .then(() => {
          live.delete(runId);
          waiting.delete(runId);
        });
    } catch (error) {
      // Started by an earlier queue of the person (a redelivered event): it had its turn.
      if (error instanceof WorkflowExecutionAlreadyStartedError) return;
      throw error;
    }
    await condition(() => !live.has(runId) || waiting.has(runId));
  }
}
