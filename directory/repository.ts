/**
 * What the directory needs from storage (the store implements it in store/directory.ts). Every
 * operation works on the database or inside a transaction alike (`transaction(fn)` hands `fn`
 * the same operations bound to the transaction), so the directory service can write a change,
 * its events (the outbox) and a step's recorded result atomically.
 */
import type { JsonValue } from '../core/json.js';
import type {
  Account,
  AccessProfile,
  App,
  Campaign,
  ChangeCause,
  CampaignTemplate,
  Delegate,
  DirectoryEvent,
  Enrollment,
  Entitlement,
  Grant,
  Task,
  User,
} from './types.js';

export interface PendingDirectoryEvent extends DirectoryEvent {
  seq: number;
}

export interface UserQuery {
  status?: string;
  department?: string;
  managerId?: string;
  /** Only users whose id sorts after this one: pages through the directory in id order. */
  afterId?: string;
  /** Only users whose id, email or name contains this, whatever the case. */
  q?: string;
  limit?: number;
}

/** The directory's reads and writes; see the file comment. */
export interface DirectoryOps {
  getUser(id: string): Promise<User | undefined>;
  getUserByEmail(email: string): Promise<User | undefined>;
  listUsers(query?: UserQuery): Promise<User[]>;
  putUser(user: User): Promise<void>;
  /** Removes the person's record only: what refers to them (grants, accounts, tasks) is the caller's to handle. */
  deleteUser(id: string): Promise<void>;

  getApp(id: string): Promise<App | undefined>;
  getAppBySlug(slug: string): Promise<App | undefined>;
  listApps(): Promise<App[]>;
  putApp(app: App): Promise<void>;

  getEntitlement(id: string): Promise<Entitlement | undefined>;
  getEntitlementBySlug(appId: string, slug: string): Promise<Entitlement | undefined>;
  listEntitlements(appId?: string): Promise<Entitlement[]>;
  putEntitlement(entitlement: Entitlement): Promise<void>;
  /** Removes the entitlement's record only: revoke its grants first. */
  deleteEntitlement(id: string): Promise<void>;

  getGrant(userId: string, entitlementId: string): Promise<Grant | undefined>;
  listGrants(filter: { userId?: string; entitlementId?: string }): Promise<Grant[]>;
  putGrant(grant: Grant): Promise<void>;
  deleteGrant(userId: string, entitlementId: string): Promise<void>;

  getAccount(id: string): Promise<Account | undefined>;
  findAccount(appId: string, userId: string): Promise<Account | undefined>;
  listAccounts(filter: { userId?: string; appId?: string }): Promise<Account[]>;
  putAccount(account: Account): Promise<void>;

  getAccessProfile(id: string): Promise<AccessProfile | undefined>;
  listAccessProfiles(): Promise<AccessProfile[]>;
  putAccessProfile(profile: AccessProfile): Promise<void>;
  listEnrollments(filter: { userId?: string; profileId?: string }): Promise<Enrollment[]>;
  putEnrollment(enrollment: Enrollment): Promise<void>;
  deleteEnrollment(userId: string, profileId: string): Promise<void>;

  getDelegate(userId: string): Promise<Delegate | undefined>;
  listDelegates(filter: { userId?: string; delegateId?: string }): Promise<Delegate[]>;
  putDelegate(delegate: Delegate): Promise<void>;
  deleteDelegate(userId: string): Promise<void>;

  getTask(id: string): Promise<Task | undefined>;
  listTasks(filter: { assigneeId?: string; state?: string }): Promise<Task[]>;
  putTask(task: Task): Promise<void>;

  getCampaignTemplate(id: string): Promise<CampaignTemplate | undefined>;
  listCampaignTemplates(): Promise<CampaignTemplate[]>;
  putCampaignTemplate(template: CampaignTemplate): Promise<void>;
  getCampaign(id: string): Promise<Campaign | undefined>;
  listCampaigns(filter: { userId?: string }): Promise<Campaign[]>;
  putCampaign(campaign: Campaign): Promise<void>;

  /**
   * Queues an event for delivery; committed (or not) with the transaction it is part of. `cause`:
   * the run step that made the change, kept with it (a person's timeline says why).
   */
  emit(event: DirectoryEvent, cause?: ChangeCause): Promise<void>;
  /** Undelivered events, oldest first. */
  pendingEvents(limit: number): Promise<PendingDirectoryEvent[]>;
  markDelivered(seqs: number[]): Promise<void>;
  /** How many events wait for delivery and since when (the outbox-lag metrics). */
  outboxBacklog(): Promise<OutboxBacklog>;

  /** A step's recorded result (see Store['effects']), read and written in the same transaction as its change. */
  getEffect(key: string): Promise<JsonValue | undefined>;
  /** false when the key was recorded already (its primary key decides, whatever was read before). */
  putEffect(key: string, result: JsonValue): Promise<boolean>;
}

/** The undelivered part of the outbox. */
export interface OutboxBacklog {
  pending: number;
  /** created_at (ISO) of the oldest undelivered event; absent when none is pending. */
  oldestCreatedAt?: string;
}

export interface DirectoryRepository extends DirectoryOps {
  /** Runs `fn` in one write transaction: everything it does commits together or not at all. */
  transaction<T>(fn: (tx: DirectoryOps) => Promise<T>): Promise<T>;
}
