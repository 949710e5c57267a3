import type { JsonValue } from '../core/json.js';
import { nowIso, parseJsonText, toJsonText } from './codec.js';
import type { Db } from './db.js';
import type { Store } from './types.js';

export function effectsRepository(db: Db): Store['effects'] {
  return {
    async get(key) {
      const row = await db.selectFrom('step_effects').select('result').where('key', '=', key).executeTakeFirst();
      return row ? parseJsonText<JsonValue>(row.result, `step_effects.result of ${key}`) : undefined;
    },
    async put(key, result) {
      const inserted = await db
        .insertInto('step_effects')
        .values({ key, result: toJsonText(result), created_at: nowIso() })
        .onConflict((conflict) => conflict.column('key').doNothing())
        .executeTakeFirst();
      return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
  };
}
