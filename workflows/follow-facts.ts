/**
 * A run's side of its person's queue (workflows/person-queue.ts). A run the queue started tells
 * the queue when it reaches a waiting step, so the person's next run may go, and hears the
 * person's newer events there: one its automation's `cancelWhen` is true of cancels the wait, and
 * nothing after it happens.
 *
 * Workflow code: deterministic, CEL evaluated on workflow time.
 */
import type { JsonObject } from '../core/json.js';
import {
  CancellationScope,
  CancelledFailure,
  defineSignal,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
} from '@temporalio/workflow';
import { compileCondition, evaluateCondition, type CompiledExpression } from '../cel/index.js';
import { triggerContext } from '../triggers/events.js';

/** A lifecycle event about the person, newer than the run that hears it. */
export interface NewerEvent {
  eventId: string;
  /** The event's data as sent; ctx.trigger (with its aliases) is built where cancelWhen evaluates. */
  data: JsonObject;
}

export const newerEventSignal = defineSignal<[NewerEvent]>('newerEvent');
/** Sent by a run to its queue, with its run id, when it starts a waiting step. */
export const runWaitingSignal = defineSignal<[string]>('runWaiting');

/**
 * Step types that wait for time or people: a run in one no longer holds its person's queue, and
 * cancelWhen is heard there. A step type that waits (an approval) joins this set.
 */
export const WAITING_STEP_TYPES: ReadonlySet<string> = new Set(['wait']);

/** The run was cancelled at a waiting step by a newer event: the reason goes to the step and run records. */
export class CancelledByEvent extends CancelledFailure {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface FollowOptions {
  /** The workflow id of the person's queue. */
  queue: string;
  runId: string;
  eventId?: string;
  /** The automation's cancelWhen, when it has one. */
  cancelWhen?: string;
  /** The run's own ctx.trigger: ctx.run for cancelWhen. */
  runTrigger: JsonObject;
}

export class FactsFollower {
  readonly #options: FollowOptions;
  readonly #cancelWhen: CompiledExpression | undefined;
  /** Events heard since the last waiting step looked at them. */
  #unheard: NewerEvent[] = [];
  #onEvent: (() => void) | undefined;

  constructor(options: FollowOptions) {
    this.#options = options;
    this.#cancelWhen = options.cancelWhen === undefined ? undefined : compileCondition(options.cancelWhen);
    setHandler(newerEventSignal, (event) => {
      // A redelivery of the run's own event is not newer.
      if (event.eventId === options.eventId) return;
      this.#unheard.push(event);
      this.#onEvent?.();
    });
  }

  /**
   * Runs a step. A waiting step first frees the person's queue; events that came since the last
   * wait, and those that come during it, are checked against cancelWhen, and the first one it is
   * true of cancels the wait with CancelledByEvent.
   */
  async step<T>(stepType: string, run: () => Promise<T>): Promise<T> {
    if (!WAITING_STEP_TYPES.has(stepType)) return run();
    // The queue's run ends only with its runs (they are its children): a failed signal means it was terminated, and nobody waits.
    await getExternalWorkflowHandle(this.#options.queue)
      .signal(runWaitingSignal, this.#options.runId)
      .catch(() => undefined);
    let reason = this.#cancelReason();
    if (reason !== undefined) throw new CancelledByEvent(reason);
    const scope = new CancellationScope();
    this.#onEvent = () => {
      reason ??= this.#cancelReason();
      if (reason !== undefined) scope.cancel();
    };
    try {
      return await scope.run(run);
    } catch (error) {
      if (reason !== undefined && isCancellation(error)) throw new CancelledByEvent(reason);
      throw error;
    } finally {
      this.#onEvent = undefined;
    }
  }

  /** Why the run is cancelled, from the first unheard event cancelWhen is true of; each event is heard once. */
  #cancelReason(): string | undefined {
    const events = this.#unheard.splice(0);
    const cancelWhen = this.#cancelWhen;
    if (!cancelWhen) return undefined;
    for (const event of events) {
      const ctx = { trigger: triggerContext(event.data), run: this.#options.runTrigger };
      let matched = false;
      try {
        matched = evaluateCondition(cancelWhen, { ctx }, { now: new Date() });
      } catch {
        // Like a trigger condition: an event it cannot be evaluated on (a field it lacks) is not a match.
      }
      if (matched) return `cancelled by event "${event.eventId}": cancelWhen (${cancelWhen.expression}) is true`;
    }
    return undefined;
  }
}
