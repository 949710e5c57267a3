import type { JsonValue } from '../core/json.js';
import { clampLimit, nowIso, parseJsonText, toJsonText } from './codec.js';
import type { Kysely } from 'kysely';
import type { Database, Db } from './db.js';
import type { AuditEntry, Store } from './types.js';

/** Appends an audit entry; other repositories call it inside their own transactions. */
export async function insertAudit(db: Db, entry: Omit<AuditEntry, 'id' | 'at'>, at: string = nowIso()): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({ at, actor: entry.actor, action: entry.action, target: entry.target, details: toJsonText(entry.details ?? null) })
    .execute();
}

export function auditRepository(db: Kysely<Database>): Store['audit'] {
  return {
    async record(entry) {
      await insertAudit(db, entry);
    },

    async list(filter) {
      // Indexes on (target, id desc), (actor, id desc) and (action, id desc) serve each filter newest first.
      const rows = await db
        .selectFrom('audit_log')
        .selectAll()
        .$if(filter.target !== undefined, (query) => query.where('target', '=', filter.target as string))
        .$if(filter.actor !== undefined, (query) => query.where('actor', '=', filter.actor as string))
        .$if(filter.action !== undefined, (query) => query.where('action', '=', filter.action as string))
        .$if(filter.since !== undefined, (query) => query.where('at', '>=', filter.since as string))
        .$if(filter.until !== undefined, (query) => query.where('at', '<=', filter.until as string))
        .$if(filter.beforeId !== undefined, (query) => query.where('id', '<', filter.beforeId as number))
        .orderBy('id', 'desc')
        .limit(clampLimit(filter.limit))
        .execute();
      return rows.map((row) => ({
        id: row.id,
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        details: parseJsonText<JsonValue>(row.details, `audit_log.details of entry ${row.id}`),
      }));
    },
  };
}
