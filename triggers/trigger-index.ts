/**
 * Which automations an event starts. Conditions are compiled once per automation version and
 * automations are indexed by trigger type, so matching an event costs one map lookup, one
 * aliased view of its data (when a candidate has a condition) and one evaluation per candidate.
 * One automation's trouble (a stored condition that no longer compiles, one that throws) is its
 * own outcome: it never stops the matching of the others.
 */
import { compileCondition, evaluateCondition, type CompiledExpression } from '../cel/index.js';
import type { AutomationSpec } from '../definitions/schema.js';
import type { JsonObject } from '../steps/types.js';
import { triggerVariables } from './events.js';

export interface IndexedAutomation {
  name: string;
  version: number;
  enabled: boolean;
  spec: AutomationSpec;
}

interface Candidate {
  automation: IndexedAutomation;
  condition?: CompiledExpression;
  /** Why the stored condition does not compile (a spec stored by an older idflow). */
  compileError?: string;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function candidate(automation: IndexedAutomation, condition: string | undefined): Candidate {
  if (condition === undefined) return { automation };
  try {
    return { automation, condition: compileCondition(condition) };
  } catch (error) {
    return { automation, compileError: messageOf(error) };
  }
}

export type MatchOutcome =
  | { automation: IndexedAutomation; matched: true }
  | { automation: IndexedAutomation; matched: false; reason: string };

export class TriggerIndex {
  private readonly byType = new Map<string, Candidate[]>();

  constructor(automations: Iterable<IndexedAutomation>) {
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
  match(eventType: string, data: JsonObject, now: Date): MatchOutcome[] {
    const candidates = this.byType.get(eventType) ?? [];
    let vars: ReturnType<typeof triggerVariables> | undefined;
    return candidates.map(({ automation, condition, compileError }): MatchOutcome => {
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
