/**
 * A plan's summary: what it counts and the one line that ends `idflow plan`'s tree. Counts every
 * matched automation, a `run_automation`'s nested plan included, with its steps and their effects.
 */
import type { AutomationPlan, Plan, PlanEffect, PlanSummary } from '../core/plan.js';

type EffectKind = PlanEffect['kind'];
type EffectOf<K extends EffectKind> = Extract<PlanEffect, { kind: K }>;

/** How the line words some effects of one kind: those `when` accepts (all when absent). */
interface Words<E extends PlanEffect> {
  when?: (effect: E) => boolean;
  sign?: '+' | '−';
  one: string;
  many: string;
}

/**
 * The words of the one-line text, in its order. An effect takes the first words of its kind that
 * accept it; one that none accepts is left out of the line (a run_automation shows as the
 * automations it runs), though `effects` counts it.
 */
const WORDS: { [K in EffectKind]: Words<EffectOf<K>>[] } = {
  grant: [{ sign: '+', one: 'grant', many: 'grants' }],
  revoke: [{ sign: '−', one: 'grant', many: 'grants' }],
  status: [
    { when: (effect) => effect.to === 'DISABLED', one: 'user disabled', many: 'users disabled' },
    { when: (effect) => effect.to === 'ENABLED', one: 'user enabled', many: 'users enabled' },
    { one: 'status change', many: 'status changes' },
  ],
  account: [{ one: 'account', many: 'accounts' }],
  account_status: [{ one: 'account status change', many: 'account status changes' }],
  delegate: [{ one: 'delegate change', many: 'delegate changes' }],
  access_profiles: [{ one: 'access profile removal', many: 'access profile removals' }],
  tasks: [{ one: 'task action', many: 'task actions' }],
  campaign: [{ one: 'campaign', many: 'campaigns' }],
  provision: [{ one: 'app request', many: 'app requests' }],
  connector_action: [{ one: 'connector action', many: 'connector actions' }],
  reconcile: [{ one: 'reconciliation', many: 'reconciliations' }],
  email: [{ one: 'email', many: 'emails' }],
  slack: [{ one: 'Slack message', many: 'Slack messages' }],
  webhook: [{ one: 'webhook', many: 'webhooks' }],
  function: [
    { when: (effect) => effect.ran, one: 'function run', many: 'functions run' },
    { one: 'function not run', many: 'functions not run' },
  ],
  wait: [{ one: 'wait', many: 'waits' }],
  approval: [{ one: 'approval request', many: 'approval requests' }],
  run_automation: [{ when: (effect) => effect.stopped !== undefined, one: 'chained run stopped', many: 'chained runs stopped' }],
};

/** "1 grant", "2 grants". */
export const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

const isKind =
  <K extends EffectKind>(kind: K) =>
  (effect: PlanEffect): effect is EffectOf<K> =>
    effect.kind === kind;

/** The phrases of the effects of one kind, in WORDS' order ("+5 grants"). */
function phrasesOf<K extends EffectKind>(kind: K, effects: PlanEffect[]): string[] {
  const words: Words<EffectOf<K>>[] = WORDS[kind];
  const tally = words.map(() => 0);
  for (const effect of effects.filter(isKind(kind))) {
    const index = words.findIndex((word) => word.when === undefined || word.when(effect));
    if (index >= 0) tally[index] += 1;
  }
  return words.flatMap((word, index) => (tally[index] === 0 ? [] : [`${word.sign ?? ''}${plural(tally[index], word.one, word.many)}`]));
}

/** Every matched automation of `automations`, then the matched automations their run_automation steps would run. */
function* matchedAutomations(automations: AutomationPlan[]): Generator<AutomationPlan> {
  for (const automation of automations) {
    if (!automation.matched) continue;
    yield automation;
    for (const step of automation.steps) {
      for (const effect of step.effects) if (effect.kind === 'run_automation' && effect.plan) yield* matchedAutomations([effect.plan]);
    }
  }
}

/** The summary of `plan`; `truncated` says what a plan that stopped early left out. */
export function summarize(plan: Omit<Plan, 'summary'>, truncated?: string): PlanSummary {
  const automations = plan.events.flatMap((event) => [...matchedAutomations(event.automations)]);
  const steps = automations.flatMap((automation) => automation.steps);
  const effects = steps.flatMap((step) => step.effects);
  const byKind: Record<string, number> = {};
  for (const effect of effects) byKind[effect.kind] = (byKind[effect.kind] ?? 0) + 1;
  const summary = {
    automations: automations.length,
    steps: steps.length,
    effects: byKind,
    usersCreated: plan.directory?.created.length ?? 0,
    usersUpdated: plan.directory?.updated.length ?? 0,
    usersDeactivated: plan.directory?.deactivated.length ?? 0,
    unknownSteps: steps.filter((step) => step.unknown).length,
    failingSteps: steps.filter((step) => step.error !== undefined).length,
  };

  const people = [
    ...(summary.usersCreated > 0 ? [`+${plural(summary.usersCreated, 'person', 'people')}`] : []),
    ...(summary.usersUpdated > 0 ? [`${summary.usersUpdated} updated`] : []),
    ...(summary.usersDeactivated > 0 ? [`${summary.usersDeactivated} deactivated`] : []),
    ...(plan.directory && plan.directory.errors.length > 0 ? [plural(plan.directory.errors.length, 'row refused', 'rows refused')] : []),
  ];
  const outcomes = [
    ...(Object.keys(WORDS) as EffectKind[]).flatMap((kind) => phrasesOf(kind, effects)),
    ...(summary.unknownSteps > 0 ? [`${summary.unknownSteps} unknown`] : []),
    ...(summary.failingSteps > 0 ? [`${summary.failingSteps} would fail`] : []),
  ];
  const run = `${plural(summary.automations, 'automation', 'automations')}, ${plural(summary.steps, 'step', 'steps')}`;
  // "no changes" only when nothing changes at all: an import's people are changes too.
  const outcome = outcomes.length > 0 ? `: ${outcomes.join(', ')}` : people.length > 0 ? '' : ': no changes';
  const text = [...(people.length > 0 ? [people.join(', ')] : []), `${run}${outcome}`].join('; ');
  return {
    ...summary,
    ...(truncated !== undefined && { truncated }),
    text: truncated === undefined ? text : `${text}; stopped early: ${truncated}`,
  };
}
