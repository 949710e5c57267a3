import type { JsonObject } from '../core/json.js';
import type { Kysely } from 'kysely';
import { clampLimit, idChunks, nowIso, parseJsonText, toJsonText } from './codec.js';
import type { Database, EventsTable } from './db.js';
import type { EventMatch, EventRecord, Store } from './types.js';

function toEvent(row: EventsTable): EventRecord {
  return {
    id: row.id,
    type: row.type,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    data: parseJsonText<JsonObject>(row.data, `events.data of event "${row.id}"`),
    matches: parseJsonText<EventMatch[]>(row.matches, `events.matches of event "${row.id}"`),
    ...(row.processed_at !== null && { processedAt: row.processed_at }),
  };
}

export function eventsRepository(db: Kysely<Database>): Store['events'] {
  return {
    async insert(event) {
      const result = await db
        .insertInto('events')
        .values({
          id: event.id,
          type: event.type,
          occurred_at: event.occurredAt,
          received_at: event.receivedAt,
          data: toJsonText(event.data),
          matches: '[]',
          processed_at: null,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst();
      return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async setMatches(id, matches) {
      const processedAt = nowIso();
      const result = await db
        .updateTable('events')
        .set({ matches: toJsonText(matches.map(matchJson)), processed_at: processedAt })
        .where('id', '=', id)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) throw new Error(`store: cannot set matches of event "${id}": no such event`);
      return processedAt;
    },

    async get(id) {
      const row = await db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toEvent(row);
    },

    async getMany(ids) {
      const events: EventRecord[] = [];
      for (const chunk of idChunks([...new Set(ids)])) {
        const rows = await db.selectFrom('events').selectAll().where('id', 'in', chunk).execute();
        events.push(...rows.map(toEvent));
      }
      return events;
    },

    async listReceived({ type, from, to, before, limit }) {
      // The (type, received_at desc, id desc) index serves the filter, the order and the keyset cursor.
      const rows = await db
        .selectFrom('events')
        .selectAll()
        .where('type', '=', type)
        .where('received_at', '>=', from)
        .where('received_at', '<=', to)
        .$if(before !== undefined, (query) => {
          const cursor = before as Pick<EventRecord, 'receivedAt' | 'id'>;
          return query.where((eb) => eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(cursor.receivedAt, cursor.id)));
        })
        .orderBy('received_at', 'desc')
        .orderBy('id', 'desc')
        .limit(clampLimit(limit))
        .execute();
      return rows.map(toEvent);
    },

    async list(options) {
      const { before } = options;
      // The (type, received_at desc, id desc) and (received_at desc, id desc) indexes serve the filters, the order and the cursor.
      const rows = await db
        .selectFrom('events')
        .selectAll()
        .$if(options.type !== undefined, (query) => query.where('type', '=', options.type as string))
        .$if(options.since !== undefined, (query) => query.where('received_at', '>=', options.since as string))
        .$if(options.until !== undefined, (query) => query.where('received_at', '<=', options.until as string))
        .$if(before !== undefined, (query) =>
          query.where((eb) => eb(eb.refTuple('received_at', 'id'), '<', eb.tuple(before?.receivedAt as string, before?.id as string))),
        )
        .orderBy('received_at', 'desc')
        .orderBy('id', 'desc')
        .limit(clampLimit(options.limit))
        .execute();
      return rows.map(toEvent);
    },
  };
}

/** EventMatch as JSON, without undefined members. */
function matchJson(match: EventMatch): JsonObject {
  return {
    automation: match.automation,
    version: match.version,
    matched: match.matched,
    ...(match.reason !== undefined && { reason: match.reason }),
    ...(match.runId !== undefined && { runId: match.runId }),
    ...(match.error !== undefined && { error: match.error }),
  };
}
