/** Approval requests and their decisions (store/approval-types.ts): two tables, one row per approver's decision. */
import type { Kysely } from 'kysely';
import { insertAudit } from './audit.js';
import { clampLimit, parseJsonText } from './codec.js';
import type { ApprovalsTable, Database } from './db.js';
import type { ApprovalRecord, Approver, ApprovalsRepository, ApprovalState } from './approval-types.js';

function toRecord(row: ApprovalsTable, decisions: Database['approval_decisions'][]): ApprovalRecord {
  const where = (column: string) => `approvals.${column} of ${row.id}`;
  return {
    id: row.id,
    runId: row.run_id,
    stepName: row.step_name,
    automation: row.automation,
    ...(row.subject !== null && { subject: parseJsonText(row.subject, where('subject')) }),
    approvers: parseJsonText<Approver[]>(row.approvers, where('approvers')),
    quorum: row.quorum === 'all' ? 'all' : 'any',
    state: row.state as ApprovalState,
    message: row.message,
    round: row.round,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ...(row.decided_at !== null && { decidedAt: row.decided_at }),
    decisions: decisions.map((decision) => ({
      approver: decision.approver,
      decision: decision.decision === 'approved' ? 'approved' : 'rejected',
      ...(decision.comment !== null && { comment: decision.comment }),
      via: decision.via as ApprovalRecord['decisions'][number]['via'],
      actor: decision.actor,
      at: decision.at,
    })),
  };
}

export function approvalsRepository(db: Kysely<Database>): ApprovalsRepository {
  async function withDecisions(rows: ApprovalsTable[]): Promise<ApprovalRecord[]> {
    if (rows.length === 0) return [];
    const decisions = await db
      .selectFrom('approval_decisions')
      .selectAll()
      .where(
        'approval_id',
        'in',
        rows.map((row) => row.id),
      )
      .orderBy('at')
      .execute();
    return rows.map((row) =>
      toRecord(
        row,
        decisions.filter((decision) => decision.approval_id === row.id),
      ),
    );
  }
  const get = async (id: string) => (await withDecisions(await db.selectFrom('approvals').selectAll().where('id', '=', id).execute()))[0];

  return {
    get,
    async open(record) {
      await db
        .insertInto('approvals')
        .values({
          id: record.id,
          run_id: record.runId,
          step_name: record.stepName,
          automation: record.automation,
          subject: record.subject === undefined ? null : JSON.stringify(record.subject),
          approvers: JSON.stringify(record.approvers),
          quorum: record.quorum,
          state: 'pending',
          message: record.message,
          round: 0,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
          decided_at: null,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
      return (await get(record.id)) as ApprovalRecord;
    },
    async list(options) {
      const rows = await db
        .selectFrom('approvals')
        .selectAll()
        .$if(options.state !== undefined, (query) => query.where('state', '=', options.state as ApprovalState))
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(clampLimit(options.limit))
        .execute();
      return withDecisions(rows);
    },
    async countPending() {
      const row = await db
        .selectFrom('approvals')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('count'))
        .where('state', '=', 'pending')
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
    async decide(id, decision, audit) {
      return db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('approval_decisions')
          .values({
            approval_id: id,
            approver: decision.approver,
            decision: decision.decision,
            comment: decision.comment ?? null,
            via: decision.via,
            actor: decision.actor,
            at: decision.at,
          })
          .onConflict((conflict) => conflict.columns(['approval_id', 'approver']).doNothing())
          .executeTakeFirst();
        if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
        await insertAudit(
          trx,
          { actor: decision.actor, action: `approval.${decision.decision}`, target: `approval:${id}`, details: audit.details },
          decision.at,
        );
        return true;
      });
    },
    async escalate(id, approvers, expiresAt) {
      await db
        .updateTable('approvals')
        .set({ approvers: JSON.stringify(approvers), expires_at: expiresAt, round: 1 })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .execute();
    },
    async close(id, state, at) {
      await db.updateTable('approvals').set({ state, decided_at: at }).where('id', '=', id).where('state', '=', 'pending').execute();
    },
  };
}
