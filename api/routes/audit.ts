/** The audit log: who changed what, filtered and paged, or exported whole as JSON lines. */
import { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import type { AuditFilter } from '../../store/types.js';
import { cursorParam, encodeCursor, orderedRange, pageLimit, timeRange } from '../list-query.js';

/** Most entries one export streams; narrow it with since/until (or continue from the last id with a cursor) for more. */
export const MAX_AUDIT_EXPORT = 100_000;
/** Entries read per statement while exporting (the store's largest page). */
const EXPORT_BATCH = 500;
const NDJSON = 'application/x-ndjson';
const MAX_FIELD_LENGTH = 1000;

const field = (what: string) => z.string().min(1).max(MAX_FIELD_LENGTH).optional().describe(what);

/** Every entry matching `filter`, newest first, up to MAX_AUDIT_EXPORT, one JSON line each. */
async function* exportLines(store: Engine['store'], filter: AuditFilter): AsyncGenerator<string> {
  let beforeId = filter.beforeId;
  for (let sent = 0; sent < MAX_AUDIT_EXPORT;) {
    const entries = await store.audit.list({ ...filter, beforeId, limit: Math.min(EXPORT_BATCH, MAX_AUDIT_EXPORT - sent) });
    if (entries.length === 0) return;
    yield entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
    sent += entries.length;
    beforeId = entries[entries.length - 1]?.id;
  }
}

export const auditRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  app.get(
    '/v1/audit',
    {
      schema: {
        description: `Audit entries newest first, a page at a time; with format=jsonl (or Accept: ${NDJSON}) every matching entry, up to ${MAX_AUDIT_EXPORT}, streamed as JSON lines.`,
        querystring: z
          .object({
            actor: field("the token's name (or idflow, for what it did itself)"),
            action: field('e.g. run.cancel, definition.put'),
            target: field('e.g. Run/<id>, Automation/<name>'),
            ...timeRange,
            limit: pageLimit,
            cursor: cursorParam('audit', z.tuple([z.number().int().positive()])),
            format: z.enum(['json', 'jsonl']).optional().describe(`jsonl: export as ${NDJSON}`),
          })
          .superRefine(orderedRange),
      },
    },
    async (request, reply) => {
      const { cursor, limit, format, ...rest } = request.query;
      const filter: AuditFilter = { ...rest, ...(cursor !== undefined && { beforeId: cursor[0] }) };
      const wantsLines = format === 'jsonl' || (format === undefined && (request.headers.accept ?? '').includes(NDJSON));
      if (wantsLines)
        return reply
          .type(NDJSON)
          .header('content-disposition', 'attachment; filename="idflow-audit.jsonl"')
          .send(Readable.from(exportLines(engine.store, filter)));
      // One more than the page: whether there is a next one.
      const entries = await engine.store.audit.list({ ...filter, limit: limit + 1 });
      const page = entries.slice(0, limit);
      const last = page.at(-1);
      return { entries: page, ...(entries.length > limit && last && { nextCursor: encodeCursor('audit', [last.id]) }) };
    },
  );
};
