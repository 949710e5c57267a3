/**
 * Lifecycle events: their types, their shape on the wire, and the `ctx.trigger` an automation
 * sees for one. Free of Node built-ins: the workflow builds ctx.trigger for child runs too.
 */
import { z } from 'zod';
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

export const EventInputSchema = z
  .object({
    id: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only')
      .optional()
      .describe('Idempotency key: the same id never starts the same automation twice. Generated when absent.'),
    type: z.enum(EVENT_TYPES),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    data: jsonObject.default({}).describe('Becomes ctx.trigger: oldUser/newUser, oldAccount/newAccount, user and entitlement, ...'),
  })
  .strict();

function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * `ctx.trigger` for an event's data: the data itself, plus snake_case aliases of camelCase keys
 * (`old_user` for `oldUser`) and `user` (= newUser, else oldUser) when the event has none.
 */
export function triggerContext(data: JsonObject): JsonObject {
  const trigger: JsonObject = { ...data };
  for (const [key, value] of Object.entries(data)) {
    const alias = snakeCase(key);
    if (alias !== key && !(alias in trigger)) trigger[alias] = value;
  }
  if (!('user' in trigger)) {
    const user: JsonValue | undefined = data.newUser ?? data.oldUser;
    if (user !== undefined) trigger.user = user;
  }
  return trigger;
}

/** The user an event or run is about (`subject` in CEL), when there is one. */
export function subjectOf(trigger: JsonObject): JsonValue {
  return trigger.user ?? trigger.newUser ?? null;
}
