/**
 * `request_approval`: asks people to approve before the run goes on, and waits durably for their
 * decision (a Temporal update, with the timeout as a timer: workflows/approvals.ts). Approvers
 * decide through a signed link in their email, Approve/Reject buttons in Slack, the CLI or the
 * API. A rejection (or a timeout that rejects) ends the run as `rejected` unless `onReject: continue`.
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import { APPROVAL_NOTIFY, APPROVAL_TIMEOUT_ACTIONS, type ApprovalOutcome } from './approval.js';
import { markdownText, renderEmail } from './send_email.js';
import { defineWorkflowStep } from './types.js';

const EMAIL = /^[^\s@<>:]+@[^\s@<>]+\.[^\s@<>]+$/;
const APPROVER_HINT = 'expected "manager", "user:<id|email>", "entitlement:<app:slug>" or an email address';
/** Whom one request may ask: more is a broadcast, not an approval. */
export const MAX_APPROVERS = 50;
/** The longest a run may wait for a decision. */
const MAX_TIMEOUT_MS = 365 * 86_400_000;

const approverRef = z
  .string()
  .trim()
  .min(1)
  .max(320)
  .refine((ref) => ref === 'manager' || /^user:.+$/.test(ref) || /^entitlement:[^:]+:.+$/.test(ref) || EMAIL.test(ref), {
    message: APPROVER_HINT,
  });
const approverList = z
  .union([approverRef, z.array(approverRef).min(1).max(MAX_APPROVERS)])
  .transform((value) => (Array.isArray(value) ? value : [value]));

const schema = z
  .object({
    approvers: approverList.describe(`Who decides: ${APPROVER_HINT.replace('expected ', '')}; one or a list.`),
    title: z.string().max(200).optional().describe("The email's subject and the heading of the request."),
    message: z.string().min(1).max(20_000).describe('Markdown: what is asked and why (templates escaped as text).'),
    timeout: z
      .string()
      .refine((text) => {
        const ms = parseDuration(text);
        return ms !== undefined && ms > 0 && ms <= MAX_TIMEOUT_MS;
      }, `expected ${DURATION_HINT}, more than 0 and at most 365d`)
      .default('3d')
      .describe('How long the approvers have (default 3d).'),
    onTimeout: z.enum(APPROVAL_TIMEOUT_ACTIONS).default('reject').describe('What a timeout decides: reject (default), approve, escalate.'),
    escalateTo: approverList.optional().describe('Asked on escalation, and instead of the subject when the subject is an approver.'),
    quorum: z.enum(['any', 'all']).default('any').describe('any: the first decision decides; all: every approver must approve.'),
    notify: z.enum(APPROVAL_NOTIFY).default('email').describe('email (a signed link per approver), slack (buttons), or both.'),
    slackChannel: z.string().min(1).max(80).optional().describe('Where the Slack request goes (with notify slack or both).'),
    onReject: z
      .enum(['end', 'continue'])
      .default('end')
      .describe('end: a rejection ends the run as rejected; continue: later steps branch on the output.'),
  })
  .strict()
  .refine((input) => input.onTimeout !== 'escalate' || input.escalateTo !== undefined, {
    message: 'onTimeout: escalate needs escalateTo',
    path: ['escalateTo'],
  })
  .refine((input) => input.notify === 'email' || input.slackChannel !== undefined, {
    message: 'notify: slack or both needs slackChannel',
    path: ['slackChannel'],
  });

/**
 * Thrown by the step when the request was not approved and the step ends the run: the
 * interpreter records the step's output and ends the run as `rejected`, not `failed`.
 */
export class ApprovalRejected extends Error {
  override readonly name = 'ApprovalRejected';

  constructor(readonly output: ApprovalOutcome) {
    super(
      output.decision === 'timed_out'
        ? 'the approval request timed out'
        : `rejected by ${output.by}${output.comment ? `: ${output.comment}` : ''}`,
    );
  }
}

export const requestApprovalStep = defineWorkflowStep({
  type: 'request_approval',
  description: 'Ask approvers (manager, users, entitlement members, addresses) and wait durably for their decision.',
  runsIn: 'workflow',
  scopes: [],
  with: schema,
  escapeFor: (path) => (path.length === 1 && path[0] === 'message' ? markdownText : undefined),
  async plan(input, services) {
    const text = renderEmail({ title: input.title, message: input.message }).text;
    const expiresAt = new Date(services.now().getTime() + (parseDuration(input.timeout) ?? 0)).toISOString();
    return {
      effects: [{ kind: 'approval', approvers: input.approvers, quorum: input.quorum, notify: input.notify, expiresAt, text }],
      unknownReason: "the approvers' decision is known only once they decide",
    };
  },
  async run(input, services) {
    const outcome = await services.requestApproval(input);
    if (outcome.decision !== 'approved' && input.onReject === 'end') throw new ApprovalRejected(outcome);
    return outcome;
  },
});
