/**
 * Time functions of idflow's CEL: Go-style layouts (`"2006-01-02"`, `"15:04"`, `"Monday"`) for
 * time.format and time.parse, and time.start_of, all with IANA time zones through Intl.
 * Workflow-safe: no host clock, no I/O; Intl is available in Temporal's workflow sandbox.
 */

/** Named layouts, `TimeFormat.DATE` and friends in CEL. */
export const TIME_FORMATS = {
  DATE: '2006-01-02',
  DATETIME: '2006-01-02 15:04:05',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  TIME: '15:04:05',
  KITCHEN: '3:04PM',
} as const;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Layout tokens, longest first so "2006" wins over "2" and "January" over "Jan". */
const TOKENS = ['January', 'Monday', 'Z07:00', '-07:00', '2006', '-0700', '.000', 'Jan', 'Mon', 'MST', '01', '02', '03', '04', '05', '15', '_2', 'PM', 'pm', '06', '1', '2', '3', '4', '5'] as const;
type Token = (typeof TOKENS)[number];

function tokenize(layout: string): (Token | { literal: string })[] {
  const parts: (Token | { literal: string })[] = [];
  let literal = '';
  for (let i = 0; i < layout.length; ) {
    const token = TOKENS.find((candidate) => layout.startsWith(candidate, i));
    if (token) {
      if (literal) parts.push({ literal });
      literal = '';
      parts.push(token);
      i += token.length;
    } else {
      literal += layout[i];
      i++;
    }
  }
  if (literal) parts.push({ literal });
  return parts;
}

interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let cached = formatters.get(zone);
  if (!cached) {
    try {
      cached = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    } catch {
      throw new Error(`unknown time zone "${zone}": use an IANA zone such as "America/New_York" or "UTC"`);
    }
    formatters.set(zone, cached);
  }
  return cached;
}

/** The wall-clock time at `date` in `zone`. */
export function wallTime(date: Date, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(date)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return { year: parts.year as number, month: parts.month as number, day: parts.day as number, hour: (parts.hour as number) % 24, minute: parts.minute as number, second: parts.second as number, millisecond: date.getUTCMilliseconds() };
}

const wallAsUtc = (wall: WallTime): number => Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.millisecond);

/** Minutes `zone` is ahead of UTC at `date`. */
function offsetMinutes(date: Date, zone: string): number {
  return Math.round((wallAsUtc(wallTime(date, zone)) - date.getTime()) / 60_000);
}

/** The instant a wall-clock time in `zone` names (the earlier one in a repeated DST hour). */
export function fromWallTime(wall: WallTime, zone: string): Date {
  const guess = wallAsUtc(wall);
  const first = guess - offsetMinutes(new Date(guess), zone) * 60_000;
  const second = guess - offsetMinutes(new Date(first), zone) * 60_000;
  return new Date(Math.min(first, second));
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

function formatOffset(minutes: number, separator: string, zForUtc: boolean): string {
  if (minutes === 0 && zForUtc) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`;
}

/** time.format(ts, layout[, zone]) */
export function formatTime(date: Date, layout: string, zone = 'UTC'): string {
  const wall = wallTime(date, zone);
  const offset = offsetMinutes(date, zone);
  const weekday = new Date(wallAsUtc(wall)).getUTCDay();
  const hour12 = wall.hour % 12 === 0 ? 12 : wall.hour % 12;
  const values: Record<Token, () => string> = {
    January: () => MONTHS[wall.month - 1] as string,
    Jan: () => (MONTHS[wall.month - 1] as string).slice(0, 3),
    Monday: () => WEEKDAYS[weekday] as string,
    Mon: () => (WEEKDAYS[weekday] as string).slice(0, 3),
    '2006': () => pad(wall.year, 4),
    '06': () => pad(wall.year % 100),
    '01': () => pad(wall.month),
    '1': () => String(wall.month),
    '02': () => pad(wall.day),
    '2': () => String(wall.day),
    _2: () => String(wall.day).padStart(2, ' '),
    '15': () => pad(wall.hour),
    '03': () => pad(hour12),
    '3': () => String(hour12),
    '04': () => pad(wall.minute),
    '4': () => String(wall.minute),
    '05': () => pad(wall.second),
    '5': () => String(wall.second),
    '.000': () => `.${pad(wall.millisecond, 3)}`,
    PM: () => (wall.hour < 12 ? 'AM' : 'PM'),
    pm: () => (wall.hour < 12 ? 'am' : 'pm'),
    MST: () => (zone === 'UTC' ? 'UTC' : formatOffset(offset, '', false)),
    'Z07:00': () => formatOffset(offset, ':', true),
    '-07:00': () => formatOffset(offset, ':', false),
    '-0700': () => formatOffset(offset, '', false),
  };
  return tokenize(layout)
    .map((part) => (typeof part === 'string' ? values[part]() : part.literal))
    .join('');
}

const PATTERNS: Partial<Record<Token, string>> = {
  January: `(${MONTHS.join('|')})`,
  Jan: `(${MONTHS.map((m) => m.slice(0, 3)).join('|')})`,
  Monday: `(?:${WEEKDAYS.join('|')})`,
  Mon: `(?:${WEEKDAYS.map((d) => d.slice(0, 3)).join('|')})`,
  '2006': '(\\d{4})',
  '06': '(\\d{2})',
  '01': '(\\d{2})',
  '1': '(\\d{1,2})',
  '02': '(\\d{2})',
  '2': '(\\d{1,2})',
  _2: ' ?(\\d{1,2})',
  '15': '(\\d{2})',
  '03': '(\\d{2})',
  '3': '(\\d{1,2})',
  '04': '(\\d{2})',
  '4': '(\\d{1,2})',
  '05': '(\\d{2})',
  '5': '(\\d{1,2})',
  '.000': '\\.(\\d{3})',
  PM: '(AM|PM)',
  pm: '(am|pm)',
  'Z07:00': '(Z|[+-]\\d{2}:\\d{2})',
  '-07:00': '([+-]\\d{2}:\\d{2})',
  '-0700': '([+-]\\d{4})',
};

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** time.parse(text, layout[, zone]): a layout without an offset reads the time in `zone` (UTC by default). */
export function parseTime(text: string, layout: string, zone = 'UTC'): Date {
  const parts = tokenize(layout);
  const captured: Token[] = [];
  let source = '^';
  for (const part of parts) {
    if (typeof part !== 'string') {
      source += escapeRegExp(part.literal);
      continue;
    }
    const pattern = PATTERNS[part];
    if (pattern === undefined) throw new Error(`time.parse cannot read "${part}" in layout "${layout}"`);
    source += pattern;
    if (pattern.includes('(') && !pattern.startsWith('(?:')) captured.push(part);
  }
  const match = new RegExp(`${source}$`).exec(text);
  if (!match) throw new Error(`"${text}" does not match the layout "${layout}"`);
  const wall: WallTime = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 };
  let pm: boolean | undefined;
  let offset: number | undefined;
  captured.forEach((token, index) => {
    const value = match[index + 1] as string;
    const number = Number(value);
    if (token === 'January' || token === 'Jan') wall.month = MONTHS.findIndex((m) => m.startsWith(value)) + 1;
    else if (token === '2006') wall.year = number;
    else if (token === '06') wall.year = 2000 + number;
    else if (token === '01' || token === '1') wall.month = number;
    else if (token === '02' || token === '2' || token === '_2') wall.day = number;
    else if (token === '15' || token === '03' || token === '3') wall.hour = number;
    else if (token === '04' || token === '4') wall.minute = number;
    else if (token === '05' || token === '5') wall.second = number;
    else if (token === '.000') wall.millisecond = number;
    else if (token === 'PM' || token === 'pm') pm = value.toUpperCase() === 'PM';
    else if (value === 'Z') offset = 0;
    else {
      const digits = value.replace(':', '');
      offset = (value.startsWith('-') ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
    }
  });
  if (pm !== undefined) wall.hour = (wall.hour % 12) + (pm ? 12 : 0);
  const utc = wallAsUtc(wall);
  const check = new Date(utc);
  if (check.getUTCMonth() + 1 !== wall.month || check.getUTCDate() !== wall.day || wall.hour > 23 || wall.minute > 59 || wall.second > 59) {
    throw new Error(`"${text}" is not a real date and time`);
  }
  return offset === undefined ? fromWallTime(wall, zone) : new Date(utc - offset * 60_000);
}

/** time.start_of(ts, unit[, zone]): the start of the day, week (Monday) or month containing ts in `zone`. */
export function startOf(date: Date, unit: string, zone = 'UTC'): Date {
  const wall = wallTime(date, zone);
  const start: WallTime = { ...wall, hour: 0, minute: 0, second: 0, millisecond: 0 };
  if (unit === 'week') {
    const weekday = new Date(wallAsUtc(start)).getUTCDay();
    const monday = new Date(wallAsUtc(start) - ((weekday + 6) % 7) * 86_400_000);
    Object.assign(start, { year: monday.getUTCFullYear(), month: monday.getUTCMonth() + 1, day: monday.getUTCDate() });
  } else if (unit === 'month') {
    start.day = 1;
  } else if (unit !== 'day') {
    throw new Error(`time.start_of: unknown unit "${unit}": use "day", "week" or "month"`);
  }
  return fromWallTime(start, zone);
}
