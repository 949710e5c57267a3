/**
 * request_approval's workflow side: open the request (an activity resolves approvers, records it
 * and notifies them), then wait for decisions on a Temporal update with the timeout as a timer.
 * The update's validator refuses what must not count (not pending, not an approver, the subject,
 * a second decision by the same approver) before anything reaches history, so a decision that
 * arrives twice counts once; the handler marks it before its first await, so two updates in one
 * workflow task cannot both pass. Waiting is a timer: a request pending for weeks costs nothing
 * and survives worker restarts.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineUpdate,
  isCancellation,
  proxyActivities,
  setHandler,
  uuid4,
} from '@temporalio/workflow';
import type { JsonValue } from '../core/json.js';
import { parseDuration } from '../core/duration.js';
import type { ApprovalActivities, OpenApprovalRequest, OpenedApproval } from '../activities/approval-contracts.js';
import {
  APPROVAL_DECISION_UPDATE,
  type ApprovalDecisionAnswer,
  type ApprovalDecisionOutput,
  type ApprovalDecisionRequest,
  type ApprovalOutcome,
  type ApprovalRefusal,
  type ApprovalRequest,
} from '../steps/approval.js';
import type { Approver } from '../store/approval-types.js';

export const approvalDecisionUpdate = defineUpdate<ApprovalDecisionAnswer, [ApprovalDecisionRequest]>(APPROVAL_DECISION_UPDATE);

const activities = proxyActivities<ApprovalActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

const refuse = (type: ApprovalRefusal, message: string): never => {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
};

export interface ApprovalContext {
  runId: string;
  automation: string;
  stepName: string;
  subject: JsonValue;
}

export async function requestApproval(request: ApprovalRequest, context: ApprovalContext): Promise<ApprovalOutcome> {
  const timeoutMs = parseDuration(request.timeout) ?? 0;
  const expiry = () => new Date(Date.now() + timeoutMs).toISOString();
  const opening: OpenApprovalRequest = {
    approvalId: uuid4(),
    ...context,
    request,
    createdAt: new Date().toISOString(),
    expiresAt: expiry(),
  };
  const { approvalId } = opening;
  // Registered before the request opens: a decision that comes the moment the record is visible waits for it.
  let opened: OpenedApproval | undefined;
  let approvers: Approver[] = [];
  let state: 'pending' | 'approved' | 'rejected' | 'timed_out' = 'pending';
  const decisions: ApprovalDecisionOutput[] = [];
  /** Approvers whose decision is in a handler: claimed synchronously, so a second one is refused by the validator. */
  const claimed = new Set<string>();
  let recording = 0;

  const settle = (): void => {
    if (decisions.some((decision) => decision.decision === 'rejected')) state = 'rejected';
    else if (decisions.some((decision) => decision.approver.startsWith('token:'))) state = 'approved';
    else if (request.quorum === 'any' ? decisions.length > 0 : approvers.every((a) => decisions.some((d) => d.approver === a.email)))
      state = 'approved';
  };
  /** What only the opened request can tell: the subject, and who the approvers are. */
  const checkApprover = (decision: ApprovalDecisionRequest, known: OpenedApproval): void => {
    if (known.subjectEmail !== undefined && decision.approver === known.subjectEmail)
      refuse('SUBJECT', 'the subject of a request can never decide it');
    if (!decision.override && !approvers.some((approver) => approver.email === decision.approver))
      refuse('NOT_APPROVER', `${decision.approver} is not an approver of this request`);
  };

  setHandler(
    approvalDecisionUpdate,
    async (decision) => {
      claimed.add(decision.approver);
      recording++;
      try {
        if (!opened) {
          // TypeScript cannot see the main coroutine's write: read it through a function.
          const current = (): OpenedApproval | undefined => opened;
          await condition(() => current() !== undefined);
          checkApprover(decision, current() as OpenedApproval);
          if (state !== 'pending') refuse('NOT_PENDING', `approval ${approvalId} is not waiting for a decision`);
        }
        const at = new Date().toISOString();
        decisions.push({
          approver: decision.approver,
          decision: decision.decision,
          comment: decision.comment ?? null,
          via: decision.via,
          at,
        });
        settle();
        await activities.recordApprovalDecision(approvalId, {
          approver: decision.approver,
          decision: decision.decision,
          ...(decision.comment !== undefined && { comment: decision.comment }),
          via: decision.via,
          actor: decision.actor,
          at,
        });
      } finally {
        recording--;
      }
      return { state: state === 'timed_out' ? 'rejected' : state };
    },
    {
      validator(decision) {
        if (decision.approvalId !== approvalId || state !== 'pending')
          refuse('NOT_PENDING', `approval ${decision.approvalId} is not waiting for a decision`);
        if (opened) checkApprover(decision, opened);
        if (claimed.has(decision.approver)) refuse('ALREADY_DECIDED', `${decision.approver} decided already`);
      },
    },
  );

  let decided: boolean;
  try {
    opened = await activities.openApproval(opening);
    approvers = opened.approvers;
    decided = await condition(() => state !== 'pending', timeoutMs);
    if (!decided && request.onTimeout === 'escalate' && request.escalateTo) {
      approvers = (await activities.escalateApproval({ ...opening, expiresAt: expiry() })).approvers;
      decided = await condition(() => state !== 'pending', timeoutMs);
    }
  } catch (error) {
    // The run was cancelled while it waited (runs cancel, cancelWhen): the request ends with it, no link decides it any more.
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => activities.closeApproval(approvalId, 'cancelled', new Date().toISOString()));
    }
    throw error;
  }
  const timedOut = !decided;
  if (timedOut) state = request.onTimeout === 'approve' ? 'approved' : 'timed_out';
  // Read through a function: TypeScript cannot see the update handler's writes.
  const final = ((): 'approved' | 'rejected' | 'timed_out' => (state === 'pending' ? 'timed_out' : state))();
  // Decisions accepted so far are in the store before the request closes.
  await condition(() => recording === 0);
  const at = new Date().toISOString();
  await activities.closeApproval(approvalId, final, at);

  const deciding = timedOut ? undefined : (decisions.find((d) => d.decision === 'rejected') ?? decisions.at(-1));
  return {
    approvalId,
    decision: final,
    by: deciding?.approver ?? null,
    at: deciding?.at ?? at,
    comment:
      deciding?.comment ??
      (timedOut ? `no decision within ${request.timeout}${request.onTimeout === 'approve' ? ': approved by the timeout' : ''}` : null),
    decisions,
  };
}
