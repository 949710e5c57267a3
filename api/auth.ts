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
    const token = await store.tokens.verify(match[1]);
    if (!token) throw new ApiError(401, 'UNAUTHORIZED', 'invalid token');
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
