/**
 * Signatures of the guard's activities (workflows/guard.ts calls them). Types only: workflow code
 * imports this file; activities/guard.ts implements it.
 */
import type { GuardSpec } from '../definitions/guard.js';

export interface GuardRunRequest {
  runId: string;
  automation: string;
  /** The automation's trigger type: leaver automations (user.deactivated) have a default of their own. */
  triggerType: string;
  guard?: GuardSpec;
}

export interface GuardStepRequest extends GuardRunRequest {
  stepName: string;
  stepType: string;
}

export interface GuardAnswer {
  /** false: the run is held (recorded, its automation tripped, the admins told) until an admin decides. */
  admitted: boolean;
  /** Why it is held. */
  reason?: string;
  /** The step types whose effects are limited for this automation: the workflow asks before each of their steps. */
  limitedStepTypes: string[];
}

export interface GuardActivities {
  /** Before a run's first side effect: takes a slot of maxRunsPerHour, or holds the run. */
  guardAdmitRun(request: GuardRunRequest): Promise<GuardAnswer>;
  /** Before a step of a limited type: takes a slot of its maxStepEffectsPerHour, or holds the run. */
  guardAdmitStep(request: GuardStepRequest): Promise<GuardAnswer>;
}
