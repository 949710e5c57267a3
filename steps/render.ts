/**
 * A step's input as a run sees it: its `with` rendered against ctx, `subject` being the user the
 * run is about and markup escaped as the step type declares. The interpreter renders with it just
 * before a step runs; a replay renders recorded runs again with it, so both say the same.
 * Workflow-safe, like the rest of steps/.
 */
import type { JsonObject } from '../core/json.js';
import { compileCondition, evaluateCondition } from '../cel/index.js';
import { renderDeep } from '../cel/template.js';
import { subjectOf } from '../triggers/events.js';
import type { StepType } from './types.js';

/** Throws CelError when a template cannot be rendered (an unknown field, a wrong type). `now` is the time `now()` reads. */
export function renderStepInput(input: JsonObject, ctx: JsonObject, stepType: Pick<StepType, 'escapeFor'>, now: Date): JsonObject {
  return renderDeep(input, { ctx, subject: subjectOf(ctx.trigger as JsonObject) }, { now, escapeFor: stepType.escapeFor }) as JsonObject;
}

/** A step's `if:` over ctx and subject, as the run would evaluate it; throws CelError when it cannot be evaluated. */
export function stepConditionHolds(expression: string, ctx: JsonObject, now: Date): boolean {
  return evaluateCondition(compileCondition(expression), { ctx, subject: subjectOf(ctx.trigger as JsonObject) }, { now });
}

/** A skipped step's output (ctx.<step>), with the condition and its value: later conditions can ask `ctx.x.skipped`. */
export function skippedOutput(expression: string): JsonObject {
  return { skipped: true, if: expression, value: false };
}
