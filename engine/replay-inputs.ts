/**
 * What a candidate version's steps would be given in a recorded run: each step's `with` rendered
 * again as the interpreter renders it (steps/render.ts), against the run's recorded trigger and
 * the recorded outputs of the steps before it, at the moment the recorded step started, and
 * compared field by field with the input the run recorded.
 */
import { differingPaths, type JsonObject, type JsonPath, type JsonValue } from '../core/json.js';
import { formatPath } from '../definitions/load.js';
import type { AutomationSpec } from '../definitions/schema.js';
import { stepRegistry } from '../steps/registry.js';
import { renderStepInput } from '../steps/render.js';
import type { RunRecord } from '../store/types.js';
import { triggerContext } from '../triggers/events.js';

/** One field of a step's input that would differ: `then` as recorded, `now` as the candidate renders it (absent: no such field). */
export interface InputChange {
  /** `<step>.with.<path>`, e.g. `notify.with.subject`; `<step>.type` when the step's type changed. */
  field: string;
  then?: JsonValue;
  now?: JsonValue;
}

export interface RunInputComparison {
  changes: InputChange[];
  /** Steps of the candidate the run did not have. */
  added: string[];
  /** Steps of the run the candidate no longer has. */
  removed: string[];
  /** Steps whose input the candidate cannot render against the recorded run (a field that is not there, the output of an added step): why. */
  unrendered: { step: string; error: string }[];
}

function valueAt(value: JsonValue | undefined, path: JsonPath): JsonValue | undefined {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) ? current[key as number] : current[key as string];
  }
  return current;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Compares the candidate's steps with a recorded run. `aliasTrigger` says how the run saw its
 * trigger (as the workflow input's flag): event and per-user runs with triggerContext's aliases,
 * schedule ticks as recorded. Steps the run never started (it failed or was cancelled before)
 * are not compared.
 */
export function compareRunInputs(spec: Pick<AutomationSpec, 'steps'>, run: RunRecord, aliasTrigger: boolean): RunInputComparison {
  const recorded = new Map(run.steps.map((step) => [step.name, step]));
  const trigger = run.trigger as JsonObject;
  const ctx: JsonObject = { trigger: aliasTrigger ? triggerContext(trigger) : trigger };
  const comparison: RunInputComparison = { changes: [], added: [], removed: [], unrendered: [] };
  for (const step of spec.steps) {
    const then = recorded.get(step.name);
    if (!then) {
      comparison.added.push(step.name);
      continue;
    }
    if (then.type !== step.type) comparison.changes.push({ field: `${step.name}.type`, then: then.type, now: step.type });
    if (then.input !== undefined && then.startedAt !== undefined) {
      // A step type this idflow no longer knows fails before rendering in the interpreter; render it plainly here.
      const stepType = stepRegistry.get(step.type) ?? {};
      try {
        const now = renderStepInput(step.with as JsonObject, ctx, stepType, new Date(then.startedAt));
        for (const path of differingPaths(then.input, now))
          comparison.changes.push({
            field: formatPath([step.name, 'with', ...path]),
            then: valueAt(then.input, path),
            now: valueAt(now, path),
          });
      } catch (error) {
        comparison.unrendered.push({ step: step.name, error: messageOf(error) });
      }
    }
    // Later steps see this one's recorded output, as they did in the run.
    if (then.output !== undefined) ctx[step.name] = then.output;
  }
  const names = new Set(spec.steps.map((step) => step.name));
  comparison.removed = run.steps.filter((step) => !names.has(step.name)).map((step) => step.name);
  return comparison;
}

/** Whether the candidate would run differently: a field, a step added or removed, or a step it cannot render. */
export function differs(comparison: RunInputComparison): boolean {
  return comparison.changes.length + comparison.added.length + comparison.removed.length + comparison.unrendered.length > 0;
}
