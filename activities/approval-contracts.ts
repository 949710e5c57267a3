/** Signatures of the approval activities (activities/approvals.ts). Types only: workflow code imports this file. */
import type { JsonValue } from '../core/json.js';
import type { ApprovalRequest } from '../steps/approval.js';
import type { ApprovalDecision, ApprovalState, Approver } from '../store/approval-types.js';

export interface OpenApprovalRequest {
  approvalId: string;
  runId: string;
  automation: string;
  stepName: string;
  request: ApprovalRequest;
  /** ctx.trigger's subject (subjectOf): never an approver. */
  subject: JsonValue;
  /** Workflow time of the request, and its expiry. */
  createdAt: string;
  expiresAt: string;
}

export interface OpenedApproval {
  approvers: Approver[];
  /** The subject's email, lower case, when known. */
  subjectEmail?: string;
}

export interface ApprovalActivities {
  /** Resolves the approvers (the subject left out), records the request and notifies them; idempotent per approvalId. */
  openApproval(request: OpenApprovalRequest): Promise<OpenedApproval>;
  /** Records a decision the workflow accepted (and its audit entry); a retry writes nothing twice. */
  recordApprovalDecision(approvalId: string, decision: ApprovalDecision): Promise<void>;
  /** After a timeout with onTimeout: escalate: asks escalateTo instead, until the new expiry. */
  escalateApproval(request: OpenApprovalRequest): Promise<OpenedApproval>;
  closeApproval(approvalId: string, state: Exclude<ApprovalState, 'pending'>, at: string): Promise<void>;
}
