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

/** Longest id, and longest value of any other text field or attribute (as JSON when not a string). */
export const MAX_ID_LENGTH = 256;
export const MAX_FIELD_LENGTH = 1024;
/** RFC 5321's limit on an address. */
const MAX_EMAIL_LENGTH = 254;
// C0 and C1 controls and DEL: never part of an id, a name or an address (a NUL truncates in C APIs, a newline forges log lines).
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** A trimmed single-line string of at most `max` characters; `missing` makes it required, with that message. */
function line(max: number, missing?: string) {
  const text = z.string().trim();
  return (missing === undefined ? text : text.min(1, missing)).max(max, `longer than ${max} characters`).superRefine((value, context) => {
    const control = CONTROL_CHARACTER.exec(value)?.[0];
    if (control !== undefined)
      context.addIssue({
        code: 'custom',
        message: `contains the control character U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
      });
  });
}

const optionalText = line(MAX_FIELD_LENGTH)
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const date = optionalText.refine((value) => value === undefined || isCalendarDate(value), { message: 'expected a date as YYYY-MM-DD' });

/** One person; empty strings count as absent (CSV cells). */
export const UserInputSchema = z
  .object({
    id: line(MAX_ID_LENGTH, 'id is missing'),
    email: line(MAX_EMAIL_LENGTH, 'email is missing').pipe(z.email('email is not an email address')),
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
    attributes: z
      .record(z.string().max(MAX_ID_LENGTH, `an attribute name is longer than ${MAX_ID_LENGTH} characters`), z.json())
      .superRefine((attributes, context) => {
        for (const [name, value] of Object.entries(attributes)) {
          const length = typeof value === 'string' ? value.length : JSON.stringify(value).length;
          if (length > MAX_FIELD_LENGTH)
            context.addIssue({ code: 'custom', path: [name], message: `longer than ${MAX_FIELD_LENGTH} characters` });
        }
      })
      .optional(),
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
    if (resolvedManager === undefined)
      throw new DirectoryError('NOT_FOUND', `unknown manager "${input.manager}": no person with that email in the directory or this file`);
  }
  const fields: UserFields = {
    id: input.id,
    email: input.email,
    status: input.status ?? current?.status ?? 'ENABLED',
    attributes: (input.attributes ?? current?.attributes ?? {}) as JsonObject,
  };
  const optional = [
    'username',
    'displayName',
    'firstName',
    'lastName',
    'department',
    'title',
    'employmentType',
    'location',
    'startDate',
    'endDate',
  ] as const;
  for (const key of optional) {
    const value = input[key] ?? (key === 'username' ? current?.username : undefined);
    if (value !== undefined) fields[key] = value;
  }
  if (fields.displayName === undefined && (fields.firstName || fields.lastName))
    fields.displayName = [fields.firstName, fields.lastName].filter(Boolean).join(' ');
  if (input.manager !== undefined) {
    fields.manager = input.manager;
    fields.managerId = resolvedManager;
  }
  return fields;
}

/**
 * What a directory search (`q`) matches, in lower case: the id, the email and the names, one per
 * line (no field holds a control character), so a search never matches across two fields.
 */
export function userSearchText(user: Pick<User, 'id' | 'email' | 'displayName' | 'firstName' | 'lastName'>): string {
  const name = [user.firstName, user.lastName].filter((part) => part !== undefined && part !== '').join(' ');
  return [user.id, user.email, user.displayName ?? '', name].join('\n').toLowerCase();
}
