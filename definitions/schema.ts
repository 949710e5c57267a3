/**
 * The shape of definition documents (`kind: Automation`, `kind: Webhook`), validated with zod and
 * exported as JSON Schema (`idflow schema`) so editors complete and check the files.
 */
import type { JsonObject } from '../core/json.js';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { stepRegistry } from '../steps/registry.js';
import { DirectoryDocumentSchema, type DirectoryDocument } from '../directory/document.js';
import { EVENT_TYPES } from '../triggers/events.js';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import { MAX_STEPS } from './limits.js';
import { DEFAULT_FAN_OUT_CONCURRENCY, MAX_FAN_OUT_CONCURRENCY } from '../triggers/fan-out.js';
import { parseHostPattern } from '../functions/network/hosts.js';
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, MAX_MEMORY_MB, MAX_TIMEOUT_MS, MIN_MEMORY_MB } from '../functions/types.js';

export const DEFINITION_NAME = /^[a-z0-9][a-z0-9-]*$/;
export const STEP_NAME = /^[a-z][a-z0-9_]*$/;
/** ctx keys that steps cannot take as names. */
export const RESERVED_STEP_NAMES = ['trigger'];

const name = z
  .string()
  .max(100)
  .regex(DEFINITION_NAME, 'use lowercase letters, digits and "-", starting with a letter or digit');
const duration = z.string().refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` });

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
    timezone: z.string().default('UTC').refine(isTimeZone, { message: 'expected an IANA time zone such as America/New_York or Europe/London' }),
    jitter: duration.optional().describe('Start each run up to this much later, at random.'),
    overlap: z.enum(OVERLAP_POLICIES).default('skip').describe('What to do when a run is still going at the next tick.'),
    catchupWindow: duration.optional().describe('After an outage, run missed ticks from at most this long ago.'),
    startAt: z.iso.datetime({ offset: true }).optional(),
    endAt: z.iso.datetime({ offset: true }).optional(),
    forEachUser: z
      .string()
      .min(1)
      .optional()
      .describe('CEL over each directory user (`subject`, also ctx.trigger.user): each tick runs the steps once per user for whom it is true, each in a child run of its own.'),
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
      context.addIssue({ code: 'custom', path: ['forEachUserConcurrency'], message: 'forEachUserConcurrency only applies together with forEachUser' });
    }
    if ((trigger.cron === undefined) === (trigger.every === undefined)) {
      context.addIssue({ code: 'custom', path: ['cron'], message: 'give exactly one of "cron" or "every"' });
    }
    const problem = trigger.cron === undefined ? undefined : cronProblem(trigger.cron, trigger.timezone);
    if (problem) context.addIssue({ code: 'custom', path: ['cron'], message: `"${trigger.cron}" is not a valid cron expression: ${problem}` });
  });

export const TriggerSchema = z.discriminatedUnion('type', [EventTriggerSchema, ScheduleTriggerSchema]);

export const RetrySchema = z
  .object({
    maximumAttempts: z.number().int().min(1).max(100),
    initialInterval: duration,
    backoffCoefficient: z.number().min(1).max(10),
    maximumInterval: duration,
  })
  .partial()
  .strict();

export const StepSpecSchema = z
  .object({
    name: z
      .string()
      .max(64)
      .regex(STEP_NAME, 'use lowercase letters, digits and "_", starting with a letter (the output becomes ctx.<name>)')
      .refine((stepName) => !RESERVED_STEP_NAMES.includes(stepName), { message: '"trigger" is reserved for ctx.trigger' }),
    type: z.string().describe('The step type: see `idflow steps` or docs/steps.md.'),
    description: z.string().optional(),
    with: z.record(z.string(), z.json()).default({}).describe('The step input; strings may be templates: "{{ ctx.trigger.newUser.email }}".'),
    timeout: duration.optional().describe('Per-attempt timeout of the step; defaults per step type.'),
    retry: RetrySchema.optional().describe('Retry policy overrides; defaults per step type.'),
  })
  .strict();

export const AutomationSchema = z
  .object({
    kind: z.literal('Automation'),
    name,
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    trigger: TriggerSchema,
    steps: z
      .array(StepSpecSchema)
      .min(1, 'an automation needs at least one step')
      .max(MAX_STEPS, { error: (issue) => `at most ${MAX_STEPS} steps per automation, got ${(issue.input as unknown[]).length}: chain automations with run_automation for longer flows` }),
  })
  .strict();

export const WebhookSchema = z
  .object({
    kind: z.literal('Webhook'),
    name,
    description: z.string().optional(),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    headers: z.record(z.string(), z.string()).default({}),
    signingSecret: z
      .object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') })
      .strict()
      .optional()
      .describe('Standard Webhooks signing secret ("whsec_..."), read from this environment variable of the worker.'),
    timeout: duration.default('10s').describe('Timeout of one delivery attempt.'),
  })
  .strict();

function hostPatternProblem(pattern: string): string | undefined {
  try {
    parseHostPattern(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const hostPattern = z.string().superRefine((pattern, context) => {
  const problem = hostPatternProblem(pattern);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

/** A function: a TypeScript module run in the sandbox (see docs/functions.md). */
export const FunctionSchema = z
  .object({
    kind: z.literal('Function'),
    name,
    description: z.string().optional(),
    file: z
      .string()
      .min(1)
      .regex(/\.ts$/, 'expected a TypeScript file ending in .ts')
      .describe('The TypeScript module, relative to this document; its default export is `async function (input, ctx)`.'),
    allowedHosts: z.array(hostPattern).default([]).describe('Hosts ctx.fetch may reach: "api.example.com", "*.example.com", optionally ":port". Nothing else is reachable.'),
    timeout: duration
      .default(`${DEFAULT_TIMEOUT_MS / 1000}s`)
      .refine((text) => (parseDuration(text) ?? 0) <= MAX_TIMEOUT_MS, { message: `at most ${MAX_TIMEOUT_MS / 60_000}m` })
      .describe('Wall-clock limit of one call; the call is killed and fails with TIMEOUT.'),
    memoryMb: z.number().int().min(MIN_MEMORY_MB).max(MAX_MEMORY_MB).default(DEFAULT_MEMORY_MB).describe('Memory limit of one call, heap and off-heap; MEMORY_LIMIT beyond it.'),
  })
  .strict();

export type AutomationSpec = z.output<typeof AutomationSchema>;
export type FunctionSpec = z.output<typeof FunctionSchema>;
export type ScheduleTrigger = z.output<typeof ScheduleTriggerSchema>;
export type StepSpec = z.output<typeof StepSpecSchema>;
export type WebhookSpec = z.output<typeof WebhookSchema>;
export type DefinitionSpec = AutomationSpec | WebhookSpec | FunctionSpec | DirectoryDocument;

/** A spec read back from the store: it was validated by AutomationSchema when it was applied. */
export function storedAutomationSpec(spec: JsonObject): AutomationSpec {
  return spec as unknown as AutomationSpec;
}

export const DOCUMENT_SCHEMAS = { Automation: AutomationSchema, Webhook: WebhookSchema, Function: FunctionSchema, Directory: DirectoryDocumentSchema } as const;

/**
 * JSON Schemas for editors, file name → schema. Steps are a union over the registered step
 * types, so `with` completes per `type`.
 */
export function definitionJsonSchemas(): Record<string, object> {
  const stepVariants = [...stepRegistry.values()].map((step) =>
    StepSpecSchema.extend({ type: z.literal(step.type).describe(step.description), with: step.with }),
  );
  const [first, ...rest] = stepVariants;
  const steps = z.array(rest.length > 0 ? z.union([first, ...rest]) : first).min(1).max(MAX_STEPS);
  const automation = AutomationSchema.extend({ steps });
  const document = z.union([automation, WebhookSchema, FunctionSchema, DirectoryDocumentSchema]);
  const toSchema = (schema: z.ZodType, title: string): object => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title,
  });
  return {
    'automation.schema.json': toSchema(automation, 'idflow Automation'),
    'webhook.schema.json': toSchema(WebhookSchema, 'idflow Webhook'),
    'directory.schema.json': toSchema(DirectoryDocumentSchema, 'idflow Directory'),
    'function.schema.json': toSchema(FunctionSchema, 'idflow Function'),
    'idflow.schema.json': toSchema(document, 'idflow definition document'),
  };
}
