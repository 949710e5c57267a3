/**
 * A username (sAMAccountName-style) for a new hire: first initial + last name, lowercased,
 * accents folded (José Núñez → jnunez), hyphens, apostrophes and spaces dropped (Mary O'Brien-Smith →
 * mobriensmith), at most 20 characters; when taken, jsmith → jsmith1 → jsmith2 ..., checked
 * against the directory's usernames and app accounts. Re-running for the same person returns
 * the name they already hold.
 */
import type { FunctionContext } from '../../functions/sdk.js';

interface Input {
  userId?: string;
  firstName: string;
  lastName: string;
  /** Active Directory's sAMAccountName allows 20. */
  maxLength?: number;
}

/** Letters that Unicode does not decompose into a base letter plus accents. */
const SPECIAL_LETTERS: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

export function fold(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[ßæœøłđðþı]/g, (letter) => SPECIAL_LETTERS[letter] ?? '')
    .replace(/[^a-z0-9]/g, '');
}

export default async function (input: Input, ctx: FunctionContext): Promise<{ username: string; attempts: number }> {
  const maxLength = input.maxLength ?? 20;
  const initial = fold(input.firstName).slice(0, 1);
  const last = fold(input.lastName);
  if (!initial || !last)
    throw new Error(`cannot make a username from "${input.firstName}" "${input.lastName}": no letters left after folding`);
  const base = `${initial}${last}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const suffix = attempt === 0 ? '' : String(attempt);
    const candidate = `${base.slice(0, maxLength - suffix.length)}${suffix}`;
    const holder = (await ctx.directory.findByUsername(candidate)) as { id?: string } | null;
    if (!holder || (input.userId !== undefined && holder.id === input.userId)) {
      ctx.log(`${candidate} is free${attempt > 0 ? ` after ${attempt} taken` : ''}`);
      return { username: candidate, attempts: attempt + 1 };
    }
    ctx.log(`${candidate} is taken by ${holder.id}`);
  }
  throw new Error(`no free username for ${base} after 100 tries`);
}
