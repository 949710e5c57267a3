/**
 * The daily HR feed: a CSV or JSON file of people, compared with the directory. New people are
 * joiners (user.created), changed people movers (user.updated, one event with all changes),
 * people marked DISABLED, or missing from a full feed, leavers (user.deactivated). Bad rows are
 * reported with their line, column and reason and skipped; the rest is imported in one
 * transaction. A feed whose columns are unusable (no id or email, one given twice) is refused whole.
 * The same file imported twice changes nothing the second time and emits nothing.
 */
import type { JsonObject } from '../core/json.js';
import { parse as csvParser } from 'csv-parse';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LineCounter, isMap, isNode, isSeq, parseDocument } from 'yaml';
import { diffUser, type DirectoryService, type UserChange } from './service.js';
import { eventLoopTurns } from './turns.js';
import type { User } from './types.js';
import { CONTROL_CHARACTER, MAX_ID_LENGTH, UserInputSchema, toUserFields } from './users.js';

/** The feed's columns that are user fields (after mapping); any other column goes to attributes. */
export const DEFAULT_COLUMNS = [
  'id',
  'email',
  'firstName',
  'lastName',
  'displayName',
  'department',
  'title',
  'managerEmail',
  'employmentType',
  'status',
  'startDate',
  'endDate',
  'location',
] as const;
const FIELD_COLUMNS = new Set<string>([...DEFAULT_COLUMNS, 'username']);
/** Every row needs these; a CSV header without them is refused as a whole. */
const REQUIRED_COLUMNS = ['id', 'email'] as const;
/** Most people in one feed: the import holds the whole feed (about 7 KB a person), so this bounds its memory. */
export const MAX_FEED_ROWS = 500_000;
/** Longest column name, and most columns in a mapping. */
const MAX_COLUMN_NAME = MAX_ID_LENGTH;
const MAX_MAPPED_COLUMNS = 1000;
// Not storable as a key: assigning it to an object changes the object's prototype instead.
const UNSTORABLE_COLUMN = '__proto__';

/** Feed column → idflow column. A Map, so a column named like an Object member ("constructor") is just a name. */
export type ColumnMapping = ReadonlyMap<string, string>;

export interface FeedRow {
  /** 1-based line of the row in the file (its first line). */
  line: number;
  /** By idflow column (after mapping); a null-prototype object, so any column name is an own key. */
  values: Record<string, unknown>;
}

export interface Feed {
  file: string;
  rows: FeedRow[];
  /** The feed column each idflow column came from, where a mapping renamed it (for messages). */
  renamed: ReadonlyMap<string, string>;
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

/** A column name's problem, or undefined when it is usable. */
function columnNameProblem(name: string): string | undefined {
  if (name === UNSTORABLE_COLUMN) return `"${UNSTORABLE_COLUMN}" cannot be a column name`;
  if (name.length > MAX_COLUMN_NAME) return `a column name is longer than ${MAX_COLUMN_NAME} characters`;
  if (CONTROL_CHARACTER.test(name)) return `column name ${JSON.stringify(name)} contains a control character`;
  return undefined;
}

/** `read()`, its error prefixed with where (YAML's own errors, e.g. "Excessive alias count", name no file). */
function located<T>(where: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

/** A mapping file: `{ columns: { "Work Email": email, ... } }` or the map itself; feed column → idflow column. */
export function parseMapping(text: string, file: string): ColumnMapping {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`);
  const raw = located(file, () => document.toJS() as unknown);
  const columns = raw !== null && typeof raw === 'object' && Object.hasOwn(raw, 'columns') ? (raw as { columns: unknown }).columns : raw;
  if (columns === null || typeof columns !== 'object' || Array.isArray(columns))
    throw new Error(`${file}: expected a map of feed column → idflow column (optionally under "columns:")`);
  const entries = Object.entries(columns);
  if (entries.length > MAX_MAPPED_COLUMNS) throw new Error(`${file}: maps ${entries.length} columns; at most ${MAX_MAPPED_COLUMNS}`);
  const mapping = new Map<string, string>();
  for (const [from, to] of entries) {
    if (typeof to !== 'string' || to === '')
      throw new Error(`${file}: column "${from}" must map to a column name, got ${JSON.stringify(to)}`);
    const problem = columnNameProblem(from) ?? columnNameProblem(to);
    if (problem) throw new Error(`${file}: column "${from}": ${problem}`);
    mapping.set(from, to);
  }
  return mapping;
}

export interface ParseFeedOptions {
  /** Default: JSON for a file named *.json, else CSV. */
  format?: 'csv' | 'json';
  mapping?: ColumnMapping;
  /** Default MAX_FEED_ROWS. */
  maxRows?: number;
}

/** Reads a CSV (header row first) or JSON (an array of objects, or `{ users: [...] }`) feed; columns are renamed by the mapping. */
export async function parseFeed(file: string, content: string, options: ParseFeedOptions = {}): Promise<Feed> {
  const mapping = options.mapping ?? new Map<string, string>();
  const format = options.format ?? (/\.json$/i.test(file) ? 'json' : 'csv');
  const maxRows = options.maxRows ?? MAX_FEED_ROWS;
  return format === 'json' ? parseJsonFeed(file, content, mapping, maxRows) : parseCsvFeed(file, content, mapping, maxRows);
}

// CSV is parsed 256 KiB at a time (~2,000 people), giving the API's event loop a turn after each.
const CSV_SLICE = 256 * 1024;
const TOO_MANY = new Error('too many records');
const tooManyRows = (file: string, maxRows: number): Error =>
  new Error(`${file}: more than ${maxRows.toLocaleString('en')} people; an import takes at most that many`);

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

/** The CSV's records (header included), parsed a slice at a time with event-loop turns between; stops one record past `maxRecords`. */
async function csvRecords(file: string, content: string, maxRecords: number): Promise<CsvRecord[]> {
  // Records as arrays, not objects: the header is checked as a whole, and no column name can touch a prototype.
  const parser = csvParser({ bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: false });
  const records: CsvRecord[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', (error) => reject(error === TOO_MANY ? tooManyRows(file, maxRecords - 1) : new Error(`${file}: ${error.message}`)));
  });
  parser.on('data', (record: CsvRecord) => {
    records.push(record);
    if (records.length > maxRecords) parser.destroy(TOO_MANY);
  });
  for (let at = 0; at < content.length && !parser.destroyed; at += CSV_SLICE) {
    parser.write(content.slice(at, at + CSV_SLICE));
    await nextTurn();
  }
  if (!parser.destroyed) parser.end();
  await ended;
  return records;
}

async function parseCsvFeed(file: string, content: string, mapping: ColumnMapping, maxRows: number): Promise<Feed> {
  const [header, ...body] = await csvRecords(file, content, maxRows + 1);
  if (!header) throw new Error(`${file}: the feed is empty; expected a header row (${DEFAULT_COLUMNS.join(',')})`);
  const columns = csvColumns(`${file}:${header.info.lines}`, header.record, mapping);
  let previousEnd = header.info.lines;
  const rows = body.map(({ record, info }) => {
    // info.lines is where the record ends; it starts after the previous one (blank lines skipped).
    const line = Math.min(previousEnd + 1, info.lines);
    previousEnd = info.lines;
    const values: Record<string, unknown> = Object.create(null);
    columns.forEach((column, index) => (values[column] = record[index]));
    return { line, values };
  });
  return { file, rows, renamed: renamedColumns(header.record, mapping) };
}

/** The idflow column of each header cell; refuses unusable, repeated and missing columns, naming them. */
function csvColumns(where: string, header: string[], mapping: ColumnMapping): string[] {
  const position = new Map<string, number>();
  const columns = header.map((cell, index) => {
    const column = mapping.get(cell) ?? cell;
    const problem = columnNameProblem(cell) ?? columnNameProblem(column);
    if (problem) throw new Error(`${where}: column ${index + 1}: ${problem}`);
    if (column === '') throw new Error(`${where}: column ${index + 1} has no name`);
    const first = position.get(column);
    if (first !== undefined)
      throw new Error(
        `${where}: columns ${first + 1} (${describeColumn(header[first] as string, column)}) and ${index + 1} (${describeColumn(cell, column)}) both give ${column}; keep one`,
      );
    position.set(column, index);
    return column;
  });
  for (const required of REQUIRED_COLUMNS) {
    if (position.has(required)) continue;
    const mappedFrom = [...mapping].filter(([, to]) => to === required).map(([from]) => `"${from}"`);
    const hint =
      mappedFrom.length > 0
        ? `the mapping renames ${mappedFrom.join(' or ')} to ${required}, but the header has no such column`
        : `name a column "${required}", or rename one with a mapping (--map, e.g. columns: { "Employee ID": ${required} })`;
    throw new Error(`${where}: no ${required} column: the header has ${header.map((cell) => JSON.stringify(cell)).join(', ')}; ${hint}`);
  }
  return columns;
}

const describeColumn = (cell: string, column: string): string =>
  cell === column ? JSON.stringify(cell) : `${JSON.stringify(cell)} → ${column}`;

function renamedColumns(feedColumns: Iterable<string>, mapping: ColumnMapping): Map<string, string> {
  const renamed = new Map<string, string>();
  for (const column of feedColumns) {
    const to = mapping.get(column);
    if (to !== undefined && to !== column) renamed.set(to, column);
  }
  return renamed;
}

function parseJsonFeed(file: string, content: string, mapping: ColumnMapping, maxRows: number): Feed {
  const lines = new LineCounter();
  const document = parseDocument(content, { lineCounter: lines });
  if (document.errors.length > 0) {
    const { line } = lines.linePos(document.errors[0]?.pos[0] ?? 0);
    throw new Error(`${file}:${line}: not valid JSON: ${document.errors[0]?.message.split('\n')[0]}`);
  }
  const root: unknown = document.contents;
  const list: unknown = isMap(root) ? root.get('users', true) : root;
  if (!isSeq(list)) throw new Error(`${file}: expected an array of people, or an object with a "users" array`);
  if (list.items.length > maxRows) throw tooManyRows(file, maxRows);
  const feedColumns = new Set<string>();
  const rows = list.items.map((item) => {
    const line = lines.linePos(isNode(item) && item.range ? item.range[0] : 0).line;
    const person = located(`${file}:${line}`, () => (isNode(item) ? item.toJSON() : item) as unknown);
    if (person === null || typeof person !== 'object' || Array.isArray(person))
      throw new Error(`${file}:${line}: expected a person (an object), got ${JSON.stringify(person)}`);
    const values: Record<string, unknown> = Object.create(null);
    const fromKey = new Map<string, string>();
    for (const [key, value] of Object.entries(person)) {
      const column = mapping.get(key) ?? key;
      const problem = columnNameProblem(key) ?? columnNameProblem(column);
      if (problem) throw new Error(`${file}:${line}: ${problem}`);
      const first = fromKey.get(column);
      if (first !== undefined)
        throw new Error(
          `${file}:${line}: ${describeColumn(first, column)} and ${describeColumn(key, column)} both give ${column}; keep one`,
        );
      fromKey.set(column, key);
      const nested =
        column === 'attributes' && value !== null && typeof value === 'object'
          ? Object.keys(value).map(columnNameProblem).find(Boolean)
          : undefined;
      if (nested) throw new Error(`${file}:${line}: attributes: ${nested}`);
      feedColumns.add(key);
      values[column] = value;
    }
    return { line, values };
  });
  return { file, rows, renamed: renamedColumns(feedColumns, mapping) };
}

/** A row's user input: managerEmail → manager, unknown columns → attributes. */
function rowInput(values: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  const attributes: JsonObject = Object.create(null);
  let hasAttributes = false;
  for (const [name, value] of Object.entries(values)) {
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
export async function importFeed(service: DirectoryService, feed: Feed, options: ImportOptions): Promise<ImportReport> {
  const { rows } = feed;
  const report: ImportReport = {
    source: options.source,
    dryRun: options.dryRun ?? false,
    rows: rows.length,
    created: [],
    updated: [],
    deactivated: [],
    unchanged: 0,
    errors: [],
    events: 0,
  };
  const existing = await service.repo.listUsers();
  const byId = new Map(existing.map((user) => [user.id, user]));
  const idByEmail = new Map(existing.map((user) => [user.email.toLowerCase(), user.id]));

  // First pass: validate rows, so managers can be any valid person of the file.
  const valid: { line: number; input: ReturnType<typeof UserInputSchema.parse> }[] = [];
  const lineOfId = new Map<string, number>();
  const seenIds = new Set<string>();
  const turn = eventLoopTurns();
  for (const row of rows) {
    await turn();
    const parsed = UserInputSchema.safeParse(rowInput(row.values));
    const rawId = typeof row.values.id === 'string' ? row.values.id.trim() : undefined;
    if (rawId) seenIds.add(rawId);
    if (!parsed.success) {
      const message = parsed.error.issues
        .map((issue) =>
          issue.path.length > 0 && !issue.message.includes(String(issue.path[0]))
            ? `${fieldLabel(feed, issue.path)}: ${issue.message}`
            : issue.message,
        )
        .join('; ');
      report.errors.push({ line: row.line, ...(rawId && { id: rawId }), message });
      continue;
    }
    const first = lineOfId.get(parsed.data.id);
    if (first !== undefined) {
      report.errors.push({
        line: row.line,
        id: parsed.data.id,
        message: `duplicate id "${parsed.data.id}" (first on line ${first}); this row is skipped`,
      });
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
    await turn();
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
    else
      report.deactivated.push({
        id: change.user.id,
        reason: seenIds.has(change.user.id) ? `status ${change.user.status}` : 'missing from the full feed',
      });
  }
  report.events = changes.length;
  report.errors.sort((a, b) => a.line - b.line);
  if (!report.dryRun) await service.applyUserChanges(changes);
  return report;
}

/** A field as the feed names it: `firstName`, or `"First Name" (firstName)` when a mapping renamed the column. */
function fieldLabel(feed: Feed, path: PropertyKey[]): string {
  const field = path.map(String).join('.');
  const column = feed.renamed.get(String(path[0] === 'manager' ? 'managerEmail' : path[0]));
  return column === undefined ? field : `${JSON.stringify(column)} (${field})`;
}
