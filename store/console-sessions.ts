/**
 * The web console's sessions and sign-in links (the types in store/types.ts). Ids are random
 * 256-bit values handed out once; the store keeps their hashes, as it does tokens'. A session
 * holds the hash of its token and is checked against the token's row on every use.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sha256Hex } from './codec.js';
import type { ConsoleCredential, ConsoleSessionsRepository, LinkRedemption, SessionVerdict, SignIn } from './types.js';
import type { Database, Db } from './db.js';
import { tokenRowVerdict } from './tokens.js';

/** Ended sessions and used or expired links stay this long, so a late visit hears "expired" or "used" rather than "unknown". */
const KEPT_AFTER_EXPIRY_MS = 24 * 3_600_000;

const newSecret = () => randomBytes(32).toString('base64url');

const TOKEN_COLUMNS = ['t.name', 't.scopes', 't.expires_at', 't.revoked_at', 't.last_used_at'] as const;

/** Removes sessions and links past their expiry by more than KEPT_AFTER_EXPIRY_MS. */
async function prune(db: Db, now: Date): Promise<void> {
  const before = new Date(now.getTime() - KEPT_AFTER_EXPIRY_MS).toISOString();
  await db.deleteFrom('console_sessions').where('expires_at', '<', before).execute();
  await db.deleteFrom('console_links').where('expires_at', '<', before).execute();
}

/** Opens a session for the token of `tokenHash` when that token is valid now. */
async function openFor(db: Db, tokenHash: string, ttlMs: number): Promise<SignIn> {
  const row = await db.selectFrom('tokens as t').select(TOKEN_COLUMNS).where('t.token_hash', '=', tokenHash).executeTakeFirst();
  if (!row) return { valid: false, reason: 'unknown' };
  const verdict = await tokenRowVerdict(db, row);
  if (!verdict.valid) return verdict;
  const now = new Date();
  const lifetimeEnd = new Date(now.getTime() + ttlMs).toISOString();
  const expiresAt = row.expires_at !== null && row.expires_at < lifetimeEnd ? row.expires_at : lifetimeEnd;
  const id = newSecret();
  const csrfToken = newSecret();
  await db
    .insertInto('console_sessions')
    .values({ id_hash: sha256Hex(id), token_hash: tokenHash, csrf_token: csrfToken, created_at: now.toISOString(), expires_at: expiresAt })
    .execute();
  await prune(db, now);
  return { valid: true, session: { id, token: verdict.token, csrfToken, expiresAt } };
}

export function consoleSessionsRepository(db: Kysely<Database>): ConsoleSessionsRepository {
  async function tokenHashOf(credential: ConsoleCredential): Promise<string | undefined> {
    if ('token' in credential) return sha256Hex(credential.token);
    const row = await db
      .selectFrom('console_sessions')
      .select('token_hash')
      .where('id_hash', '=', sha256Hex(credential.sessionId))
      .executeTakeFirst();
    return row?.token_hash;
  }

  return {
    open: (token, ttlMs) => openFor(db, sha256Hex(token), ttlMs),

    async resolve(sessionId): Promise<SessionVerdict> {
      const row = await db
        .selectFrom('console_sessions as s')
        .innerJoin('tokens as t', 't.token_hash', 's.token_hash')
        .select([...TOKEN_COLUMNS, 's.csrf_token', 's.expires_at as session_expires_at'])
        .where('s.id_hash', '=', sha256Hex(sessionId))
        .executeTakeFirst();
      if (!row) return { valid: false, reason: 'unknown' };
      if (row.session_expires_at <= new Date().toISOString())
        return { valid: false, reason: 'session-expired', at: row.session_expires_at };
      const verdict = await tokenRowVerdict(db, row);
      if (!verdict.valid) return verdict;
      return { valid: true, session: { token: verdict.token, csrfToken: row.csrf_token, expiresAt: row.session_expires_at } };
    },

    async close(sessionId) {
      const result = await db.deleteFrom('console_sessions').where('id_hash', '=', sha256Hex(sessionId)).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    async createLink(credential, ttlMs) {
      const tokenHash = await tokenHashOf(credential);
      if (tokenHash === undefined) return undefined;
      const now = new Date();
      const link = newSecret();
      const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
      await db
        .insertInto('console_links')
        .values({ id_hash: sha256Hex(link), token_hash: tokenHash, created_at: now.toISOString(), expires_at: expiresAt, used_at: null })
        .execute();
      await prune(db, now);
      return { link, expiresAt };
    },

    redeemLink(link, sessionTtlMs): Promise<LinkRedemption> {
      const idHash = sha256Hex(link);
      return db.transaction().execute(async (trx) => {
        const now = new Date().toISOString();
        // The one write that decides: of two uses at once, only one finds used_at still NULL.
        const consumed = await trx
          .updateTable('console_links')
          .set({ used_at: now })
          .where('id_hash', '=', idHash)
          .where('used_at', 'is', null)
          .where('expires_at', '>', now)
          .returning('token_hash')
          .executeTakeFirst();
        if (consumed) return openFor(trx, consumed.token_hash, sessionTtlMs);
        const row = await trx
          .selectFrom('console_links')
          .select(['used_at', 'expires_at'])
          .where('id_hash', '=', idHash)
          .executeTakeFirst();
        if (!row) return { valid: false, reason: 'unknown' };
        return row.used_at !== null
          ? { valid: false, reason: 'used', at: row.used_at }
          : { valid: false, reason: 'link-expired', at: row.expires_at };
      });
    },
  };
}
