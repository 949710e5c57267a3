/**
 * A copy-on-write view of the directory: reads fall through to the real one until the plan wrote
 * the record, writes stay in memory, and every write is logged (what the plan's effects are made
 * of) and every event emitted is kept (what the plan's cascades are made of). The real directory
 * is only ever read.
 *
 * The directory's own code (directory/service.ts, directory/import.ts, provisioning/service.ts)
 * runs against this view unchanged, so a plan computes what a real run computes. A transaction
 * that throws is undone, as the database would roll it back.
 */
import type { JsonValue } from '../core/json.js';
import { userSearchText } from '../directory/users.js';
import type { DirectoryOps, DirectoryRepository, OutboxBacklog, PendingDirectoryEvent, UserQuery } from '../directory/repository.js';
import type {
  AccessProfile,
  Account,
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

/** One write to the view, with the record before it (undefined: there was none). */
export type DirectoryWrite =
  | { table: 'users'; before?: User; after?: User }
  | { table: 'grants'; before?: Grant; after?: Grant }
  | { table: 'accounts'; before?: Account; after?: Account }
  | { table: 'tasks'; before?: Task; after?: Task }
  | { table: 'campaigns'; before?: Campaign; after?: Campaign }
  | { table: 'delegates'; before?: Delegate; after?: Delegate }
  | { table: 'enrollments'; before?: Enrollment; after?: Enrollment }
  | { table: 'apps'; before?: App; after?: App }
  | { table: 'entitlements'; before?: Entitlement; after?: Entitlement }
  | { table: 'accessProfiles'; before?: AccessProfile; after?: AccessProfile }
  | { table: 'campaignTemplates'; before?: CampaignTemplate; after?: CampaignTemplate };

type Table = DirectoryWrite['table'];
type RecordOf<T extends Table> = NonNullable<Extract<DirectoryWrite, { table: T }>['after']>;

/** The view's records of one table: a record, or null where the plan deleted one. */
class Layer<V> {
  readonly written = new Map<string, V | null>();

  async get(key: string, read: () => Promise<V | undefined>): Promise<V | undefined> {
    const own = this.written.get(key);
    if (own !== undefined) return own ?? undefined;
    return read();
  }

  /** The real list with the plan's writes laid over it; `keyOf` names a record, `keep` filters the plan's own. */
  merge(real: V[], keyOf: (value: V) => string, keep: (value: V) => boolean): V[] {
    if (this.written.size === 0) return real;
    const merged = real.filter((value) => !this.written.has(keyOf(value)));
    for (const value of this.written.values()) if (value !== null && keep(value)) merged.push(value);
    return merged;
  }
}

const grantKey = (userId: string, entitlementId: string) => `${userId}\u0000${entitlementId}`;
const enrollmentKey = (userId: string, profileId: string) => `${userId}\u0000${profileId}`;
const byId = <V extends { id: string }>(a: V, b: V) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class DirectoryView implements DirectoryRepository {
  /** Every write, in order; `mark()` and `writesSince()` cut it by step. */
  readonly writes: DirectoryWrite[] = [];
  /** Every event emitted, in order. */
  readonly events: DirectoryEvent[] = [];
  private readonly layers = {
    users: new Layer<User>(),
    grants: new Layer<Grant>(),
    accounts: new Layer<Account>(),
    tasks: new Layer<Task>(),
    campaigns: new Layer<Campaign>(),
    delegates: new Layer<Delegate>(),
    enrollments: new Layer<Enrollment>(),
    apps: new Layer<App>(),
    entitlements: new Layer<Entitlement>(),
    accessProfiles: new Layer<AccessProfile>(),
    campaignTemplates: new Layer<CampaignTemplate>(),
  };
  private readonly effects = new Map<string, JsonValue>();

  /** `real`: the directory read through; never written. */
  constructor(private readonly real: DirectoryOps) {}

  private write<T extends Table>(table: T, key: string, before: RecordOf<T> | undefined, after: RecordOf<T> | undefined): void {
    (this.layers[table] as Layer<RecordOf<T>>).written.set(key, after ?? null);
    this.writes.push({ table, before, after } as DirectoryWrite);
  }

  /** Runs `fn` on the view; if it throws, its writes and events are undone. */
  async transaction<T>(fn: (tx: DirectoryOps) => Promise<T>): Promise<T> {
    const writes = this.writes.length;
    const events = this.events.length;
    const effects = new Map(this.effects);
    try {
      return await fn(this);
    } catch (error) {
      // Each key back to what the view held before the write (a record shadowing the real one is harmless).
      for (const undone of this.writes.splice(writes).reverse()) {
        const record = (undone.before ?? undone.after) as object;
        (this.layers[undone.table] as Layer<object>).written.set(this.keyOf(undone.table, record), undone.before ?? null);
      }
      this.events.splice(events);
      this.effects.clear();
      for (const [key, value] of effects) this.effects.set(key, value);
      throw error;
    }
  }

  private keyOf(table: Table, record: object): string {
    if (table === 'grants') return grantKey((record as Grant).userId, (record as Grant).entitlementId);
    if (table === 'enrollments') return enrollmentKey((record as Enrollment).userId, (record as Enrollment).profileId);
    if (table === 'delegates') return (record as Delegate).userId;
    return (record as { id: string }).id;
  }

  // ---- users ------------------------------------------------------------------------------

  getUser(id: string): Promise<User | undefined> {
    return this.layers.users.get(id, () => this.real.getUser(id));
  }

  async getUserByEmail(email: string): Promise<User | undefined> {
    const lower = email.toLowerCase();
    for (const user of this.layers.users.written.values()) if (user && user.email.toLowerCase() === lower) return user;
    const found = await this.real.getUserByEmail(email);
    // The plan changed or removed that person: their real email no longer answers.
    return found && this.layers.users.written.has(found.id) ? undefined : found;
  }

  async listUsers(query: UserQuery = {}): Promise<User[]> {
    const layer = this.layers.users;
    if (layer.written.size === 0) return this.real.listUsers(query);
    const { limit, ...filter } = query;
    const keep = (user: User) =>
      (filter.status === undefined || user.status === filter.status) &&
      (filter.department === undefined || user.department === filter.department) &&
      (filter.managerId === undefined || user.managerId === filter.managerId) &&
      (filter.afterId === undefined || user.id > filter.afterId) &&
      (filter.q === undefined || userSearchText(user).includes(filter.q.toLowerCase()));
    // Enough real ones that the plan's own cannot push the page short.
    const real = await this.real.listUsers(limit === undefined ? filter : { ...filter, limit: limit + layer.written.size });
    const merged = layer.merge(real, (user) => user.id, keep).sort(byId);
    return limit === undefined ? merged : merged.slice(0, limit);
  }

  async putUser(user: User): Promise<void> {
    this.write('users', user.id, await this.getUser(user.id), user);
  }

  async deleteUser(id: string): Promise<void> {
    const before = await this.getUser(id);
    if (before) this.write('users', id, before, undefined);
  }

  // ---- apps and entitlements --------------------------------------------------------------

  getApp(id: string): Promise<App | undefined> {
    return this.layers.apps.get(id, () => this.real.getApp(id));
  }

  async getAppBySlug(slug: string): Promise<App | undefined> {
    for (const app of this.layers.apps.written.values()) if (app?.slug === slug) return app;
    const found = await this.real.getAppBySlug(slug);
    return found && this.layers.apps.written.has(found.id) ? undefined : found;
  }

  async listApps(): Promise<App[]> {
    return this.layers.apps.merge(
      await this.real.listApps(),
      (app) => app.id,
      () => true,
    );
  }

  async putApp(app: App): Promise<void> {
    this.write('apps', app.id, await this.getApp(app.id), app);
  }

  getEntitlement(id: string): Promise<Entitlement | undefined> {
    return this.layers.entitlements.get(id, () => this.real.getEntitlement(id));
  }

  async getEntitlementBySlug(appId: string, slug: string): Promise<Entitlement | undefined> {
    for (const e of this.layers.entitlements.written.values()) if (e?.appId === appId && e.slug === slug) return e;
    const found = await this.real.getEntitlementBySlug(appId, slug);
    return found && this.layers.entitlements.written.has(found.id) ? undefined : found;
  }

  async listEntitlements(appId?: string): Promise<Entitlement[]> {
    const real = await this.real.listEntitlements(appId);
    return this.layers.entitlements.merge(
      real,
      (e) => e.id,
      (e) => appId === undefined || e.appId === appId,
    );
  }

  async putEntitlement(entitlement: Entitlement): Promise<void> {
    this.write('entitlements', entitlement.id, await this.getEntitlement(entitlement.id), entitlement);
  }

  async deleteEntitlement(id: string): Promise<void> {
    const before = await this.getEntitlement(id);
    if (before) this.write('entitlements', id, before, undefined);
  }

  // ---- grants -----------------------------------------------------------------------------

  getGrant(userId: string, entitlementId: string): Promise<Grant | undefined> {
    return this.layers.grants.get(grantKey(userId, entitlementId), () => this.real.getGrant(userId, entitlementId));
  }

  async listGrants(filter: { userId?: string; entitlementId?: string }): Promise<Grant[]> {
    const keep = (grant: Grant) =>
      (filter.userId === undefined || grant.userId === filter.userId) &&
      (filter.entitlementId === undefined || grant.entitlementId === filter.entitlementId);
    return this.layers.grants.merge(await this.real.listGrants(filter), (g) => grantKey(g.userId, g.entitlementId), keep);
  }

  async putGrant(grant: Grant): Promise<void> {
    this.write('grants', grantKey(grant.userId, grant.entitlementId), await this.getGrant(grant.userId, grant.entitlementId), grant);
  }

  async deleteGrant(userId: string, entitlementId: string): Promise<void> {
    const before = await this.getGrant(userId, entitlementId);
    if (before) this.write('grants', grantKey(userId, entitlementId), before, undefined);
  }

  // ---- accounts ---------------------------------------------------------------------------

  getAccount(id: string): Promise<Account | undefined> {
    return this.layers.accounts.get(id, () => this.real.getAccount(id));
  }

  async findAccount(appId: string, userId: string): Promise<Account | undefined> {
    return (await this.listAccounts({ appId, userId }))[0];
  }

  async listAccounts(filter: { userId?: string; appId?: string }): Promise<Account[]> {
    const keep = (account: Account) =>
      (filter.userId === undefined || account.userId === filter.userId) && (filter.appId === undefined || account.appId === filter.appId);
    return this.layers.accounts.merge(await this.real.listAccounts(filter), (a) => a.id, keep);
  }

  async putAccount(account: Account): Promise<void> {
    this.write('accounts', account.id, await this.getAccount(account.id), account);
  }

  // ---- access profiles and enrollments ----------------------------------------------------

  getAccessProfile(id: string): Promise<AccessProfile | undefined> {
    return this.layers.accessProfiles.get(id, () => this.real.getAccessProfile(id));
  }

  async listAccessProfiles(): Promise<AccessProfile[]> {
    return this.layers.accessProfiles.merge(
      await this.real.listAccessProfiles(),
      (p) => p.id,
      () => true,
    );
  }

  async putAccessProfile(profile: AccessProfile): Promise<void> {
    this.write('accessProfiles', profile.id, await this.getAccessProfile(profile.id), profile);
  }

  async listEnrollments(filter: { userId?: string; profileId?: string }): Promise<Enrollment[]> {
    const keep = (e: Enrollment) =>
      (filter.userId === undefined || e.userId === filter.userId) && (filter.profileId === undefined || e.profileId === filter.profileId);
    return this.layers.enrollments.merge(await this.real.listEnrollments(filter), (e) => enrollmentKey(e.userId, e.profileId), keep);
  }

  async putEnrollment(enrollment: Enrollment): Promise<void> {
    const key = enrollmentKey(enrollment.userId, enrollment.profileId);
    const before = (await this.listEnrollments({ userId: enrollment.userId, profileId: enrollment.profileId }))[0];
    this.write('enrollments', key, before, enrollment);
  }

  async deleteEnrollment(userId: string, profileId: string): Promise<void> {
    const before = (await this.listEnrollments({ userId, profileId }))[0];
    if (before) this.write('enrollments', enrollmentKey(userId, profileId), before, undefined);
  }

  // ---- delegates, tasks, campaigns --------------------------------------------------------

  getDelegate(userId: string): Promise<Delegate | undefined> {
    return this.layers.delegates.get(userId, () => this.real.getDelegate(userId));
  }

  async listDelegates(filter: { userId?: string; delegateId?: string }): Promise<Delegate[]> {
    const keep = (d: Delegate) =>
      (filter.userId === undefined || d.userId === filter.userId) &&
      (filter.delegateId === undefined || d.delegateId === filter.delegateId);
    return this.layers.delegates.merge(await this.real.listDelegates(filter), (d) => d.userId, keep);
  }

  async putDelegate(delegate: Delegate): Promise<void> {
    this.write('delegates', delegate.userId, await this.getDelegate(delegate.userId), delegate);
  }

  async deleteDelegate(userId: string): Promise<void> {
    const before = await this.getDelegate(userId);
    if (before) this.write('delegates', userId, before, undefined);
  }

  getTask(id: string): Promise<Task | undefined> {
    return this.layers.tasks.get(id, () => this.real.getTask(id));
  }

  async listTasks(filter: { assigneeId?: string; state?: string }): Promise<Task[]> {
    const keep = (task: Task) =>
      (filter.assigneeId === undefined || task.assigneeId === filter.assigneeId) &&
      (filter.state === undefined || task.state === filter.state);
    return this.layers.tasks.merge(await this.real.listTasks(filter), (t) => t.id, keep);
  }

  async putTask(task: Task): Promise<void> {
    this.write('tasks', task.id, await this.getTask(task.id), task);
  }

  getCampaignTemplate(id: string): Promise<CampaignTemplate | undefined> {
    return this.layers.campaignTemplates.get(id, () => this.real.getCampaignTemplate(id));
  }

  async listCampaignTemplates(): Promise<CampaignTemplate[]> {
    return this.layers.campaignTemplates.merge(
      await this.real.listCampaignTemplates(),
      (t) => t.id,
      () => true,
    );
  }

  async putCampaignTemplate(template: CampaignTemplate): Promise<void> {
    this.write('campaignTemplates', template.id, await this.getCampaignTemplate(template.id), template);
  }

  getCampaign(id: string): Promise<Campaign | undefined> {
    return this.layers.campaigns.get(id, () => this.real.getCampaign(id));
  }

  async listCampaigns(filter: { userId?: string }): Promise<Campaign[]> {
    const keep = (c: Campaign) => filter.userId === undefined || c.userId === filter.userId;
    return this.layers.campaigns.merge(await this.real.listCampaigns(filter), (c) => c.id, keep);
  }

  async putCampaign(campaign: Campaign): Promise<void> {
    this.write('campaigns', campaign.id, await this.getCampaign(campaign.id), campaign);
  }

  // ---- events and recorded step results ---------------------------------------------------

  async emit(event: DirectoryEvent): Promise<void> {
    this.events.push(event);
  }

  /** The view's events are the plan's to read (`events`); it has no outbox to deliver. */
  async pendingEvents(): Promise<PendingDirectoryEvent[]> {
    return [];
  }

  async markDelivered(): Promise<void> {}

  async outboxBacklog(): Promise<OutboxBacklog> {
    return { pending: 0 };
  }

  async getEffect(key: string): Promise<JsonValue | undefined> {
    return this.effects.get(key);
  }

  async putEffect(key: string, result: JsonValue): Promise<boolean> {
    if (this.effects.has(key)) return false;
    this.effects.set(key, result);
    return true;
  }
}
