/**
 * The SCIM integration's contract (workflow-safe): an app's SCIM 2.0 service (RFC 7643/7644) as
 * provisioning uses it — users and groups — and the service that connects to one, its token
 * resolved. Every method throws StepErrors: network errors, timeouts, 5xx and 429 are retryable
 * (Retry-After honoured); other 4xx are not, and carry the app's SCIM `detail` and `scimType`.
 * The adapter speaks the protocol; what to create, look up or leave alone is provisioning/'s.
 */
import type { ScimConnection } from '../../directory/types.js';
import { integrationKey } from '../types.js';

export interface ScimUser {
  id: string;
  userName: string;
  externalId?: string;
  /** Absent in the app's answer counts as active (RFC 7643 leaves it to the app). */
  active: boolean;
}

export interface NewScimUser {
  userName: string;
  externalId: string;
  active: boolean;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  email?: string;
}

export interface ScimGroup {
  id: string;
  displayName: string;
  /** The ids of its members (users), when the app listed them. */
  members: string[];
  created?: string;
}

/** One page of users: `startIndex` is 1-based (RFC 7644 3.4.2.4). */
export interface ScimUserPage {
  totalResults: number;
  users: ScimUser[];
}

/** One app's SCIM service. Lookups answer undefined (or false) for what the app does not have. */
export interface ScimClient {
  getUser(id: string): Promise<ScimUser | undefined>;
  /** Users whose attribute equals the value (`filter=attribute eq "value"`). */
  findUsers(attribute: 'externalId' | 'userName', value: string): Promise<ScimUser[]>;
  /** `conflict`: the app has such a user already (409, e.g. the userName is taken): look it up. */
  createUser(user: NewScimUser): Promise<{ created: ScimUser } | { conflict: string }>;
  /** false when the app has no user with this id. */
  setActive(id: string, active: boolean): Promise<boolean>;
  /** false when the app has no user with this id. */
  deleteUser(id: string): Promise<boolean>;
  listUsers(startIndex: number, count: number): Promise<ScimUserPage>;
  /** The group with its members. */
  getGroup(id: string): Promise<ScimGroup | undefined>;
  /** Groups with this displayName, without their members. */
  findGroups(displayName: string): Promise<ScimGroup[]>;
  createGroup(displayName: string): Promise<ScimGroup>;
  /** Adding a member who is one already changes nothing. */
  addMember(groupId: string, userId: string): Promise<void>;
  /** false when the user was not a member. */
  removeMember(groupId: string, userId: string): Promise<boolean>;
}

export interface ScimService {
  /** A client for the app, its token resolved (a non-retryable StepError says which token is missing and how to set it). */
  connect(app: { slug: string; scim: ScimConnection }, signal: AbortSignal): Promise<ScimClient>;
}

export const scim = integrationKey<ScimService>('scim');
