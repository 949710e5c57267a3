/**
 * What request_approval asks of the workflow (WorkflowStepServices.requestApproval) and what it
 * gets back: workflow-safe types shared by the step, the workflow and the activities.
 */
export const APPROVAL_TIMEOUT_ACTIONS = ['reject', 'approve', 'escalate'] as const;
export const APPROVAL_NOTIFY = ['email', 'slack', 'both'] as const;

/** The step's rendered `with`, as the workflow and the activities use it. */
export interface ApprovalRequest {
  /** `manager`, `user:<id|email>`, `entitlement:<app:slug>` or an email address, each. */
  approvers: string[];
  escalateTo?: string[];
  title?: string;
  /** Markdown whose templated values are escaped (send_email's markdownText). */
  message: string;
  timeout: string;
  onTimeout: (typeof APPROVAL_TIMEOUT_ACTIONS)[number];
  quorum: 'any' | 'all';
  notify: (typeof APPROVAL_NOTIFY)[number];
  slackChannel?: string;
}

/** Type aliases, not interfaces: they are JSON values (the step's output). */
export type ApprovalDecisionOutput = {
  approver: string;
  decision: 'approved' | 'rejected';
  comment: string | null;
  via: string;
  at: string;
};

/** The step's output (ctx.<step>): `by` is null when the timeout decided. */
export type ApprovalOutcome = {
  approvalId: string;
  decision: 'approved' | 'rejected' | 'timed_out';
  by: string | null;
  at: string;
  comment: string | null;
  decisions: ApprovalDecisionOutput[];
};

/** The run's Temporal update that carries a decision (workflows/approvals.ts handles it, the engine sends it). */
export const APPROVAL_DECISION_UPDATE = 'approvalDecision';

export interface ApprovalDecisionRequest {
  approvalId: string;
  /** The approver's email, lower case; for an admin override, `token:<name>`. */
  approver: string;
  decision: 'approved' | 'rejected';
  comment?: string;
  via: 'link' | 'slack' | 'api';
  /** Who sent it, for the audit log. */
  actor: string;
  /** An admin token that is no approver: decides the request whatever the quorum (never for the subject). */
  override?: boolean;
}

/** Why the workflow refused a decision (the update's failure type); the engine maps each to an HTTP status. */
export const APPROVAL_REFUSALS = ['NOT_PENDING', 'NOT_APPROVER', 'ALREADY_DECIDED', 'SUBJECT'] as const;
export type ApprovalRefusal = (typeof APPROVAL_REFUSALS)[number];

export interface ApprovalDecisionAnswer {
  state: 'pending' | 'approved' | 'rejected';
}
