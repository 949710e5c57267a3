/**
 * The web console's session cookie: reading it, setting and clearing it, and authenticating a
 * request by it. A request the cookie authenticates must send the session's CSRF token in
 * X-CSRF-Token on every write: the cookie rides along with any request the browser makes, the
 * header only with the console's own (another site's page cannot read the token).
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleSession, SessionVerdict, Store, TokenRefusal } from '../store/types.js';
import { ApiError } from './errors.js';

export const SESSION_COOKIE = 'idflow_session';
export const CSRF_HEADER = 'x-csrf-token';
/** The store's ids are 43 characters: a longer cookie is no session's, and is not looked up. */
const MAX_SESSION_ID_LENGTH = 100;

/** The session id in the request's cookie, if it carries one. */
export function sessionIdOf(request: FastifyRequest): string | undefined {
  for (const pair of (request.headers.cookie ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== SESSION_COOKIE) continue;
    const value = pair.slice(equals + 1).trim();
    return value === '' ? undefined : value;
  }
  return undefined;
}

/** Whether the browser came over https, to the API or to a proxy that says so: the cookie is then Secure (it can only get stricter). */
function overHttps(request: FastifyRequest): boolean {
  const forwarded = request.headers['x-forwarded-proto'];
  return request.protocol === 'https' || (typeof forwarded === 'string' && forwarded.split(',')[0].trim() === 'https');
}

function cookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${overHttps(request) ? '; Secure' : ''}`;
}

/** Sets the cookie of a session just opened; the browser drops it when the session ends. */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, session: { id: string; expiresAt: string }): void {
  const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
  void reply.header('set-cookie', cookie(request, session.id, maxAge));
}

export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('set-cookie', cookie(request, '', 0));
}

/** Why a token was refused, as a 401 says it. */
export function tokenRefusalMessage(verdict: TokenRefusal): string {
  if (verdict.reason === 'unknown') return 'invalid token';
  return `token "${verdict.name}" was ${verdict.reason} at ${verdict.at}: ask for a new one (idflow tokens create)`;
}

function sessionRefusalMessage(verdict: Exclude<SessionVerdict, { valid: true }>): string {
  if (verdict.reason === 'unknown') return 'no console session with this cookie (signed out, or never signed in): sign in again';
  if (verdict.reason === 'session-expired') return `the console session expired at ${verdict.at}: sign in again`;
  return `the console session ended: ${tokenRefusalMessage(verdict)}`;
}

/** Compares in constant time: how much of a guess matched must not show in how long the answer takes. */
function sameSecret(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The session a request's cookie names, with its token's current scopes: 401 (and the cookie
 * cleared) when it ended, 403 `CSRF` for a write without the session's X-CSRF-Token.
 */
export async function verifiedSession(
  store: Store,
  request: FastifyRequest,
  reply: FastifyReply,
  sessionId: string,
): Promise<ConsoleSession> {
  const verdict: SessionVerdict =
    sessionId.length > MAX_SESSION_ID_LENGTH ? { valid: false, reason: 'unknown' } : await store.consoleSessions.resolve(sessionId);
  if (!verdict.valid) {
    clearSessionCookie(request, reply);
    throw new ApiError('UNAUTHORIZED', sessionRefusalMessage(verdict));
  }
  if (request.method !== 'GET' && request.method !== 'HEAD' && !sameSecret(request.headers[CSRF_HEADER], verdict.session.csrfToken))
    throw new ApiError(
      'CSRF',
      `a write with the console's session cookie must send the session's csrfToken in the ${CSRF_HEADER} header (GET /v1/console/session has it)`,
    );
  return verdict.session;
}
