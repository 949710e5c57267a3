/**
 * The directory's writes. Every change is written together with its lifecycle events (the
 * outbox, delivered to the trigger pipeline by directory/outbox.ts) in one transaction, so a
 * crash can lose neither and no event describes a change that did not happen.
 *
 * Governance steps call the DirectoryActions of `forStep(key)`: the step's result is recorded
 * under its idempotency key in the same transaction, so a retry after a crash returns the first
 * result and changes nothing twice.
 */
import type { DirectoryOps, DirectoryRepository } from './repository.js';
import { asJson, type JsonValue } from '../core/json.js';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { eventLoopTurns } from './turns.js';
import {
  DirectoryError,
  USER_FIELDS,
  type Account,
  type App,
  type Campaign,
  type ChangeCause,
  type CreateAccountInput,
  type DirectoryActions,
  type DirectoryEvent,
  type Entitlement,
  type Grant,
  type RevokeEntitlementsInput,
  type User,
  type UserFields,
} from './types.js';

export interface DirectoryServiceOptions {
  /** Called after a transaction that emitted events commits, to deliver them without waiting for a poll. */
  onEvents?: () => void;
}

/** Where a change came from: for grant sources, and the run step kept with its events. */
export interface ChangeOrigin {
  source: string;
  cause?: ChangeCause;
}

export type UserChange = { kind: 'created'; user: User } | { kind: 'updated' | 'deactivated'; before: User; user: User; changes: string[] };

/** A new event with a fresh id; undefined members are left out. */
export function directoryEvent(type: DirectoryEvent['type'], data: Record<string, object | string | string[] | undefined>): DirectoryEvent {
  return { id: `dir-${randomUUID()}`, type, data: asJson(data) };
}

/** The user fields that differ between two versions of a user. */
export function changedUserFields(before: UserFields, after: UserFields): string[] {
  return USER_FIELDS.filter((field) => !isDeepStrictEqual(before[field] ?? null, after[field] ?? null));
}

/** The event a user change emits: deactivation wins over a plain update. */
export function userChangeEvent(change: UserChange): DirectoryEvent {
  if (change.kind === 'created') return directoryEvent('user.created', { newUser: change.user });
  return directoryEvent(change.kind === 'deactivated' ? 'user.deactivated' : 'user.updated', {
    oldUser: change.before,
    newUser: change.user,
    changes: change.changes,
  });
}

/** Classifies the difference between a stored user (or none) and the wanted fields; undefined when equal. */
export function diffUser(before: User | undefined, wanted: UserFields, now: string): UserChange | undefined {
  if (!before) return { kind: 'created', user: { ...wanted, createdAt: now, updatedAt: now } };
  const changes = changedUserFields(before, wanted);
  if (changes.length === 0) return undefined;
  const user: User = { ...wanted, createdAt: before.createdAt, updatedAt: now };
  const deactivated = before.status === 'ENABLED' && wanted.status !== 'ENABLED';
  return { kind: deactivated ? 'deactivated' : 'updated', before, user, changes };
}

/** Another attempt of the same step recorded its effect while this one ran. */
class RecordedMeanwhile extends Error {}

export class DirectoryService {
  constructor(
    readonly repo: DirectoryRepository,
    private readonly options: DirectoryServiceOptions = {},
  ) {}

  /** Runs `fn` in a transaction whose events are delivered after it commits; `cause` is kept with each of them. */
  async write<T>(fn: (tx: DirectoryWriter) => Promise<T>, cause?: ChangeCause): Promise<T> {
    let emitted = 0;
    const result = await this.repo.transaction((ops) => {
      const writer = new DirectoryWriter(ops, () => emitted++, cause);
      return fn(writer);
    });
    if (emitted > 0) this.options.onEvents?.();
    return result;
  }

  /** Writes user changes (an import, a directory apply) and their events in one transaction. */
  async applyUserChanges(changes: UserChange[]): Promise<void> {
    if (changes.length === 0) return;
    const turn = eventLoopTurns();
    await this.write(async (tx) => {
      for (const change of changes) {
        await tx.saveUser(change);
        await turn();
      }
    });
  }

  /**
   * Runs `action` once for a step execution: its changes, their events and its result commit
   * together under `effectKey`, and a retry gets the recorded result instead of acting again.
   */
  async recordStep<T extends object>(effectKey: string, action: (tx: DirectoryWriter) => Promise<T>, cause?: ChangeCause): Promise<T> {
    try {
      return await this.write(async (tx) => {
        const recorded = await tx.ops.getEffect(effectKey);
        if (recorded !== undefined) return recorded as unknown as T;
        const result = await action(tx);
        // The key's primary key has the last word, not the read above: an attempt that raced another
        // one this far is rolled back, its changes and events with it, and returns the winner's result.
        if (!(await tx.ops.putEffect(effectKey, asJson(result) as JsonValue))) throw new RecordedMeanwhile();
        return result;
      }, cause);
    } catch (error) {
      if (!(error instanceof RecordedMeanwhile)) throw error;
      return (await this.repo.getEffect(effectKey)) as unknown as T;
    }
  }

  /** The result a step execution recorded under `effectKey`, if it did. */
  async recordedStep<T extends object>(effectKey: string): Promise<T | undefined> {
    return (await this.repo.getEffect(effectKey)) as T | undefined;
  }

  /** Reads outside a transaction with the writer's reference helpers (the user by id or email, ...). */
  reader(): DirectoryWriter {
    return new DirectoryWriter(this.repo, () => {
      throw new Error('the directory reader does not write');
    });
  }

  /** The governance actions for one step execution, idempotent under `effectKey`. */
  forStep(effectKey: string, origin: ChangeOrigin): DirectoryActions {
    const once = <T extends object>(action: (tx: DirectoryWriter) => Promise<T>): Promise<T> =>
      this.recordStep(effectKey, action, origin.cause);
    return {
      grantEntitlements: (input) => once((tx) => tx.grantEntitlements(input, origin)),
      revokeEntitlements: (input) => once((tx) => tx.revokeEntitlements(input)),
      modifyUserStatus: (input) => once((tx) => tx.modifyUserStatus(input)),
      modifyDelegate: (input) => once((tx) => tx.modifyDelegate(input)),
      removeAccessProfiles: (input) => once((tx) => tx.removeAccessProfiles(input)),
      createAccount: (input) => once((tx) => tx.createAccount(input)),
      performTaskAction: (input) => once((tx) => tx.performTaskAction(input)),
      createCampaign: (input) => once((tx) => tx.createCampaign(input)),
    };
  }
}

const NOW = (): string => new Date().toISOString();

/** Directory operations inside one transaction: resolves references, writes, and emits events. */
export class DirectoryWriter {
  constructor(
    readonly ops: DirectoryOps,
    private readonly onEmit: () => void,
    /** The run step writing, when one is: kept with every event. */
    private readonly cause?: ChangeCause,
  ) {}

  async emit(directoryEvent: DirectoryEvent): Promise<void> {
    await this.ops.emit(directoryEvent, this.cause);
    this.onEmit();
  }

  /** Writes the user and emits its event; `eventId` fixes the event's id (it doubles as an idempotency key). */
  async saveUser(change: UserChange, eventId?: string): Promise<void> {
    await this.ops.putUser(change.user);
    const changeEvent = userChangeEvent(change);
    await this.emit(eventId === undefined ? changeEvent : { ...changeEvent, id: eventId });
  }

  // ---- references -------------------------------------------------------------------------

  /** A user by id or email; `what` names the field in the error. */
  async user(ref: string, what = 'user'): Promise<User> {
    const found = (await this.ops.getUser(ref)) ?? (ref.includes('@') ? await this.ops.getUserByEmail(ref) : undefined);
    if (!found) throw new DirectoryError('NOT_FOUND', `${what} "${ref}" is not in the directory (give a user id or email)`);
    return found;
  }

  async app(ref: string): Promise<App> {
    const found = (await this.ops.getApp(ref)) ?? (await this.ops.getAppBySlug(ref));
    if (!found) throw new DirectoryError('NOT_FOUND', `app "${ref}" is not in the directory (give an app id or slug)`);
    return found;
  }

  async entitlement(ref: string): Promise<Entitlement> {
    const direct = await this.ops.getEntitlement(ref);
    if (direct) return direct;
    const colon = ref.indexOf(':');
    if (colon > 0) {
      const app = (await this.ops.getAppBySlug(ref.slice(0, colon))) ?? (await this.ops.getApp(ref.slice(0, colon)));
      const found = app && (await this.ops.getEntitlementBySlug(app.id, ref.slice(colon + 1)));
      if (found) return found;
    }
    throw new DirectoryError(
      'NOT_FOUND',
      `entitlement "${ref}" is not in the directory (give an entitlement id or app-slug:entitlement-slug)`,
    );
  }

  // ---- governance actions -----------------------------------------------------------------

  async grantEntitlements(input: { user: string; entitlements: string[]; expiresAt?: string }, origin: ChangeOrigin) {
    const user = await this.user(input.user);
    const entitlements = await Promise.all(input.entitlements.map((ref) => this.entitlement(ref)));
    const granted: string[] = [];
    const alreadyHad: string[] = [];
    const now = NOW();
    for (const entitlement of entitlements) {
      const name = `${entitlement.app}:${entitlement.slug}`;
      if (granted.includes(name) || alreadyHad.includes(name)) continue;
      if (await this.ops.getGrant(user.id, entitlement.id)) {
        alreadyHad.push(name);
        continue;
      }
      const grant: Grant = {
        userId: user.id,
        entitlementId: entitlement.id,
        entitlement: name,
        source: origin.source,
        grantedAt: now,
        ...(input.expiresAt && { expiresAt: input.expiresAt }),
      };
      await this.ops.putGrant(grant);
      await this.emit(directoryEvent('grant.created', { user, entitlement, grant }));
      granted.push(name);
    }
    return { user: user.id, granted, alreadyHad, expiresAt: input.expiresAt ?? null };
  }

  /** Whose grants a revoke takes and which it keeps or finds not held; changes nothing. */
  async revocationPlan(input: RevokeEntitlementsInput): Promise<{ user: User; targets: Grant[]; kept: Grant[]; notHeld: string[] }> {
    const user = await this.user(input.user);
    const chosen = [input.entitlements !== undefined, input.apps !== undefined, input.all === true].filter(Boolean).length;
    if (chosen !== 1) throw new DirectoryError('INVALID', 'revoke_entitlements needs exactly one of entitlements, apps or all: true');
    const excluded = new Set((await Promise.all((input.exclude ?? []).map((ref) => this.entitlement(ref)))).map((e) => e.id));
    const held = await this.ops.listGrants({ userId: user.id });
    const notHeld: string[] = [];
    let targets: Grant[];
    if (input.entitlements) {
      const wanted = await Promise.all(input.entitlements.map((ref) => this.entitlement(ref)));
      targets = [];
      for (const entitlement of wanted) {
        const grant = held.find((g) => g.entitlementId === entitlement.id);
        if (grant) targets.push(grant);
        else notHeld.push(`${entitlement.app}:${entitlement.slug}`);
      }
    } else if (input.apps) {
      const appIds = new Set((await Promise.all(input.apps.map((ref) => this.app(ref)))).map((app) => app.id));
      const inApps = await Promise.all(held.map(async (g) => (await this.ops.getEntitlement(g.entitlementId))?.appId ?? ''));
      targets = held.filter((_, i) => appIds.has(inApps[i] as string));
    } else {
      targets = held;
    }
    return {
      user,
      targets: targets.filter((grant) => !excluded.has(grant.entitlementId)),
      kept: targets.filter((grant) => excluded.has(grant.entitlementId)),
      notHeld,
    };
  }

  async revokeEntitlements(input: RevokeEntitlementsInput) {
    const { user, targets, kept, notHeld } = await this.revocationPlan(input);
    const revoked: string[] = [];
    for (const grant of targets) {
      await this.ops.deleteGrant(user.id, grant.entitlementId);
      const entitlement = await this.ops.getEntitlement(grant.entitlementId);
      await this.emit(directoryEvent('grant.revoked', { user, entitlement: entitlement ?? { id: grant.entitlementId }, grant }));
      revoked.push(grant.entitlement);
    }
    return { user: user.id, revoked, notHeld, kept: kept.map((grant) => grant.entitlement) };
  }

  async modifyUserStatus(input: { user: string; status: User['status'] }) {
    const before = await this.user(input.user);
    const change = diffUser(before, { ...before, status: input.status }, NOW());
    if (change) await this.saveUser(change);
    return { user: before.id, previousStatus: before.status, status: input.status, changed: change !== undefined };
  }

  async modifyDelegate(input: { user: string; delegate?: string; remove?: boolean; removeAsDelegate?: boolean }) {
    const user = await this.user(input.user);
    if (input.delegate !== undefined && input.remove)
      throw new DirectoryError('INVALID', 'modify_delegate takes delegate or remove: true, not both');
    const previous = await this.ops.getDelegate(user.id);
    let delegate: string | null = previous?.delegateId ?? null;
    if (input.delegate !== undefined) {
      const target = await this.user(input.delegate, 'delegate');
      if (target.id === user.id) throw new DirectoryError('INVALID', `user "${user.id}" cannot be their own delegate`);
      await this.ops.putDelegate({ userId: user.id, delegateId: target.id, updatedAt: NOW() });
      delegate = target.id;
    } else if (input.remove) {
      await this.ops.deleteDelegate(user.id);
      delegate = null;
    }
    const removedAsDelegateOf: string[] = [];
    if (input.removeAsDelegate) {
      for (const entry of await this.ops.listDelegates({ delegateId: user.id })) {
        await this.ops.deleteDelegate(entry.userId);
        removedAsDelegateOf.push(entry.userId);
      }
    }
    return { user: user.id, previousDelegate: previous?.delegateId ?? null, delegate, removedAsDelegateOf };
  }

  async removeAccessProfiles(input: { user: string; profiles?: string[]; all?: boolean }) {
    const user = await this.user(input.user);
    if ((input.profiles !== undefined) === (input.all === true))
      throw new DirectoryError('INVALID', 'remove_access_profiles needs profiles or all: true (one of them)');
    const enrolled = (await this.ops.listEnrollments({ userId: user.id })).map((e) => e.profileId);
    const removed: string[] = [];
    const notEnrolled: string[] = [];
    for (const profileId of input.profiles ?? enrolled) {
      if (!(await this.ops.getAccessProfile(profileId)))
        throw new DirectoryError('NOT_FOUND', `access profile "${profileId}" is not in the directory`);
      if (!enrolled.includes(profileId)) {
        notEnrolled.push(profileId);
        continue;
      }
      await this.ops.deleteEnrollment(user.id, profileId);
      removed.push(profileId);
    }
    return { user: user.id, removed, notEnrolled };
  }

  /** The account `create_account` would create for the user in the app; stored by nothing. */
  newAccount(app: App, user: User, input: Pick<CreateAccountInput, 'method' | 'fields'>): Account {
    const username = input.method === 'custom' ? input.fields?.username : (user.username ?? user.email.split('@')[0]);
    if (!username) throw new DirectoryError('INVALID', 'create_account with method custom needs fields.username');
    const email = input.method === 'custom' ? input.fields?.email : user.email;
    const now = NOW();
    return {
      id: `${app.slug}:${user.id}`,
      appId: app.id,
      app: app.slug,
      userId: user.id,
      username,
      ...(email !== undefined && { email }),
      status: 'APP_USER_STATUS_ENABLED',
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Creates the account (at most one per app and user); `appUserId` is the app's id of it, once provisioned. */
  async createAccount(input: CreateAccountInput, provisioned?: { appUserId: string }) {
    const app = await this.app(input.app);
    const user = await this.user(input.user);
    const existing = await this.ops.findAccount(app.id, user.id);
    if (existing) return { created: false, account: provisioned ? await this.updateAccount(existing, provisioned) : existing };
    const account: Account = { ...this.newAccount(app, user, input), ...provisioned };
    await this.ops.putAccount(account);
    await this.emit(directoryEvent('account.created', { newAccount: account, user }));
    return { created: true, account };
  }

  /** Changes an account's status or app id, emitting account.updated; unchanged fields write nothing. */
  async updateAccount(before: Account, changes: Partial<Pick<Account, 'status' | 'appUserId'>>): Promise<Account> {
    const after: Account = { ...before, ...changes };
    if (after.status === before.status && after.appUserId === before.appUserId) return before;
    after.updatedAt = NOW();
    await this.ops.putAccount(after);
    const user = await this.ops.getUser(before.userId);
    await this.emit(directoryEvent('account.updated', { oldAccount: before, newAccount: after, user }));
    return after;
  }

  async performTaskAction(input: { user: string; taskType?: string; action: 'reassign' | 'complete' | 'cancel'; to?: string }) {
    const user = await this.user(input.user);
    let to: User | undefined;
    if (input.action === 'reassign') {
      if (input.to === undefined || input.to === '')
        throw new DirectoryError('INVALID', 'perform_task_action with action reassign needs `to` (a user id or email)');
      to = await this.user(input.to, 'to');
    }
    const open = (await this.ops.listTasks({ assigneeId: user.id, state: 'open' })).filter(
      (task) => input.taskType === undefined || task.type === input.taskType,
    );
    const now = NOW();
    for (const task of open) {
      if (to) await this.ops.putTask({ ...task, assigneeId: to.id, updatedAt: now });
      else await this.ops.putTask({ ...task, state: input.action === 'complete' ? 'completed' : 'cancelled', updatedAt: now });
    }
    return { user: user.id, action: input.action, tasks: open.map((task) => task.id), to: to?.id ?? null };
  }

  async createCampaign(input: { template: string; user: string }) {
    const template = await this.ops.getCampaignTemplate(input.template);
    if (!template) throw new DirectoryError('NOT_FOUND', `campaign template "${input.template}" is not in the directory`);
    const user = await this.user(input.user);
    const open = (await this.ops.listCampaigns({ userId: user.id })).find((c) => c.templateId === template.id && c.state === 'open');
    if (open) return { created: false, campaign: open };
    const reviewer = template.reviewer === 'manager' ? user.managerId : (await this.user(template.reviewer.user, 'reviewer')).id;
    const created = new Date();
    const campaign: Campaign = {
      id: `campaign-${randomUUID()}`,
      templateId: template.id,
      userId: user.id,
      ...(reviewer !== undefined && { reviewerId: reviewer }),
      state: 'open',
      items: (await this.ops.listGrants({ userId: user.id })).map((grant) => grant.entitlement),
      createdAt: created.toISOString(),
      dueAt: new Date(created.getTime() + template.durationDays * 86_400_000).toISOString(),
    };
    await this.ops.putCampaign(campaign);
    return { created: true, campaign };
  }
}
