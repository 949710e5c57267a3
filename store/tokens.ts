import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { nowIso, parseJsonText, sha256Hex, toJsonText } from './codec.js';
import type { Database, Db, TokensTable } from './db.js';
import type { Scope, Store, TokenRecord, TokenVerdict } from './types.js';

const TOKEN_PREFIX = 'idf_';
/** last_used_at is a hint, not a log: one write a minute per token at most keeps reads cheap. */
const LAST_USED_RESOLUTION_MS = 60_000;

function scopesOf(row: Pick<TokensTable, 'name' | 'scopes'>): Scope[] {
  return parseJsonText<Scope[]>(row.scopes, `tokens.scopes of token "${row.name}"`);
}

/**
 * The verdict on a stored token (found by its hash, here or through a console session): refused
 * when revoked or expired; an accepted use is recorded, at most once a minute.
 */
export async function tokenRowVerdict(
  db: Db,
  row: Pick<TokensTable, 'name' | 'scopes' | 'expires_at' | 'revoked_at' | 'last_used_at'>,
): Promise<TokenVerdict> {
  if (row.revoked_at !== null) return { valid: false, reason: 'revoked', name: row.name, at: row.revoked_at };
  const now = new Date();
  if (row.expires_at !== null && Date.parse(row.expires_at) <= now.getTime())
    return { valid: false, reason: 'expired', name: row.name, at: row.expires_at };
  if (row.last_used_at === null || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS) {
    await db.updateTable('tokens').set({ last_used_at: now.toISOString() }).where('name', '=', row.name).execute();
  }
  return { valid: true, token: { name: row.name, scopes: scopesOf(row) } };
}

export function tokensRepository(db: Kysely<Database>): Store['tokens'] {
  return {
    async create(name, scopes, options = {}) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row = {
        token_hash: sha256Hex(token),
        scopes: toJsonText([...scopes]),
        created_at: nowIso(),
        expires_at: options.expiresAt?.toISOString() ?? null,
        revoked_at: null,
        last_used_at: null,
      };
      const result = await db
        .insertInto('tokens')
        .values({ name, ...row })
        // A revoked token's name may be reused; a live one is never replaced (that would silently revoke a token in use).
        .onConflict((conflict) => conflict.column('name').doUpdateSet(row).where('tokens.revoked_at', 'is not', null))
        .executeTakeFirst();
      if ((result.numInsertedOrUpdatedRows ?? 0n) === 0n)
        throw new Error(`store: cannot create token "${name}": a token with that name exists (revoke it first)`);
      return token;
    },

    async verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return { valid: false, reason: 'unknown' };
      const hash = sha256Hex(token);
      // Looking up by the hash leaks nothing useful through timing: the attacker does not control it.
      const row = await db.selectFrom('tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex')))
        return { valid: false, reason: 'unknown' };
      return tokenRowVerdict(db, row);
    },

    async list() {
      const rows = await db
        .selectFrom('tokens')
        .select(['name', 'scopes', 'created_at', 'expires_at', 'revoked_at', 'last_used_at'])
        .orderBy('name')
        .execute();
      return rows.map((row): TokenRecord => ({
        name: row.name,
        scopes: scopesOf(row),
        createdAt: row.created_at,
        ...(row.expires_at !== null && { expiresAt: row.expires_at }),
        ...(row.revoked_at !== null && { revokedAt: row.revoked_at }),
        ...(row.last_used_at !== null && { lastUsedAt: row.last_used_at }),
      }));
    },

    async revoke(name) {
      const result = await db
        .updateTable('tokens')
        .set({ revoked_at: nowIso() })
        .where('name', '=', name)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },
  };
}
