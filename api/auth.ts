/**
 * Bearer tokens with scopes; `admin` implies every scope. Checked in onRequest, before a body is
 * read, parsed or validated: a request without a valid token learns nothing about the schema.
 * Where a bearer token is accepted, so is the web console's session cookie (api/session.ts),
 * which stands for its token's current scopes.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { LoadedDocument } from '../definitions/load.js';
import type { ConsoleCredential, ConsoleSession, Scope, Store, TokenInfo } from '../store/types.js';
import { ApiError } from './errors.js';
import { documentScopes, functionOutputReach, ROUTE_ACCESS, type RouteAccess, type StoredAutomation } from './scopes.js';
import { sessionIdOf, SESSION_COOKIE, tokenRefusalMessage, verifiedSession } from './session.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token; its name is the actor in audit entries. */
    token?: TokenInfo;
    /** What proved it: the bearer token, or a console session (then `session` is set too). */
    credential?: ConsoleCredential;
    session?: ConsoleSession;
  }
}

/** The ROUTE_ACCESS key of a route: HEAD routes are the GET routes' twins. */
export function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

function hasScope(token: TokenInfo, scope: Scope): boolean {
  return token.scopes.includes('admin') || token.scopes.includes(scope);
}

const quoted = (scopes: readonly Scope[]) => scopes.map((scope) => `"${scope}"`).join(', ');

async function verifiedToken(store: Store, header: string | undefined): Promise<{ token: TokenInfo; bearer: string }> {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match) throw new ApiError('UNAUTHORIZED', 'missing bearer token: send Authorization: Bearer <token>');
  const verdict = await store.tokens.verify(match[1]);
  if (!verdict.valid) throw new ApiError('UNAUTHORIZED', tokenRefusalMessage(verdict));
  return { token: verdict.token, bearer: match[1] };
}

/** What a token lacks for a route's scopes ("the scope …"), or undefined when it has them. */
export function accessRefusal(token: TokenInfo, access: readonly Scope[] | { readonly allOf: readonly Scope[] }): string | undefined {
  if ('allOf' in access) {
    const missing = access.allOf.filter((scope) => !hasScope(token, scope));
    return missing.length === 0 ? undefined : `the scope ${quoted(missing)} (this route needs ${quoted(access.allOf)}, all of them)`;
  }
  if (access.some((scope) => hasScope(token, scope))) return undefined;
  return `the scope ${access.length === 1 ? quoted(access) : `(any one of) ${quoted(access)}`}`;
}

/** Authenticates every request to a route whose access names scopes; a request that matched no route falls through to the 404 handler. */
export function authenticate(store: Store): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const { url } = request.routeOptions;
    if (url === undefined) return;
    const access: RouteAccess | undefined = ROUTE_ACCESS[routeKey(request.method, url)];
    // The server refuses to start with an undeclared route; should one slip through, refuse rather than serve it.
    if (access === undefined) throw new Error(`api: ${request.method} ${url} declares no access`);
    // 'signature': the route checks the request's signature itself, once its body is read.
    if (access === 'public' || access === 'loopback' || access === 'signature') return;
    // A bearer token wins over the cookie: a browser sends the cookie with any request, a header only when a script set it.
    const sessionId = request.headers.authorization === undefined ? sessionIdOf(request) : undefined;
    let token: TokenInfo;
    if (sessionId !== undefined) {
      request.session = await verifiedSession(store, request, reply, sessionId);
      request.credential = { sessionId };
      token = request.session.token;
    } else {
      if (access === 'session')
        throw new ApiError(
          'UNAUTHORIZED',
          `no console session: this route takes the ${SESSION_COOKIE} cookie of a sign-in, not a bearer token`,
        );
      const verified = await verifiedToken(store, request.headers.authorization);
      request.credential = { token: verified.bearer };
      token = verified.token;
    }
    const refusal = access === 'session' || access === 'authenticated' ? undefined : accessRefusal(token, access);
    if (refusal !== undefined) throw new ApiError('FORBIDDEN', `token "${token.name}" lacks ${refusal}`);
    request.token = token;
  };
}

/** Who asks for a plan: planSafe functions run in it only for a token that may run functions, webhooks' URLs show whole to one that may read them. */
export function planAsker(request: FastifyRequest): { actor: string; runFunctions: boolean; webhookUrls: boolean } {
  return {
    actor: actorOf(request),
    runFunctions: holdsScope(request, 'functions:run'),
    webhookUrls: holdsScope(request, 'definitions:read'),
  };
}

/** Whether the request's token holds `scope`. */
export function holdsScope(request: FastifyRequest, scope: Scope): boolean {
  return request.token !== undefined && hasScope(request.token, scope);
}

/** Refuses (403) unless the request's token holds every scope in `scopes`; `what` names what needs them. */
export function requireScopes(request: FastifyRequest, scopes: readonly Scope[], what: string): void {
  const token = request.token as TokenInfo;
  const missing = scopes.filter((scope) => !hasScope(token, scope));
  if (missing.length > 0) throw new ApiError('FORBIDDEN', `${what} needs the scope ${quoted(missing)}, which token "${token.name}" lacks`);
}

/**
 * Refuses (403) a whole apply when the token lacks a scope any one document needs, naming each
 * such document (file:line, kind/name) and the scopes it lacks.
 */
export function authorizeDocuments(
  request: FastifyRequest,
  stored: StoredAutomation[],
  connectorWebhooks: readonly string[] = [],
): (documents: LoadedDocument[]) => void {
  const token = request.token as TokenInfo;
  const reach = functionOutputReach(stored, connectorWebhooks);
  return (documents) => {
    const refused = documents.flatMap((document) => {
      const missing = documentScopes(document, reach).filter((scope) => !hasScope(token, scope));
      const label = document.kind === 'Directory' ? 'Directory' : `${document.kind}/${document.name}`;
      return missing.length === 0 ? [] : [{ file: document.file, line: document.line, document: label, missing }];
    });
    if (refused.length === 0) return;
    const reasons = refused.map((r) => `${r.file}:${r.line}: ${r.document} needs ${quoted(r.missing)}`);
    throw new ApiError(
      'FORBIDDEN',
      `token "${token.name}" may not apply this file set (nothing was applied): ${reasons.join('; ')}`,
      refused,
    );
  };
}

/** The audit actor of an authenticated request. */
export function actorOf(request: FastifyRequest): string {
  return request.token?.name ?? 'anonymous';
}
