/**
 * Outbound provisioning: the governance steps acting on an app, then on the directory. For an app
 * that declares `provisioning`, a step first carries its operations out in the app (each
 * idempotent on its own: provisioning/connector.ts), then writes the directory in one transaction
 * with its events and the step's recorded result (directory/service.ts `recordStep`). A crash
 * between the two repeats the app's operations harmlessly on the retry, and then records; a step
 * whose result is recorded does not reach the app again. Apps without provisioning are recorded
 * only, as before, and the step's output says so (`recordOnly: true`).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { heartbeating } from '../core/heartbeat.js';
import type { JsonValue } from '../core/json.js';
import type { ChangeOrigin, DirectoryService, DirectoryWriter } from '../directory/service.js';
import {
  DirectoryError,
  type Account,
  type AccountStatus,
  type App,
  type CreateAccountInput,
  type Entitlement,
  type GrantEntitlementsInput,
  type ModifyUserStatusInput,
  type RevokeEntitlementsInput,
  type User,
} from '../directory/types.js';
import type { FunctionCallResult } from '../functions/service.js';
import scimAdapter from '../integrations/scim/adapter.js';
import type { ScimService } from '../integrations/scim/types.js';
import webhooksAdapter from '../integrations/webhooks/adapter.js';
import type { WebhookResolver } from '../integrations/webhooks/types.js';
import type { AdapterContext } from '../integrations/types.js';
import type { Store } from '../store/types.js';
import { groupOf, type AppConnector } from './connector.js';
import { MessageConnector, functionSender, webhookSender } from './message-connector.js';
import { reconcileApp } from './reconcile.js';
import { ScimConnector } from './scim-connector.js';
import type { AppOutcome, GovernanceActions, OperationOutcome, ReconcileReport, WithApps } from './types.js';

export interface ProvisioningDependencies {
  directory: DirectoryService;
  /** The store's leases: what idflow's processes do one at a time (creating an app's group). */
  leases: Store['leases'];
  scim: ScimService;
  webhooks: WebhookResolver;
  functions: { call(ref: string, input: JsonValue): Promise<FunctionCallResult> };
}

/** What a step's calls to apps need of its activity. */
export interface ActivityContext {
  /** Aborted when the activity is cancelled or times out: a request in flight is abandoned. */
  signal: AbortSignal;
  heartbeat(): void;
}

const RECORD_ONLY: AppOutcome = { recordOnly: true };

const ACCOUNT_STATUS: Record<User['status'], AccountStatus> = {
  ENABLED: 'APP_USER_STATUS_ENABLED',
  DISABLED: 'APP_USER_STATUS_DISABLED',
  DELETED: 'APP_USER_STATUS_DELETED',
};

function provisioned(connector: AppConnector, operations: OperationOutcome[], appUserId?: string): AppOutcome {
  return { provisioned: { via: connector.via, ...(appUserId !== undefined && { appUserId }), operations } };
}

/** Held longer than any request to an app takes (30 s by default); a holder that died frees it after this. */
const LEASE_TTL_MS = 120_000;
const LEASE_POLL_MS = 50;

/** Runs `work` holding the named lease: one process at a time among those sharing the store. */
async function underLease<T>(leases: Store['leases'], name: string, work: () => Promise<T>, signal: AbortSignal): Promise<T> {
  const holder = randomUUID();
  while (!(await leases.acquire(name, holder, LEASE_TTL_MS))) {
    signal.throwIfAborted();
    await sleep(LEASE_POLL_MS + Math.random() * LEASE_POLL_MS);
  }
  try {
    return await work();
  } finally {
    await leases.release(name, holder);
  }
}

export class ProvisioningService {
  constructor(private readonly deps: ProvisioningDependencies) {}

  /** Built from the integrations' adapters, as a worker (steps) or the API (reconcile) has them. */
  static create(context: AdapterContext & Pick<ProvisioningDependencies, 'directory' | 'functions'>): ProvisioningService {
    return new ProvisioningService({
      directory: context.directory,
      leases: context.store.leases,
      functions: context.functions,
      scim: scimAdapter.create(context),
      webhooks: webhooksAdapter.create(context),
    });
  }

  /** The app's connector, or undefined for an app recorded in idflow only. `key` names its messages (webhook-id). */
  async connector(app: App, signal: AbortSignal, key: string): Promise<AppConnector | undefined> {
    const provisioning = app.provisioning;
    if (provisioning?.scim) {
      const client = await this.deps.scim.connect({ slug: app.slug, scim: provisioning.scim }, signal);
      return new ScimConnector(app.slug, client, (name, work) => underLease(this.deps.leases, name, work, signal));
    }
    if (provisioning?.webhook !== undefined)
      return new MessageConnector('webhook', app.slug, webhookSender(provisioning.webhook, this.deps.webhooks, signal), key);
    if (provisioning?.function !== undefined)
      return new MessageConnector('function', app.slug, functionSender(app.slug, provisioning.function, this.deps.functions), key);
    return undefined;
  }

  /** The governance actions of one step execution, idempotent under `effectKey` (see the file comment). */
  forStep(effectKey: string, origin: ChangeOrigin, activity: ActivityContext): GovernanceActions {
    const step = new ProvisionedStep(this, this.deps.directory, effectKey, origin, activity);
    const recordOnly = this.deps.directory.forStep(effectKey, origin);
    return {
      modifyDelegate: recordOnly.modifyDelegate,
      removeAccessProfiles: recordOnly.removeAccessProfiles,
      performTaskAction: recordOnly.performTaskAction,
      createCampaign: recordOnly.createCampaign,
      createAccount: (input) => step.once(() => step.createAccount(input)),
      grantEntitlements: (input) => step.once(() => step.grantEntitlements(input)),
      revokeEntitlements: (input) => step.once(() => step.revokeEntitlements(input)),
      modifyUserStatus: (input) => step.once(() => step.modifyUserStatus(input)),
      reconcileApp: (input) => heartbeating(activity, () => this.reconcile(input.app, { apply: input.apply, signal: activity.signal })),
    };
  }

  /** The drift between an app provisioned over SCIM and the directory; with apply, the app fixed to match. */
  async reconcile(appRef: string, options: { apply: boolean; signal: AbortSignal }): Promise<ReconcileReport> {
    const app = await this.deps.directory.reader().app(appRef);
    if (!app.provisioning?.scim) {
      const how =
        app.provisioning?.webhook !== undefined ? 'a webhook' : app.provisioning?.function !== undefined ? 'a function' : undefined;
      throw new DirectoryError(
        'INVALID',
        `app "${app.slug}" is ${how ? `provisioned through ${how}` : 'not provisioned'}: reconcile compares an app's SCIM users and groups with the directory`,
      );
    }
    const connector = (await this.connector(app, options.signal, `reconcile.${app.slug}`)) as ScimConnector;
    return reconcileApp(app, connector, this.deps.directory.repo, options);
  }
}

/** One governance step execution: the app's operations, then the directory's record. */
class ProvisionedStep {
  private readonly reader: DirectoryWriter;

  constructor(
    private readonly provisioning: ProvisioningService,
    private readonly directory: DirectoryService,
    private readonly effectKey: string,
    private readonly origin: ChangeOrigin,
    private readonly activity: ActivityContext,
  ) {
    this.reader = directory.reader();
  }

  /** A recorded result is the answer, without reaching any app again. */
  async once<T extends object>(work: () => Promise<T>): Promise<T> {
    const recorded = await this.directory.recordedStep<T>(this.effectKey);
    return recorded ?? heartbeating(this.activity, work);
  }

  private record<T extends object>(action: (tx: DirectoryWriter) => Promise<T>): Promise<T> {
    return this.directory.recordStep(this.effectKey, action, this.origin.cause);
  }

  private connector(app: App): Promise<AppConnector | undefined> {
    return this.provisioning.connector(app, this.activity.signal, this.effectKey);
  }

  async createAccount(input: CreateAccountInput): Promise<WithApps<{ created: boolean; account: Account }>> {
    const app = await this.reader.app(input.app);
    const user = await this.reader.user(input.user);
    const connector = await this.connector(app);
    if (!connector) return this.record(async (tx) => ({ ...(await tx.createAccount(input)), apps: { [app.slug]: RECORD_ONLY } }));
    const stored = await this.directory.repo.findAccount(app.id, user.id);
    const ensured = await connector.ensureAccount(
      { user, account: stored ?? this.reader.newAccount(app, user, input) },
      stored !== undefined,
    );
    const outcome = provisioned(connector, ensured.outcome ? [ensured.outcome] : [], ensured.appUserId);
    return this.record(async (tx) => ({
      ...(await tx.createAccount(input, ensured.appUserId === undefined ? undefined : { appUserId: ensured.appUserId })),
      apps: { [app.slug]: outcome },
    }));
  }

  /**
   * In a provisioned app the person is added to each entitlement's group, their account created
   * first (in the app and the directory) when they have none there. Entitlements they held are
   * ensured in the app too: a grant recorded without the app (a Directory document) reaches it.
   */
  async grantEntitlements(input: GrantEntitlementsInput) {
    const user = await this.reader.user(input.user);
    const entitlements = await Promise.all(input.entitlements.map((ref) => this.reader.entitlement(ref)));
    const apps: Record<string, AppOutcome> = {};
    const newAccounts: { app: App; appUserId?: string }[] = [];
    for (const [app, ofApp] of await this.byApp(entitlements)) {
      const connector = await this.connector(app);
      if (!connector) {
        apps[app.slug] = RECORD_ONLY;
        continue;
      }
      const stored = await this.directory.repo.findAccount(app.id, user.id);
      const account = stored ?? this.reader.newAccount(app, user, { method: 'from_user' });
      const ensured = await connector.ensureAccount({ user, account }, stored !== undefined);
      const operations: OperationOutcome[] = [];
      if (ensured.outcome && (!stored || ensured.outcome.outcome !== 'existing')) operations.push(ensured.outcome);
      const subject = { user, account: { ...account, ...(ensured.appUserId !== undefined && { appUserId: ensured.appUserId }) } };
      for (const entitlement of ofApp) operations.push(await connector.addToGroup(subject, groupOf(app, entitlement)));
      apps[app.slug] = provisioned(connector, operations, ensured.appUserId);
      if (!stored || (ensured.appUserId !== undefined && ensured.appUserId !== stored.appUserId))
        newAccounts.push({ app, appUserId: ensured.appUserId });
    }
    return this.record(async (tx) => {
      for (const { app, appUserId } of newAccounts) {
        const { created } = await tx.createAccount(
          { app: app.id, user: user.id, method: 'from_user' },
          appUserId === undefined ? undefined : { appUserId },
        );
        const outcome = apps[app.slug];
        if (created && outcome && 'provisioned' in outcome) outcome.provisioned.accountCreated = true;
      }
      return { ...(await tx.grantEntitlements(input, this.origin)), apps };
    });
  }

  /** In a provisioned app the person leaves each revoked entitlement's group; their account stays. */
  async revokeEntitlements(input: RevokeEntitlementsInput) {
    const { user, targets } = await this.reader.revocationPlan(input);
    const entitlements = await Promise.all(targets.map((grant) => this.reader.entitlement(grant.entitlementId)));
    const apps: Record<string, AppOutcome> = {};
    for (const [app, ofApp] of await this.byApp(entitlements)) {
      const connector = await this.connector(app);
      if (!connector) {
        apps[app.slug] = RECORD_ONLY;
        continue;
      }
      const account =
        (await this.directory.repo.findAccount(app.id, user.id)) ?? this.reader.newAccount(app, user, { method: 'from_user' });
      const operations: OperationOutcome[] = [];
      for (const entitlement of ofApp) operations.push(await connector.removeFromGroup({ user, account }, groupOf(app, entitlement)));
      apps[app.slug] = provisioned(connector, operations, account.appUserId);
    }
    return this.record(async (tx) => ({ ...(await tx.revokeEntitlements(input)), apps }));
  }

  /**
   * Every account of the person in a provisioned app follows their status: deactivated when
   * DISABLED, deleted when DELETED, active again (created again if it was deleted) when ENABLED;
   * each account's record follows once its app confirmed.
   */
  async modifyUserStatus(input: ModifyUserStatusInput) {
    const user = await this.reader.user(input.user);
    const status = ACCOUNT_STATUS[input.status];
    const apps: Record<string, AppOutcome> = {};
    const followed: { account: Account; appUserId?: string }[] = [];
    for (const account of await this.directory.repo.listAccounts({ userId: user.id })) {
      const app = await this.reader.app(account.appId);
      const connector = await this.connector(app);
      if (!connector) {
        apps[app.slug] = RECORD_ONLY;
        continue;
      }
      const subject = { user, account };
      if (input.status === 'DELETED') {
        apps[app.slug] = provisioned(connector, [await connector.deleteAccount(subject)]);
        followed.push({ account });
      } else {
        const changed = await connector.setActive(subject, input.status === 'ENABLED');
        apps[app.slug] = provisioned(connector, [changed.outcome], changed.appUserId);
        followed.push({ account, appUserId: changed.appUserId ?? account.appUserId });
      }
    }
    return this.record(async (tx) => {
      const result = await tx.modifyUserStatus(input);
      for (const { account, appUserId } of followed) {
        const current = await tx.ops.getAccount(account.id);
        if (current) await tx.updateAccount(current, { status, appUserId });
      }
      return { ...result, apps };
    });
  }

  /** Entitlements grouped by their app, in first-seen order, each once. */
  private async byApp(entitlements: Entitlement[]): Promise<[App, Entitlement[]][]> {
    const groups = new Map<string, Entitlement[]>();
    for (const entitlement of entitlements) {
      const ofApp = groups.get(entitlement.appId) ?? [];
      if (!ofApp.some((e) => e.id === entitlement.id)) ofApp.push(entitlement);
      groups.set(entitlement.appId, ofApp);
    }
    return Promise.all([...groups].map(async ([appId, ofApp]): Promise<[App, Entitlement[]]> => [await this.reader.app(appId), ofApp]));
  }
}
