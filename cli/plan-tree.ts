/**
 * `idflow plan`'s readable tree: what a plan would change, in the order it would happen — an
 * import's directory changes, then each event with its automations, their steps and each step's
 * effects, a run_automation's nested plan beneath it — ending with the summary's line. Colors
 * only when asked (the CLI asks on a terminal). Every value is shown with its control characters
 * escaped: a name or a message from an event cannot move the cursor or recolor the terminal.
 */
import { formatDuration } from '../core/duration.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { AutomationPlan, DirectoryPlan, FieldChange, Plan, PlanEffect, PlannedEvent, StepPlan } from '../core/plan.js';
import { plural } from '../plan/summary.js';
import { subjectOf, triggerContext } from '../triggers/events.js';

/** Events, and people of each kind of directory change, listed before "… and N more". */
export const MAX_LISTED = 50;
/** Lines of an email's body or a Slack message shown under it. */
const MAX_BODY_LINES = 5;
/** Characters of a line after its indentation: a payload's JSON, a long subject or value is cut with "…". */
const MAX_LINE = 200;
/** Items of a list inside a line (recipients, tasks, profiles) before "+N more". */
const MAX_ITEMS = 10;

type Style = 'added' | 'removed' | 'changed' | 'unknown' | 'failed' | 'heading' | 'quiet';
const ANSI: Record<Style, string> = { added: '32', removed: '31', changed: '33', unknown: '35', failed: '1;31', heading: '1', quiet: '2' };

// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with unprintable characters written as \uXXXX, cut to `limit` characters. */
function printable(text: string, limit: number): string {
  const escaped = text.replace(UNPRINTABLE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const chars = Array.from(escaped);
  return chars.length <= limit ? escaped : `${chars.slice(0, limit - 1).join('')}…`;
}

/** The tree's lines, each indented by its depth and, with color, painted in its style. */
class Lines {
  readonly lines: string[] = [];
  constructor(private readonly color: boolean) {}

  add(depth: number, text: string, style?: Style, limit = MAX_LINE): void {
    const shown = printable(text, limit);
    if (shown === '') return this.blank();
    this.lines.push(`${'  '.repeat(depth)}${style !== undefined && this.color ? `\u001b[${ANSI[style]}m${shown}\u001b[0m` : shown}`);
  }

  blank(): void {
    this.lines.push('');
  }
}

function list(items: string[]): string {
  const shown = items.slice(0, MAX_ITEMS).join(', ');
  return items.length > MAX_ITEMS ? `${shown}, … +${items.length - MAX_ITEMS} more` : shown;
}

const json = (value: JsonValue): string => JSON.stringify(value);

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const textOf = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** " (Ada Lovelace)" for a user record with a name (its displayName, else its first and last names), else "". */
function nameOf(record: JsonObject): string {
  const name = textOf(record.displayName) ?? [textOf(record.firstName), textOf(record.lastName)].filter(Boolean).join(' ');
  return name === '' ? '' : ` (${name})`;
}

/** "u-ada (Ada Lovelace)" for a user record: its id (or email) and its name. */
const person = (record: JsonObject): string => `${textOf(record.id) ?? textOf(record.email) ?? '?'}${nameOf(record)}`;

/** The event's headline: its type, whom it is about, the entitlement or the app's account it concerns. */
function headline({ event, cause }: PlannedEvent): string {
  const subject = subjectOf(triggerContext(event.data));
  const entitlement = event.data.entitlement;
  const account = event.data.newAccount ?? event.data.oldAccount;
  return [
    event.type,
    ...(isObject(subject) ? [person(subject)] : []),
    ...(isObject(entitlement) && textOf(entitlement.app) && textOf(entitlement.slug) ? [`${entitlement.app}:${entitlement.slug}`] : []),
    ...(isObject(account) && textOf(account.app) ? [`account in ${account.app}`] : []),
    ...(cause?.source === 'step' ? [`← step ${cause.step} of ${cause.automation}`] : []),
  ].join(' ');
}

/** "… and N more events (use --json for all)" when `total` exceeds MAX_LISTED. */
function more(lines: Lines, depth: number, total: number, what: string): void {
  if (total > MAX_LISTED) lines.add(depth, `… and ${total - MAX_LISTED} more ${what} (use --json for all)`, 'quiet');
}

function fieldChanges(lines: Lines, depth: number, changes: FieldChange[]): void {
  for (const change of changes) lines.add(depth, `${change.field}: ${json(change.from)} → ${json(change.to)}`);
}

function directoryLines(lines: Lines, directory: DirectoryPlan): void {
  lines.add(0, 'directory', 'heading');
  for (const created of directory.created.slice(0, MAX_LISTED)) {
    lines.add(1, `+ ${created.id} ${created.email}${nameOf(created.fields)}`, 'added');
  }
  more(lines, 1, directory.created.length, 'people created');
  for (const updated of directory.updated.slice(0, MAX_LISTED)) {
    lines.add(1, `~ ${updated.id}`, 'changed');
    fieldChanges(lines, 2, updated.changes);
  }
  more(lines, 1, directory.updated.length, 'people updated');
  for (const deactivated of directory.deactivated.slice(0, MAX_LISTED)) {
    lines.add(1, `− ${deactivated.id} deactivated: ${deactivated.reason}`, 'removed');
    fieldChanges(lines, 2, deactivated.changes);
  }
  more(lines, 1, directory.deactivated.length, 'people deactivated');
  for (const error of directory.errors.slice(0, MAX_LISTED)) {
    lines.add(1, `✗ line ${error.line}${error.id === undefined ? '' : ` (${error.id})`}: ${error.message}`, 'failed');
  }
  more(lines, 1, directory.errors.length, 'rows refused');
  if (directory.unchanged > 0) lines.add(1, plural(directory.unchanged, 'person unchanged', 'people unchanged'), 'quiet');
}

/** A message's text beneath its line: at most MAX_BODY_LINES lines, "…" when there are more. */
function body(lines: Lines, depth: number, text: string): void {
  const all = text.split(/\r?\n/);
  for (const line of all.slice(0, MAX_BODY_LINES)) lines.add(depth, line, 'quiet');
  if (all.length > MAX_BODY_LINES) lines.add(depth, '…', 'quiet');
}

/** One effect's line, and beneath it what it carries (a body, a payload, a nested plan). */
function effectLines(lines: Lines, depth: number, effect: PlanEffect): void {
  switch (effect.kind) {
    case 'grant':
      return lines.add(
        depth,
        `+ grant ${effect.entitlement} to ${effect.user}${effect.expiresAt ? ` until ${effect.expiresAt}` : ''}`,
        'added',
      );
    case 'revoke':
      return lines.add(depth, `− revoke ${effect.entitlement} from ${effect.user}`, 'removed');
    case 'status': {
      const style = effect.to === 'DISABLED' ? 'removed' : effect.to === 'ENABLED' ? 'added' : 'changed';
      return lines.add(depth, `status ${effect.user} ${effect.from} → ${effect.to}`, style);
    }
    case 'account':
      return lines.add(
        depth,
        `+ account ${effect.username} in ${effect.app} for ${effect.user}${effect.email ? ` <${effect.email}>` : ''}`,
        'added',
      );
    case 'account_status':
      return lines.add(depth, `account of ${effect.user} in ${effect.app}: ${effect.from} → ${effect.to}`, 'changed');
    case 'delegate': {
      const parts = [
        ...(effect.from !== effect.to ? [`delegate of ${effect.user}: ${effect.from ?? 'none'} → ${effect.to ?? 'none'}`] : []),
        ...(effect.removedAsDelegateOf.length > 0 ? [`${effect.user} no longer delegate of ${list(effect.removedAsDelegateOf)}`] : []),
      ];
      return lines.add(depth, parts.join('; ') || `delegate of ${effect.user} unchanged`, 'changed');
    }
    case 'access_profiles':
      return lines.add(depth, `− access profiles of ${effect.user}: ${list(effect.removed)}`, 'removed');
    case 'tasks': {
      const to = effect.to === null ? '' : ` to ${effect.to}`;
      return lines.add(
        depth,
        `tasks of ${effect.user}: ${effect.action} ${plural(effect.tasks.length, 'task', 'tasks')}${to} (${list(effect.tasks)})`,
        'changed',
      );
    }
    case 'campaign': {
      const reviewer = effect.reviewer ?? 'none';
      const items = plural(effect.items.length, 'item', 'items');
      return lines.add(depth, `+ campaign ${effect.template} reviewing ${effect.user}, reviewer ${reviewer}, ${items}`, 'added');
    }
    case 'email': {
      const copies = [
        ...(effect.cc.length > 0 ? [`cc ${list(effect.cc)}`] : []),
        ...(effect.bcc.length > 0 ? [`bcc ${list(effect.bcc)}`] : []),
      ];
      lines.add(depth, `email to ${[list(effect.to), ...copies].join('; ')}: ${json(effect.subject)}`, 'changed');
      return body(lines, depth + 1, effect.text);
    }
    case 'slack': {
      const [first = '', ...rest] = effect.text.split(/\r?\n/);
      lines.add(depth, `slack ${effect.channel}: ${first}`, 'changed');
      return rest.length > 0 ? body(lines, depth + 1, rest.join('\n')) : undefined;
    }
    case 'webhook':
      lines.add(depth, `webhook ${effect.webhook} → ${effect.url}`, 'changed');
      return lines.add(depth + 1, json(effect.payload), 'quiet');
    case 'wait':
      return lines.add(depth, `wait until ${effect.until} (${formatDuration(effect.ms)})`);
    case 'approval':
      lines.add(
        depth,
        `approval by ${effect.approvers.join(', ')} (quorum ${effect.quorum}, ${effect.notify}) until ${effect.expiresAt}`,
        'changed',
      );
      return body(lines, depth + 1, effect.text);
    case 'function':
      if (!effect.ran)
        return lines.add(depth, `function ${effect.function} not run${effect.reason ? `: ${effect.reason}` : ''}`, 'unknown');
      lines.add(depth, `function ${effect.function} ran`);
      return effect.output === undefined ? undefined : lines.add(depth + 1, `→ ${json(effect.output)}`, 'quiet');
    case 'provision':
      return lines.add(depth, `app request: ${effect.action} ${effect.user} in ${effect.app} via ${effect.via}`, 'changed');
    case 'connector_action':
      lines.add(depth, `connector action ${effect.action} in ${effect.app}`, 'changed');
      return lines.add(depth + 1, json(effect.input), 'quiet');
    case 'reconcile':
      return lines.add(depth, `reconcile ${effect.app}${effect.apply ? ', fixing its drift' : ', report only'}`, 'changed');
    case 'run_automation': {
      const version = effect.plan ? ` v${effect.plan.version}` : '';
      lines.add(depth, `run_automation ${effect.automation}${version}${effect.wait ? '' : ' (not waited for)'}`);
      if (effect.stopped !== undefined) return lines.add(depth + 1, `stopped: ${effect.stopped}`, 'failed');
      if (effect.plan === undefined) return undefined;
      if (!effect.plan.matched) return lines.add(depth + 1, `not run${effect.plan.reason ? `: ${effect.plan.reason}` : ''}`, 'quiet');
      return stepLines(lines, depth + 1, effect.plan.steps);
    }
  }
}

function stepLines(lines: Lines, depth: number, steps: StepPlan[]): void {
  for (const step of steps) {
    lines.add(depth, `${step.name} (${step.type})`);
    for (const effect of step.effects) effectLines(lines, depth + 1, effect);
    if (step.skipped) lines.add(depth + 1, `↷ skipped: ${step.reason ?? 'its if: is false'}`, 'quiet');
    if (step.unknown) lines.add(depth + 1, `? unknown${step.reason ? `: ${step.reason}` : ''}`, 'unknown');
    if (step.error !== undefined) lines.add(depth + 1, `✗ would fail: ${step.error}`, 'failed');
    if (step.effects.length === 0 && !step.unknown && !step.skipped && step.error === undefined) lines.add(depth + 1, 'no change', 'quiet');
  }
}

function automationLines(lines: Lines, depth: number, automation: AutomationPlan): void {
  const name = `${automation.name} v${automation.version}`;
  if (!automation.matched) return lines.add(depth, `○ ${name} not matched${automation.reason ? `: ${automation.reason}` : ''}`, 'quiet');
  lines.add(depth, `● ${name}`, 'heading');
  stepLines(lines, depth + 1, automation.steps);
}

/** The plan as a tree for a terminal; `color` adds ANSI colors (only for a TTY). */
export function renderPlan(plan: Plan, options: { color?: boolean } = {}): string {
  const lines = new Lines(options.color === true);
  if (plan.directory) {
    directoryLines(lines, plan.directory);
    lines.blank();
  }
  for (const event of plan.events.slice(0, MAX_LISTED)) {
    lines.add(0, headline(event), 'heading');
    if (event.automations.length === 0) lines.add(1, 'no automation for this event', 'quiet');
    for (const automation of event.automations) automationLines(lines, 1, automation);
    lines.blank();
  }
  more(lines, 0, plan.events.length, 'events');
  if (plan.events.length > MAX_LISTED) lines.blank();
  // The summary is idflow's own line: shown whole.
  lines.add(0, plan.summary.text, 'heading', Infinity);
  return lines.lines.join('\n');
}
