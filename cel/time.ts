/**
 * Time functions of idflow's CEL: time.format and time.parse with Go-style layouts
 * (`"2006-01-02"`, `"15:04"`, `"Monday"`; tokens in cel/layouts.ts) and time.start_of, all with
 * IANA time zones (cel/zones.ts).
 *
 * Workflow-safe: no host clock, no I/O, no Node built-ins; Intl is available in Temporal's
 * workflow sandbox. Every function is pure: the same instant, layout and zone give the same text.
 *
 * A layout means here what it means in Go, with documented differences (docs/cel.md): timestamps
 * have millisecond precision, `MST` prints the abbreviation Intl knows where it agrees with Go's
 * or else a numeric one (`+08`), a wall time that a DST change skips resolves forward
 * (02:30 → 03:30) and one it repeats to the earlier instant, and a layout without a year reads 1970.
 */
import { isDigitAt, tokenize, type Chunk, type Fraction, type Std } from './layouts.js';
import {
  DAY_MS,
  fromWallTime,
  instantsOf,
  offsetAt,
  pad,
  splitOffset,
  wallFormatter,
  wallMillis,
  wallTime,
  zoneAbbreviation,
  type WallTime,
} from './zones.js';

/** Named layouts, `TimeFormat.DATE` and friends in CEL. */
export const TIME_FORMATS = {
  DATE: '2006-01-02',
  DATETIME: '2006-01-02 15:04:05',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  TIME: '15:04:05',
  KITCHEN: '3:04PM',
} as const;

/** The units of time.start_of. */
export const START_OF_UNITS = ['day', 'week', 'month'] as const;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** `-07`, `-0700`, `-07:00`, `-070000`, `-07:00:00`, and the `Z` variants, which print "Z" for UTC. */
function formatOffset(std: Std, offsetMs: number): string {
  if (std.startsWith('Z') && offsetMs === 0) return 'Z';
  const { sign, hours, minutes, seconds } = splitOffset(offsetMs);
  const shape = std.slice(1);
  const colon = shape.includes(':') ? ':' : '';
  let text = `${sign}${pad(hours)}`;
  if (shape.length > 2) text += `${colon}${pad(minutes)}`;
  if (shape.length > 5) text += `${colon}${pad(seconds)}`;
  return text;
}

function dayOfYear(wall: WallTime): number {
  return (
    Math.round(
      (wallMillis({ ...wall, hour: 0, minute: 0, second: 0, millisecond: 0 }) -
        wallMillis({ ...wall, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 })) /
        DAY_MS,
    ) + 1
  );
}

// ---------------------------------------------------------------------------------------------
// time.format
// ---------------------------------------------------------------------------------------------

/** time.format(ts, layout[, zone]): `ts` as the clocks of `zone` (UTC by default) show it, written as `layout`. */
export function formatTime(date: Date, layout: string, zone = 'UTC'): string {
  const ms = date.getTime();
  const wall = wallTime(ms, zone);
  const offset = wallMillis(wall) - ms;
  const hour12 = wall.hour % 12 === 0 ? 12 : wall.hour % 12;
  let out = '';
  for (const chunk of tokenize(layout)) {
    if (chunk.kind === 'literal') {
      out += chunk.text;
      continue;
    }
    if (chunk.kind === 'fraction') {
      out += formatFraction(chunk, wall.millisecond);
      continue;
    }
    switch (chunk.std) {
      case 'January':
        out += MONTHS[wall.month - 1];
        break;
      case 'Jan':
        out += MONTHS[wall.month - 1]?.slice(0, 3);
        break;
      case '1':
        out += wall.month;
        break;
      case '01':
        out += pad(wall.month);
        break;
      case 'Monday':
        out += WEEKDAYS[new Date(wallMillis(wall)).getUTCDay()];
        break;
      case 'Mon':
        out += WEEKDAYS[new Date(wallMillis(wall)).getUTCDay()]?.slice(0, 3);
        break;
      case '2':
        out += wall.day;
        break;
      case '_2':
        out += String(wall.day).padStart(2, ' ');
        break;
      case '02':
        out += pad(wall.day);
        break;
      case '__2':
        out += String(dayOfYear(wall)).padStart(3, ' ');
        break;
      case '002':
        out += pad(dayOfYear(wall), 3);
        break;
      case '15':
        out += pad(wall.hour);
        break;
      case '3':
        out += hour12;
        break;
      case '03':
        out += pad(hour12);
        break;
      case '4':
        out += wall.minute;
        break;
      case '04':
        out += pad(wall.minute);
        break;
      case '5':
        out += wall.second;
        break;
      case '05':
        out += pad(wall.second);
        break;
      case '2006':
        out += pad(wall.year, 4);
        break;
      case '06':
        out += pad(wall.year % 100);
        break;
      case 'PM':
        out += wall.hour < 12 ? 'AM' : 'PM';
        break;
      case 'pm':
        out += wall.hour < 12 ? 'am' : 'pm';
        break;
      case 'MST':
        out += zoneAbbreviation(ms, zone, offset);
        break;
      default:
        out += formatOffset(chunk.std, offset);
    }
  }
  return out;
}

function formatFraction(chunk: Fraction, millisecond: number): string {
  const nanos = pad(millisecond, 3).padEnd(9, '0');
  if (chunk.zeros) return chunk.separator + nanos.slice(0, chunk.digits);
  const kept = nanos.slice(0, chunk.digits).replace(/0+$/, '');
  return kept === '' ? '' : chunk.separator + kept;
}

// ---------------------------------------------------------------------------------------------
// time.parse
// ---------------------------------------------------------------------------------------------

/** What reading the text found; -1 where the layout had no such part. */
interface Reading {
  wall: WallTime;
  /** The text gave a month or a day (to check against a day of the year). */
  dateRead: boolean;
  yearDay: number;
  pm?: boolean;
  offsetMs?: number;
  abbreviation?: string;
}

/** A failure while reading: `what` the layout expected where the text has `rest`. */
class Mismatch {
  constructor(
    readonly expected: string,
    readonly rest: string,
  ) {}
}

/** Go's getnum: one or two digits, exactly two when `fixed`. */
function readNumber(text: string, at: number, fixed: boolean, maxDigits = 2): [number, number] | undefined {
  let end = at;
  while (end - at < maxDigits && isDigitAt(text, end)) end++;
  if (end === at || (fixed && end - at !== maxDigits)) return undefined;
  return [Number(text.slice(at, end)), end];
}

/** A name from `names` (case-insensitively, as Go), full or its first three letters. */
function readName(text: string, at: number, names: readonly string[], short: boolean): [number, number] | undefined {
  for (let index = 0; index < names.length; index++) {
    const name = short ? (names[index] as string).slice(0, 3) : (names[index] as string);
    if (text.slice(at, at + name.length).toLowerCase() === name.toLowerCase()) return [index, at + name.length];
  }
  return undefined;
}

/** Go's skip: literal text, where a run of spaces in the layout matches a run of spaces in the text. */
function readLiteral(text: string, at: number, literal: string): number | undefined {
  let i = at;
  for (let j = 0; j < literal.length;) {
    if (literal[j] === ' ') {
      if (i < text.length && text[i] !== ' ') return undefined;
      while (literal[j] === ' ') j++;
      while (text[i] === ' ') i++;
      continue;
    }
    if (text[i] !== literal[j]) return undefined;
    i++;
    j++;
  }
  return i;
}

function readOffset(text: string, at: number, std: Std): [number, number] | undefined {
  if (std.startsWith('Z') && text[at] === 'Z') return [0, at + 1];
  const shape = std.slice(1).replace('07', 'hh').replace('00', 'mm').replace('00', 'ss');
  const sign = text[at];
  if (sign !== '+' && sign !== '-') return undefined;
  let i = at + 1;
  const parts: number[] = [];
  for (const piece of shape.split(/(:)/)) {
    if (piece === ':') {
      if (text[i] !== ':') return undefined;
      i++;
      continue;
    }
    for (let k = 0; k < piece.length; k += 2) {
      const number = readNumber(text, i, true);
      if (number === undefined) return undefined;
      parts.push(number[0]);
      i = number[1];
    }
  }
  const [hours = 0, minutes = 0, seconds = 0] = parts;
  if (hours > 23 || minutes > 59 || seconds > 59) return undefined;
  return [(sign === '-' ? -1 : 1) * ((hours * 60 + minutes) * 60 + seconds) * 1000, i];
}

/** Fractional seconds after a separator, as milliseconds (digits beyond the third are dropped). */
function readFraction(text: string, at: number, exactDigits?: number): [number, number] | undefined {
  if (text[at] !== '.' && text[at] !== ',') return undefined;
  let end = at + 1;
  while (isDigitAt(text, end)) end++;
  const digits = end - at - 1;
  if (digits === 0 || (exactDigits !== undefined && digits !== exactDigits)) return undefined;
  return [Number(text.slice(at + 1, Math.min(at + 4, end)).padEnd(3, '0')), end];
}

const EXPECTED: Record<Std, string> = {
  January: 'a month name',
  Jan: 'a month abbreviation',
  '1': 'a month (1-12)',
  '01': 'a two-digit month',
  Monday: 'a weekday name',
  Mon: 'a weekday abbreviation',
  '2': 'a day',
  _2: 'a day',
  '02': 'a two-digit day',
  __2: 'a day of the year',
  '002': 'a three-digit day of the year',
  '15': 'an hour (0-23)',
  '3': 'an hour (0-12)',
  '03': 'a two-digit hour',
  '4': 'a minute',
  '04': 'two-digit minutes',
  '5': 'a second',
  '05': 'two-digit seconds',
  '2006': 'a four-digit year',
  '06': 'a two-digit year',
  PM: '"AM" or "PM"',
  pm: '"am" or "pm"',
  MST: 'a zone abbreviation',
  Z070000: 'Z or an offset',
  'Z07:00:00': 'Z or an offset',
  Z0700: 'Z or an offset (+0100)',
  'Z07:00': 'Z or an offset (+01:00)',
  Z07: 'Z or an offset (+01)',
  '-070000': 'an offset',
  '-07:00:00': 'an offset',
  '-0700': 'an offset (+0100)',
  '-07:00': 'an offset (+01:00)',
  '-07': 'an offset (+01)',
};

/** Reads `text` by `layout` (Go's Parse, without the zone resolution), or the first mismatch. */
function read(text: string, layout: string): Reading | Mismatch {
  const chunks = tokenize(layout);
  const reading: Reading = {
    wall: { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, millisecond: 0 },
    dateRead: false,
    yearDay: -1,
  };
  const { wall } = reading;
  let i = 0;
  for (let c = 0; c < chunks.length; c++) {
    const chunk = chunks[c] as Chunk;
    const rest = text.slice(i);
    if (chunk.kind === 'literal') {
      const end = readLiteral(text, i, chunk.text);
      if (end === undefined) return new Mismatch(JSON.stringify(chunk.text), rest);
      i = end;
      continue;
    }
    if (chunk.kind === 'fraction') {
      const fraction = readFraction(text, i, chunk.zeros ? chunk.digits : undefined);
      if (fraction) [wall.millisecond, i] = fraction;
      // `.999`: the fraction may be left out altogether.
      else if (chunk.zeros) return new Mismatch(`"${chunk.separator}" and ${chunk.digits} digits`, rest);
      continue;
    }
    let result: [number, number] | undefined;
    switch (chunk.std) {
      case 'January':
      case 'Jan':
        result = readName(text, i, MONTHS, chunk.std === 'Jan');
        if (result) [wall.month, reading.dateRead] = [result[0] + 1, true];
        break;
      case 'Monday':
      case 'Mon':
        // Read and checked, then ignored, as in Go: the date says which day it is.
        result = readName(text, i, WEEKDAYS, chunk.std === 'Mon');
        break;
      case '1':
      case '01':
        result = readNumber(text, i, chunk.std === '01');
        if (result) [wall.month, reading.dateRead] = [result[0], true];
        break;
      case '2':
      case '_2':
      case '02':
        result = readNumber(text, chunk.std === '_2' && text[i] === ' ' ? i + 1 : i, chunk.std === '02');
        if (result) [wall.day, reading.dateRead] = [result[0], true];
        break;
      case '__2':
      case '002': {
        let start = i;
        if (chunk.std === '__2') while (start < i + 2 && text[start] === ' ') start++;
        result = readNumber(text, start, chunk.std === '002', 3);
        if (result) reading.yearDay = result[0];
        break;
      }
      case '15':
      case '3':
      case '03':
        result = readNumber(text, i, chunk.std === '03');
        if (result) wall.hour = result[0];
        if (result && chunk.std !== '15' && result[0] > 12) return new Mismatch(EXPECTED[chunk.std], rest);
        break;
      case '4':
      case '04':
        result = readNumber(text, i, chunk.std === '04');
        if (result) wall.minute = result[0];
        break;
      case '5':
      case '05': {
        result = readNumber(text, i, chunk.std === '05');
        if (!result) break;
        wall.second = result[0];
        // As Go: seconds may carry a fraction the layout does not show, unless one follows.
        const fraction = chunks[c + 1]?.kind === 'fraction' ? undefined : readFraction(text, result[1]);
        if (fraction) [wall.millisecond, result[1]] = fraction;
        break;
      }
      case '2006':
        result = readNumber(text, i, true, 4);
        if (result) wall.year = result[0];
        break;
      case '06':
        result = readNumber(text, i, true);
        if (result) wall.year = result[0] + (result[0] >= 69 ? 1900 : 2000);
        break;
      case 'PM':
      case 'pm': {
        const word = text.slice(i, i + 2);
        const [am, pm] = chunk.std === 'PM' ? ['AM', 'PM'] : ['am', 'pm'];
        if (word === am || word === pm) {
          reading.pm = word === pm;
          result = [0, i + 2];
        }
        break;
      }
      case 'MST': {
        const match = /^(?:[A-Z]{3,5}|[+-]\d{2}(?:\d{2})?)/.exec(rest);
        if (match) {
          reading.abbreviation = match[0];
          result = [0, i + match[0].length];
        }
        break;
      }
      default:
        result = readOffset(text, i, chunk.std);
        if (result) reading.offsetMs = result[0];
    }
    if (!result) return new Mismatch(EXPECTED[chunk.std], rest);
    i = result[1];
  }
  if (i < text.length) return new Mismatch('the end of the text', text.slice(i));
  return reading;
}

function daysInMonth(year: number, month: number): number {
  return new Date(wallMillis({ year, month: month + 1, day: 0, hour: 12, minute: 0, second: 0, millisecond: 0 })).getUTCDate();
}

/** Checks the wall time is a real one and applies AM/PM and the day of the year; returns why not. */
function settle(reading: Reading): string | undefined {
  const { wall } = reading;
  // As Go: PM adds 12 to hours before noon, AM makes 12 midnight; "13:00 AM" stays 13:00.
  if (reading.pm === true && wall.hour < 12) wall.hour += 12;
  else if (reading.pm === false && wall.hour === 12) wall.hour = 0;
  if (wall.year < 1 || wall.year > 9999) return `year ${wall.year} is outside CEL's timestamps (0001 to 9999)`;
  if (reading.yearDay >= 0) {
    const days = daysInMonth(wall.year, 2) === 29 ? 366 : 365;
    if (reading.yearDay < 1 || reading.yearDay > days) return `day ${reading.yearDay} of the year: ${wall.year} has ${days} days`;
    const date = new Date(wallMillis({ ...wall, month: 1, day: reading.yearDay, hour: 12 }));
    const [month, day] = [date.getUTCMonth() + 1, date.getUTCDate()];
    if (reading.dateRead && (wall.month !== month || wall.day !== day)) {
      return `day ${reading.yearDay} of the year is ${MONTHS[month - 1]} ${day}, not ${MONTHS[wall.month - 1]} ${wall.day}`;
    }
    [wall.month, wall.day] = [month, day];
  }
  if (wall.month < 1 || wall.month > 12) return `month ${wall.month} does not exist`;
  const days = daysInMonth(wall.year, wall.month);
  if (wall.day < 1 || wall.day > days) return `${MONTHS[wall.month - 1]} ${wall.year} has ${days} days, not ${wall.day}`;
  if (wall.hour > 23) return `hour ${wall.hour} does not exist`;
  if (wall.minute > 59) return `minute ${wall.minute} does not exist`;
  if (wall.second > 59) return `second ${wall.second} does not exist`;
  return undefined;
}

/**
 * The instant of a reading: by its offset when the text has one; by its zone abbreviation when
 * that is UTC/GMT, numeric, or what `zone`'s clocks showed then (EST or EDT for New York: this
 * also tells the two 01:30 of a fall-back night apart); else as a wall time in `zone`.
 */
function instantOf(reading: Reading, zone: string, text: string): number | string {
  const local = wallMillis(reading.wall);
  if (reading.offsetMs !== undefined) return local - reading.offsetMs;
  const abbreviation = reading.abbreviation;
  if (abbreviation === undefined) return fromWallTime(reading.wall, zone);
  if (abbreviation === 'UTC' || abbreviation === 'GMT') return local;
  const numeric = readOffset(abbreviation, 0, abbreviation.length === 3 ? '-07' : '-0700');
  if (numeric) return local - numeric[0];
  for (const instant of instantsOf(local, zone)) {
    if (zoneAbbreviation(instant, zone, offsetAt(instant, zone)) === abbreviation) return instant;
  }
  return `the zone "${abbreviation}" in "${text}" is not what clocks in ${zone} showed then; pass its IANA zone as the third argument, or write a numeric offset (-0700)`;
}

/**
 * time.parse(text, layout[, zone]). Text without an offset is a wall time in `zone` (UTC by
 * default). Parts the layout lacks default to 1970-01-01 00:00:00 (Go's year 0 is no CEL timestamp).
 */
export function parseTime(text: string, layout: string, zone = 'UTC'): Date {
  wallFormatter(zone); // an unknown zone is an error even when the text carries an offset
  const reading = read(text, layout);
  if (reading instanceof Mismatch) {
    const where = reading.rest === '' ? 'at its end' : `at "${reading.rest}"`;
    throw new Error(`time.parse: "${text}" does not match the layout "${layout}": expected ${reading.expected} ${where}`);
  }
  const invalid = settle(reading);
  if (invalid !== undefined) throw new Error(`time.parse: "${text}" is not a real date and time: ${invalid}`);
  const instant = instantOf(reading, zone, text);
  if (typeof instant === 'string') throw new Error(`time.parse: ${instant}`);
  return new Date(instant);
}

// ---------------------------------------------------------------------------------------------
// time.start_of
// ---------------------------------------------------------------------------------------------

/**
 * time.start_of(ts, unit[, zone]): the first instant of the day, week (weeks start on Monday, as
 * ISO 8601) or month containing `ts`, on the clocks of `zone` (UTC by default).
 */
export function startOf(date: Date, unit: string, zone = 'UTC'): Date {
  const wall = wallTime(date.getTime(), zone);
  const start: WallTime = { ...wall, hour: 0, minute: 0, second: 0, millisecond: 0 };
  switch (unit) {
    case 'day':
      break;
    case 'week': {
      const daysSinceMonday = (new Date(wallMillis(start)).getUTCDay() + 6) % 7;
      const monday = new Date(wallMillis(start) - daysSinceMonday * DAY_MS);
      Object.assign(start, { year: monday.getUTCFullYear(), month: monday.getUTCMonth() + 1, day: monday.getUTCDate() });
      break;
    }
    case 'month':
      start.day = 1;
      break;
    default:
      throw new Error(`time.start_of: unknown unit "${unit}": use ${START_OF_UNITS.map((u) => `"${u}"`).join(', ')}`);
  }
  return new Date(fromWallTime(start, zone));
}
