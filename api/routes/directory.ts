/** The identity directory: HR imports, and reads of users, grants, accounts, tasks, delegates, enrollments and campaigns. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { importFeed, parseFeed, parseMapping } from '../../directory/import.js';
import { USER_STATUSES } from '../../directory/types.js';
import type { Engine } from '../../engine/types.js';
import type { JsonObject } from '../../steps/types.js';
import { actorOf, requireScope } from '../auth.js';
import { ApiError } from '../errors.js';

const file = z.object({ path: z.string().min(1), content: z.string() });
const byUser = z.object({ user: z.string().min(1).optional().describe('A user id or email.') });

export const directoryRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { store } = engine;
  const repo = store.directory;
  const read = { preHandler: requireScope(store, 'directory:read') };
  const write = { preHandler: requireScope(store, 'directory:write') };

  /** The id of a user given by id or email; 404 when unknown. */
  const userId = async (ref: string | undefined): Promise<string | undefined> => {
    if (ref === undefined) return undefined;
    const user = (await repo.getUser(ref)) ?? (await repo.getUserByEmail(ref));
    if (!user) throw new ApiError(404, 'NOT_FOUND', `user "${ref}" is not in the directory`);
    return user.id;
  };

  app.post(
    '/v1/directory/import',
    {
      ...write,
      schema: {
        body: z.object({
          file,
          mapping: file.optional(),
          source: z.string().min(1).default('hr'),
          full: z.boolean().default(false),
          dryRun: z.boolean().default(false),
        }),
      },
    },
    async (request) => {
      const { body } = request;
      let feed;
      try {
        feed = parseFeed(body.file.path, body.file.content, { mapping: body.mapping && parseMapping(body.mapping.content, body.mapping.path) });
      } catch (error) {
        throw new ApiError(400, 'INVALID', (error as Error).message);
      }
      const report = await importFeed(engine.directory, feed, { source: body.source, full: body.full, dryRun: body.dryRun });
      if (!report.dryRun) {
        const details: JsonObject = { file: body.file.path, created: report.created.length, updated: report.updated.length, deactivated: report.deactivated.length, errors: report.errors.length };
        await store.audit.record({ actor: actorOf(request), action: 'directory.import', target: `Directory/import/${body.source}`, details });
      }
      return report;
    },
  );

  app.get(
    '/v1/directory/users',
    { ...read, schema: { querystring: z.object({ status: z.enum(USER_STATUSES).optional(), department: z.string().optional(), manager: z.string().optional(), limit: z.coerce.number().int().min(1).optional() }) } },
    async (request) => {
      const { status, department, manager, limit } = request.query;
      return { users: await repo.listUsers({ status, department, managerId: await userId(manager), limit }) };
    },
  );

  app.get('/v1/directory/users/:user', { ...read, schema: { params: z.object({ user: z.string() }) } }, async (request) => {
    const id = await userId(request.params.user);
    return repo.getUser(id as string);
  });

  app.get('/v1/directory/apps', read, async () => ({ apps: await repo.listApps(), entitlements: await repo.listEntitlements() }));
  app.get('/v1/directory/grants', { ...read, schema: { querystring: byUser } }, async (request) => ({ grants: await repo.listGrants({ userId: await userId(request.query.user) }) }));
  app.get('/v1/directory/accounts', { ...read, schema: { querystring: byUser } }, async (request) => ({ accounts: await repo.listAccounts({ userId: await userId(request.query.user) }) }));
  app.get('/v1/directory/tasks', { ...read, schema: { querystring: byUser.extend({ state: z.enum(['open', 'completed', 'cancelled']).optional() }) } }, async (request) => ({
    tasks: await repo.listTasks({ assigneeId: await userId(request.query.user), state: request.query.state }),
  }));
  app.get('/v1/directory/delegates', { ...read, schema: { querystring: byUser } }, async (request) => ({ delegates: await repo.listDelegates({ userId: await userId(request.query.user) }) }));
  app.get('/v1/directory/enrollments', { ...read, schema: { querystring: byUser } }, async (request) => ({ enrollments: await repo.listEnrollments({ userId: await userId(request.query.user) }) }));
  app.get('/v1/directory/campaigns', { ...read, schema: { querystring: byUser } }, async (request) => ({ campaigns: await repo.listCampaigns({ userId: await userId(request.query.user) }) }));
};
