import { nowIso } from './codec.js';
import type { Db } from './db.js';
import type { Store } from './types.js';

export function secretsRepository(db: Db): Store['secrets'] {
  return {
    async put({ functionName, key, sealed, actor }) {
      const row = { function_name: functionName, key, sealed, updated_at: nowIso(), updated_by: actor };
      await db
        .insertInto('function_secrets')
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(['function_name', 'key']).doUpdateSet({ sealed, updated_at: row.updated_at, updated_by: actor }),
        )
        .execute();
    },
    async get(functionName, key) {
      const row = await db
        .selectFrom('function_secrets')
        .select('sealed')
        .where('function_name', '=', functionName)
        .where('key', '=', key)
        .executeTakeFirst();
      return row?.sealed;
    },
    async all(functionName) {
      const rows = await db.selectFrom('function_secrets').select(['key', 'sealed']).where('function_name', '=', functionName).execute();
      return Object.fromEntries(rows.map((row) => [row.key, row.sealed]));
    },
    async list(functionName) {
      const rows = await db
        .selectFrom('function_secrets')
        .select(['key', 'updated_at', 'updated_by'])
        .where('function_name', '=', functionName)
        .orderBy('key')
        .execute();
      return rows.map((row) => ({ key: row.key, updatedAt: row.updated_at, updatedBy: row.updated_by }));
    },
    async delete(functionName, key) {
      const result = await db
        .deleteFrom('function_secrets')
        .where('function_name', '=', functionName)
        .where('key', '=', key)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
