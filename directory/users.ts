/**
 * A person as an HR feed or a Directory document gives them, validated and turned into the
 * directory's user fields. Shared by `idflow directory import` and `idflow directory apply`, so a
 * row and a document entry obey the same rules.
 */
import type { JsonObject } from '../core/json.js';
import { z } from 'zod';
import { DirectoryError, USER_STATUSES, type User, type UserFields } from './types.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isCalendarDate(text: string): boolean {
  if (!DATE.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const date = optionalText.refine((value) => value === undefined || isCalendarDate(value), { message: 'expected a date as YYYY-MM-DD' });

/** One person; empty strings count as absent (CSV cells). */
export const UserInputSchema = z
  .object({
    id: z.string().trim().min(1, 'id is missing'),
    email: z.string().trim().min(1, 'email is missing').pipe(z.email('email is not an email address')),
    username: optionalText,
    displayName: optionalText,
    firstName: optionalText,
    lastName: optionalText,
    department: optionalText,
    title: optionalText,
    employmentType: optionalText,
    status: optionalText
      .transform((value) => value?.toUpperCase())
      .pipe(z.enum(USER_STATUSES, { message: `status must be one of ${USER_STATUSES.join(', ')}` }).optional()),
    /** The manager's email (`managerEmail` in HR feeds). */
    manager: optionalText,
    location: optionalText,
    startDate: date,
    endDate: date,
    attributes: z.record(z.string(), z.json()).optional(),
  })
  .strict();

export type UserInput = z.output<typeof UserInputSchema>;

/** Resolves manager emails to ids, across the directory and the batch being written. */
export type ManagerLookup = (email: string) => string | undefined;

/**
 * The directory fields for `input`: status defaults to the current one (ENABLED for a new person),
 * the manager's id is looked up by email. Throws DirectoryError (NOT_FOUND) for an unknown manager.
 */
export function toUserFields(input: UserInput, current: User | undefined, managerId: ManagerLookup): UserFields {
  let resolvedManager: string | undefined;
  if (input.manager !== undefined) {
    resolvedManager = managerId(input.manager.toLowerCase());
    if (resolvedManager === undefined) throw new DirectoryError('NOT_FOUND', `unknown manager "${input.manager}": no person with that email in the directory or this file`);
  }
  const fields: UserFields = {
    id: input.id,
    email: input.email,
    status: input.status ?? current?.status ?? 'ENABLED',
    attributes: (input.attributes ?? current?.attributes ?? {}) as JsonObject,
  };
  const optional = ['username', 'displayName', 'firstName', 'lastName', 'department', 'title', 'employmentType', 'location', 'startDate', 'endDate'] as const;
  for (const key of optional) {
    const value = input[key] ?? (key === 'username' ? current?.username : undefined);
    if (value !== undefined) fields[key] = value;
  }
  if (fields.displayName === undefined && (fields.firstName || fields.lastName)) fields.displayName = [fields.firstName, fields.lastName].filter(Boolean).join(' ');
  if (input.manager !== undefined) {
    fields.manager = input.manager;
    fields.managerId = resolvedManager;
  }
  return fields;
}
