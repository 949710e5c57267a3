/**
 * The blast-radius guard's counts and holds, shared by every process on the database: slots
 * admitted per automation, counter and hour window; runs held before their first side effect;
 * and the automations tripped. A slot is a row whose number is unique in its window, so two
 * workers racing for the last one cannot both take it (one insert wins on either dialect).
 */
import { nowIso } from './codec.js';
import type { Db } from './db.js';
import type { GuardAdmission, GuardHold, GuardRepository, GuardTrip } from './guard-types.js';

/** Slots of windows older than this are removed on the next admission of their automation. */
const KEEP_WINDOWS_MS = 24 * 60 * 60 * 1000;

export function guardRepository(db: Db): GuardRepository {
  const countIn = async ({ automation, counter, window }: GuardAdmission): Promise<number> => {
    const row = await db
      .selectFrom('guard_slots')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('automation', '=', automation)
      .where('counter', '=', counter)
      .where('window_start', '=', window)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const holdsQuery = () =>
    db
      .selectFrom('guard_holds')
      .select(['run_id', 'automation', 'reason', 'held_at'])
      .where('decision', 'is', null)
      .orderBy('held_at')
      .orderBy('run_id');
  const toHold = (row: { run_id: string; automation: string; reason: string; held_at: string }): GuardHold => ({
    runId: row.run_id,
    automation: row.automation,
    reason: row.reason,
    heldAt: row.held_at,
  });
  const trip = async (automation: string): Promise<GuardTrip | undefined> => {
    const row = await db.selectFrom('guard_trips').selectAll().where('automation', '=', automation).executeTakeFirst();
    return row && { automation, reason: row.reason, trippedAt: row.tripped_at, ...(row.notified_at && { notifiedAt: row.notified_at }) };
  };

  return {
    async admit(admission) {
      const { automation, counter, subject, window, limit } = admission;
      await db
        .deleteFrom('guard_slots')
        .where('automation', '=', automation)
        .where('window_start', '<', new Date(Date.parse(window) - KEEP_WINDOWS_MS).toISOString())
        .execute();
      for (;;) {
        const own = await db
          .selectFrom('guard_slots')
          .select('slot')
          .where('automation', '=', automation)
          .where('counter', '=', counter)
          .where('window_start', '=', window)
          .where('subject', '=', subject)
          .executeTakeFirst();
        if (own) return true;
        const taken = await countIn(admission);
        if (taken >= limit) return false;
        // Slots are numbered 1, 2, ...: the unique (window, slot) lets one of two racing inserts win; the loser counts again.
        const inserted = await db
          .insertInto('guard_slots')
          .values({ automation, counter, window_start: window, slot: taken + 1, subject, admitted_at: nowIso() })
          .onConflict((conflict) => conflict.doNothing())
          .executeTakeFirst();
        if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return true;
      }
    },
    async hold({ runId, automation, reason }) {
      const at = nowIso();
      await db
        .insertInto('guard_holds')
        .values({ run_id: runId, automation, reason, held_at: at, decision: null, decided_at: null, decided_by: null })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
      await db
        .insertInto('guard_trips')
        .values({ automation, reason, tripped_at: at, notified_at: null })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
      const current = await trip(automation);
      if (!current) throw new Error(`guard: the trip of "${automation}" was cleared while a run was being held`);
      return current;
    },
    trip,
    async claimNotification(automation, trippedAt) {
      const claimed = await db
        .updateTable('guard_trips')
        .set({ notified_at: nowIso() })
        .where('automation', '=', automation)
        .where('tripped_at', '=', trippedAt)
        .where('notified_at', 'is', null)
        .executeTakeFirst();
      return claimed.numUpdatedRows > 0n;
    },
    async unclaimNotification(automation, trippedAt) {
      await db
        .updateTable('guard_trips')
        .set({ notified_at: null })
        .where('automation', '=', automation)
        .where('tripped_at', '=', trippedAt)
        .execute();
    },
    async pendingHold(runId) {
      const row = await holdsQuery().where('run_id', '=', runId).executeTakeFirst();
      return row && toHold(row);
    },
    async pendingHolds(automation) {
      const rows = await (automation === undefined ? holdsQuery() : holdsQuery().where('automation', '=', automation)).execute();
      return rows.map(toHold);
    },
    async trips() {
      const rows = await db.selectFrom('guard_trips').select('automation').orderBy('automation').execute();
      const all = await Promise.all(rows.map((row) => trip(row.automation)));
      return all.filter((entry): entry is GuardTrip => entry !== undefined);
    },
    async decide(automation, runIds, decision, actor) {
      const at = nowIso();
      for (const runId of runIds)
        await db
          .updateTable('guard_holds')
          .set({ decision, decided_at: at, decided_by: actor })
          .where('run_id', '=', runId)
          .where('automation', '=', automation)
          .where('decision', 'is', null)
          .execute();
      const left = await holdsQuery().where('automation', '=', automation).limit(1).execute();
      if (left.length === 0) await db.deleteFrom('guard_trips').where('automation', '=', automation).execute();
    },
  };
}
