/**
 * A run's side of its person's queue (workflows/person-queue.ts). A run the queue started tells
 * the queue when it reaches a waiting step, so the person's next run may go, and hears the
 * person's newer events there: one its automation's `cancelWhen` is true of cancels the wait, and
 * nothing after it happens; one its `rescheduleWhen` is true of renders a `wait` again from the
 * newer facts (the wait restarts toward its new end).
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
 * cancelWhen is heard there.
 */
export const WAITING_STEP_TYPES: ReadonlySet<string> = new Set(['wait', 'request_approval']);
/** Waiting steps whose end is data (`until`), which rescheduleWhen renders again; an approval's end is people. */
const RESCHEDULABLE_STEP_TYPES: ReadonlySet<string> = new Set(['wait']);

/** Whether runs of the automation listen to their person's newer events. */
export function followsFacts(spec: { cancelWhen?: string; rescheduleWhen?: string }): boolean {
  return spec.cancelWhen !== undefined || spec.rescheduleWhen !== undefined;
}

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
  /** The automation's rescheduleWhen, when it has one. */
  rescheduleWhen?: string;
  /** The run's own ctx.trigger: ctx.run for cancelWhen and rescheduleWhen. */
  runTrigger: JsonObject;
}

/** What a newer event does to a waiting step: nothing (undefined), cancel it, or render it again. */
type Verdict = { cancel: string } | { reschedule: NewerEvent };

export class FactsFollower {
  readonly #options: FollowOptions;
  readonly #cancelWhen: CompiledExpression | undefined;
  readonly #rescheduleWhen: CompiledExpression | undefined;
  /** Events heard since a waiting step last looked at them. */
  readonly #unheard: NewerEvent[] = [];
  #onEvent: (() => void) | undefined;

  constructor(options: FollowOptions) {
    this.#options = options;
    this.#cancelWhen = options.cancelWhen === undefined ? undefined : compileCondition(options.cancelWhen);
    this.#rescheduleWhen = options.rescheduleWhen === undefined ? undefined : compileCondition(options.rescheduleWhen);
    setHandler(newerEventSignal, (event) => {
      // A redelivery of the run's own event is not newer.
      if (event.eventId === options.eventId) return;
      this.#unheard.push(event);
      this.#onEvent?.();
    });
  }

  /**
   * Runs a step with `input`. A waiting step first frees the person's queue; events that came
   * since the last wait, and those that come during it, are heard in order: the first one
   * cancelWhen is true of cancels the wait with CancelledByEvent; one rescheduleWhen is true of
   * has `rerender` make the step's input again from it (undefined: it cannot, and the wait goes on
   * as it was), and the step runs again with it.
   */
  async step<I, T>(
    stepType: string,
    input: I,
    run: (input: I) => Promise<T>,
    rerender: (event: NewerEvent) => Promise<I | undefined>,
  ): Promise<T> {
    if (!WAITING_STEP_TYPES.has(stepType)) return run(input);
    // The queue's run ends only with its runs (they are its children): a failed signal means it was terminated, and nobody waits.
    await getExternalWorkflowHandle(this.#options.queue)
      .signal(runWaitingSignal, this.#options.runId)
      .catch(() => undefined);
    const reschedulable = RESCHEDULABLE_STEP_TYPES.has(stepType);
    let current = input;
    for (;;) {
      let verdict = this.#hear(reschedulable);
      if (verdict === undefined) {
        const scope = new CancellationScope();
        this.#onEvent = () => {
          verdict ??= this.#hear(reschedulable);
          if (verdict !== undefined) scope.cancel();
        };
        try {
          return await scope.run(() => run(current));
        } catch (error) {
          if (verdict === undefined || !isCancellation(error)) throw error;
        } finally {
          this.#onEvent = undefined;
        }
      }
      if ('cancel' in verdict) throw new CancelledByEvent(verdict.cancel);
      current = (await rerender(verdict.reschedule)) ?? current;
    }
  }

  /** What the first unheard event that does something does; each event is heard once, in order. */
  #hear(reschedulable: boolean): Verdict | undefined {
    for (let event = this.#unheard.shift(); event !== undefined; event = this.#unheard.shift()) {
      const ctx = { trigger: triggerContext(event.data), run: this.#options.runTrigger };
      if (holds(this.#cancelWhen, ctx)) {
        return { cancel: `cancelled by event "${event.eventId}": cancelWhen (${this.#cancelWhen?.expression}) is true` };
      }
      if (reschedulable && holds(this.#rescheduleWhen, ctx)) return { reschedule: event };
    }
    return undefined;
  }
}

/** Like a trigger condition: an event an expression cannot be evaluated on (a field it lacks) is not a match. */
function holds(expression: CompiledExpression | undefined, ctx: JsonObject): boolean {
  if (expression === undefined) return false;
  try {
    return evaluateCondition(expression, { ctx }, { now: new Date() });
  } catch {
    return false;
  }
}
