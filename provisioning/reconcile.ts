/**
 * Reconciling an app provisioned over SCIM with the directory: its users (paged through) and the
 * members of its entitlements' groups against the directory's accounts in the app and grants of
 * its entitlements. The directory is the truth: with apply, the app is fixed to match it through
 * the same operations the steps use — users first (so a user created is then added to its groups),
 * then memberships. Reconcile never changes the directory.
 */
import { StepError } from '../core/step-error.js';
import type { DirectoryOps } from '../directory/repository.js';
import type { Account, App, Entitlement } from '../directory/types.js';
import type { ScimUser } from '../integrations/scim/types.js';
import { groupLabel, groupOf } from './connector.js';
import type { ScimConnector } from './scim-connector.js';
import type { Drift, ReconcileReport } from './types.js';

/** Users asked for per page; an app may answer fewer (its own maximum), and paging follows what it answers. */
const PAGE_SIZE = 500;
/** Fixes in flight at once: an app's API is not idflow's to flood. */
const FIXES_AT_ONCE = 8;

const isActiveAccount = (account: Account): boolean => account.status === 'APP_USER_STATUS_ENABLED';

/** Every user of the app, page by page. */
async function appUsers(connector: ScimConnector): Promise<ScimUser[]> {
  const users: ScimUser[] = [];
  for (let startIndex = 1; ;) {
    const page = await connector.client.listUsers(startIndex, PAGE_SIZE);
    users.push(...page.users);
    startIndex += page.users.length;
    if (page.users.length === 0 || users.length >= page.totalResults) return users;
  }
}

/** Runs `work` on each item, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The app's users matched to the directory's accounts: by the recorded app id, then externalId (the user id), then userName. */
function matchAccounts(users: ScimUser[], accounts: Account[]): Map<string, ScimUser> {
  const byId = new Map(users.map((user) => [user.id, user]));
  const byExternalId = new Map(users.flatMap((user) => (user.externalId === undefined ? [] : [[user.externalId, user] as const])));
  const byUserName = new Map(users.map((user) => [user.userName.toLowerCase(), user]));
  const matches = new Map<string, ScimUser>();
  for (const account of accounts) {
    const named = byUserName.get(account.username.toLowerCase());
    const match =
      (account.appUserId === undefined ? undefined : byId.get(account.appUserId)) ??
      byExternalId.get(account.userId) ??
      (named && (named.externalId === undefined || named.externalId === account.userId) ? named : undefined);
    if (match) matches.set(account.id, match);
  }
  return matches;
}

/** Both sides as read: the app's users, the directory's accounts in the app, and which user each account is. */
interface Sides {
  users: ScimUser[];
  accounts: Account[];
  /** User id → their account in the app. */
  accountOf: Map<string, Account>;
  /** Account id → its user in the app. */
  matches: Map<string, ScimUser>;
}

/** Users only on one side, and accounts whose status the app's user does not follow. */
function userDrift({ users, accounts, matches }: Sides): Drift[] {
  const drift: Drift[] = [];
  for (const account of accounts) {
    const match = matches.get(account.id);
    if (!match) {
      if (isActiveAccount(account))
        drift.push({ kind: 'onlyInDirectory', user: account.userId, account: account.id, username: account.username, fix: 'create' });
    } else if (match.active !== isActiveAccount(account)) {
      drift.push({
        kind: 'statusDiffers',
        user: account.userId,
        account: account.id,
        appUserId: match.id,
        app: match.active ? 'active' : 'inactive',
        directory: account.status,
        fix: match.active ? 'deactivate' : 'activate',
      });
    }
  }
  const matched = new Set([...matches.values()].map((user) => user.id));
  for (const user of users)
    if (!matched.has(user.id) && user.active)
      drift.push({ kind: 'onlyInApp', appUserId: user.id, userName: user.userName, fix: 'deactivate' });
  return drift;
}

/** For each of the app's entitlements, its group's members against the grants of it. */
async function memberDrift(
  app: App,
  connector: ScimConnector,
  directory: DirectoryOps,
  entitlements: Entitlement[],
  { users, accounts, accountOf, matches }: Sides,
): Promise<Drift[]> {
  const userNameOf = new Map(users.map((user) => [user.id, user.userName]));
  const holderOf = new Map(
    accounts.flatMap((account) => {
      const match = matches.get(account.id);
      return match ? [[match.id, account.userId] as const] : [];
    }),
  );
  const drift: Drift[] = [];
  for (const entitlement of entitlements) {
    const group = groupOf(app, entitlement);
    const groupId = await connector.existingGroupId(group);
    const members = new Set(groupId === undefined ? [] : ((await connector.client.getGroup(groupId))?.members ?? []));
    const expected = new Set<string>();
    for (const grant of await directory.listGrants({ entitlementId: entitlement.id })) {
      const account = accountOf.get(grant.userId);
      if (!account) {
        drift.push({ kind: 'grantWithoutAccount', user: grant.userId, entitlement: group.entitlement, fix: 'none' });
        continue;
      }
      const appUser = matches.get(account.id);
      if (appUser) expected.add(appUser.id);
      // An account the app lacks is a member once its user is created; a disabled one is not created.
      if (appUser ? !members.has(appUser.id) : isActiveAccount(account))
        drift.push({ kind: 'missingMember', user: grant.userId, entitlement: group.entitlement, group: groupLabel(group), fix: 'add' });
    }
    for (const member of [...members].filter((id) => !expected.has(id))) {
      const userName = userNameOf.get(member);
      const user = holderOf.get(member);
      drift.push({
        kind: 'extraMember',
        appUserId: member,
        ...(userName !== undefined && { userName }),
        ...(user !== undefined && { user }),
        entitlement: group.entitlement,
        group: groupLabel(group),
        fix: 'remove',
      });
    }
  }
  return drift;
}

/** Makes one fix in the app; a user it creates joins `sides.matches`, so that its memberships follow. */
async function fix(drift: Drift, app: App, connector: ScimConnector, directory: DirectoryOps, sides: Sides): Promise<void> {
  const subject = async (userId: string) => {
    const user = await directory.getUser(userId);
    const account = sides.accountOf.get(userId);
    if (!user || !account)
      throw new StepError('RECONCILE_GONE', `${userId} or their account left the directory during the reconcile`, { retryable: true });
    const match = sides.matches.get(account.id);
    return { user, account: match ? { ...account, appUserId: match.id } : account };
  };
  const group = (entitlement: string) => ({ entitlement, ref: groupOf(app, { slug: entitlement.slice(app.slug.length + 1) }).ref });
  switch (drift.kind) {
    case 'onlyInDirectory': {
      const target = await subject(drift.user);
      const { appUserId } = await connector.ensureAccount(target);
      sides.matches.set(target.account.id, { id: appUserId, userName: target.account.username, externalId: drift.user, active: true });
      return;
    }
    case 'statusDiffers':
    case 'onlyInApp':
      await connector.client.setActive(drift.appUserId, drift.fix === 'activate');
      return;
    case 'missingMember': {
      const target = await subject(drift.user);
      if (target.account.appUserId === undefined)
        throw new StepError('RECONCILE_NO_APP_USER', `${drift.user} has no user in the app to add: creating it failed (listed above)`, {
          retryable: true,
        });
      await connector.addToGroup(target, group(drift.entitlement));
      return;
    }
    case 'extraMember': {
      const groupId = await connector.existingGroupId(group(drift.entitlement));
      if (groupId !== undefined) await connector.client.removeMember(groupId, drift.appUserId);
      return;
    }
    case 'grantWithoutAccount':
      return;
  }
}

export async function reconcileApp(
  app: App,
  connector: ScimConnector,
  directory: DirectoryOps,
  options: { apply: boolean; signal: AbortSignal },
): Promise<ReconcileReport> {
  const [users, accounts, entitlements] = await Promise.all([
    appUsers(connector),
    directory.listAccounts({ appId: app.id }),
    directory.listEntitlements(app.id),
  ]);
  const sides: Sides = {
    users,
    accounts,
    accountOf: new Map(accounts.map((account) => [account.userId, account])),
    matches: matchAccounts(users, accounts),
  };
  const usersDrift = userDrift(sides);
  const membersDrift = await memberDrift(app, connector, directory, entitlements, sides);
  const report: ReconcileReport = {
    app: app.slug,
    applied: options.apply,
    compared: { appUsers: users.length, accounts: accounts.length, groups: entitlements.length },
    drift: [...usersDrift, ...membersDrift],
    fixed: 0,
    failed: 0,
  };
  if (!options.apply) return report;
  const fixing = async (drift: Drift): Promise<void> => {
    if (options.signal.aborted || drift.kind === 'grantWithoutAccount') return;
    try {
      await fix(drift, app, connector, directory, sides);
      drift.fixed = true;
      report.fixed++;
    } catch (error) {
      drift.error = {
        message: error instanceof Error ? error.message : String(error),
        retryable: !(error instanceof StepError) || error.retryable,
      };
      report.failed++;
    }
  };
  // Users first: a user created is then added to its groups.
  await eachLimited(usersDrift, FIXES_AT_ONCE, fixing);
  await eachLimited(membersDrift, FIXES_AT_ONCE, fixing);
  return report;
}
