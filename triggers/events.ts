/**
 * Lifecycle events: their types, their shape on the wire, and the `ctx.trigger` an automation
 * sees for one. Free of Node built-ins: the workflow builds ctx.trigger for child runs too.
 */
import { z } from 'zod';
import { withFieldAliases } from '../cel/aliases.js';
import type { JsonObject, JsonValue } from '../steps/types.js';

export const EVENT_TYPES = [
  'user.created',
  'user.updated',
  'user.deactivated',
  'account.created',
  'account.updated',
  'account.deleted',
  'grant.created',
  'grant.revoked',
  'review.completed',
  'manual',
] as const;

const jsonObject = z.record(z.string(), z.json());

/**
 * What a client may send: not `manual`, the trigger of runs started by hand. Those need
 * runs:write; accepting a "manual" event would let events:write start them.
 */
const INGESTIBLE_EVENT_TYPES = EVENT_TYPES.filter((type) => type !== 'manual');
const MANUAL_IS_NOT_AN_EVENT =
  'the event type "manual" cannot be sent: automations with trigger { type: manual } run by hand through POST /v1/automations/:name/runs (idflow run NAME), which needs the scope runs:write';

export const EventInputSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only')
      .optional()
      .describe('Idempotency key: the same id never starts the same automation twice. Generated when absent.'),
    type: z.enum(INGESTIBLE_EVENT_TYPES, { error: (issue) => (issue.input === 'manual' ? MANUAL_IS_NOT_AN_EVENT : undefined) }),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    data: jsonObject.default({}).describe('Becomes ctx.trigger: oldUser/newUser, oldAccount/newAccount, user and entitlement, ...'),
  })
  .strict();

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** A copy of `record` with a snake_case alias beside each camelCase key (`first_name` for `firstName`). */
function withSnakeCaseAliases(record: JsonObject): JsonObject {
  const aliased: JsonObject = { ...record };
  for (const [key, value] of Object.entries(record)) {
    const alias = snakeCase(key);
    if (alias !== key && !(alias in aliased)) aliased[alias] = value;
  }
  return aliased;
}

/** The records of an event (users, accounts, the entitlement, the grant) get field aliases too. */
const RECORD_KEYS = new Set(['oldUser', 'newUser', 'user', 'oldAccount', 'newAccount', 'account', 'entitlement', 'grant']);
const isRecord = (value: JsonValue | undefined): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * `ctx.trigger` for an event's data: the data itself, plus snake_case aliases of camelCase keys
 * (`old_user` for `oldUser`, and `first_name` for `firstName` inside the users and accounts)
 * and `user` (= newUser, else oldUser) when the event has none.
 */
export function triggerContext(data: JsonObject): JsonObject {
  const records: JsonObject = {};
  for (const [key, value] of Object.entries(data)) records[key] = RECORD_KEYS.has(key) && isRecord(value) ? withFieldAliases(value) : value;
  const trigger = withSnakeCaseAliases(records);
  if (!('user' in trigger)) {
    const user: JsonValue | undefined = trigger.newUser ?? trigger.oldUser;
    if (user !== undefined) trigger.user = user;
  }
  return trigger;
}

/** The user an event or run is about (`subject` in CEL), when there is one. */
export function subjectOf(trigger: JsonObject): JsonValue {
  return trigger.user ?? trigger.newUser ?? null;
}

/** ctx.trigger of a forEachUser run: the tick's trigger plus the user (so `subject` is that user). */
export function perUserTrigger(tick: JsonObject, user: JsonObject): JsonObject {
  return triggerContext({ ...tick, user });
}
