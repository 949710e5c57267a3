/**
 * Plans: what an event, a manual run or an HR import would do, computed by the planner (plan/)
 * against a copy-on-write view of the directory. Nothing is started or written but one audit
 * entry per plan ("planned by <actor>").
 */
import { IdflowError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { Plan } from '../core/plan.js';
import type { AutomationSpec } from '../definitions/schema.js';
import type { Feed } from '../directory/import.js';
import type { FunctionService } from '../functions/service.js';
import type { AdapterContext } from '../integrations/types.js';
import { Planner, type PlannableAutomation } from '../plan/planner.js';
import type { Store } from '../store/types.js';
import type { TriggerIndex } from '../triggers/trigger-index.js';
import { parseEventInput } from './event-input.js';

export interface PlanServiceDependencies {
  store: Store;
  triggerIndex(): Promise<TriggerIndex<PlannableAutomation>>;
  /** The automation's current version; NOT_FOUND when there is none. */
  currentAutomation(name: string): Promise<PlannableAutomation>;
  functions: FunctionService;
  adapters: AdapterContext;
}

/** Who asks, and whether they may see what functions return (planSafe functions run only for them). */
export interface PlanAsker {
  actor: string;
  runFunctions: boolean;
  /** May read webhooks' definitions (definitions:read): their URLs are shown whole. */
  webhookUrls: boolean;
}

export class PlanService {
  constructor(private readonly deps: PlanServiceDependencies) {}

  private planner(asker: PlanAsker): Planner {
    const { store, functions, adapters } = this.deps;
    return new Planner({
      directory: store.directory,
      match: async (type, data, now) => (await this.deps.triggerIndex()).match(type, data, now),
      automation: async (name) => ((await store.definitions.current('Automation', name)) ? this.deps.currentAutomation(name) : undefined),
      functions,
      runFunctions: asker.runFunctions,
      webhookUrls: asker.webhookUrls,
      adapters,
    });
  }

  private async audited(asker: PlanAsker, target: string, details: JsonObject, plan: Plan): Promise<Plan> {
    await this.deps.store.audit.record({
      actor: asker.actor,
      action: 'plan',
      target,
      details: { ...details, planned: plan.summary.text },
    });
    return plan;
  }

  /** What the event would do if it were sent now. */
  async event(input: unknown, asker: PlanAsker): Promise<Plan> {
    const event = parseEventInput(input);
    if (event.id !== undefined && (await this.deps.store.events.get(event.id)))
      throw new IdflowError(
        'CONFLICT',
        `event "${event.id}" was received already: sending it again starts nothing (its runs: idflow events show ${event.id}); plan it without --id`,
      );
    const plan = await this.planner(asker).planEvents([
      { ...(event.id !== undefined && { id: event.id }), type: event.type, data: event.data },
    ]);
    return this.audited(asker, `Event/${event.type}`, { ...(event.id !== undefined && { id: event.id }) }, plan);
  }

  /** What a manual run of the automation with this context would do. */
  async run(automationName: string, context: JsonObject, asker: PlanAsker): Promise<Plan> {
    const automation = await this.deps.currentAutomation(automationName);
    if (!automation.enabled) throw new IdflowError('DISABLED', `automation "${automationName}" is disabled: a manual run would not start`);
    const plan = await this.planner(asker).planRun(automation, context);
    return this.audited(asker, `Automation/${automationName}`, { version: automation.version }, plan);
  }

  /** What importing the feed would change, and what those changes would start. */
  async import(feed: Feed, options: { source: string; full: boolean }, asker: PlanAsker): Promise<Plan> {
    const plan = await this.planner(asker).planImport(feed, options);
    return this.audited(asker, `Directory/import/${options.source}`, { file: feed.file, full: options.full }, plan);
  }

  /** One run of a candidate automation (a version not in force, for replays) for a recorded event. */
  async candidate(
    event: { id: string; type: string; data: JsonObject },
    automation: { name: string; version: number; spec: AutomationSpec },
    asker: PlanAsker,
  ) {
    return this.planner(asker).planCandidate(event, { ...automation, enabled: true });
  }
}
