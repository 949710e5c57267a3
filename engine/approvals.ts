/**
 * Approval decisions from the outside: an approver's signed link, Slack's Approve/Reject buttons,
 * and API tokens. Each arrives at the run's workflow as a Temporal update, whose validator has the
 * last word (not pending, not an approver, the subject, decided already); the store is read only
 * to answer sooner and to show the request.
 *
 * Who may decide with a token: the token's name is looked up in the directory (a user id or an
 * email); a token that maps to an approver decides as that approver. A token holding `admin` that
 * maps to no approver decides the whole request as `token:<name>` (an override, whatever the
 * quorum). The subject of a request can never decide it, admin or not.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { IdflowError } from '../core/errors.js';
import type { ApprovalLinks } from '../functions/approval-links.js';
import type { SlackService } from '../integrations/slack/types.js';
import {
  APPROVAL_DECISION_UPDATE,
  APPROVAL_REFUSALS,
  type ApprovalDecisionAnswer,
  type ApprovalDecisionRequest,
  type ApprovalRefusal,
} from '../steps/approval.js';
import type { ApprovalRecord, ApprovalState, ApprovalVerdict, Store, TokenInfo } from '../store/types.js';

/** Slack's replay window: a request signed longer ago than this is refused (Slack's own advice). */
export const SLACK_SIGNATURE_WINDOW_S = 5 * 60;
export const MAX_APPROVAL_COMMENT = 2000;

const REFUSAL_CODES: Record<ApprovalRefusal, 'CONFLICT' | 'FORBIDDEN'> = {
  NOT_PENDING: 'CONFLICT',
  ALREADY_DECIDED: 'CONFLICT',
  NOT_APPROVER: 'FORBIDDEN',
  SUBJECT: 'FORBIDDEN',
};

const SlackActionPayload = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: z.string().min(1).max(64) }),
  actions: z.array(z.object({ action_id: z.enum(['approve', 'reject']), value: z.string().min(1).max(100) })).min(1),
});

/** What a link shows: the request, whose link it is, and whether that approver can still decide. */
export interface ApprovalLinkView {
  approval: ApprovalRecord;
  approver: string;
  /** open: the form; else why not (decided already by this approver, the request is closed, the link expired). */
  status: 'open' | 'used' | 'closed' | 'expired';
}

export interface ApprovalServiceOptions {
  store: Store;
  client: Client;
  links: ApprovalLinks;
  env: NodeJS.ProcessEnv;
  /** Slack's Web API (users.info), built on first use. */
  slack: () => Promise<SlackService>;
}

export class ApprovalService {
  private slackService: Promise<SlackService> | undefined;

  constructor(private readonly options: ApprovalServiceOptions) {}

  list(options: { state?: ApprovalState; limit?: number }): Promise<ApprovalRecord[]> {
    return this.options.store.approvals.list(options);
  }

  async get(id: string): Promise<ApprovalRecord> {
    const found = await this.options.store.approvals.get(id);
    if (!found) throw new IdflowError('NOT_FOUND', `approval "${id}" does not exist`);
    return found;
  }

  /** A decision through the API or the CLI, by the approver the token's name maps to (or an admin override). */
  async decideWithToken(id: string, token: TokenInfo, decision: ApprovalVerdict, comment?: string): Promise<ApprovalDecisionAnswer> {
    const approval = await this.get(id);
    const person =
      (await this.options.store.directory.getUser(token.name)) ??
      (await this.options.store.directory.getUserByEmail(token.name.toLowerCase()));
    const email = (person?.email ?? token.name).toLowerCase();
    const isApprover = approval.approvers.some((approver) => approver.email === email);
    const isSubject = email === approval.subject?.email || (person !== undefined && person.id === approval.subject?.userId);
    if (isSubject) throw new IdflowError('FORBIDDEN', `token "${token.name}" is the subject of approval ${id}, who can never decide it`);
    if (!isApprover && !token.scopes.includes('admin'))
      throw new IdflowError(
        'FORBIDDEN',
        `token "${token.name}" maps to no approver of approval ${id} (its name must be an approver's directory id or email), and lacks admin`,
      );
    const request: ApprovalDecisionRequest = isApprover
      ? { approvalId: id, approver: email, decision, comment, via: 'api', actor: `token:${token.name}` }
      : { approvalId: id, approver: `token:${token.name}`, decision, comment, via: 'api', actor: `token:${token.name}`, override: true };
    return this.send(approval, request);
  }

  /**
   * What an approver's link shows; UNAUTHORIZED for a link idflow did not sign, CONFLICT (without
   * the request's details) for a link of a round the request has left (it was escalated).
   */
  async viewLink(token: string, now: number = Date.now()): Promise<ApprovalLinkView> {
    const parsed = this.options.links.parse(token);
    const approval = parsed && (await this.options.store.approvals.get(parsed.approvalId));
    if (!parsed || !approval) throw new IdflowError('UNAUTHORIZED', 'this approval link is not valid');
    if (parsed.round !== approval.round)
      throw new IdflowError('CONFLICT', 'This link was replaced: the request was escalated to other approvers.');
    const approver = approval.approvers[parsed.index]?.email;
    const claims = { ...parsed, approver: approver ?? '', expiresAt: approval.expiresAt };
    if (approver === undefined || !this.options.links.holds(parsed, claims))
      throw new IdflowError('UNAUTHORIZED', 'this approval link is not valid');
    const status = approval.decisions.some((decision) => decision.approver === approver)
      ? 'used'
      : approval.state !== 'pending'
        ? 'closed'
        : Date.parse(approval.expiresAt) <= now
          ? 'expired'
          : 'open';
    return { approval, approver, status };
  }

  async decideWithLink(token: string, decision: ApprovalVerdict, comment?: string): Promise<ApprovalDecisionAnswer> {
    const view = await this.viewLink(token);
    if (view.status !== 'open') throw new IdflowError('CONFLICT', linkRefusal(view));
    return this.send(view.approval, {
      approvalId: view.approval.id,
      approver: view.approver,
      decision,
      comment,
      via: 'link',
      actor: view.approver,
    });
  }

  /**
   * Slack's interactivity request: the signature (v0, HMAC-SHA256 of `v0:<timestamp>:<body>` with
   * SLACK_SIGNING_SECRET) and its age checked before the body is read; the Slack user mapped to a
   * person by the email Slack knows. Answers the text Slack shows the clicker.
   */
  async decideWithSlack(body: Buffer, headers: Record<string, string | string[] | undefined>, now: number = Date.now()): Promise<string> {
    this.verifySlack(body, headers, now);
    const form = new URLSearchParams(body.toString('utf8'));
    let payload: z.infer<typeof SlackActionPayload>;
    try {
      payload = SlackActionPayload.parse(JSON.parse(form.get('payload') ?? ''));
    } catch {
      throw new IdflowError('INVALID', 'payload: expected a Slack block_actions payload with an approve or reject action');
    }
    const action = payload.actions[0];
    const slackEmail = await (await (this.slackService ??= this.options.slack())).userEmail(payload.user.id);
    if (!slackEmail) return `Slack shows no email for you, so idflow cannot tell which approver you are.`;
    const person = await this.options.store.directory.getUserByEmail(slackEmail);
    const approver = (person?.email ?? slackEmail).toLowerCase();
    const approval = await this.get(action.value);
    const decision = action.action_id === 'approve' ? 'approved' : 'rejected';
    try {
      const answer = await this.send(approval, {
        approvalId: approval.id,
        approver,
        decision,
        via: 'slack',
        actor: `slack:${payload.user.id}`,
      });
      return `You ${decision} this request (${approver}); it is now ${answer.state}.`;
    } catch (error) {
      if (error instanceof IdflowError && (error.code === 'CONFLICT' || error.code === 'FORBIDDEN')) return error.message;
      throw error;
    }
  }

  private verifySlack(body: Buffer, headers: Record<string, string | string[] | undefined>, now: number): void {
    const secret = this.options.env.SLACK_SIGNING_SECRET;
    if (!secret) throw new IdflowError('UNAUTHORIZED', 'Slack interactivity is not configured: set SLACK_SIGNING_SECRET for the API');
    const timestamp = String(headers['x-slack-request-timestamp'] ?? '');
    const signature = String(headers['x-slack-signature'] ?? '');
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now / 1000 - Number(timestamp)) > SLACK_SIGNATURE_WINDOW_S)
      throw new IdflowError('UNAUTHORIZED', `X-Slack-Request-Timestamp is missing or more than ${SLACK_SIGNATURE_WINDOW_S} s from now`);
    const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`);
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new IdflowError('UNAUTHORIZED', 'X-Slack-Signature does not match the body: check SLACK_SIGNING_SECRET');
  }

  /** The update to the run's workflow; its refusals as 403/409. */
  private async send(approval: ApprovalRecord, request: ApprovalDecisionRequest): Promise<ApprovalDecisionAnswer> {
    if (request.comment !== undefined && request.comment.length > MAX_APPROVAL_COMMENT)
      throw new IdflowError('VALIDATION', `comment: at most ${MAX_APPROVAL_COMMENT} characters`);
    if (approval.state !== 'pending') throw new IdflowError('CONFLICT', `approval ${approval.id} is ${approval.state} already`);
    try {
      const handle = this.options.client.workflow.getHandle(approval.runId);
      return await handle.executeUpdate<ApprovalDecisionAnswer, [ApprovalDecisionRequest]>(APPROVAL_DECISION_UPDATE, { args: [request] });
    } catch (error) {
      const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      if (type && (APPROVAL_REFUSALS as readonly string[]).includes(type))
        throw new IdflowError(REFUSAL_CODES[type as ApprovalRefusal], (cause as Error).message);
      if (error instanceof WorkflowNotFoundError || /already completed/i.test((error as Error).message))
        throw new IdflowError('CONFLICT', `approval ${approval.id} is no longer waiting: its run has ended`);
      throw error;
    }
  }
}

/** Why a link cannot decide, in the approver's words. */
export function linkRefusal(view: ApprovalLinkView): string {
  switch (view.status) {
    case 'used':
      return 'This link was used already: your decision is recorded.';
    case 'closed':
      return `This request is ${view.approval.state.replace('_', ' ')} already.`;
    case 'expired':
      return 'This link has expired.';
    default:
      return '';
  }
}
