/**
 * Approvals: the JSON routes (list, show, decide with a token), an approver's decision page behind
 * their signed link (GET shows the request and a form, POST decides; the link is the credential),
 * and Slack's interactivity endpoint (Slack's request signature is the credential).
 */
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { IdflowError } from '../../core/errors.js';
import { MAX_APPROVAL_COMMENT, linkRefusal, type ApprovalLinkView } from '../../engine/approvals.js';
import type { Engine } from '../../engine/types.js';
import { MAX_LINK_TOKEN_LENGTH } from '../../functions/approval-links.js';
import { escapeHtml, renderEmail } from '../../steps/send_email.js';
import { APPROVAL_STATES } from '../../store/approval-types.js';
import type { TokenInfo } from '../../store/types.js';

const idParams = z.object({ id: z.string().min(1).max(100) });
const linkParams = z.object({ token: z.string().min(1).max(MAX_LINK_TOKEN_LENGTH) });
const comment = z.string().trim().max(MAX_APPROVAL_COMMENT, `at most ${MAX_APPROVAL_COMMENT} characters`).optional();
const decisionBody = z.object({ decision: z.enum(['approve', 'reject']), comment }).strict();
const formBody = z.object({ decision: z.enum(['approve', 'reject'], 'expected approve or reject'), comment });
const verdict = (decision: 'approve' | 'reject') => (decision === 'approve' ? 'approved' : 'rejected');

function page(title: string, body: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; max-width: 40em; margin: 2em auto">
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

function requestPage(view: ApprovalLinkView, notice?: string): string {
  const { approval } = view;
  const text = renderEmail({ message: approval.message }).text;
  const status = view.status === 'open' ? '' : `<p><strong>${escapeHtml(notice ?? linkRefusal(view))}</strong></p>`;
  const form =
    view.status !== 'open'
      ? ''
      : `<form method="post">
<p><label>Comment<br><textarea name="comment" rows="4" cols="60" maxlength="${MAX_APPROVAL_COMMENT}"></textarea></label></p>
<p><button name="decision" value="approve">Approve</button> <button name="decision" value="reject">Reject</button></p>
</form>`;
  return page(
    `Approval requested: ${approval.automation}`,
    `${status}<div style="white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: 1em">${escapeHtml(text)}</div>
<p>You decide as ${escapeHtml(view.approver)}; the request expires at ${escapeHtml(approval.expiresAt)}.</p>
${form}`,
  );
}

export const approvalRoutes: FastifyPluginAsyncZod<{ engine: Engine }> = async (app, { engine }) => {
  const { approvals } = engine;

  app.get(
    '/v1/approvals',
    {
      schema: {
        querystring: z.object({ state: z.enum(APPROVAL_STATES).optional(), limit: z.coerce.number().int().min(1).max(500).optional() }),
      },
    },
    async (request) => ({ approvals: await approvals.list(request.query) }),
  );

  app.get('/v1/approvals/:id', { schema: { params: idParams } }, async (request) => approvals.get(request.params.id));

  app.post('/v1/approvals/:id/decision', { schema: { params: idParams, body: decisionBody } }, async (request) => {
    const { decision, comment: text } = request.body;
    const answer = await approvals.decideWithToken(request.params.id, request.token as TokenInfo, verdict(decision), text || undefined);
    return { approvalId: request.params.id, decision: verdict(decision), state: answer.state };
  });

  // The decision page: an HTML form posts form-encoded fields; everything else about it is a page, errors too.
  await app.register(async (pages) => {
    pages.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const typed = pages.withTypeProvider<ZodTypeProvider>();
    const showing = async (token: string) => {
      try {
        return await approvals.viewLink(token);
      } catch (error) {
        if (error instanceof IdflowError) return error;
        throw error;
      }
    };

    typed.get(
      '/approvals/:token',
      { schema: { description: "An approver's decision page: the signed link is the credential.", params: linkParams, security: [] } },
      async (request, reply) => {
        const view = await showing(request.params.token);
        reply.type('text/html; charset=utf-8');
        if (view instanceof IdflowError) return reply.status(view.status).send(page('Approval', `<p>${escapeHtml(view.message)}</p>`));
        return reply.status(view.status === 'open' ? 200 : 409).send(requestPage(view));
      },
    );

    typed.post(
      '/approvals/:token',
      {
        schema: {
          description: 'Decides as the approver the signed link names: form fields decision (approve or reject) and comment.',
          params: linkParams,
          security: [],
        },
      },
      async (request, reply) => {
        reply.type('text/html; charset=utf-8');
        // The link before the body: a request without a valid link learns nothing about the form.
        const view = await showing(request.params.token);
        if (view instanceof IdflowError) return reply.status(view.status).send(page('Approval', `<p>${escapeHtml(view.message)}</p>`));
        const fields = formBody.safeParse(request.body ?? {});
        if (!fields.success) {
          const problem = fields.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
          return reply.status(400).send(requestPage(view, problem));
        }
        const { decision, comment: text } = fields.data;
        try {
          const answer = await approvals.decideWithLink(request.params.token, verdict(decision), text || undefined);
          return reply.send(
            page(`You ${verdict(decision)} the request`, `<p>Thank you. The request is now ${escapeHtml(answer.state)}.</p>`),
          );
        } catch (error) {
          if (!(error instanceof IdflowError)) throw error;
          const after = await showing(request.params.token);
          return reply
            .status(error.status)
            .send(
              after instanceof IdflowError ? page('Approval', `<p>${escapeHtml(error.message)}</p>`) : requestPage(after, error.message),
            );
        }
      },
    );
  });

  // Slack signs the raw body: kept as bytes and checked before anything is parsed.
  await app.register(async (receiver) => {
    receiver.removeAllContentTypeParsers();
    receiver.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    receiver.withTypeProvider<ZodTypeProvider>().post(
      '/v1/slack/interactions',
      {
        schema: {
          description:
            "Slack's interactivity requests (Approve/Reject buttons): no bearer token, Slack's request signature instead (SLACK_SIGNING_SECRET).",
          security: [],
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return { response_type: 'ephemeral', replace_original: false, text: await approvals.decideWithSlack(body, request.headers) };
      },
    );
  });
};
