/**
 * Automations with `trigger: { type: schedule }` run on native Temporal Schedules (not a timer
 * loop of ours). `reconcile` makes Temporal match the store: it creates and updates the schedule
 * of every scheduled automation and deletes schedules whose automation no longer has one, so
 * running it after any change, or at start after a crash, converges.
 */
import type { ScheduleTrigger } from '../triggers/schema.js';
import { IdflowError } from '../core/errors.js';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import { parseDuration } from '../core/duration.js';
import { storedAutomationSpec } from '../definitions/schema.js';
import type { Store } from '../store/types.js';
import { automationRun, type AutomationRunInput } from '../workflows/automation-run.js';
import { forEachUserRun } from '../workflows/for-each-user.js';

/** The note on a schedule paused because its automation is disabled. */
const DISABLED_NOTE = 'the automation is disabled';
const PREFIX = 'idflow-';
export const scheduleIdFor = (automation: string): string => `${PREFIX}${automation}`;
/** The workflow id of a schedule's runs, to which Temporal appends `-<scheduled time>`: one run id per tick. */
export const tickWorkflowId = (automation: string): string => `${automation}:scheduled`;

const OVERLAP: Record<ScheduleTrigger['overlap'], ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  buffer_all: ScheduleOverlapPolicy.BUFFER_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
};

export interface ScheduleSummary {
  name: string;
  scheduleId: string;
  cron?: string;
  every?: string;
  timezone: string;
  paused: boolean;
  /** The next three fire times, as RFC 3339 and as local time in the schedule's zone. */
  nextFireTimes: { at: string; local: string }[];
}

interface ScheduledAutomation {
  name: string;
  version: number;
  enabled: boolean;
  trigger: ScheduleTrigger;
  input: AutomationRunInput;
}

function localTime(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
  }).formatToParts(date);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} ${part('timeZoneName')}`;
}

export class ScheduleManager {
  constructor(
    private readonly client: Client,
    private readonly store: Store,
    private readonly taskQueue: string,
  ) {}

  private async scheduled(): Promise<ScheduledAutomation[]> {
    const automations = await this.store.definitions.list('Automation');
    return automations.flatMap((automation) => {
      const spec = storedAutomationSpec(automation.spec);
      if (spec.trigger.type !== 'schedule') return [];
      const input: AutomationRunInput = {
        automation: { name: automation.name, version: automation.version, spec },
        trigger: { schedule: automation.name },
        chain: [],
        scheduled: true,
      };
      return [{ name: automation.name, version: automation.version, enabled: automation.enabled, trigger: spec.trigger, input }];
    });
  }

  private options(automation: ScheduledAutomation): Omit<ScheduleOptions, 'scheduleId' | 'state'> {
    const { trigger } = automation;
    const ms = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));
    return {
      spec: {
        cronExpressions: trigger.cron ? [trigger.cron] : undefined,
        intervals: trigger.every ? [{ every: ms(trigger.every) ?? 0 }] : undefined,
        timezone: trigger.timezone,
        jitter: ms(trigger.jitter),
        startAt: trigger.startAt ? new Date(trigger.startAt) : undefined,
        endAt: trigger.endAt ? new Date(trigger.endAt) : undefined,
      },
      action: {
        type: 'startWorkflow',
        // A fan-out tick is its own workflow type: it starts one automationRun per user.
        workflowType: trigger.forEachUser === undefined ? automationRun : forEachUserRun,
        workflowId: tickWorkflowId(automation.name),
        taskQueue: this.taskQueue,
        args: [automation.input],
      },
      policies: { overlap: OVERLAP[trigger.overlap], catchupWindow: ms(trigger.catchupWindow) },
      memo: { idflowAutomation: automation.name, idflowVersion: automation.version },
    };
  }

  /** Makes Temporal's schedules match the store. */
  async reconcile(): Promise<void> {
    const wanted = await this.scheduled();
    const ids = new Set(wanted.map((automation) => scheduleIdFor(automation.name)));
    for await (const summary of this.client.schedule.list()) {
      if (summary.scheduleId.startsWith(PREFIX) && !ids.has(summary.scheduleId)) {
        await this.client.schedule
          .getHandle(summary.scheduleId)
          .delete()
          .catch((error: unknown) => {
            if (!(error instanceof ScheduleNotFoundError)) throw error;
          });
      }
    }
    for (const automation of wanted) await this.upsert(automation);
  }

  /** Brings one automation's schedule in line with the store: created, updated or deleted. */
  async reconcileAutomation(name: string): Promise<void> {
    const automation = (await this.scheduled()).find((candidate) => candidate.name === name);
    if (automation) return this.upsert(automation);
    await this.client.schedule
      .getHandle(scheduleIdFor(name))
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
  }

  private async upsert(automation: ScheduledAutomation): Promise<void> {
    const scheduleId = scheduleIdFor(automation.name);
    const options = this.options(automation);
    try {
      await this.client.schedule.create({
        scheduleId,
        ...options,
        state: { paused: !automation.enabled, note: automation.enabled ? undefined : DISABLED_NOTE },
      });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      // Disabling pauses and enabling lifts that pause, in the same update as the rest (a
      // separate unpause could be applied before it); a pause made with `idflow schedules
      // pause` survives updates.
      await this.client.schedule.getHandle(scheduleId).update((previous) => {
        const pausedByDisable = previous.state.paused && previous.state.note === DISABLED_NOTE;
        const state = !automation.enabled
          ? { paused: true, note: DISABLED_NOTE }
          : pausedByDisable
            ? { paused: false, note: 'the automation is enabled' }
            : previous.state;
        return {
          ...previous,
          spec: options.spec,
          action: options.action,
          policies: options.policies,
          state: { ...previous.state, ...state },
        };
      });
    }
  }

  private async handle(name: string) {
    const automation = (await this.scheduled()).find((candidate) => candidate.name === name);
    if (!automation) throw new IdflowError('NOT_FOUND', `automation "${name}" has no schedule trigger`);
    return { automation, handle: this.client.schedule.getHandle(scheduleIdFor(name)) };
  }

  /** With `deadline` (epoch ms), Temporal's answers must come by then (a page that must not hang on an unreachable server). */
  async list(options: { deadline?: number } = {}): Promise<ScheduleSummary[]> {
    const summaries: ScheduleSummary[] = [];
    for (const automation of await this.scheduled()) {
      const handle = this.client.schedule.getHandle(scheduleIdFor(automation.name));
      const description = await (options.deadline === undefined
        ? handle.describe()
        : this.client.withDeadline(options.deadline, () => handle.describe()));
      summaries.push({
        name: automation.name,
        scheduleId: scheduleIdFor(automation.name),
        cron: automation.trigger.cron,
        every: automation.trigger.every,
        timezone: automation.trigger.timezone,
        paused: description.state.paused,
        nextFireTimes: description.info.nextActionTimes
          .slice(0, 3)
          .map((at) => ({ at: at.toISOString(), local: localTime(at, automation.trigger.timezone) })),
      });
    }
    return summaries;
  }

  async trigger(name: string): Promise<void> {
    const { automation, handle } = await this.handle(name);
    if (!automation.enabled)
      throw new IdflowError('DISABLED', `automation "${name}" is disabled: enable it with \`idflow automations enable ${name}\``);
    await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    const { handle } = await this.handle(name);
    if (paused) await handle.pause('paused with idflow');
    else await handle.unpause('unpaused with idflow');
  }

  async backfill(name: string, from: Date, to: Date): Promise<void> {
    if (!(from < to))
      throw new IdflowError('INVALID', `backfill needs --from before --to (got ${from.toISOString()} and ${to.toISOString()})`);
    const { handle } = await this.handle(name);
    await handle.backfill([{ start: from, end: to, overlap: ScheduleOverlapPolicy.ALLOW_ALL }]);
  }
}
