/**
 * Data access for the identity directory. Every operation works on the database or inside a
 * transaction alike (`transaction(fn)` hands `fn` the same operations bound to the transaction),
 * so the directory service can write a change, its events (the outbox) and a step's recorded
 * result atomically. Records live as JSON in `data`; key columns serve lookups and uniqueness.
 */
import type { JsonObject } from '../core/json.js';
import { sql, type Kysely, type SqlBool } from 'kysely';
import type {
  Account,
  AccessProfile,
  App,
  Campaign,
  CampaignTemplate,
  Delegate,
  DirectoryEvent,
  Enrollment,
  Entitlement,
  Grant,
  Task,
  User,
} from '../directory/types.js';
import { nowIso, parseJsonText, toJsonText } from './codec.js';
import type { StoreDialect } from './dialect.js';
import type { Database, Db } from './db.js';
import { effectsRepository } from './effects.js';
import type { DirectoryOps, DirectoryRepository } from '../directory/repository.js';
import { changeSubject } from '../directory/changes.js';
import { userSearchText } from '../directory/users.js';

/** A LIKE pattern matching text that contains `search` in lower case (escaped with `!`). */
function containing(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, (char) => `!${char}`)}%`;
}

function parse<T>(row: { data: string } | undefined, where: string): T | undefined {
  return row === undefined ? undefined : parseJsonText<T>(row.data, where);
}

function parseAll<T>(rows: { data: string }[], where: string): T[] {
  return rows.map((row) => parseJsonText<T>(row.data, where));
}

const data = (record: object): string => toJsonText(record as JsonObject);

function directoryOps(db: Db): DirectoryOps {
  const effects = effectsRepository(db);
  return {
    async getUser(id) {
      return parse<User>(await db.selectFrom('dir_users').select('data').where('id', '=', id).executeTakeFirst(), `dir_users ${id}`);
    },
    async getUserByEmail(email) {
      const row = await db.selectFrom('dir_users').select('data').where('email_key', '=', email.toLowerCase()).executeTakeFirst();
      return parse<User>(row, `dir_users ${email}`);
    },
    async listUsers(query = {}) {
      const rows = await db
        .selectFrom('dir_users')
        .select('data')
        .$if(query.status !== undefined, (q) => q.where('status', '=', query.status as string))
        .$if(query.department !== undefined, (q) => q.where('department', '=', query.department as string))
        .$if(query.managerId !== undefined, (q) => q.where('manager_id', '=', query.managerId as string))
        .$if(query.afterId !== undefined, (q) => q.where('id', '>', query.afterId as string))
        .$if(query.q !== undefined, (q) => q.where(sql<SqlBool>`search_key like ${containing(query.q as string)} escape '!'`))
        .orderBy('id')
        .$if(query.limit !== undefined, (q) => q.limit(query.limit as number))
        .execute();
      return parseAll<User>(rows, 'dir_users');
    },
    async putUser(user) {
      const row = {
        id: user.id,
        email_key: user.email.toLowerCase(),
        status: user.status,
        department: user.department ?? null,
        manager_id: user.managerId ?? null,
        search_key: userSearchText(user),
        data: data(user),
      };
      await db
        .insertInto('dir_users')
        .values(row)
        .onConflict((c) =>
          c.column('id').doUpdateSet({
            email_key: row.email_key,
            status: row.status,
            department: row.department,
            manager_id: row.manager_id,
            search_key: row.search_key,
            data: row.data,
          }),
        )
        .execute();
    },

    async deleteUser(id) {
      await db.deleteFrom('dir_users').where('id', '=', id).execute();
    },

    async getApp(id) {
      return parse<App>(await db.selectFrom('dir_apps').select('data').where('id', '=', id).executeTakeFirst(), `dir_apps ${id}`);
    },
    async getAppBySlug(slug) {
      return parse<App>(await db.selectFrom('dir_apps').select('data').where('slug', '=', slug).executeTakeFirst(), `dir_apps ${slug}`);
    },
    async listApps() {
      return parseAll<App>(await db.selectFrom('dir_apps').select('data').orderBy('slug').execute(), 'dir_apps');
    },
    async putApp(app) {
      await db
        .insertInto('dir_apps')
        .values({ id: app.id, slug: app.slug, data: data(app) })
        .onConflict((c) => c.column('id').doUpdateSet({ slug: app.slug, data: data(app) }))
        .execute();
    },

    async getEntitlement(id) {
      return parse<Entitlement>(
        await db.selectFrom('dir_entitlements').select('data').where('id', '=', id).executeTakeFirst(),
        `dir_entitlements ${id}`,
      );
    },
    async getEntitlementBySlug(appId, slug) {
      const row = await db
        .selectFrom('dir_entitlements')
        .select('data')
        .where('app_id', '=', appId)
        .where('slug', '=', slug)
        .executeTakeFirst();
      return parse<Entitlement>(row, `dir_entitlements ${appId}:${slug}`);
    },
    async listEntitlements(appId) {
      const rows = await db
        .selectFrom('dir_entitlements')
        .select('data')
        .$if(appId !== undefined, (q) => q.where('app_id', '=', appId as string))
        .orderBy('app_id')
        .orderBy('slug')
        .execute();
      return parseAll<Entitlement>(rows, 'dir_entitlements');
    },
    async putEntitlement(entitlement) {
      await db
        .insertInto('dir_entitlements')
        .values({ id: entitlement.id, app_id: entitlement.appId, slug: entitlement.slug, data: data(entitlement) })
        .onConflict((c) => c.column('id').doUpdateSet({ app_id: entitlement.appId, slug: entitlement.slug, data: data(entitlement) }))
        .execute();
    },

    async deleteEntitlement(id) {
      await db.deleteFrom('dir_entitlements').where('id', '=', id).execute();
    },

    async getGrant(userId, entitlementId) {
      const row = await db
        .selectFrom('dir_grants')
        .select('data')
        .where('user_id', '=', userId)
        .where('entitlement_id', '=', entitlementId)
        .executeTakeFirst();
      return parse<Grant>(row, `dir_grants ${userId}/${entitlementId}`);
    },
    async listGrants(filter) {
      const rows = await db
        .selectFrom('dir_grants')
        .select('data')
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId as string))
        .$if(filter.entitlementId !== undefined, (q) => q.where('entitlement_id', '=', filter.entitlementId as string))
        .orderBy('user_id')
        .orderBy('entitlement_id')
        .execute();
      return parseAll<Grant>(rows, 'dir_grants');
    },
    async putGrant(grant) {
      await db
        .insertInto('dir_grants')
        .values({ user_id: grant.userId, entitlement_id: grant.entitlementId, data: data(grant) })
        .onConflict((c) => c.columns(['user_id', 'entitlement_id']).doUpdateSet({ data: data(grant) }))
        .execute();
    },
    async deleteGrant(userId, entitlementId) {
      await db.deleteFrom('dir_grants').where('user_id', '=', userId).where('entitlement_id', '=', entitlementId).execute();
    },

    async getAccount(id) {
      return parse<Account>(
        await db.selectFrom('dir_accounts').select('data').where('id', '=', id).executeTakeFirst(),
        `dir_accounts ${id}`,
      );
    },
    async findAccount(appId, userId) {
      const row = await db
        .selectFrom('dir_accounts')
        .select('data')
        .where('app_id', '=', appId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return parse<Account>(row, `dir_accounts ${appId}/${userId}`);
    },
    async listAccounts(filter) {
      const rows = await db
        .selectFrom('dir_accounts')
        .select('data')
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId as string))
        .$if(filter.appId !== undefined, (q) => q.where('app_id', '=', filter.appId as string))
        .orderBy('user_id')
        .orderBy('app_id')
        .execute();
      return parseAll<Account>(rows, 'dir_accounts');
    },
    async putAccount(account) {
      await db
        .insertInto('dir_accounts')
        .values({ id: account.id, app_id: account.appId, user_id: account.userId, data: data(account) })
        .onConflict((c) => c.column('id').doUpdateSet({ data: data(account) }))
        .execute();
    },

    async getAccessProfile(id) {
      return parse<AccessProfile>(
        await db.selectFrom('dir_access_profiles').select('data').where('id', '=', id).executeTakeFirst(),
        `dir_access_profiles ${id}`,
      );
    },
    async listAccessProfiles() {
      return parseAll<AccessProfile>(
        await db.selectFrom('dir_access_profiles').select('data').orderBy('id').execute(),
        'dir_access_profiles',
      );
    },
    async putAccessProfile(profile) {
      await db
        .insertInto('dir_access_profiles')
        .values({ id: profile.id, data: data(profile) })
        .onConflict((c) => c.column('id').doUpdateSet({ data: data(profile) }))
        .execute();
    },
    async listEnrollments(filter) {
      const rows = await db
        .selectFrom('dir_enrollments')
        .select('data')
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId as string))
        .$if(filter.profileId !== undefined, (q) => q.where('profile_id', '=', filter.profileId as string))
        .orderBy('user_id')
        .orderBy('profile_id')
        .execute();
      return parseAll<Enrollment>(rows, 'dir_enrollments');
    },
    async putEnrollment(enrollment) {
      await db
        .insertInto('dir_enrollments')
        .values({ user_id: enrollment.userId, profile_id: enrollment.profileId, data: data(enrollment) })
        .onConflict((c) => c.columns(['user_id', 'profile_id']).doNothing())
        .execute();
    },
    async deleteEnrollment(userId, profileId) {
      await db.deleteFrom('dir_enrollments').where('user_id', '=', userId).where('profile_id', '=', profileId).execute();
    },

    async getDelegate(userId) {
      return parse<Delegate>(
        await db.selectFrom('dir_delegates').select('data').where('user_id', '=', userId).executeTakeFirst(),
        `dir_delegates ${userId}`,
      );
    },
    async listDelegates(filter) {
      const rows = await db
        .selectFrom('dir_delegates')
        .select('data')
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId as string))
        .$if(filter.delegateId !== undefined, (q) => q.where('delegate_id', '=', filter.delegateId as string))
        .orderBy('user_id')
        .execute();
      return parseAll<Delegate>(rows, 'dir_delegates');
    },
    async putDelegate(delegate) {
      await db
        .insertInto('dir_delegates')
        .values({ user_id: delegate.userId, delegate_id: delegate.delegateId, data: data(delegate) })
        .onConflict((c) => c.column('user_id').doUpdateSet({ delegate_id: delegate.delegateId, data: data(delegate) }))
        .execute();
    },
    async deleteDelegate(userId) {
      await db.deleteFrom('dir_delegates').where('user_id', '=', userId).execute();
    },

    async getTask(id) {
      return parse<Task>(await db.selectFrom('dir_tasks').select('data').where('id', '=', id).executeTakeFirst(), `dir_tasks ${id}`);
    },
    async listTasks(filter) {
      const rows = await db
        .selectFrom('dir_tasks')
        .select('data')
        .$if(filter.assigneeId !== undefined, (q) => q.where('assignee_id', '=', filter.assigneeId as string))
        .$if(filter.state !== undefined, (q) => q.where('state', '=', filter.state as string))
        .orderBy('id')
        .execute();
      return parseAll<Task>(rows, 'dir_tasks');
    },
    async putTask(task) {
      await db
        .insertInto('dir_tasks')
        .values({ id: task.id, assignee_id: task.assigneeId, state: task.state, data: data(task) })
        .onConflict((c) => c.column('id').doUpdateSet({ assignee_id: task.assigneeId, state: task.state, data: data(task) }))
        .execute();
    },

    async getCampaignTemplate(id) {
      return parse<CampaignTemplate>(
        await db.selectFrom('dir_campaign_templates').select('data').where('id', '=', id).executeTakeFirst(),
        `dir_campaign_templates ${id}`,
      );
    },
    async listCampaignTemplates() {
      return parseAll<CampaignTemplate>(
        await db.selectFrom('dir_campaign_templates').select('data').orderBy('id').execute(),
        'dir_campaign_templates',
      );
    },
    async putCampaignTemplate(template) {
      await db
        .insertInto('dir_campaign_templates')
        .values({ id: template.id, data: data(template) })
        .onConflict((c) => c.column('id').doUpdateSet({ data: data(template) }))
        .execute();
    },
    async getCampaign(id) {
      return parse<Campaign>(
        await db.selectFrom('dir_campaigns').select('data').where('id', '=', id).executeTakeFirst(),
        `dir_campaigns ${id}`,
      );
    },
    async listCampaigns(filter) {
      const rows = await db
        .selectFrom('dir_campaigns')
        .select('data')
        .$if(filter.userId !== undefined, (q) => q.where('user_id', '=', filter.userId as string))
        .orderBy('id')
        .execute();
      return parseAll<Campaign>(rows, 'dir_campaigns');
    },
    async putCampaign(campaign) {
      await db
        .insertInto('dir_campaigns')
        .values({ id: campaign.id, user_id: campaign.userId, data: data(campaign) })
        .onConflict((c) => c.column('id').doUpdateSet({ data: data(campaign) }))
        .execute();
    },

    async emit(event, cause) {
      await db
        .insertInto('directory_outbox')
        .values({
          event_id: event.id,
          type: event.type,
          data: toJsonText(event.data),
          created_at: nowIso(),
          delivered_at: null,
          subject: changeSubject(event.data) ?? null,
          run_id: cause?.runId ?? null,
          step_name: cause?.stepName ?? null,
        })
        .execute();
    },
    async pendingEvents(limit) {
      const rows = await db
        .selectFrom('directory_outbox')
        .select(['seq', 'event_id', 'type', 'data'])
        .where('delivered_at', 'is', null)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((row) => ({
        seq: row.seq,
        id: row.event_id,
        type: row.type as DirectoryEvent['type'],
        data: parseJsonText<JsonObject>(row.data, `directory_outbox ${row.event_id}`),
      }));
    },
    async markDelivered(seqs) {
      if (seqs.length === 0) return;
      await db.updateTable('directory_outbox').set({ delivered_at: nowIso() }).where('seq', 'in', seqs).execute();
    },
    async outboxBacklog() {
      const row = await db
        .selectFrom('directory_outbox')
        .select((eb) => [eb.fn.countAll<number | string | bigint>().as('pending'), eb.fn.min('created_at').as('oldest')])
        .where('delivered_at', 'is', null)
        .executeTakeFirstOrThrow();
      return { pending: Number(row.pending), ...(row.oldest !== null && { oldestCreatedAt: row.oldest }) };
    },

    getEffect: (key) => effects.get(key),
    putEffect: (key, result) => effects.put(key, result),
  };
}

export function directoryRepository(db: Kysely<Database>, dialect: StoreDialect): DirectoryRepository {
  return {
    ...directoryOps(db),
    transaction: (fn) => dialect.writeTransaction(db, 'directory', (trx) => fn(directoryOps(trx))),
  };
}
