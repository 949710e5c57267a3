/**
 * Durations as written in automations: "500ms", "30s", "30m", "2h", "7d", or combinations such
 * as "1h30m". Kept free of Node built-ins: workflow code uses it.
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;

/** Milliseconds in `text`, or undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!WHOLE.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** Units of formatDuration, largest first: "7d" rather than "1w", as automations usually write a week. */
const FORMAT_UNITS = ['d', 'h', 'm', 's', 'ms'] as const;

/** `ms` as parseDuration reads it, largest units first: 604800000 → "7d", 5400000 → "1h30m", 0 → "0s". */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  let text = '';
  for (const unit of FORMAT_UNITS) {
    const amount = Math.floor(rest / UNIT_MS[unit]);
    if (amount > 0) text += `${amount}${unit}`;
    rest -= amount * UNIT_MS[unit];
  }
  return text === '' ? '0s' : text;
}

export const DURATION_HINT = 'a duration such as "500ms", "30s", "30m", "2h", "7d" or "1h30m"';

/** A duration field of a document. */
export const DurationSchema = z.string().refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` });
