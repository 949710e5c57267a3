/** Bearer tokens with scopes; `admin` implies every scope. */
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Scope, Store, TokenInfo } from '../store/types.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token; its name is the actor in audit entries. */
    token?: TokenInfo;
  }
}

export function requireScope(store: Store, scope: Scope): preHandlerAsyncHookHandler {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new ApiError(401, 'UNAUTHORIZED', 'missing bearer token: send Authorization: Bearer <token>');
    const verdict = await store.tokens.verify(match[1]);
    if (!verdict.valid) {
      throw new ApiError(401, 'UNAUTHORIZED', verdict.reason === 'unknown' ? 'invalid token' : `token "${verdict.name}" was ${verdict.reason} at ${verdict.at}: ask for a new one (idflow tokens create)`);
    }
    const { token } = verdict;
    if (!token.scopes.includes('admin') && !token.scopes.includes(scope)) {
      throw new ApiError(403, 'FORBIDDEN', `token "${token.name}" lacks the scope "${scope}"`);
    }
    request.token = token;
  };
}

/** The audit actor of an authenticated request. */
export function actorOf(request: FastifyRequest): string {
  return request.token?.name ?? 'anonymous';
}
