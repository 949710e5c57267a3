/**
 * `ctx.directory` for functions, read-only over the identity directory: the reference API
 * (FindByEmail, GetByID, GetManagers, DirectReports, GetEntitlementMembers, ListAppUsersForUser).
 * Users come back without idflow's bookkeeping; a missing user is null, not an error.
 */
import type { DirectoryOps } from '../directory/repository.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import { z } from 'zod';
import { USER_STATUSES, type Account, type User } from '../directory/types.js';
import type { UserFilter } from './sdk.js';
import type { FunctionDirectory } from './types.js';

/** Managers up the chain at most; a cycle in bad data must not loop forever. */
const MAX_MANAGER_CHAIN = 20;
const MAX_LISTED_USERS = 500;

const UserFilterSchema = z
  .object({
    status: z.enum(USER_STATUSES).optional(),
    department: z.string().optional(),
    managerId: z.string().optional(),
    limit: z.number().int().min(1).max(MAX_LISTED_USERS).default(MAX_LISTED_USERS),
  })
  .strict();

/** What sdk.d.ts promises authors is what is checked here: a drift on either side is a type error. */
type SameType<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
export type FilterMatchesSdk<Same extends true = SameType<z.input<typeof UserFilterSchema>, UserFilter>> = Same;

const plainUser = (user: User | undefined): JsonValue => (user ? (user as unknown as JsonObject) : null);
const plainAccount = (account: Account): JsonObject => account as unknown as JsonObject;

export function functionDirectory(directory: DirectoryOps): FunctionDirectory {
  const entitlementIdOf = async (ref: string): Promise<string | undefined> => {
    const byId = await directory.getEntitlement(ref);
    if (byId) return byId.id;
    const [appRef, slug] = ref.split(':', 2);
    if (!slug) return undefined;
    const app = (await directory.getApp(appRef)) ?? (await directory.getAppBySlug(appRef));
    return app && (await directory.getEntitlementBySlug(app.id, slug))?.id;
  };

  return {
    async findByEmail(email) {
      return plainUser(await directory.getUserByEmail(String(email)));
    },
    async getById(id) {
      return plainUser(await directory.getUser(String(id)));
    },
    /** The user's managers, the direct manager first, up the chain. */
    async getManagers(userId) {
      const managers: JsonObject[] = [];
      const seen = new Set<string>([String(userId)]);
      let current = await directory.getUser(String(userId));
      while (current?.managerId && !seen.has(current.managerId) && managers.length < MAX_MANAGER_CHAIN) {
        seen.add(current.managerId);
        current = await directory.getUser(current.managerId);
        if (current) managers.push(current as unknown as JsonObject);
      }
      return managers;
    },
    async directReports(userId) {
      return (await directory.listUsers({ managerId: String(userId) })) as unknown as JsonObject[];
    },
    /** Users holding the entitlement (an id or `app:slug`); an unknown entitlement has none. */
    async getEntitlementMembers(entitlement) {
      const id = await entitlementIdOf(String(entitlement));
      if (!id) return [];
      const grants = await directory.listGrants({ entitlementId: id });
      const users = await Promise.all(grants.map((grant) => directory.getUser(grant.userId)));
      return users.flatMap((user) => (user ? [user as unknown as JsonObject] : []));
    },
    /** The user's accounts in apps. */
    async listAppUsersForUser(userId) {
      return (await directory.listAccounts({ userId: String(userId) })).map(plainAccount);
    },
    /** Scans users and accounts (no index on usernames): fine for joiner flows, not for loops over everyone. */
    async findByUsername(username) {
      const wanted = String(username).toLowerCase();
      const users = await directory.listUsers();
      const byUser = users.find((user) => user.username?.toLowerCase() === wanted);
      if (byUser) return plainUser(byUser);
      const account = (await directory.listAccounts({})).find((candidate) => candidate.username.toLowerCase() === wanted);
      return account ? plainUser(users.find((user) => user.id === account.userId)) : null;
    },
    async listUsers(filterJson) {
      const parsed = UserFilterSchema.safeParse(JSON.parse(filterJson));
      if (!parsed.success)
        throw new Error(
          `listUsers: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'filter'}: ${issue.message}`).join('; ')}`,
        );
      return (await directory.listUsers(parsed.data)) as unknown as JsonObject[];
    },
  };
}
