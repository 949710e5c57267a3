/**
 * Which automations an event starts. Conditions are compiled once per automation version and
 * automations are indexed by trigger type, so matching an event costs one map lookup, one
 * aliased view of its data (when a candidate has a condition) and one evaluation per candidate.
 * One automation's trouble (a stored condition that no longer compiles, one that throws) is its
 * own outcome: it never stops the matching of the others.
 */
import type { JsonObject } from '../core/json.js';
import { compileCondition, evaluateCondition, type CompiledExpression } from '../cel/index.js';
import type { TriggerSpec } from './schema.js';
import { triggerVariables } from './events.js';

/** What the index needs of an automation; the caller's own record (with its steps) comes back in the outcomes. */
export interface IndexedAutomation {
  name: string;
  enabled: boolean;
  spec: { trigger: TriggerSpec };
}

interface Candidate<A extends IndexedAutomation> {
  automation: A;
  condition?: CompiledExpression;
  /** Why the stored condition does not compile (a spec stored by an older idflow). */
  compileError?: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function candidate<A extends IndexedAutomation>(automation: A, condition: string | undefined): Candidate<A> {
  if (condition === undefined) return { automation };
  try {
    return { automation, condition: compileCondition(condition) };
  } catch (error) {
    return { automation, compileError: messageOf(error) };
  }
}

export type MatchOutcome<A extends IndexedAutomation = IndexedAutomation> =
  { automation: A; matched: true } | { automation: A; matched: false; reason: string };

export class TriggerIndex<A extends IndexedAutomation = IndexedAutomation> {
  private readonly byType = new Map<string, Candidate<A>[]>();

  constructor(automations: Iterable<A>) {
    for (const automation of automations) {
      if (!automation.enabled) continue;
      const { trigger } = automation.spec;
      if (trigger.type === 'schedule') continue; // started by its Temporal Schedule, not by events
      const candidates = this.byType.get(trigger.type) ?? [];
      candidates.push(candidate(automation, trigger.condition));
      this.byType.set(trigger.type, candidates);
    }
  }

  /**
   * Every enabled automation triggered by this event type, with whether its condition holds
   * for the event's `data` (as sent: the aliases CEL sees are built here). A condition that fails
   * to compile or evaluate (missing field, wrong type) is "not matched" with the reason: it never
   * throws.
   */
  match(eventType: string, data: JsonObject, now: Date): MatchOutcome<A>[] {
    const candidates = this.byType.get(eventType) ?? [];
    let vars: ReturnType<typeof triggerVariables> | undefined;
    return candidates.map(({ automation, condition, compileError }): MatchOutcome<A> => {
      if (compileError !== undefined) return { automation, matched: false, reason: `condition error: ${compileError}` };
      if (!condition) return { automation, matched: true };
      try {
        vars ??= triggerVariables(data);
        return evaluateCondition(condition, vars, { now })
          ? { automation, matched: true }
          : { automation, matched: false, reason: 'condition is false' };
      } catch (error) {
        return { automation, matched: false, reason: `condition error: ${messageOf(error)}` };
      }
    });
  }
}
