/**
 * The query parameters lists share: a page size, a time range, and an opaque cursor. A cursor is
 * the base64url JSON of the list's name and the last row's position in the list's order: keyset
 * pagination, so rows inserted while a client pages (newer ones, at the top) neither repeat nor
 * hide rows of later pages. A cursor of another list, or an edited one, is a 400 naming `cursor`.
 */
import { z } from 'zod';
import type { JsonValue } from '../core/json.js';

export const MAX_PAGE = 200;
export const DEFAULT_PAGE = 50;
/** Longest cursor accepted: positions are a time and an id or two. */
const MAX_CURSOR_LENGTH = 2048;

export const pageLimit = z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE).describe(`Page size, at most ${MAX_PAGE}.`);

/** An ISO 8601 time with an offset, as the store compares times: UTC with milliseconds. */
const isoTime = (what: string) =>
  z.iso
    .datetime({ offset: true, error: `${what}: an ISO 8601 time with Z or an offset, e.g. 2026-05-01T00:00:00Z` })
    .transform((time) => new Date(time).toISOString())
    .describe(`${what} (ISO 8601, both ends included).`);

export const timeRange = {
  since: isoTime('from this time').optional(),
  until: isoTime('up to this time').optional(),
};

/** Refuses a range that ends before it starts, naming `until`. */
export function orderedRange<T extends { since?: string; until?: string }>(query: T, context: z.RefinementCtx): void {
  if (query.since !== undefined && query.until !== undefined && query.until < query.since)
    context.addIssue({ code: 'custom', path: ['until'], message: `until (${query.until}) is before since (${query.since})` });
}

export function encodeCursor(list: string, position: JsonValue[]): string {
  return Buffer.from(JSON.stringify([list, ...position]), 'utf8').toString('base64url');
}

/** The `cursor` parameter of `list`: decoded to its position, checked against `shape` (a tuple of the position's parts). */
export function cursorParam<T>(list: string, shape: z.ZodType<T>) {
  return z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .transform((cursor, context) => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        decoded = undefined;
      }
      const [tag, ...position] = Array.isArray(decoded) ? decoded : [];
      const parsed = shape.safeParse(position);
      if (tag === list && parsed.success) return parsed.data;
      context.addIssue({
        code: 'custom',
        message: `not a cursor of the ${list} list: pass the nextCursor of the previous page as it came`,
      });
      return z.NEVER;
    })
    .optional()
    .describe('The nextCursor of the previous page.');
}
