/** The identity directory: HR imports, and reads of users, grants, accounts, tasks, delegates, enrollments and campaigns. */
import type { JsonObject } from '../../core/json.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { importFeed, parseFeed, parseMapping, type Feed } from '../../directory/import.js';
import { USER_STATUSES } from '../../directory/types.js';
import type { Engine } from '../../engine/types.js';
import { personTimeline } from '../../engine/people.js';
import { CONTROL_CHARACTER, MAX_FIELD_LENGTH } from '../../directory/users.js';
import { actorOf, holdsScope, planAsker } from '../auth.js';
import { cursorParam, encodeCursor, pageLimit } from '../list-query.js';
import { formatBytes } from '../byte-size.js';
import { ApiError } from '../errors.js';

/** Largest HR feed an import accepts unless `idflow api --import-limit` says otherwise: about 250,000 people of 13 columns. */
export const DEFAULT_IMPORT_LIMIT_BYTES = 32 * 1024 * 1024;
const FEED_FORMATS: Record<string, 'csv' | 'json'> = { 'text/csv': 'csv', 'application/json': 'json' };
const MAX_MAPPING_LENGTH = 8192;
const MAX_SEARCH_LENGTH = 200;

const byUser = z.object({ user: z.string().min(1).optional().describe('A user id or email.') });
const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((value) => value === 'true');

/** "text/csv" of "text/csv; charset=utf-8". */
const mediaType = (header: string | undefined): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** How far past the import limit a refused feed is still read (and dropped) so its sender gets the 413. */
const DRAIN_FACTOR = 4;

/** The body as UTF-8 text, refused with 413 when it passes `limitBytes` (never holding more than that in memory). */
async function readFeedBody(request: FastifyRequest, reply: FastifyReply, limitBytes: number): Promise<string> {
  const body = request.body;
  if (!(body instanceof Readable))
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `send the feed as the body, with content-type ${Object.keys(FEED_FORMATS).join(' or ')}`);
  const tooLarge = new ApiError(
    'PAYLOAD_TOO_LARGE',
    `the feed is larger than the import limit of ${formatBytes(limitBytes)}; raise it with \`idflow api --import-limit\` (IDFLOW_IMPORT_LIMIT)`,
  );
  // Refused with the connection closing after the answer, or a keep-alive client's next request
  // would queue behind bytes nobody reads (as Fastify's own 413). A feed somewhat over the limit
  // is read to its end and dropped first: a client still sending when the answer and the close
  // came would see its write fail (EPIPE) instead of the 413 that says what to do. Past
  // DRAIN_FACTOR times the limit the rest is left unread and the connection cut.
  const refuse = (): never => {
    reply.header('connection', 'close');
    throw tooLarge;
  };
  const drainLimit = limitBytes * DRAIN_FACTOR;
  if (Number(request.headers['content-length']) > drainLimit) refuse();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > drainLimit) break;
    if (size <= limitBytes) chunks.push(chunk);
  }
  if (size > limitBytes) refuse();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new ApiError('INVALID', 'the feed is not UTF-8 text');
  }
}

export const directoryRoutes: FastifyPluginAsyncZod<{ engine: Engine; importLimitBytes?: number }> = async (
  app,
  { engine, importLimitBytes = DEFAULT_IMPORT_LIMIT_BYTES },
) => {
  const { store } = engine;
  const repo = store.directory;

  /** The id of a user given by id or email; 404 when unknown. */
  const userId = async (ref: string | undefined): Promise<string | undefined> => {
    if (ref === undefined) return undefined;
    const user = (await repo.getUser(ref)) ?? (await repo.getUserByEmail(ref));
    if (!user) throw new ApiError('NOT_FOUND', `user "${ref}" is not in the directory`);
    return user.id;
  };

  // The feed is the body itself (CSV or JSON), not wrapped in JSON: its own limit, read only after the token is checked.
  await app.register(async (feedApp) => {
    feedApp.removeAllContentTypeParsers();
    feedApp.addContentTypeParser(Object.keys(FEED_FORMATS), (_request, payload, done) => done(null, payload));
    const feedQuery = {
      source: z.string().min(1).max(100).default('hr').describe('Names the feed in reports and audit.'),
      file: z.string().min(1).max(256).default('feed').describe('The file name, for messages.'),
      mapping: z.string().max(MAX_MAPPING_LENGTH).optional().describe('Feed column → idflow column, as a JSON (or YAML) object.'),
      full: flag.describe('The feed lists everyone: deactivate enabled people missing from it.'),
    };
    const feedDescription = `the body: text/csv or application/json, at most the import limit (default ${formatBytes(DEFAULT_IMPORT_LIMIT_BYTES)}, \`idflow api --import-limit\`)`;
    /** The feed of the body, parsed with the query's mapping; 400 naming the line when it does not parse. */
    const feedOf = async (request: FastifyRequest, reply: FastifyReply, query: { file: string; mapping?: string }): Promise<Feed> => {
      const format = FEED_FORMATS[mediaType(request.headers['content-type'])];
      const content = await readFeedBody(request, reply, importLimitBytes);
      try {
        return await parseFeed(query.file, content, {
          format,
          mapping: query.mapping === undefined ? undefined : parseMapping(query.mapping, 'mapping'),
        });
      } catch (error) {
        throw new ApiError('INVALID', (error as Error).message);
      }
    };
    feedApp.withTypeProvider<ZodTypeProvider>().post(
      '/v1/plan/imports',
      {
        schema: {
          description: `Plans an HR feed sent as ${feedDescription}: the directory changes it would make and what their events would start. Changes nothing.`,
          consumes: Object.keys(FEED_FORMATS),
          querystring: z.object(feedQuery),
        },
      },
      async (request, reply) => {
        const { query } = request;
        const feed = await feedOf(request, reply, query);
        return engine.plans.import(feed, { source: query.source, full: query.full }, planAsker(request));
      },
    );
    feedApp.withTypeProvider<ZodTypeProvider>().post(
      '/v1/directory/import',
      {
        schema: {
          description: `Imports an HR feed sent as ${feedDescription}.`,
          consumes: Object.keys(FEED_FORMATS),
          querystring: z.object({ ...feedQuery, dryRun: flag.describe('Report the changes, make none.') }),
        },
      },
      async (request, reply) => {
        const { query } = request;
        const feed = await feedOf(request, reply, query);
        const report = await importFeed(engine.directory, feed, { source: query.source, full: query.full, dryRun: query.dryRun });
        if (!report.dryRun) {
          const details: JsonObject = {
            file: query.file,
            created: report.created.length,
            updated: report.updated.length,
            deactivated: report.deactivated.length,
            errors: report.errors.length,
          };
          await store.audit.record({
            actor: actorOf(request),
            action: 'directory.import',
            target: `Directory/import/${query.source}`,
            details,
          });
        }
        return report;
      },
    );
  });

  app.get(
    '/v1/directory/users',
    {
      schema: {
        description: 'People in id order, a page at a time: pass nextCursor as cursor for the next page.',
        querystring: z.object({
          q: z
            .string()
            .trim()
            .min(1)
            .max(MAX_SEARCH_LENGTH)
            .refine((q) => !CONTROL_CHARACTER.test(q), 'no control characters')
            .optional()
            .describe('people whose id, email or name contains this, whatever the case'),
          status: z.enum(USER_STATUSES).optional(),
          department: z.string().max(MAX_FIELD_LENGTH).optional(),
          manager: z.string().min(1).max(MAX_FIELD_LENGTH).optional().describe('their manager, by id or email'),
          limit: pageLimit,
          cursor: cursorParam('users', z.tuple([z.string()])),
        }),
      },
    },
    async (request) => {
      const { q, status, department, manager, limit, cursor } = request.query;
      // One more than the page: whether there is a next one.
      const users = await repo.listUsers({
        q,
        status,
        department,
        managerId: await userId(manager),
        afterId: cursor?.[0],
        limit: limit + 1,
      });
      const page = users.slice(0, limit);
      const last = page.at(-1);
      return { users: page, ...(users.length > limit && last && { nextCursor: encodeCursor('users', [last.id]) }) };
    },
  );

  app.get('/v1/directory/users/:user', { schema: { params: z.object({ user: z.string() }) } }, async (request) => {
    const id = await userId(request.params.user);
    return repo.getUser(id as string);
  });

  app.get(
    '/v1/directory/users/:user/timeline',
    {
      schema: {
        description:
          'Everything recorded about a person, newest first: runs about them, directory changes about them (each with the run and step that made it, when a step did) and, for an admin token, audit entries about their runs and approvals.',
        params: z.object({ user: z.string().min(1).max(MAX_FIELD_LENGTH).describe('a user id or email') }),
        querystring: z.object({
          limit: pageLimit,
          // A run's key is its id; a change's and an audit entry's are numbers (outbox seq, entry id).
          cursor: cursorParam(
            'timeline',
            z.union([
              z.tuple([z.string(), z.literal('run'), z.string()]),
              z.tuple([z.string(), z.enum(['change', 'audit']), z.number().int()]),
            ]),
          ),
        }),
      },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const before = cursor && { at: cursor[0], kind: cursor[1], key: cursor[2] };
      const timeline = await personTimeline(store, request.params.user, { before, limit, audit: holdsScope(request, 'admin') });
      const { next, ...rest } = timeline;
      return { ...rest, ...(next !== undefined && { nextCursor: encodeCursor('timeline', [next.at, next.kind, next.key]) }) };
    },
  );

  app.get('/v1/directory/apps', async () => ({ apps: await repo.listApps(), entitlements: await repo.listEntitlements() }));
  app.get('/v1/directory/grants', { schema: { querystring: byUser } }, async (request) => ({
    grants: await repo.listGrants({ userId: await userId(request.query.user) }),
  }));
  app.get('/v1/directory/accounts', { schema: { querystring: byUser } }, async (request) => ({
    accounts: await repo.listAccounts({ userId: await userId(request.query.user) }),
  }));
  app.get(
    '/v1/directory/tasks',
    { schema: { querystring: byUser.extend({ state: z.enum(['open', 'completed', 'cancelled']).optional() }) } },
    async (request) => ({
      tasks: await repo.listTasks({ assigneeId: await userId(request.query.user), state: request.query.state }),
    }),
  );
  app.get('/v1/directory/delegates', { schema: { querystring: byUser } }, async (request) => ({
    delegates: await repo.listDelegates({ userId: await userId(request.query.user) }),
  }));
  app.get('/v1/directory/enrollments', { schema: { querystring: byUser } }, async (request) => ({
    enrollments: await repo.listEnrollments({ userId: await userId(request.query.user) }),
  }));
  app.get('/v1/directory/campaigns', { schema: { querystring: byUser } }, async (request) => ({
    campaigns: await repo.listCampaigns({ userId: await userId(request.query.user) }),
  }));
};
