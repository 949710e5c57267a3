/**
 * Every API error is JSON: { error: { code, message, details? } }, never a stack trace, and each
 * code has one HTTP status (core/errors.ts), whether the error came from a route, the engine or Fastify.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ERROR_STATUS, IdflowError, type ErrorCode } from '../core/errors.js';

/** An error the API itself raises (auth, content types, its own checks). */
export class ApiError extends IdflowError {}

/** Fastify's own errors (routing, content types, body parsing) by status; any other 4xx is INVALID. */
const FRAMEWORK_CODES: Partial<Record<number, ErrorCode>> = { 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };
const FRAMEWORK_MESSAGES: Partial<Record<ErrorCode, string>> = {
  PAYLOAD_TOO_LARGE: 'the request body is larger than the API accepts',
  UNSUPPORTED_MEDIA_TYPE: "the body's content-type is not one the API reads: send application/json",
};

export function errorBody(
  code: ErrorCode,
  message: string,
  details?: unknown,
): { error: { code: ErrorCode; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

function send(reply: FastifyReply, code: ErrorCode, message: string, details?: unknown): void {
  void reply.status(ERROR_STATUS[code]).send(errorBody(code, message, details));
}

export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof IdflowError) return send(reply, error.code, error.message, error.details);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((issue) => ({
      path: `${error.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}`,
      message: issue.message,
    }));
    return send(reply, 'VALIDATION', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = FRAMEWORK_CODES[status] ?? 'INVALID';
    return send(reply, code, FRAMEWORK_MESSAGES[code] ?? error.message);
  }
  request.log.error({ err: error }, 'request failed');
  send(reply, 'INTERNAL', 'internal error: see the API log');
}
