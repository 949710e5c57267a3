/**
 * Requests to event sources, kept within a retention: per source, the last 1,000 signed ones
 * (whose bodies a replay maps again) and, apart from them, the last 1,000 refused ones (so a
 * flood of forged requests cannot push out a failed delivery waiting for its replay); none older
 * than 30 days. Pruned as each new one is recorded.
 */
import type { JsonObject } from '../core/json.js';
import type { Kysely, Selectable } from 'kysely';
import { clampLimit, nowIso, parseJsonText, toJsonText } from './codec.js';
import type { Database, SourceDeliveriesTable } from './db.js';
import type { SourceDeliveryStatus, SourceDeliverySummary, Store } from './types.js';

export const SOURCE_DELIVERY_RETENTION = { days: 30, signed: 1000, refused: 1000 } as const;

function toSummary(row: Omit<Selectable<SourceDeliveriesTable>, 'seq' | 'body' | 'headers'>): SourceDeliverySummary {
  return {
    source: row.source,
    id: row.id,
    status: row.status as SourceDeliveryStatus,
    ...(row.reason !== null && { reason: row.reason }),
    receivedAt: row.received_at,
    updatedAt: row.updated_at,
    attempts: row.attempts,
    remoteAddress: row.remote_address,
    ...(row.version !== null && { version: row.version }),
    bodyBytes: row.body_bytes,
    bodySha256: row.body_sha256,
    ...(row.result !== null && { result: parseJsonText<JsonObject>(row.result, `source_deliveries.result of ${row.source}/${row.id}`) }),
  };
}

const SUMMARY_COLUMNS = [
  'source',
  'id',
  'status',
  'reason',
  'received_at',
  'updated_at',
  'attempts',
  'remote_address',
  'version',
  'body_bytes',
  'body_sha256',
  'result',
] as const;

export function sourceDeliveriesRepository(db: Kysely<Database>): Store['sourceDeliveries'] {
  /** Drops the source's deliveries past the retention, refused and signed ones counted apart. */
  const prune = async (source: string, refused: boolean): Promise<void> => {
    const cutoff = new Date(Date.now() - SOURCE_DELIVERY_RETENTION.days * 86_400_000).toISOString();
    await db.deleteFrom('source_deliveries').where('source', '=', source).where('received_at', '<', cutoff).execute();
    const keep = refused ? SOURCE_DELIVERY_RETENTION.refused : SOURCE_DELIVERY_RETENTION.signed;
    const sameClass = refused ? '=' : '<>';
    const oldestKept = await db
      .selectFrom('source_deliveries')
      .select('seq')
      .where('source', '=', source)
      .where('status', sameClass, 'rejected')
      .orderBy('seq', 'desc')
      .offset(keep - 1)
      .limit(1)
      .executeTakeFirst();
    if (oldestKept === undefined) return;
    await db
      .deleteFrom('source_deliveries')
      .where('source', '=', source)
      .where('status', sameClass, 'rejected')
      .where('seq', '<', oldestKept.seq)
      .execute();
  };

  return {
    async insert(delivery) {
      const result = await db
        .insertInto('source_deliveries')
        .values({
          source: delivery.source,
          id: delivery.id,
          status: delivery.status,
          reason: delivery.reason ?? null,
          received_at: delivery.receivedAt,
          updated_at: delivery.receivedAt,
          attempts: 0,
          remote_address: delivery.remoteAddress,
          version: null,
          body_bytes: delivery.bodyBytes,
          body_sha256: delivery.bodySha256,
          body: delivery.body ?? null,
          headers: delivery.headers === undefined ? null : toJsonText(delivery.headers),
          result: null,
        })
        .onConflict((conflict) => conflict.columns(['source', 'id']).doNothing())
        .executeTakeFirst();
      const inserted = (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
      if (inserted) await prune(delivery.source, delivery.status === 'rejected');
      return inserted;
    },

    async settle(source, id, outcome) {
      const updated = await db
        .updateTable('source_deliveries')
        .set((eb) => ({
          status: outcome.status,
          reason: outcome.reason ?? null,
          version: outcome.version,
          result: outcome.result === undefined ? null : toJsonText(outcome.result),
          attempts: eb('attempts', '+', 1),
          updated_at: nowIso(),
        }))
        .where('source', '=', source)
        .where('id', '=', id)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) throw new Error(`store: cannot settle delivery ${id} of source "${source}": no such delivery`);
    },

    async get(source, id) {
      const row = await db.selectFrom('source_deliveries').selectAll().where('source', '=', source).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      return {
        ...toSummary(row),
        ...(row.body !== null && { body: row.body }),
        ...(row.headers !== null && {
          headers: parseJsonText<Record<string, string>>(row.headers, `source_deliveries.headers of ${source}/${id}`),
        }),
      };
    },

    async list(source, options) {
      const rows = await db
        .selectFrom('source_deliveries')
        .select(SUMMARY_COLUMNS)
        .where('source', '=', source)
        .orderBy('seq', 'desc')
        .limit(clampLimit(options.limit))
        .execute();
      return rows.map(toSummary);
    },
  };
}
