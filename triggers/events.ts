/**
 * Lifecycle events: their types, their shape on the wire and its limits, and the `ctx.trigger` an
 * automation sees for one. Free of Node built-ins: the workflow builds ctx.trigger too.
 *
 * An event's data is stored and sent to workflows as it arrived; its aliases (snake_case keys,
 * `user`) exist only in the view built where CEL evaluates, so they never multiply its size.
 */
import { walkJson, type JsonObject, type JsonPath, type JsonValue } from '../core/json.js';
import { z } from 'zod';
import { withFieldAliases } from '../cel/aliases.js';

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

/**
 * An event's data, as JSON, is at most 1 MiB (the API's default body limit): every run of it
 * carries the data in its workflow input, which Temporal limits to 2 MiB with the automation.
 */
export const MAX_EVENT_DATA_BYTES = 1024 * 1024;

/** Deeper event data is refused: real records nest a few levels, and recursion over data must stay bounded. */
const MAX_EVENT_DEPTH = 32;

/**
 * Where `value` is not JSON or nests deeper than MAX_EVENT_DEPTH: the path and the problem, or
 * undefined. Walked on walkJson's own stack, so hostile nesting cannot overflow it (zod's z.json() recursed).
 */
function jsonDataIssue(data: unknown): { path: JsonPath; message: string } | undefined {
  let issue: { path: JsonPath; message: string } | undefined;
  walkJson(data, (value, path) => {
    if (typeof value === 'number' && !Number.isFinite(value)) issue = { path, message: 'numbers must be finite' };
    else if (value !== null && !['string', 'number', 'boolean', 'object'].includes(typeof value))
      issue = { path, message: `not a JSON value (${typeof value})` };
    else if (typeof value === 'object' && value !== null && path.length >= MAX_EVENT_DEPTH)
      issue = { path, message: `nested deeper than ${MAX_EVENT_DEPTH} levels, the limit for event data` };
    return issue === undefined ? undefined : 'stop';
  });
  return issue;
}

const eventData = z.record(z.string(), z.custom<JsonValue>(() => true).describe('any JSON value')).superRefine((data, check) => {
  const issue = jsonDataIssue(data);
  if (issue) check.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/**
 * What a client may send: not `manual`, the trigger of runs started by hand. Those need
 * runs:write; accepting a "manual" event would let events:write start them.
 */
const INGESTIBLE_EVENT_TYPES = EVENT_TYPES.filter((type) => type !== 'manual');
const MANUAL_IS_NOT_AN_EVENT =
  'the event type "manual" cannot be sent: automations with trigger { type: manual } run by hand through POST /v1/automations/:name/runs (idflow run NAME), which needs the scope runs:write';

/** An event's id as a client gives it (and names it again, e.g. to replay it). */
export const EventIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only');

export const EventInputSchema = z
  .object({
    id: EventIdSchema.optional().describe('Idempotency key: the same id never starts the same automation twice. Generated when absent.'),
    type: z.enum(INGESTIBLE_EVENT_TYPES, { error: (issue) => (issue.input === 'manual' ? MANUAL_IS_NOT_AN_EVENT : undefined) }),
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    data: eventData.default({}).describe('Becomes ctx.trigger: oldUser/newUser, oldAccount/newAccount, user and entitlement, ...'),
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
const isRecord = (value: JsonValue | undefined): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * `ctx.trigger` for an event's data: the data itself, plus snake_case aliases of camelCase keys
 * (`old_user` for `oldUser`, and `first_name` for `firstName` inside the users and accounts)
 * and `user` (= newUser, else oldUser) when the event has none. A copy several times the data's
 * size: build it where CEL evaluates (once per event or run), never store or send it.
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

/** The id and email of the person an event or run is about (its `subject`), as far as it has them. */
export function subjectIdentity(data: JsonValue): { id?: string; email?: string } {
  if (!isRecord(data)) return {};
  const subject = subjectOf(triggerContext(data));
  if (!isRecord(subject)) return {};
  const text = (value: JsonValue | undefined) => (typeof value === 'string' && value !== '' ? value : undefined);
  const id = text(subject.id);
  const email = text(subject.email);
  return { ...(id !== undefined && { id }), ...(email !== undefined && { email }) };
}

/** The key a run is filed under for its person (runs.subject): the subject's id, else its email in lower case. */
export function subjectKey(data: JsonValue): string | undefined {
  const { id, email } = subjectIdentity(data);
  return id ?? email?.toLowerCase();
}

/** The CEL variables of a condition about an event's data: `ctx.trigger` with its aliases, and `subject`. */
export function triggerVariables(data: JsonObject): { ctx: { trigger: JsonObject }; subject: JsonValue } {
  const trigger = triggerContext(data);
  return { ctx: { trigger }, subject: subjectOf(trigger) };
}

/** The data of a forEachUser run: the tick's trigger plus the user (so `subject` is that user). */
export function perUserData(tick: JsonObject, user: JsonObject): JsonObject {
  return { ...tick, user };
}
