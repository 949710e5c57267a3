/**
 * What starts an automation: an event of a type (with an optional CEL condition) or a schedule
 * (cron or interval, optionally fanned out over directory users). The automation document's
 * schema (definitions/schema.ts) takes its `trigger` from here.
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { DurationSchema as duration } from '../core/duration.js';
import { EVENT_TYPES } from './events.js';
import { DEFAULT_FAN_OUT_CONCURRENCY, MAX_FAN_OUT_CONCURRENCY } from './fan-out.js';

export const EventTriggerSchema = z
  .object({
    type: z.enum(EVENT_TYPES).describe('The event type that starts a run.'),
    condition: z.string().min(1).optional().describe('CEL over ctx.trigger (and subject); the run starts only when it is true.'),
  })
  .strict();

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(cron: string, timezone: string): string | undefined {
  try {
    CronExpressionParser.parse(cron, { tz: timezone });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'allow_all'] as const;

/** Runs on a clock, as a native Temporal Schedule. */
export const ScheduleTriggerSchema = z
  .object({
    type: z.literal('schedule'),
    cron: z.string().min(1).optional().describe('Five-field cron, e.g. "0 9 * * MON-FRI" (09:00 on weekdays).'),
    every: duration.optional().describe('An interval instead of cron, e.g. "1h".'),
    timezone: z
      .string()
      .default('UTC')
      .refine(isTimeZone, { message: 'expected an IANA time zone such as America/New_York or Europe/London' }),
    jitter: duration.optional().describe('Start each run up to this much later, at random.'),
    overlap: z.enum(OVERLAP_POLICIES).default('skip').describe('What to do when a run is still going at the next tick.'),
    catchupWindow: duration.optional().describe('After an outage, run missed ticks from at most this long ago.'),
    startAt: z.iso.datetime({ offset: true }).optional(),
    endAt: z.iso.datetime({ offset: true }).optional(),
    forEachUser: z
      .string()
      .min(1)
      .optional()
      .describe(
        'CEL over each directory user (`subject`, also ctx.trigger.user): each tick runs the steps once per user for whom it is true, each in a child run of its own.',
      ),
    forEachUserConcurrency: z
      .number()
      .int()
      .min(1)
      .max(MAX_FAN_OUT_CONCURRENCY)
      .optional()
      .describe(`With forEachUser: how many per-user runs may be in flight at once (default ${DEFAULT_FAN_OUT_CONCURRENCY}).`),
  })
  .strict()
  .superRefine((trigger, context) => {
    if (trigger.forEachUserConcurrency !== undefined && trigger.forEachUser === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['forEachUserConcurrency'],
        message: 'forEachUserConcurrency only applies together with forEachUser',
      });
    }
    if ((trigger.cron === undefined) === (trigger.every === undefined)) {
      context.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of "cron" or "every"' });
    }
    const problem = trigger.cron === undefined ? undefined : cronProblem(trigger.cron, trigger.timezone);
    if (problem)
      context.addIssue({ code: 'custom', path: ['cron'], message: `"${trigger.cron}" is not a valid cron expression: ${problem}` });
  });

export const TriggerSchema = z.discriminatedUnion('type', [EventTriggerSchema, ScheduleTriggerSchema]);

export type TriggerSpec = z.output<typeof TriggerSchema>;
export type ScheduleTrigger = z.output<typeof ScheduleTriggerSchema>;
