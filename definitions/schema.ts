/**
 * The shape of definition documents (`kind: Automation`, `kind: Webhook`, ...), validated with zod and
 * exported as JSON Schema (`idflow schema`) so editors complete and check the files.
 */
import type { JsonObject } from '../core/json.js';
import { z } from 'zod';
import { stepRegistry } from '../steps/registry.js';
import { DirectoryDocumentSchema, type DirectoryDocument } from '../directory/document.js';
import { DurationSchema } from '../core/duration.js';
import { DefinitionNameSchema } from '../core/names.js';
import { TriggerSchema } from '../triggers/schema.js';
import { FunctionSchema, type FunctionSpec } from '../functions/document.js';
import { WebhookSchema, type WebhookSpec } from '../integrations/webhooks/document.js';
import { EventSourceSchema, type EventSourceSpec } from '../sources/document.js';
import { ScimServiceSchema, type ScimServiceSpec } from '../scim/document.js';
import { MAX_STEPS } from './limits.js';
import { GuardSchema } from './guard.js';

export const STEP_NAME = /^[a-z][a-z0-9_]*$/;
/** ctx keys that steps cannot take as names. */
export const RESERVED_STEP_NAMES = ['trigger'];

const name = DefinitionNameSchema;
const duration = DurationSchema;

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
    if: z
      .string()
      .min(1)
      .optional()
      .describe('A CEL condition over ctx and subject: when false the step is skipped (recorded, with the value), when true it runs.'),
    with: z
      .record(z.string(), z.json())
      .default({})
      .describe('The step input; strings may be templates: "{{ ctx.trigger.newUser.email }}".'),
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
    guard: GuardSchema.optional().describe('Blast-radius limits: runs beyond them are held for an admin (docs/automations.md, Guard).'),
    cancelWhen: z
      .string()
      .min(1)
      .optional()
      .describe(
        "CEL over ctx.trigger (a newer event about the same person) and ctx.run (the waiting run's trigger): true cancels a run of this automation waiting in a wait or request_approval step.",
      ),
    rescheduleWhen: z
      .string()
      .min(1)
      .optional()
      .describe(
        "CEL over ctx.trigger (a newer event about the same person) and ctx.run (the waiting run's trigger): true renders the waiting wait step's input again with ctx.trigger = the newer event, and the wait restarts toward its new end.",
      ),
    steps: z
      .array(StepSpecSchema)
      .min(1, 'an automation needs at least one step')
      .max(MAX_STEPS, {
        error: (issue) =>
          `at most ${MAX_STEPS} steps per automation, got ${(issue.input as unknown[]).length}: chain automations with run_automation for longer flows`,
      }),
  })
  .strict();

export type AutomationSpec = z.output<typeof AutomationSchema>;
export type StepSpec = z.output<typeof StepSpecSchema>;
export type DefinitionSpec = AutomationSpec | WebhookSpec | FunctionSpec | DirectoryDocument | EventSourceSpec | ScimServiceSpec;

/** A spec read back from the store: it was validated by AutomationSchema when it was applied. */
export function storedAutomationSpec(spec: JsonObject): AutomationSpec {
  return spec as unknown as AutomationSpec;
}

export const DOCUMENT_SCHEMAS = {
  Automation: AutomationSchema,
  Webhook: WebhookSchema,
  Function: FunctionSchema,
  Directory: DirectoryDocumentSchema,
  EventSource: EventSourceSchema,
  ScimService: ScimServiceSchema,
} as const;

/**
 * JSON Schemas for editors, file name → schema. Steps are a union over the registered step
 * types, so `with` completes per `type`.
 */
export function definitionJsonSchemas(): Record<string, object> {
  const stepVariants = [...stepRegistry.values()].map((step) =>
    StepSpecSchema.extend({ type: z.literal(step.type).describe(step.description), with: step.with }),
  );
  const [first, ...rest] = stepVariants;
  const steps = z
    .array(rest.length > 0 ? z.union([first, ...rest]) : first)
    .min(1)
    .max(MAX_STEPS);
  const automation = AutomationSchema.extend({ steps });
  const document = z.union([automation, WebhookSchema, FunctionSchema, DirectoryDocumentSchema, EventSourceSchema, ScimServiceSchema]);
  const toSchema = (schema: z.ZodType, title: string): object => ({
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title,
  });
  return {
    'automation.schema.json': toSchema(automation, 'idflow Automation'),
    'webhook.schema.json': toSchema(WebhookSchema, 'idflow Webhook'),
    'directory.schema.json': toSchema(DirectoryDocumentSchema, 'idflow Directory'),
    'function.schema.json': toSchema(FunctionSchema, 'idflow Function'),
    'event-source.schema.json': toSchema(EventSourceSchema, 'idflow EventSource'),
    'scim-service.schema.json': toSchema(ScimServiceSchema, 'idflow ScimService'),
    'idflow.schema.json': toSchema(document, 'idflow definition document'),
  };
}
