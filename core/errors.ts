/**
 * One error base for what idflow refuses: a code from one list, and each code's one HTTP status.
 * The engine, the directory and the API throw these; the API turns any of them into
 * `{ error: { code, message, details? } }` with the status below, and nothing maps codes again.
 * (Errors of a kind of their own — CEL's, a step's Temporal failure types, the sandbox's — carry
 * their own codes and are turned into one of these where they reach a caller.)
 */
export const ERROR_STATUS = {
  VALIDATION: 400,
  INVALID: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  /** A write authenticated by the console's session cookie without the session's X-CSRF-Token header (api/session.ts). */
  CSRF: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  DISABLED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  /** Definition files with errors, each at its file:line:column (in `details`): nothing was done with them. */
  INVALID_DEFINITIONS: 422,
  /** An event source's mapping could not use a signed request (a CEL or data error): the body is kept for a replay. */
  MAPPING_FAILED: 422,
  INTERNAL: 500,
  /** An app idflow acts on refused the request or answered with something idflow cannot use. */
  BAD_GATEWAY: 502,
  /** Something idflow depends on (Temporal) failed for now: sending the same request again may succeed. */
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class IdflowError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly status: number;

  constructor(
    readonly code: Code,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
    this.status = ERROR_STATUS[code];
  }
}
