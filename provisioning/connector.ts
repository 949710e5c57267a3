/**
 * What provisioning asks of one app, whatever carries it (SCIM, a webhook, a function): each
 * operation idempotent on its own — the account looked up before it is created, a member added
 * who is one already or an inactive user deactivated changes nothing — so a step retried after a
 * crash between the app's answer and the directory's record repeats it harmlessly.
 */
import type { Account, App, Entitlement, User } from '../directory/types.js';
import type { OperationOutcome, ProvisioningVia } from './types.js';

/** The person and their account in the app: the stored one, or the one about to be recorded. */
export interface Subject {
  user: User;
  account: Account;
}

/** An entitlement's group in the app: a displayName, or `{ id }` (the app's provisioning.groups; default the entitlement's slug). */
export interface GroupTarget {
  /** `app:slug` of the entitlement. */
  entitlement: string;
  ref: string | { id: string };
}

export function groupOf(app: App, entitlement: Pick<Entitlement, 'slug'>): GroupTarget {
  return { entitlement: `${app.slug}:${entitlement.slug}`, ref: app.provisioning?.groups[entitlement.slug] ?? entitlement.slug };
}

/** How outputs name a group: its displayName, or `id:<id>`. */
export const groupLabel = (group: GroupTarget): string => (typeof group.ref === 'string' ? group.ref : `id:${group.ref.id}`);

export interface AppConnector {
  readonly via: ProvisioningVia;
  /**
   * Makes sure the account is in the app, active as its record says. `stored`: the directory
   * holds the account already (a message connector then sends nothing when the app's id of it
   * is recorded; SCIM still looks).
   */
  ensureAccount(subject: Subject, stored: boolean): Promise<{ appUserId?: string; outcome?: OperationOutcome }>;
  /** Enables the account (updateAccount; one deleted is created again) or disables it (disableAccount). */
  setActive(subject: Subject, active: boolean): Promise<{ appUserId?: string; outcome: OperationOutcome }>;
  deleteAccount(subject: Subject): Promise<OperationOutcome>;
  /** The account's appUserId is known (ensureAccount ran). */
  addToGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome>;
  removeFromGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome>;
}
