/**
 * Named leases (the directory outbox's deliverer): a row per name with its holder and expiry,
 * taken, renewed and handed over by one upsert, so it works alike on both dialects.
 */
import { nowIso } from './codec.js';
import type { Db } from './db.js';
import type { Store } from './types.js';

export function leasesRepository(db: Db): Store['leases'] {
  return {
    async acquire(name, holder, ttlMs) {
      const now = nowIso();
      const expires_at = new Date(Date.parse(now) + ttlMs).toISOString();
      // One statement, so two processes racing for a free or expired lease cannot both win.
      const result = await db
        .insertInto('leases')
        .values({ name, holder, expires_at })
        .onConflict((conflict) =>
          conflict
            .column('name')
            .doUpdateSet({ holder, expires_at })
            .where((eb) => eb.or([eb('leases.holder', '=', holder), eb('leases.expires_at', '<', now)])),
        )
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },
    async release(name, holder) {
      await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
    },
  };
}
