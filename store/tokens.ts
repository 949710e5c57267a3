import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { nowIso, parseJsonText, sha256Hex, toJsonText } from './codec.js';
import type { Database } from './db.js';
import type { Scope, Store } from './types.js';

const TOKEN_PREFIX = 'idf_';

export function tokensRepository(db: Kysely<Database>): Store['tokens'] {
  return {
    async create(name, scopes) {
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const result = await db
        .insertInto('tokens')
        .values({ name, token_hash: sha256Hex(token), scopes: toJsonText([...scopes]), created_at: nowIso() })
        .onConflict((conflict) => conflict.column('name').doNothing())
        .executeTakeFirst();
      // Refuse rather than replace: replacing would silently revoke a token in use.
      if ((result.numInsertedOrUpdatedRows ?? 0n) === 0n) throw new Error(`store: cannot create token "${name}": a token with that name exists`);
      return token;
    },

    async verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      const hash = sha256Hex(token);
      // Looking up by the hash leaks nothing useful through timing: the attacker does not control it.
      const row = await db.selectFrom('tokens').select(['name', 'token_hash', 'scopes']).where('token_hash', '=', hash).executeTakeFirst();
      if (!row || !timingSafeEqual(Buffer.from(row.token_hash, 'hex'), Buffer.from(hash, 'hex'))) return undefined;
      return { name: row.name, scopes: parseJsonText<Scope[]>(row.scopes, `tokens.scopes of token "${row.name}"`) };
    },
  };
}
