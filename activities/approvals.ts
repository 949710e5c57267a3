/**
 * The approval activities (contracts in activities/approval-contracts.ts): resolve approvers to
 * people and addresses, record the request, and notify each approver once per round — an email
 * with that approver's own signed link, and/or one Slack message with Approve/Reject buttons.
 */
import type { JsonValue } from '../core/json.js';
import { StepError } from '../core/step-error.js';
import type { DirectoryService } from '../directory/service.js';
import type { User } from '../directory/types.js';
import type { ApprovalLinks } from '../functions/approval-links.js';
import type { IntegrationServices } from '../integrations/adapters.js';
import { mail, type MailService } from '../integrations/mail/types.js';
import { slack, type SlackService } from '../integrations/slack/types.js';
import type { ApprovalRequest } from '../steps/approval.js';
import { renderEmail } from '../steps/send_email.js';
import { slackText } from '../steps/send_slack.js';
import type { Approver, Store } from '../store/types.js';
import type { ApprovalActivities, OpenApprovalRequest, OpenedApproval } from './approval-contracts.js';

export interface ApprovalActivityDependencies {
  store: Store;
  directory: DirectoryService;
  integrations: IntegrationServices;
  links: ApprovalLinks;
  /** Where approvers' links point: the API's public URL (IDFLOW_PUBLIC_URL); without it, emails name the CLI command. */
  publicUrl?: string;
}

const lower = (email: string) => email.trim().toLowerCase();

function asPerson(user: User): Approver {
  const name = user.displayName ?? ([user.firstName, user.lastName].filter(Boolean).join(' ') || undefined);
  return { email: lower(user.email), userId: user.id, ...(name && { name }) };
}

/** The subject's id and email, from ctx.trigger's user. */
function subjectOf(subject: JsonValue): { userId?: string; email?: string } {
  if (subject === null || typeof subject !== 'object' || Array.isArray(subject)) return {};
  return {
    ...(typeof subject.id === 'string' && { userId: subject.id }),
    ...(typeof subject.email === 'string' && { email: lower(subject.email) }),
  };
}

export function createApprovalActivities(deps: ApprovalActivityDependencies): ApprovalActivities {
  const { store } = deps;
  const directory = deps.directory.reader();

  async function resolveOne(ref: string, subject: { userId?: string; email?: string }): Promise<Approver[]> {
    if (ref === 'manager') {
      const ofWhom = subject.userId ?? subject.email;
      if (!ofWhom)
        throw new StepError('NO_SUBJECT', 'approvers: "manager" needs a run about a person (ctx.trigger.user)', { retryable: false });
      const person = await directory.user(ofWhom, 'the subject');
      const manager = person.managerId ?? person.manager;
      if (!manager) return [];
      return [asPerson(await directory.user(manager, `the manager of ${person.email}`))];
    }
    if (ref.startsWith('user:')) return [asPerson(await directory.user(ref.slice('user:'.length), `approver ${ref}`))];
    if (ref.startsWith('entitlement:')) {
      const entitlement = await directory.entitlement(ref.slice('entitlement:'.length));
      const grants = await store.directory.listGrants({ entitlementId: entitlement.id });
      const members = await Promise.all(grants.map((grant) => store.directory.getUser(grant.userId)));
      return members.filter((user): user is User => user !== undefined && user.status === 'ENABLED').map(asPerson);
    }
    const known = await store.directory.getUserByEmail(lower(ref));
    return [known ? asPerson(known) : { email: lower(ref) }];
  }

  async function resolve(
    refs: string[],
    subject: { userId?: string; email?: string },
  ): Promise<{ approvers: Approver[]; hadSubject: boolean }> {
    const seen = new Map<string, Approver>();
    let hadSubject = false;
    for (const ref of refs) {
      for (const approver of await resolveOne(ref, subject)) {
        const isSubject = approver.email === subject.email || (approver.userId !== undefined && approver.userId === subject.userId);
        if (isSubject) hadSubject = true;
        else if (!seen.has(approver.email)) seen.set(approver.email, approver);
      }
    }
    return { approvers: [...seen.values()], hadSubject };
  }

  function decisionLink(approvalId: string, round: number, index: number, approver: Approver, expiresAt: string): string | undefined {
    if (!deps.publicUrl) return undefined;
    const token = deps.links.sign({ approvalId, round, index, approver: approver.email, expiresAt });
    return `${deps.publicUrl.replace(/\/+$/, '')}/approvals/${token}`;
  }

  /** Each effect once per request, round and recipient: a retried activity does not mail anyone twice. */
  async function once(key: string, effect: () => Promise<JsonValue>): Promise<void> {
    if ((await store.effects.get(key)) !== undefined) return;
    await store.effects.put(key, await effect());
  }

  async function notify(opening: OpenApprovalRequest, approvers: Approver[], round: number): Promise<void> {
    const { request, approvalId, expiresAt } = opening;
    const title = request.title ?? `Approval requested: ${opening.automation}`;
    if (request.notify !== 'slack') {
      const mailer = deps.integrations.get(mail.name) as MailService;
      for (const [index, approver] of approvers.entries()) {
        const link = decisionLink(approvalId, round, index, approver, expiresAt);
        const how = link
          ? `[Approve or reject](${link}) — this link is yours alone and works until ${expiresAt}.`
          : `Decide with \`idflow approvals approve ${approvalId}\` or \`idflow approvals reject ${approvalId}\` before ${expiresAt}.`;
        const { html, text } = renderEmail({ title, message: `${request.message}\n\n${how}` });
        await once(`approval:${approvalId}:${round}:email:${approver.email}`, async () => {
          const sent = await mailer.send({
            messageId: `<approval.${approvalId}.${round}.${index}@idflow>`,
            to: [approver.email],
            cc: [],
            bcc: [],
            subject: title,
            html,
            text,
          });
          return { messageId: sent.messageId };
        });
      }
    }
    if (request.notify !== 'email' && request.slackChannel) {
      const channel = request.slackChannel;
      const poster = deps.integrations.get(slack.name) as SlackService;
      // The Markdown's plain-text reading, escaped for mrkdwn: data cannot mention or link in Slack either.
      const text = slackText(renderEmail({ message: request.message }).text.trim());
      const who = approvers.map((approver) => approver.email).join(', ');
      await once(`approval:${approvalId}:${round}:slack`, async () => {
        const posted = await poster.postMessage({
          channel,
          text: `${slackText(title)}: ${text}`,
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: `*${slackText(title)}*\n${text}` } },
            { type: 'context', elements: [{ type: 'mrkdwn', text: `Approvers: ${slackText(who)} · until ${expiresAt}` }] },
            {
              type: 'actions',
              block_id: `approval:${approvalId}`,
              elements: [
                {
                  type: 'button',
                  action_id: 'approve',
                  style: 'primary',
                  value: approvalId,
                  text: { type: 'plain_text', text: 'Approve' },
                },
                { type: 'button', action_id: 'reject', style: 'danger', value: approvalId, text: { type: 'plain_text', text: 'Reject' } },
              ],
            },
          ],
        });
        return { channel: posted.channel, ts: posted.ts };
      });
    }
  }

  async function approversFor(refs: string[], request: ApprovalRequest, subject: { userId?: string; email?: string }): Promise<Approver[]> {
    const first = await resolve(refs, subject);
    // The subject never decides: escalateTo takes their place (and stands in when nobody is left).
    if ((first.hadSubject || first.approvers.length === 0) && request.escalateTo) {
      const instead = await resolve(request.escalateTo, subject);
      const all = new Map([...first.approvers, ...instead.approvers].map((approver) => [approver.email, approver]));
      return [...all.values()];
    }
    return first.approvers;
  }

  const noApprover = (refs: string[]) =>
    new StepError(
      'NO_APPROVER',
      `no approver to ask: ${refs.join(', ')} resolved to nobody but the subject (who cannot approve their own request); set escalateTo`,
      { retryable: false },
    );

  return {
    async openApproval(opening) {
      const subject = subjectOf(opening.subject);
      const approvers = await approversFor(opening.request.approvers, opening.request, subject);
      if (approvers.length === 0) throw noApprover(opening.request.approvers);
      const record = await store.approvals.open({
        id: opening.approvalId,
        runId: opening.runId,
        stepName: opening.stepName,
        automation: opening.automation,
        ...(subject.email !== undefined || subject.userId !== undefined ? { subject } : {}),
        approvers,
        quorum: opening.request.quorum,
        message: opening.request.message,
        createdAt: opening.createdAt,
        expiresAt: opening.expiresAt,
      });
      await notify(opening, record.approvers, 0);
      return { approvers: record.approvers, ...(subject.email !== undefined && { subjectEmail: subject.email }) };
    },

    async escalateApproval(opening): Promise<OpenedApproval> {
      const subject = subjectOf(opening.subject);
      const refs = opening.request.escalateTo ?? [];
      const { approvers } = await resolve(refs, subject);
      if (approvers.length === 0) throw noApprover(refs);
      await store.approvals.escalate(opening.approvalId, approvers, opening.expiresAt);
      await store.audit.record({
        actor: 'idflow',
        action: 'approval.escalated',
        target: `approval:${opening.approvalId}`,
        details: { approvers: approvers.map((a) => a.email) },
      });
      await notify(opening, approvers, 1);
      return { approvers, ...(subject.email !== undefined && { subjectEmail: subject.email }) };
    },

    async recordApprovalDecision(approvalId, decision) {
      const record = await store.approvals.get(approvalId);
      await store.approvals.decide(approvalId, decision, {
        details: {
          run: record?.runId ?? null,
          step: record?.stepName ?? null,
          approver: decision.approver,
          via: decision.via,
          comment: decision.comment ?? null,
        },
      });
    },

    async closeApproval(approvalId, state, at) {
      await store.approvals.close(approvalId, state, at);
    },
  };
}
