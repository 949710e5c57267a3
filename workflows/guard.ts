/**
 * The blast-radius guard inside a run: before its first side effect (the first activity step)
 * the run asks for a slot of its automation's hourly runs, and before each step of a limited type
 * for a slot of that type's effects. Held, it waits durably for an admin's decision (a signal):
 * released, it goes on without further checks (the admin's explicit override); discarded, it ends
 * as cancelled with the reason, nothing after that point done.
 */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { GuardActivities, GuardAnswer } from '../activities/guard-contract.js';
import type { AutomationSpec, StepSpec } from '../definitions/schema.js';
import { stepRegistry } from '../steps/registry.js';
import { recorder } from './shared.js';

export interface GuardDecision {
  action: 'release' | 'discard';
  /** Who decided: the audit's actor. */
  by: string;
}

/** Sent by `idflow guard release|discard` (engine/guard.ts) to a held run. */
export const guardDecisionSignal = defineSignal<[GuardDecision]>('guardDecision');

const guardActivities = proxyActivities<GuardActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

export interface RunGuard {
  /** 'go' when the step may run; 'discarded' when an admin cancelled the held run (recorded already). */
  beforeStep(step: StepSpec): Promise<'go' | 'discarded'>;
}

export function guardRun(runId: string, automation: { name: string; spec: AutomationSpec }): RunGuard {
  let decision: GuardDecision | undefined;
  setHandler(guardDecisionSignal, (signalled) => {
    decision ??= signalled;
  });
  let admittedRun: GuardAnswer | undefined;
  let released = false;
  const request = { runId, automation: automation.name, triggerType: automation.spec.trigger.type, guard: automation.spec.guard };

  const settle = async (answer: GuardAnswer): Promise<'go' | 'discarded'> => {
    if (answer.admitted) return 'go';
    await condition(() => decision !== undefined);
    if (decision?.action === 'release') {
      released = true;
      return 'go';
    }
    await recorder.recordRunFinished(runId, 'cancelled', `discarded by ${decision?.by} while held by the guard: ${answer.reason}`);
    return 'discarded';
  };

  return {
    async beforeStep(step) {
      if (released || stepRegistry.get(step.type)?.runsIn !== 'activity') return 'go';
      if (!admittedRun) {
        admittedRun = await guardActivities.guardAdmitRun(request);
        if ((await settle(admittedRun)) === 'discarded') return 'discarded';
        if (released) return 'go';
      }
      if (!admittedRun.limitedStepTypes.includes(step.type)) return 'go';
      return settle(await guardActivities.guardAdmitStep({ ...request, stepName: step.name, stepType: step.type }));
    },
  };
}
