/**
 * The web console's sign-in: a session from an API token (POST /v1/console/sessions) or from a
 * one-time link (GET /console/signin/:link), the session itself (GET, and DELETE to sign out),
 * and links for the caller's own token (never more than the caller holds). The session is an
 * HttpOnly cookie (api/session.ts); its CSRF token is in the answers, for the console to send.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../../core/duration.js';
import type { Engine } from '../../engine/types.js';
import { escapeHtml } from '../../steps/send_email.js';
import type { ConsoleCredential, ConsoleSession, LinkRedemption, OpenedSession } from '../../store/types.js';
import { actorOf } from '../auth.js';
import { CONSOLE_SECURITY_HEADERS } from '../console-files.js';
import { ApiError } from '../errors.js';
import { clearSessionCookie, setSessionCookie, tokenRefusalMessage } from '../session.js';

export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;
export const DEFAULT_LINK_TTL_MS = 15 * 60_000;
const MAX_LINK_TTL_MS = 24 * 3_600_000;
/** idflow's tokens are 47 characters and links 43: anything far longer is neither. */
const MAX_TOKEN_LENGTH = 200;
const MAX_LINK_LENGTH = 100;

export interface ConsoleRouteOptions {
  engine: Engine;
  /** How long a sign-in lasts (IDFLOW_CONSOLE_SESSION_TTL); DEFAULT_SESSION_TTL_MS when absent. */
  sessionTtlMs?: number;
  /** Where browsers reach this API (IDFLOW_PUBLIC_URL), for the links; else the request's own origin. */
  publicUrl?: string;
}

const signInBody = z
  .object({ token: z.string().min(1).max(MAX_TOKEN_LENGTH, `at most ${MAX_TOKEN_LENGTH} characters: not an idflow token`) })
  .strict();
const linkTtl = z
  .string()
  .max(32)
  .refine(
    (text) => {
      const ms = parseDuration(text);
      return ms !== undefined && ms > 0 && ms <= MAX_LINK_TTL_MS;
    },
    { message: `expected a duration up to ${formatDuration(MAX_LINK_TTL_MS)}, such as "15m" or "2h"` },
  );
const linkBody = z.object({ expiresIn: linkTtl.optional() }).strict().default({});
const linkParams = z.object({ link: z.string().min(1).max(MAX_LINK_LENGTH) });
const sessionAnswer = z.object({ name: z.string(), scopes: z.array(z.string()), csrfToken: z.string(), expiresAt: z.string() });

const answer = (session: ConsoleSession): z.infer<typeof sessionAnswer> => ({
  name: session.token.name,
  scopes: session.token.scopes,
  csrfToken: session.csrfToken,
  expiresAt: session.expiresAt,
});

/** A sign-in page's answer when the link cannot sign anyone in. */
function refusalPage(refusal: Exclude<LinkRedemption, { valid: true }>): { status: number; text: string } {
  const newLink = 'Ask for a new link: idflow console link (or sign in with an API token).';
  if (refusal.reason === 'used') return { status: 410, text: `This sign-in link was used at ${refusal.at}. ${newLink}` };
  if (refusal.reason === 'link-expired') return { status: 410, text: `This sign-in link expired at ${refusal.at}. ${newLink}` };
  if (refusal.reason === 'unknown') return { status: 401, text: `This sign-in link is not one idflow made. ${newLink}` };
  return { status: 401, text: `This sign-in link's ${tokenRefusalMessage(refusal)}.` };
}

function page(title: string, text: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p><p><a href="/">Open the console</a></p></body></html>
`;
}

export const consoleRoutes: FastifyPluginAsyncZod<ConsoleRouteOptions> = async (app, options) => {
  const { store } = options.engine;
  const sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;

  async function signedIn(request: FastifyRequest, reply: FastifyReply, session: OpenedSession, via: 'token' | 'link'): Promise<void> {
    setSessionCookie(request, reply, session);
    await store.audit.record({
      actor: session.token.name,
      action: 'console.signin',
      target: `token:${session.token.name}`,
      details: { via, expiresAt: session.expiresAt },
    });
  }

  app.post(
    '/v1/console/sessions',
    {
      schema: {
        description: 'Signs in to the web console with an API token: the session cookie (HttpOnly, SameSite=Strict) and its CSRF token.',
        body: signInBody,
        response: { 201: sessionAnswer },
        security: [],
      },
    },
    async (request, reply) => {
      const signIn = await store.consoleSessions.open(request.body.token, sessionTtlMs);
      if (!signIn.valid) throw new ApiError('UNAUTHORIZED', tokenRefusalMessage(signIn));
      await signedIn(request, reply, signIn.session, 'token');
      return reply.status(201).send(answer(signIn.session));
    },
  );

  app.get(
    '/v1/console/session',
    {
      schema: {
        description: "The console session of the request's cookie: who, which scopes, its CSRF token.",
        response: { 200: sessionAnswer },
      },
    },
    async (request) => answer(request.session as ConsoleSession),
  );

  app.delete(
    '/v1/console/session',
    { schema: { description: 'Signs out: ends the session and clears its cookie (X-CSRF-Token needed, as for every cookie write).' } },
    async (request, reply) => {
      await store.consoleSessions.close((request.credential as { sessionId: string }).sessionId);
      clearSessionCookie(request, reply);
      await store.audit.record({ actor: actorOf(request), action: 'console.signout', target: `token:${actorOf(request)}`, details: null });
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/console/links',
    {
      schema: {
        description: "A one-time sign-in link for the caller's own token (expiresIn: default 15m, at most 24h).",
        body: linkBody,
        response: { 201: z.object({ url: z.string(), expiresAt: z.string() }) },
      },
    },
    async (request, reply) => {
      const ttlMs = request.body.expiresIn === undefined ? DEFAULT_LINK_TTL_MS : (parseDuration(request.body.expiresIn) as number);
      const created = await store.consoleSessions.createLink(request.credential as ConsoleCredential, ttlMs);
      if (created === undefined) throw new ApiError('UNAUTHORIZED', 'the console session ended: sign in again');
      await store.audit.record({
        actor: actorOf(request),
        action: 'console.link.create',
        target: `token:${actorOf(request)}`,
        details: { expiresAt: created.expiresAt },
      });
      const base = (options.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
      return reply.status(201).send({ url: `${base}/console/signin/${created.link}`, expiresAt: created.expiresAt });
    },
  );

  app.get(
    '/console/signin/:link',
    {
      schema: {
        description:
          'Signs in with a one-time link (idflow console link): 303 to the console with the session cookie; 401 or 410 (HTML) when the link cannot.',
        params: linkParams,
        security: [],
      },
    },
    async (request, reply) => {
      void reply.headers({ ...CONSOLE_SECURITY_HEADERS, 'cache-control': 'no-store' });
      const redeemed = await store.consoleSessions.redeemLink(request.params.link, sessionTtlMs);
      if (!redeemed.valid) {
        const refusal = refusalPage(redeemed);
        return reply.status(refusal.status).type('text/html; charset=utf-8').send(page('Sign-in link refused', refusal.text));
      }
      await signedIn(request, reply, redeemed.session, 'link');
      return reply.redirect('/', 303);
    },
  );
};
