/**
 * Wall-clock time in IANA zones, through Intl: what the clocks of a zone show at an instant, the
 * instant(s) a wall-clock time names, and zone abbreviations. Used by cel/time.ts.
 *
 * Workflow-safe: Intl only (available in Temporal's workflow sandbox); no host clock, no Node
 * built-ins. Timestamps are milliseconds since the epoch, as Date holds them.
 */

export const DAY_MS = 86_400_000;

/** A wall-clock reading: what a clock in some zone shows. */
export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

/** The formatter of wall-clock parts in `zone`, cached; throws an Error naming `zone` when Intl does not know it. */
export function wallFormatter(zone: string): Intl.DateTimeFormat {
  let cached = wallFormatters.get(zone);
  if (cached === undefined) {
    try {
      cached = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        era: 'short',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new Error(`unknown time zone "${zone}": use an IANA zone such as "America/New_York", "Europe/Paris" or "UTC"`);
    }
    wallFormatters.set(zone, cached);
  }
  return cached;
}

/** The wall-clock time at instant `ms` in `zone`. */
export function wallTime(ms: number, zone: string): WallTime {
  const wall: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, millisecond: ((ms % 1000) + 1000) % 1000 };
  let bc = false;
  for (const part of wallFormatter(zone).formatToParts(ms)) {
    switch (part.type) {
      case 'era':
        bc = part.value === 'BC';
        break;
      case 'year':
      case 'month':
      case 'day':
      case 'minute':
      case 'second':
        wall[part.type] = Number(part.value);
        break;
      case 'hour':
        wall.hour = Number(part.value) % 24;
        break;
    }
  }
  if (bc) wall.year = 1 - wall.year;
  return wall;
}

/** The wall clock read as if it were UTC, in milliseconds. Years 0-99 stay themselves (Date.UTC maps them to 19xx). */
export function wallMillis(wall: WallTime): number {
  const date = new Date(0);
  date.setUTCFullYear(wall.year, wall.month - 1, wall.day);
  date.setUTCHours(wall.hour, wall.minute, wall.second, wall.millisecond);
  return date.getTime();
}

/** Milliseconds `zone` is ahead of UTC at instant `ms`. */
export function offsetAt(ms: number, zone: string): number {
  return wallMillis(wallTime(ms, zone)) - ms;
}

/**
 * The instant a wall-clock time in `zone` names. In the hour a DST change repeats, the earlier
 * one; in the hour it skips, the time moved forward by the gap (02:30 → 03:30 EDT), so that the
 * start of a day that begins at 01:00 (a midnight DST change) is that 01:00, not the day before.
 * This is RFC 5545's and JavaScript Temporal's "compatible" choice.
 */
export function fromWallTime(wall: WallTime, zone: string): number {
  const local = wallMillis(wall);
  const candidates = instantsOf(local, zone);
  // In a gap no instant matches: use the offset from before the change, which lands after it.
  return candidates[0] ?? local - offsetAt(local - DAY_MS, zone);
}

/** Every instant at which clocks in `zone` show the wall time `local` (as wallMillis gives it): 0, 1 or 2. */
export function instantsOf(local: number, zone: string): number[] {
  const offsets = new Set([offsetAt(local - DAY_MS, zone), offsetAt(local, zone), offsetAt(local + DAY_MS, zone)]);
  const instants: number[] = [];
  for (const offset of offsets) {
    const instant = local - offset;
    if (offsetAt(instant, zone) === offset && !instants.includes(instant)) instants.push(instant);
  }
  return instants.sort((a, b) => a - b);
}

const nameFormatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Locales whose short zone names agree with Go's (tzdata's) for the US zones, UTC, GMT/BST,
 * CET/EET, AEST, IST and JST; checked against Go for a sample of zones.
 */
const ABBREVIATION_LOCALES = ['en-US', 'en-GB', 'en-AU', 'en-IN', 'ja-JP'];

/**
 * The zone abbreviation Go's `MST` prints: "EST", "CEST", "UTC" where Intl knows one in English,
 * else the offset as tzdata writes numeric abbreviations ("+09", "-03", "+0530").
 */
export function zoneAbbreviation(ms: number, zone: string, offsetMs: number): string {
  for (const locale of ABBREVIATION_LOCALES) {
    const key = `${locale} ${zone}`;
    let names = nameFormatters.get(key);
    if (names === undefined) {
      names = new Intl.DateTimeFormat(locale, { timeZone: zone, timeZoneName: 'short' });
      nameFormatters.set(key, names);
    }
    const name = names.formatToParts(ms).find((part) => part.type === 'timeZoneName')?.value;
    if (name !== undefined && /^[A-Z]{2,5}$/.test(name)) return name;
  }
  const { sign, hours, minutes } = splitOffset(offsetMs);
  return `${sign}${pad(hours)}${minutes === 0 ? '' : pad(minutes)}`;
}

/** `value` with leading zeros to `width` digits. */
export const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** An offset from UTC as its sign and its hours, minutes and seconds. */
export function splitOffset(offsetMs: number): { sign: string; hours: number; minutes: number; seconds: number } {
  const total = Math.round(Math.abs(offsetMs) / 1000);
  return { sign: offsetMs < 0 ? '-' : '+', hours: Math.floor(total / 3600), minutes: Math.floor((total % 3600) / 60), seconds: total % 60 };
}
