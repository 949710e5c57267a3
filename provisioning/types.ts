/**
 * Outbound provisioning as steps see it (workflow-safe: step modules import it): the governance
 * actions that act on an app and then on the directory, what each did in each app, and the drift
 * a reconcile finds between an app and the directory.
 */
import type { JsonValue } from '../core/json.js';
import type {
  AccountStatus,
  CreateAccountInput,
  CreateAccountResult,
  DirectoryActions,
  GrantEntitlementsInput,
  GrantEntitlementsResult,
  ModifyUserStatusInput,
  ModifyUserStatusResult,
  RevokeEntitlementsInput,
  RevokeEntitlementsResult,
} from '../directory/types.js';

/** What idflow asks of an app: over SCIM, or as a message to its webhook or function. */
export const PROVISIONING_OPERATIONS = [
  'createAccount',
  'updateAccount',
  'disableAccount',
  'deleteAccount',
  'addToGroup',
  'removeFromGroup',
] as const;
export type ProvisioningOperation = (typeof PROVISIONING_OPERATIONS)[number];

export type ProvisioningVia = 'scim' | 'webhook' | 'function';

/** One operation as the app carried it out. */
export interface OperationOutcome {
  operation: ProvisioningOperation;
  /** The entitlement's group in the app, for addToGroup and removeFromGroup: its displayName, or `id:<id>`. */
  group?: string;
  /**
   * Over SCIM, what idflow found and did: created, existing, activated, deactivated, unchanged,
   * absent, deleted, added, removed, notMember. Through a webhook or a function: its answer.
   */
  outcome: JsonValue;
}

/** What a governance step did in one app. */
export type AppOutcome =
  | { recordOnly: true }
  | {
      provisioned: {
        via: ProvisioningVia;
        /** The app's id of the person's account, when known. */
        appUserId?: string;
        /** The directory's account was created with it (a grant in an app where the person had none). */
        accountCreated?: true;
        operations: OperationOutcome[];
      };
    };

/** A governance step's directory result, with what it did in each app it touched, by app slug. */
export type WithApps<Result> = Result & { apps: Record<string, AppOutcome> };

export interface ReconcileAppInput {
  /** App id or slug. */
  app: string;
  /** Fix the app to match the directory; without it, only report. */
  apply: boolean;
}

/** One difference between the app and the directory, with how --apply fixes it and, once applied, how that went. */
export type Drift = (
  | { kind: 'onlyInApp'; appUserId: string; userName: string; fix: 'deactivate' }
  | { kind: 'onlyInDirectory'; user: string; account: string; username: string; fix: 'create' }
  | {
      kind: 'statusDiffers';
      user: string;
      account: string;
      appUserId: string;
      app: 'active' | 'inactive';
      directory: AccountStatus;
      fix: 'activate' | 'deactivate';
    }
  | { kind: 'missingMember'; user: string; entitlement: string; group: string; fix: 'add' }
  | { kind: 'extraMember'; appUserId: string; userName?: string; user?: string; entitlement: string; group: string; fix: 'remove' }
  /** A grant of the app's entitlement to someone without an account in it: create_account (or a grant step) fixes it, not reconcile. */
  | { kind: 'grantWithoutAccount'; user: string; entitlement: string; fix: 'none' }
) & { fixed?: true; error?: { message: string; retryable: boolean } };

export interface ReconcileReport {
  app: string;
  applied: boolean;
  /** What was compared: the app's users, the directory's accounts in the app, the groups of its entitlements. */
  compared: { appUsers: number; accounts: number; groups: number };
  drift: Drift[];
  /** With apply: the fixes made and those that failed (each failed one says why in its `error`). */
  fixed: number;
  failed: number;
}

/**
 * The directory's governance actions acting on apps first: create_account, grant_entitlements,
 * revoke_entitlements and modify_user_status provision each app that declares how, then record
 * in the directory; and the reconcile of an app.
 */
export interface GovernanceActions extends Omit<
  DirectoryActions,
  'createAccount' | 'grantEntitlements' | 'revokeEntitlements' | 'modifyUserStatus'
> {
  createAccount(input: CreateAccountInput): Promise<WithApps<CreateAccountResult>>;
  grantEntitlements(input: GrantEntitlementsInput): Promise<WithApps<GrantEntitlementsResult>>;
  revokeEntitlements(input: RevokeEntitlementsInput): Promise<WithApps<RevokeEntitlementsResult>>;
  modifyUserStatus(input: ModifyUserStatusInput): Promise<WithApps<ModifyUserStatusResult>>;
  reconcileApp(input: ReconcileAppInput): Promise<ReconcileReport>;
}
