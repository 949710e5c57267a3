/**
 * The daily HR feed: a CSV or JSON file of people, compared with the directory. New people are
 * joiners (user.created), changed people movers (user.updated, one event with all changes),
 * people marked DISABLED, or missing from a full feed, leavers (user.deactivated). Bad rows are
 * reported with their line and reason and skipped; the rest is imported in one transaction.
 * The same file imported twice changes nothing the second time and emits nothing.
 */
import type { JsonObject } from '../core/json.js';
import { parse as parseCsv } from 'csv-parse/sync';
import { LineCounter, isMap, isNode, isSeq, parseDocument } from 'yaml';
import { diffUser, type DirectoryService, type UserChange } from './service.js';
import type { User } from './types.js';
import { UserInputSchema, toUserFields } from './users.js';

/** The feed's columns that are user fields (after mapping); any other column goes to attributes. */
export const DEFAULT_COLUMNS = ['id', 'email', 'firstName', 'lastName', 'displayName', 'department', 'title', 'managerEmail', 'employmentType', 'status', 'startDate', 'endDate', 'location'] as const;
const FIELD_COLUMNS = new Set<string>([...DEFAULT_COLUMNS, 'username']);

export interface FeedRow {
  /** 1-based line of the row in the file (its first line). */
  line: number;
  values: Record<string, unknown>;
}

export interface ImportOptions {
  /** Names the feed in reports and audit, e.g. "workday". */
  source: string;
  /** The feed lists everyone: enabled people missing from it are deactivated. */
  full?: boolean;
  /** Compute and report the changes; write nothing. */
  dryRun?: boolean;
}

export interface ImportRowError {
  line: number;
  id?: string;
  message: string;
}

export interface ImportReport {
  source: string;
  dryRun: boolean;
  rows: number;
  created: { id: string; email: string }[];
  updated: { id: string; changes: string[] }[];
  deactivated: { id: string; reason: string }[];
  unchanged: number;
  errors: ImportRowError[];
  /** Events emitted (or, on a dry run, that would be): one per created, updated or deactivated person. */
  events: number;
}

/** A mapping file: `{ columns: { "Work Email": email, ... } }` or the map itself; feed column → idflow column. */
export function parseMapping(text: string, file: string): Record<string, string> {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
  const raw: unknown = document.toJS();
  const columns = raw !== null && typeof raw === 'object' && 'columns' in raw ? (raw as { columns: unknown }).columns : raw;
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns)) throw new Error(`${file}: expected a map of feed column → idflow column (optionally under "columns:")`);
  const mapping: Record<string, string> = {};
  for (const [from, to] of Object.entries(columns)) {
    if (typeof to !== 'string') throw new Error(`${file}: column "${from}" must map to a column name, got ${JSON.stringify(to)}`);
    mapping[from] = to;
  }
  return mapping;
}

/** Reads a CSV (header row first) or JSON (an array of objects, or `{ users: [...] }`) feed. */
export function parseFeed(file: string, content: string): FeedRow[] {
  if (/\.json$/i.test(file)) return parseJsonFeed(file, content);
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parseCsv(content, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: false });
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  let previousEnd = 1; // the header's line
  return records.map(({ record, info }) => {
    // info.lines is where the record ends; it starts after the previous one (blank lines skipped).
    const line = Math.min(previousEnd + 1, info.lines);
    previousEnd = info.lines;
    return { line, values: record };
  });
}

function parseJsonFeed(file: string, content: string): FeedRow[] {
  const lines = new LineCounter();
  const document = parseDocument(content, { lineCounter: lines });
  if (document.errors.length > 0) {
    const { line } = lines.linePos(document.errors[0]?.pos[0] ?? 0);
    throw new Error(`${file}:${line}: not valid JSON: ${document.errors[0]?.message.split('\n')[0]}`);
  }
  const root: unknown = document.contents;
  const list: unknown = isMap(root) ? root.get('users', true) : root;
  if (!isSeq(list)) throw new Error(`${file}: expected an array of people, or an object with a "users" array`);
  return list.items.map((item) => {
    const line = lines.linePos(isNode(item) && item.range ? item.range[0] : 0).line;
    const value: unknown = isNode(item) ? item.toJSON() : item;
    return { line, values: value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { __notAnObject: value } };
  });
}

/** A row's user input: mapped column names, managerEmail → manager, unknown columns → attributes. */
function rowInput(values: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const attributes: JsonObject = {};
  let hasAttributes = false;
  for (const [column, value] of Object.entries(values)) {
    const name = mapping[column] ?? column;
    if (name === 'attributes' && value !== null && typeof value === 'object') {
      Object.assign(attributes, value);
      hasAttributes = true;
    } else if (FIELD_COLUMNS.has(name)) {
      input[name === 'managerEmail' ? 'manager' : name] = typeof value === 'number' ? String(value) : value;
    } else if (value !== '' && value !== undefined && value !== null) {
      attributes[name] = value as JsonObject[string];
      hasAttributes = true;
    } else {
      hasAttributes = true;
    }
  }
  if (hasAttributes) input.attributes = attributes;
  return input;
}

/** Computes the changes a feed makes to the directory and, unless dryRun, writes them with their events. */
export async function importFeed(service: DirectoryService, rows: FeedRow[], mapping: Record<string, string>, options: ImportOptions): Promise<ImportReport> {
  const report: ImportReport = { source: options.source, dryRun: options.dryRun ?? false, rows: rows.length, created: [], updated: [], deactivated: [], unchanged: 0, errors: [], events: 0 };
  const existing = await service.repo.listUsers();
  const byId = new Map(existing.map((user) => [user.id, user]));
  const idByEmail = new Map(existing.map((user) => [user.email.toLowerCase(), user.id]));

  // First pass: validate rows, so managers can be any valid person of the file.
  const valid: { line: number; input: ReturnType<typeof UserInputSchema.parse> }[] = [];
  const lineOfId = new Map<string, number>();
  const seenIds = new Set<string>();
  for (const row of rows) {
    const parsed = UserInputSchema.safeParse(rowInput(row.values, mapping));
    const rawId = typeof row.values[invert(mapping, 'id')] === 'string' ? String(row.values[invert(mapping, 'id')]).trim() : undefined;
    if (rawId) seenIds.add(rawId);
    if (!parsed.success) {
      const message = parsed.error.issues.map((issue) => (issue.path.length > 0 && !issue.message.includes(String(issue.path[0])) ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
      report.errors.push({ line: row.line, ...(rawId && { id: rawId }), message });
      continue;
    }
    const first = lineOfId.get(parsed.data.id);
    if (first !== undefined) {
      report.errors.push({ line: row.line, id: parsed.data.id, message: `duplicate id "${parsed.data.id}" (first on line ${first}); this row is skipped` });
      continue;
    }
    lineOfId.set(parsed.data.id, row.line);
    valid.push({ line: row.line, input: parsed.data });
  }
  const feedIdByEmail = new Map(valid.map(({ input }) => [input.email.toLowerCase(), input.id]));
  const managerId = (email: string): string | undefined => feedIdByEmail.get(email) ?? idByEmail.get(email);

  const now = new Date().toISOString();
  const changes: UserChange[] = [];
  // Who holds each email once the feed is applied: people the feed does not list keep theirs.
  const feedIds = new Set(valid.map(({ input }) => input.id));
  const holder = new Map(existing.filter((user) => !feedIds.has(user.id)).map((user) => [user.email.toLowerCase(), user.id]));
  for (const { line, input } of valid) {
    const current = byId.get(input.id);
    const emailKey = input.email.toLowerCase();
    const owner = holder.get(emailKey);
    if (owner !== undefined && owner !== input.id) {
      report.errors.push({ line, id: input.id, message: `email "${input.email}" belongs to another person ("${owner}")` });
      continue;
    }
    holder.set(emailKey, input.id);
    let change: UserChange | undefined;
    try {
      change = diffUser(current, toUserFields(input, current, managerId), now);
    } catch (error) {
      report.errors.push({ line, id: input.id, message: (error as Error).message });
      continue;
    }
    if (!change) report.unchanged++;
    else changes.push(change);
  }

  if (options.full) {
    for (const user of existing) {
      if (seenIds.has(user.id) || user.status !== 'ENABLED') continue;
      const disabled: User = { ...user, status: 'DISABLED', updatedAt: now };
      changes.push({ kind: 'deactivated', before: user, user: disabled, changes: ['status'] });
    }
  }

  for (const change of changes) {
    if (change.kind === 'created') report.created.push({ id: change.user.id, email: change.user.email });
    else if (change.kind === 'updated') report.updated.push({ id: change.user.id, changes: change.changes });
    else report.deactivated.push({ id: change.user.id, reason: seenIds.has(change.user.id) ? `status ${change.user.status}` : 'missing from the full feed' });
  }
  report.events = changes.length;
  report.errors.sort((a, b) => a.line - b.line);
  if (!report.dryRun) await service.applyUserChanges(changes);
  return report;
}

/** The feed column that maps to `field` (the field's own name when unmapped). */
function invert(mapping: Record<string, string>, field: string): string {
  return Object.entries(mapping).find(([, to]) => to === field)?.[0] ?? field;
}
