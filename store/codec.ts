/**
 * Conversions between records and columns, shared by the repositories: JSON is stored as TEXT
 * and parsed here (not with dialect JSON functions) so every dialect reads it alike.
 */
import type { JsonValue } from '../core/json.js';
import { createHash } from 'node:crypto';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** JSON with object keys sorted at every depth: equal content gives equal text, whatever the key order. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members: string[] = [];
  for (const key of Object.keys(value).sort()) {
    const member = value[key];
    // JSON.stringify drops undefined members; do the same so a stray undefined cannot change the hash.
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
  }
  return `{${members.join(',')}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function toJsonText(value: JsonValue): string {
  return JSON.stringify(value);
}

/** Parses a stored JSON column; `where` names the table, column and row for the error message. */
export function parseJsonText<T = JsonValue>(text: string, where: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`store: invalid JSON in ${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** Like parseJsonText, for nullable columns: NULL means absent (a JSON null is the text "null"). */
export function parseOptionalJsonText(text: string | null, where: string): JsonValue | undefined {
  return text === null ? undefined : parseJsonText(text, where);
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIMIT;
  return Math.min(MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

/**
 * Ids looked up per `in (...)` statement: SQLite binds at most 32,766 variables per statement,
 * and a bounded list keeps each statement's plan and size ordinary on PostgreSQL too.
 */
const IDS_PER_QUERY = 500;

/** `ids` in slices of IDS_PER_QUERY, one statement each. */
export function idChunks(ids: readonly string[]): string[][] {
  const chunks: string[][] = [];
  for (let from = 0; from < ids.length; from += IDS_PER_QUERY) chunks.push(ids.slice(from, from + IDS_PER_QUERY));
  return chunks;
}

export function nowIso(): string {
  return new Date().toISOString();
}
