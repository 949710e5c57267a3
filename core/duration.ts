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

export const DURATION_HINT = 'a duration such as "500ms", "30s", "30m", "2h", "7d" or "1h30m"';

/** A duration field of a document. */
export const DurationSchema = z.string().refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` });
