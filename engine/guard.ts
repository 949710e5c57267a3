/**
 * What admins do about the blast-radius guard: see tripped automations and held runs (with the
 * plan of one), and let held runs go on or cancel them. Decisions reach each held run's workflow
 * as a signal (workflows/guard.ts) and are then recorded, so a decision interrupted half-way is
 * finished by giving it again.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { IdflowError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import { storedAutomationSpec } from '../definitions/schema.js';
import type { Plan } from '../core/plan.js';
import { summarize } from '../plan/summary.js';
import type { GuardHold, GuardTrip } from '../store/guard-types.js';
import type { Store } from '../store/types.js';
import { guardDecisionSignal, type GuardDecision } from '../workflows/guard.js';
import type { PlanAsker, PlanService } from './plans.js';

/** Held runs listed at most per status answer (the trip says how many there are). */
export const MAX_LISTED_HOLDS = 1000;
/** Signals in flight at once while deciding on many held runs. */
const SIGNAL_CONCURRENCY = 16;

export interface GuardStatus {
  trips: (GuardTrip & { held: number })[];
  /** Held runs, oldest first, at most `limit`. */
  held: GuardHold[];
}

export interface GuardDecisionResult {
  automation: string;
  decision: 'released' | 'discarded';
  runIds: string[];
}

export class GuardService {
  constructor(private readonly deps: { store: Store; client: Client; plans: PlanService }) {}

  async status(options: { automation?: string; limit?: number } = {}): Promise<GuardStatus> {
    const { store } = this.deps;
    const trips = (await store.guard.trips()).filter((trip) => options.automation === undefined || trip.automation === options.automation);
    const held = await store.guard.pendingHolds(options.automation);
    return {
      trips: trips.map((trip) => ({ ...trip, held: held.filter((hold) => hold.automation === trip.automation).length })),
      held: held.slice(0, Math.min(options.limit ?? 100, MAX_LISTED_HOLDS)),
    };
  }

  /** What the held run would do if released now: its automation's version run for its recorded event (or context). */
  async plan(runId: string, asker: PlanAsker): Promise<Plan> {
    const { store, plans } = this.deps;
    const hold = await store.guard.pendingHold(runId);
    const run = hold && (await store.runs.get(runId));
    if (!hold || !run) throw new IdflowError('NOT_FOUND', `run "${runId}" is not held by the guard`);
    const version = await store.definitions.get('Automation', run.automation, run.version);
    if (!version) throw new IdflowError('NOT_FOUND', `automation "${run.automation}" has no version ${run.version}`);
    const automation = { name: run.automation, version: run.version, spec: storedAutomationSpec(version.spec) };
    const event = run.eventId === undefined ? undefined : await store.events.get(run.eventId);
    if (event) {
      const planned = { id: event.id, type: event.type, data: event.data };
      const events = [{ event: planned, automations: [await plans.candidate(planned, automation, asker)] }];
      return { summary: summarize({ events }), events };
    }
    return plans.run(run.automation, run.trigger as JsonObject, asker);
  }

  release(automation: string, runIds: readonly string[] | undefined, actor: string): Promise<GuardDecisionResult> {
    return this.decide(automation, runIds, { action: 'release', by: actor });
  }

  discard(automation: string, runIds: readonly string[] | undefined, actor: string): Promise<GuardDecisionResult> {
    return this.decide(automation, runIds, { action: 'discard', by: actor });
  }

  private async decide(automation: string, runIds: readonly string[] | undefined, decision: GuardDecision): Promise<GuardDecisionResult> {
    const { store, client } = this.deps;
    const held = await store.guard.pendingHolds(automation);
    const trip = await store.guard.trip(automation);
    if (held.length === 0 && !trip) throw new IdflowError('NOT_FOUND', `automation "${automation}" is not tripped and has no held runs`);
    let targets = held.map((hold) => hold.runId);
    if (runIds !== undefined) {
      const notHeld = runIds.filter((runId) => !targets.includes(runId));
      if (notHeld.length > 0)
        throw new IdflowError('VALIDATION', `runs: not held runs of automation "${automation}": ${notHeld.slice(0, 10).join(', ')}`);
      targets = [...new Set(runIds)];
    }
    const queue = [...targets];
    const signalNext = async (): Promise<void> => {
      for (let runId = queue.shift(); runId !== undefined; runId = queue.shift()) {
        try {
          await client.workflow.getHandle(runId).signal(guardDecisionSignal, decision);
        } catch (error) {
          // Ended meanwhile (cancelled, terminated): nothing to decide for it any more.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: SIGNAL_CONCURRENCY }, signalNext));
    const outcome = decision.action === 'release' ? 'released' : 'discarded';
    await store.guard.decide(automation, targets, outcome, decision.by);
    await store.audit.record({
      actor: decision.by,
      action: `guard.${decision.action}`,
      target: `Automation/${automation}`,
      details: { runs: targets.length, ...(runIds !== undefined && { runIds: targets.slice(0, 100) }) },
    });
    return { automation, decision: outcome, runIds: targets };
  }
}
