/**
 * An app provisioned over SCIM. The directory user's id is the SCIM user's externalId: an
 * account is found by the app's id recorded on it, else by externalId, else by userName, before
 * anything is created — so a retry, or an account the app had already, never makes a second one.
 * A group named by displayName that the app lacks is created the first time a member is added —
 * by one process at a time (`serialize`), so that steps running at once do not each create one.
 */
import { StepError } from '../core/step-error.js';
import type { NewScimUser, ScimClient, ScimGroup, ScimUser } from '../integrations/scim/types.js';
import { groupLabel, type AppConnector, type GroupTarget, type Subject } from './connector.js';
import type { OperationOutcome } from './types.js';

/** Of several groups with one displayName (two creators raced), always the same one: the oldest, then the lowest id. */
const firstGroup = (groups: ScimGroup[]): ScimGroup | undefined =>
  [...groups].sort((a, b) => (a.created ?? '').localeCompare(b.created ?? '') || a.id.localeCompare(b.id))[0];

export class ScimConnector implements AppConnector {
  readonly via = 'scim';
  /** Group ids by displayName, as promises so that concurrent fixes resolve (or create) a group once. */
  private readonly groupIds = new Map<string, Promise<string>>();

  constructor(
    private readonly app: string,
    readonly client: ScimClient,
    /** Runs `work` while no other worker or API process runs work of the same name. */
    private readonly serialize: <T>(name: string, work: () => Promise<T>) => Promise<T>,
  ) {}

  /** The app's user of the account, if it has one. */
  async findUser({ user, account }: Subject): Promise<ScimUser | undefined> {
    if (account.appUserId !== undefined) {
      const byId = await this.client.getUser(account.appUserId);
      if (byId) return byId;
    }
    const byExternalId = await this.client.findUsers('externalId', user.id);
    if (byExternalId.length > 0) return byExternalId[0];
    const [byUserName] = await this.client.findUsers('userName', account.username);
    if (byUserName?.externalId !== undefined && byUserName.externalId !== user.id) {
      throw new StepError(
        'SCIM_ACCOUNT_TAKEN',
        `app "${this.app}" (SCIM): its user "${account.username}" (${byUserName.id}) belongs to externalId "${byUserName.externalId}", not to "${user.id}": give this person another username (create_account method custom)`,
        { retryable: false },
      );
    }
    return byUserName;
  }

  async ensureAccount(subject: Subject): Promise<{ appUserId: string; outcome: OperationOutcome }> {
    const active = subject.account.status === 'APP_USER_STATUS_ENABLED';
    const found = await this.findUser(subject);
    if (found) return { appUserId: found.id, outcome: await this.setFound(found, active, 'createAccount') };
    const created = await this.client.createUser(newUser(subject, active));
    if ('created' in created) return { appUserId: created.created.id, outcome: { operation: 'createAccount', outcome: 'created' } };
    // Taken meanwhile (another attempt, another run) or by a user the lookups cannot see: look once more.
    const raced = await this.findUser(subject);
    if (!raced)
      throw new StepError(
        'SCIM_CONFLICT',
        `app "${this.app}" (SCIM): creating "${subject.account.username}" conflicts: ${created.conflict}`,
        {
          retryable: false,
        },
      );
    return { appUserId: raced.id, outcome: await this.setFound(raced, active, 'createAccount') };
  }

  async setActive(subject: Subject, active: boolean): Promise<{ appUserId?: string; outcome: OperationOutcome }> {
    if (active) {
      const ensured = await this.ensureAccount({ ...subject, account: { ...subject.account, status: 'APP_USER_STATUS_ENABLED' } });
      return { appUserId: ensured.appUserId, outcome: { ...ensured.outcome, operation: 'updateAccount' } };
    }
    const found = await this.findUser(subject);
    if (!found) return { outcome: { operation: 'disableAccount', outcome: 'absent' } };
    return { appUserId: found.id, outcome: await this.setFound(found, false, 'disableAccount') };
  }

  async deleteAccount(subject: Subject): Promise<OperationOutcome> {
    const found = await this.findUser(subject);
    const deleted = found !== undefined && (await this.client.deleteUser(found.id));
    return { operation: 'deleteAccount', outcome: deleted ? 'deleted' : 'absent' };
  }

  async addToGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome> {
    const appUserId = subject.account.appUserId;
    if (appUserId === undefined) throw new Error('addToGroup before the account was ensured');
    await this.client.addMember(await this.groupIdToAdd(group), appUserId);
    return { operation: 'addToGroup', group: groupLabel(group), outcome: 'added' };
  }

  async removeFromGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome> {
    const found = await this.findUser(subject);
    const groupId = found && (await this.existingGroupId(group));
    const removed = found !== undefined && groupId !== undefined && (await this.client.removeMember(groupId, found.id));
    return { operation: 'removeFromGroup', group: groupLabel(group), outcome: found ? (removed ? 'removed' : 'notMember') : 'absent' };
  }

  /** The group's id in the app, a group named by displayName created when missing (once, however many ask at a time). */
  groupIdToAdd(group: GroupTarget): Promise<string> {
    const { ref } = group;
    if (typeof ref !== 'string') return this.groupById(group, ref.id);
    let resolving = this.groupIds.get(ref);
    if (!resolving) {
      resolving = this.serialize(
        `scim-group:${this.app}:${ref}`,
        async () => (await this.lookupGroup(ref)) ?? (await this.client.createGroup(ref)).id,
      );
      this.groupIds.set(ref, resolving);
      resolving.catch(() => this.groupIds.delete(ref));
    }
    return resolving;
  }

  /** The group's id in the app; undefined when a group named by displayName is not there. */
  async existingGroupId(group: GroupTarget): Promise<string | undefined> {
    const { ref } = group;
    if (typeof ref !== 'string') return this.groupById(group, ref.id);
    return (await this.groupIds.get(ref)) ?? (await this.lookupGroup(ref));
  }

  /** A group named by id must exist: the document says it does. */
  private async groupById(group: GroupTarget, id: string): Promise<string> {
    if (await this.client.getGroup(id)) return id;
    throw new StepError(
      'SCIM_GROUP_NOT_FOUND',
      `app "${this.app}" (SCIM) has no group with id "${id}" (the group of ${group.entitlement} in provisioning.groups)`,
      { retryable: false },
    );
  }

  private async lookupGroup(displayName: string): Promise<string | undefined> {
    return firstGroup(await this.client.findGroups(displayName))?.id;
  }

  private async setFound(found: ScimUser, active: boolean, operation: OperationOutcome['operation']): Promise<OperationOutcome> {
    if (found.active === active) return { operation, outcome: operation === 'createAccount' ? 'existing' : 'unchanged' };
    await this.client.setActive(found.id, active);
    return { operation, outcome: active ? 'activated' : 'deactivated' };
  }
}

function newUser({ user, account }: Subject, active: boolean): NewScimUser {
  return {
    userName: account.username,
    externalId: user.id,
    active,
    ...(user.displayName !== undefined && { displayName: user.displayName }),
    ...(user.firstName !== undefined && { givenName: user.firstName }),
    ...(user.lastName !== undefined && { familyName: user.lastName }),
    ...(account.email !== undefined && { email: account.email }),
  };
}
