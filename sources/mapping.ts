/**
 * An event source's mapping: CEL over the request (`body`, `headers`, `delivery`) giving the
 * lifecycle events to ingest and the people to create or update. Compiled when the source is
 * applied (a bad expression never reaches a request); its results are checked whole before
 * anything is done with them, so a mapping error changes nothing.
 */
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../core/json.js';
import { CelError, celTypeName, compile, type CelVariableSet, type CheckedExpression } from '../cel/index.js';
import { expressionError } from '../cel/errors.js';
import { EventInputSchema } from '../triggers/events.js';
import { MAX_MAPPED_EVENTS, MAX_MAPPED_USERS, type SourceMapping } from './document.js';

/** The variables of a mapping. */
export const SOURCE_VARIABLES: CelVariableSet = {
  body: { type: 'dyn', description: "The request's body, parsed as JSON." },
  headers: {
    type: 'map<string, string>',
    description: "The request's headers by lowercased name, without authorization, cookie and proxy-authorization.",
  },
  delivery: {
    type: 'map<string, string>',
    description: 'The delivery: id (the webhook-id, or the SHA-256 of the signed content), source (its name), receivedAt.',
  },
};

/** What a mapping sees of one delivery. */
export interface MappingInput {
  body: JsonValue;
  headers: Record<string, string>;
  delivery: { id: string; source: string; receivedAt: string };
}

/** A mapped event: as POST /v1/events takes one, with its id required. */
const MappedEventSchema = EventInputSchema.superRefine((event, context) => {
  if (event.id === undefined)
    context.addIssue({ code: 'custom', path: ['id'], message: 'a mapped event needs an id: a repeated one then starts nothing twice' });
});

export type MappedEvent = z.output<typeof MappedEventSchema> & { id: string };

export interface MappedDelivery {
  events: MappedEvent[];
  /** HR import rows: the fields of a person (docs/directory.md), checked by the import. */
  users: JsonObject[];
}

/** The request could not be mapped: the message says which expression and why (a CEL error's own words). */
export class MappingError extends Error {
  override readonly name = 'MappingError';
}

const MAPPED = ['events', 'users'] as const;

/** Compiles one expression of a mapping; throws CelError, including when it cannot give a list. */
export function compileMappingExpression(expression: string): CheckedExpression {
  const compiled = compile(expression, SOURCE_VARIABLES);
  if (compiled.resultType !== 'dyn' && !compiled.resultType.startsWith('list'))
    throw expressionError('type', expression, `the mapping must give a list, got ${compiled.resultType}`);
  return compiled;
}

function evaluated(field: (typeof MAPPED)[number], expression: string, input: MappingInput, now: Date, max: number): JsonValue[] {
  let value: JsonValue;
  try {
    value = compileMappingExpression(expression).evaluate({ ...input }, { now });
  } catch (error) {
    if (error instanceof CelError) throw new MappingError(`mapping.${field}: CEL ${error.kind} error: ${error.message}`);
    throw error;
  }
  if (!Array.isArray(value)) throw new MappingError(`mapping.${field}: expected a list, got ${celTypeName(value)}`);
  if (value.length > max) throw new MappingError(`mapping.${field}: ${value.length} items; at most ${max} per delivery`);
  return value;
}

const describeIssues = (at: string, issues: z.core.$ZodIssue[]): string =>
  issues
    .map(
      (issue) =>
        `${[at, ...issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))].join('')}: ${issue.message}`,
    )
    .join('; ');

/** Evaluates a mapping over one delivery; throws MappingError, naming the expression and the item, when it cannot be used whole. */
export function mapDelivery(mapping: SourceMapping, input: MappingInput, now: Date): MappedDelivery {
  const events = mapping.events === undefined ? [] : evaluated('events', mapping.events, input, now, MAX_MAPPED_EVENTS);
  const users = mapping.users === undefined ? [] : evaluated('users', mapping.users, input, now, MAX_MAPPED_USERS);
  const mapped: MappedDelivery = { events: [], users: [] };
  events.forEach((item, index) => {
    const parsed = MappedEventSchema.safeParse(item);
    if (!parsed.success) throw new MappingError(describeIssues(`mapping.events[${index}]`, parsed.error.issues));
    mapped.events.push(parsed.data as MappedEvent);
  });
  users.forEach((item, index) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new MappingError(`mapping.users[${index}]: expected a person (a map of fields), got ${celTypeName(item)}`);
    mapped.users.push(item);
  });
  return mapped;
}
