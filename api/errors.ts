/** Every API error is JSON: { error: { code, message, details? } }, never a stack trace. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { EngineError } from '../engine/types.js';

export type ApiErrorCode =
  | 'NOT_FOUND'
  | 'INVALID'
  | 'CONFLICT'
  | 'DISABLED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'VALIDATION'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const ENGINE_STATUS: Record<EngineError['code'], number> = { NOT_FOUND: 404, INVALID: 400, CONFLICT: 409, DISABLED: 409, PAYLOAD_TOO_LARGE: 413 };

export function errorBody(code: ApiErrorCode, message: string, details?: unknown): { error: { code: ApiErrorCode; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    void reply.status(error.status).send(errorBody(error.code, error.message, error.details));
    return;
  }
  if (error instanceof EngineError) {
    void reply.status(ENGINE_STATUS[error.code]).send(errorBody(error.code, error.message));
    return;
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => ({ path: `${error.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}`, message: issue.message }));
    void reply.status(400).send(errorBody('VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues));
    return;
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) {
    void reply.status(413).send(errorBody('PAYLOAD_TOO_LARGE', 'the request body is larger than the API accepts'));
    return;
  }
  if (status !== undefined && status >= 400 && status < 500) {
    void reply.status(status).send(errorBody('VALIDATION', error.message));
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply.status(500).send(errorBody('INTERNAL', 'internal error: see the API log'));
}
