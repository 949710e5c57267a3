/**
 * The identity directory's records: the system of record the governance steps act on.
 * Pure types (no Node built-ins): step modules import them, and steps are bundled into workflows.
 */
import { IdflowError } from '../core/errors.js';
import type { JsonObject } from '../core/json.js';
import type { SecretRef } from '../core/secret-ref.js';

export const USER_STATUSES = ['ENABLED', 'DISABLED', 'DELETED'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const ACCOUNT_STATUSES = ['APP_USER_STATUS_ENABLED', 'APP_USER_STATUS_DISABLED', 'APP_USER_STATUS_DELETED'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const TASK_TYPES = ['access_request', 'access_review', 'revoke'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
export const TASK_STATES = ['open', 'completed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** A person. Dates are ISO strings (`startDate`, `endDate`: YYYY-MM-DD). */
export interface User {
  id: string;
  email: string;
  username?: string;
  displayName?: string;
  firstName?: string;
  lastName?: string;
  department?: string;
  title?: string;
  employmentType?: string;
  status: UserStatus;
  /** The manager's email. */
  manager?: string;
  managerId?: string;
  location?: string;
  startDate?: string;
  endDate?: string;
  attributes: JsonObject;
  createdAt: string;
  updatedAt: string;
}

/** The fields of a user that an import or a write may set; the rest is kept by idflow. */
export type UserFields = Omit<User, 'createdAt' | 'updatedAt'>;

/** User fields compared to decide whether a person changed (everything but the timestamps). */
export const USER_FIELDS = [
  'email',
  'username',
  'displayName',
  'firstName',
  'lastName',
  'department',
  'title',
  'employmentType',
  'status',
  'manager',
  'managerId',
  'location',
  'startDate',
  'endDate',
  'attributes',
] as const satisfies readonly (keyof UserFields)[];

export interface App {
  id: string;
  slug: string;
  displayName: string;
  /** How the app's accounts and group memberships reach it; absent: idflow's records only. */
  provisioning?: AppProvisioning;
}

/** A SCIM 2.0 service provider the app is (its base URL and bearer token). */
export interface ScimConnection {
  baseUrl: string;
  token: SecretRef;
  /** Timeout of one request, a duration ("30s" when absent). */
  timeout?: string;
}

/** Where a connector action runs: a function (`kind: Function`) or a webhook (`kind: Webhook`). */
export type ConnectorActionTarget = { function: string } | { webhook: string };

/**
 * How an app is provisioned: over SCIM, or each operation sent to a webhook or a function (at most
 * one of the three), with the SCIM group of each entitlement and the app's connector actions.
 */
export interface AppProvisioning {
  scim?: ScimConnection;
  webhook?: string;
  function?: string;
  /** Entitlement slug → its SCIM group: a displayName, or `{ id }`. Default: the entitlement's slug as displayName. */
  groups: Record<string, string | { id: string }>;
  /** Action name → where it runs (perform_connector_action). */
  actions: Record<string, ConnectorActionTarget>;
}

export interface Entitlement {
  id: string;
  appId: string;
  /** The app's slug, so the entitlement can be written `app:slug`. */
  app: string;
  slug: string;
  displayName: string;
  /** The id a SCIM client knows the group by, for entitlements it pushed (scim/groups.ts). */
  externalId?: string;
}

export interface Grant {
  userId: string;
  entitlementId: string;
  /** `app:slug` of the entitlement. */
  entitlement: string;
  /** What granted it: "import", "directory apply", "automation <name> run <id>", ... */
  source: string;
  grantedAt: string;
  expiresAt?: string;
}

export interface Account {
  id: string;
  appId: string;
  /** The app's slug. */
  app: string;
  userId: string;
  username: string;
  email?: string;
  status: AccountStatus;
  /** The app's id of the account (its SCIM id, or what the provisioning webhook or function answered), once idflow provisioned it. */
  appUserId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface AccessProfile {
  id: string;
  displayName: string;
  /** Entitlement ids. */
  entitlements: string[];
}

export interface Enrollment {
  userId: string;
  profileId: string;
  enrolledAt: string;
}

export interface Delegate {
  userId: string;
  delegateId: string;
  updatedAt: string;
}

export interface Task {
  id: string;
  type: TaskType;
  /** Who must act on it. */
  assigneeId: string;
  /** Whom it is about, when anyone. */
  subjectId?: string;
  title: string;
  state: TaskState;
  createdAt: string;
  updatedAt: string;
}

export interface CampaignTemplate {
  id: string;
  displayName: string;
  /** Who reviews: the subject's manager (default) or a fixed user. */
  reviewer: 'manager' | { user: string };
  /** Days the reviewer has. */
  durationDays: number;
}

export interface Campaign {
  id: string;
  templateId: string;
  /** Whose access is reviewed. */
  userId: string;
  reviewerId?: string;
  state: 'open' | 'closed';
  /** The access under review, as it was when the campaign was created: `app:slug` of each grant. */
  items: string[];
  createdAt: string;
  dueAt: string;
}

/** A directory change as an event for the trigger pipeline (see triggers/events.ts EVENT_TYPES). */
export interface DirectoryEvent {
  id: string;
  type: 'user.created' | 'user.updated' | 'user.deactivated' | 'account.created' | 'account.updated' | 'grant.created' | 'grant.revoked';
  data: JsonObject;
}

/** The run and step that made a directory change (a governance step), recorded beside its events. */
export interface ChangeCause {
  runId: string;
  stepName: string;
}

/** A directory operation refused: a reference that does not exist, or input that cannot apply. */
export class DirectoryError extends IdflowError<'NOT_FOUND' | 'INVALID' | 'CONFLICT'> {}

/** What a governance step asks of the directory. Users by id or email; entitlements by id or `app:slug`; apps by id or slug. */
export interface GrantEntitlementsInput {
  user: string;
  entitlements: string[];
  /** ISO timestamp after which the grant lapses. */
  expiresAt?: string;
}
export interface GrantEntitlementsResult {
  user: string;
  granted: string[];
  alreadyHad: string[];
  expiresAt: string | null;
}

export interface RevokeEntitlementsInput {
  user: string;
  entitlements?: string[];
  apps?: string[];
  all?: boolean;
  exclude?: string[];
}
export interface RevokeEntitlementsResult {
  user: string;
  revoked: string[];
  /** Named in `entitlements` but not held. */
  notHeld: string[];
  kept: string[];
}

export interface ModifyUserStatusInput {
  user: string;
  status: UserStatus;
}
export interface ModifyUserStatusResult {
  user: string;
  previousStatus: UserStatus;
  status: UserStatus;
  changed: boolean;
}

export interface ModifyDelegateInput {
  user: string;
  delegate?: string;
  remove?: boolean;
  /** Also (or only) stop `user` being anyone's delegate. */
  removeAsDelegate?: boolean;
}
export interface ModifyDelegateResult {
  user: string;
  previousDelegate: string | null;
  delegate: string | null;
  /** Users whose delegate `user` was, when removeAsDelegate. */
  removedAsDelegateOf: string[];
}

export interface RemoveAccessProfilesInput {
  user: string;
  profiles?: string[];
  all?: boolean;
}
export interface RemoveAccessProfilesResult {
  user: string;
  removed: string[];
  notEnrolled: string[];
}

export interface CreateAccountInput {
  app: string;
  user: string;
  method: 'from_user' | 'custom';
  fields?: { username?: string; email?: string };
}
export interface CreateAccountResult {
  created: boolean;
  account: Account;
}

export interface PerformTaskActionInput {
  /** Whose tasks: the assignee. */
  user: string;
  taskType?: TaskType;
  action: 'reassign' | 'complete' | 'cancel';
  /** The new assignee, for reassign. */
  to?: string;
}
export interface PerformTaskActionResult {
  user: string;
  action: string;
  tasks: string[];
  to: string | null;
}

export interface CreateCampaignInput {
  template: string;
  user: string;
}
export interface CreateCampaignResult {
  created: boolean;
  campaign: Campaign;
}

/**
 * The directory as the governance steps see it. Each call is one transaction: the change, its
 * events and the step's recorded result commit together, and a retried step gets the recorded
 * result instead of acting twice.
 */
export interface DirectoryActions {
  grantEntitlements(input: GrantEntitlementsInput): Promise<GrantEntitlementsResult>;
  revokeEntitlements(input: RevokeEntitlementsInput): Promise<RevokeEntitlementsResult>;
  modifyUserStatus(input: ModifyUserStatusInput): Promise<ModifyUserStatusResult>;
  modifyDelegate(input: ModifyDelegateInput): Promise<ModifyDelegateResult>;
  removeAccessProfiles(input: RemoveAccessProfilesInput): Promise<RemoveAccessProfilesResult>;
  createAccount(input: CreateAccountInput): Promise<CreateAccountResult>;
  performTaskAction(input: PerformTaskActionInput): Promise<PerformTaskActionResult>;
  createCampaign(input: CreateCampaignInput): Promise<CreateCampaignResult>;
}
