/**
 * Approval requests as the store keeps them: who is asked (resolved to people and addresses when
 * the request opened), the state, the expiry and each approver's decision. The run's workflow is
 * the one writer of decisions (it serializes them); the store's key (approval, approver) makes a
 * decision count once even so.
 */
import type { JsonValue } from '../core/json.js';

export const APPROVAL_STATES = ['pending', 'approved', 'rejected', 'timed_out', 'cancelled'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];
export type ApprovalVerdict = 'approved' | 'rejected';
/** How a decision arrived. */
export type ApprovalChannel = 'link' | 'slack' | 'api';

/** A person asked to decide: a directory user (id) or a bare email address. */
export interface Approver {
  email: string;
  userId?: string;
  name?: string;
}

export interface ApprovalDecision {
  /** The approver's email (lower case). */
  approver: string;
  decision: ApprovalVerdict;
  comment?: string;
  via: ApprovalChannel;
  /** Who sent it: the approver's link or Slack user, or the API token's name. */
  actor: string;
  at: string;
}

export interface ApprovalRecord {
  id: string;
  runId: string;
  stepName: string;
  automation: string;
  /** The person the run is about, who can never approve. */
  subject?: { userId?: string; email?: string };
  approvers: Approver[];
  quorum: 'any' | 'all';
  state: ApprovalState;
  /** The request's Markdown, rendered with the run's context. */
  message: string;
  /** 0, then 1 once escalated (new approvers, a new expiry). */
  round: number;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  decisions: ApprovalDecision[];
}

export interface ApprovalsRepository {
  /** Records a new request; a retried open of the same id leaves the first one and returns it. */
  open(record: Omit<ApprovalRecord, 'state' | 'decisions' | 'decidedAt' | 'round'>): Promise<ApprovalRecord>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  /** Newest first. */
  list(options: { state?: ApprovalState; limit?: number }): Promise<ApprovalRecord[]>;
  /** How many requests wait for a decision. */
  countPending(): Promise<number>;
  /** Adds an approver's decision with its audit entry; false (nothing written) when that approver decided already. */
  decide(id: string, decision: ApprovalDecision, audit: { details: JsonValue }): Promise<boolean>;
  /** New approvers and expiry after a timeout (round 1). */
  escalate(id: string, approvers: Approver[], expiresAt: string): Promise<void>;
  /** Ends a pending request; a later close keeps the first state. */
  close(id: string, state: Exclude<ApprovalState, 'pending'>, at: string): Promise<void>;
}
