/**
 * Which automations an event starts. Conditions are compiled once per automation version and
 * automations are indexed by trigger type, so matching an event costs one map lookup plus one
 * evaluation per candidate.
 */
import { compileCondition, evaluateCondition, type CompiledExpression } from '../cel/index.js';
import type { AutomationSpec } from '../definitions/schema.js';
import type { JsonObject } from '../steps/types.js';
import { subjectOf } from './events.js';

export interface IndexedAutomation {
  name: string;
  version: number;
  enabled: boolean;
  spec: AutomationSpec;
}

interface Candidate {
  automation: IndexedAutomation;
  condition?: CompiledExpression;
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
      candidates.push({ automation, condition: trigger.condition === undefined ? undefined : compileCondition(trigger.condition) });
      this.byType.set(trigger.type, candidates);
    }
  }

  /**
   * Every enabled automation triggered by this event type, with whether its condition holds.
   * A condition that fails to evaluate (missing field, wrong type) is "not matched" with the
   * reason: it never throws.
   */
  match(eventType: string, trigger: JsonObject, now: Date): MatchOutcome[] {
    const candidates = this.byType.get(eventType) ?? [];
    const vars = { ctx: { trigger }, subject: subjectOf(trigger) };
    return candidates.map(({ automation, condition }): MatchOutcome => {
      if (!condition) return { automation, matched: true };
      try {
        return evaluateCondition(condition, vars, { now })
          ? { automation, matched: true }
          : { automation, matched: false, reason: 'condition is false' };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { automation, matched: false, reason: `condition error: ${message}` };
      }
    });
  }
}
