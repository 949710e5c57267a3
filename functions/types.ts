/**
 * The public shapes of the functions sandbox: what a caller hands `runFunction`, what comes
 * back, and the host-side directory a function may read through `ctx.directory`.
 *
 * Everything that crosses into a function is JSON; nothing here is ever handed to user code as
 * an object (see functions/sandbox/child.ts for how values cross the boundary).
 */
import type { JsonValue } from '../core/json.js';
import type { FunctionDirectory as AuthorDirectory } from './sdk.js';

/** Every way a run can fail. The first eight are the documented contract of `idflow function run`. */
export const FUNCTION_ERROR_CODES = [
  'TIMEOUT',
  'MEMORY_LIMIT',
  'NETWORK_DENIED',
  'COMPILE_ERROR',
  'RUNTIME_ERROR',
  'OUTPUT_NOT_JSON',
  'OUTPUT_TOO_LARGE',
  /** The function threw an error with `retryable: true` (an API answered 503, say): worth a retry. */
  'RETRYABLE_ERROR',
  /** The request itself was unusable (input not JSON, a limit out of range): the caller's bug. */
  'INVALID_REQUEST',
  /** The sandbox process failed for a reason that is not the function's: worth a retry. */
  'SANDBOX_FAILURE',
] as const;
export type FunctionErrorCode = (typeof FUNCTION_ERROR_CODES)[number];

export interface FunctionError {
  code: FunctionErrorCode;
  /** Sanitized: no stack, no host paths, secret values replaced by `[REDACTED]`. */
  message: string;
}

/** One run's result; `output` is present exactly when `ok` is true. */
export interface FunctionRunResult {
  ok: boolean;
  output?: JsonValue;
  error?: FunctionError;
  /** `ctx.log` and `console.*` lines, network denials, truncation notices; secrets redacted. */
  logs: string[];
  /** From handing the call to a sandbox process to its result (queueing for a free process excluded). */
  durationMs: number;
}

/** A function bundled by `compileFunction`: one self-contained script, keyed by its content hash. */
export interface CompiledFunction {
  /** CommonJS-shaped JavaScript, wrapped by the runtime; no `require` or `import` left in it. */
  code: string;
  /** sha256 of `code`, hex: a sandbox process only ever runs the code of one hash. */
  hash: string;
  /** The `npm:` packages bundled in, e.g. ["date-fns"]. */
  packages: string[];
}

/** The methods of `ctx.directory`, declared once, for authors, in sdk.d.ts. */
export type DirectoryMethod = keyof AuthorDirectory;

/**
 * Read access to the identity directory, implemented by the host (the directory store): each
 * method of sdk.d.ts's FunctionDirectory, with its one argument as it crosses the bridge, as text
 * (listUsers's filter as JSON text). Results are serialized before they reach the function, so
 * an implementation may return its own objects. Names follow the reference API (FindByEmail, ...).
 */
export type FunctionDirectory = { [Method in DirectoryMethod]: (argument: string) => Promise<JsonValue> };

/** Every method, each once: a method added to or removed from sdk.d.ts is a type error here. */
const EVERY_DIRECTORY_METHOD: Record<DirectoryMethod, true> = {
  findByEmail: true,
  getById: true,
  getManagers: true,
  directReports: true,
  getEntitlementMembers: true,
  listAppUsersForUser: true,
  findByUsername: true,
  listUsers: true,
};
export const DIRECTORY_METHODS = Object.keys(EVERY_DIRECTORY_METHOD) as readonly DirectoryMethod[];

/** Caps on what one run may produce or consume besides time and memory. */
export interface FunctionLimits {
  /** Bytes of the output as JSON text (UTF-8). */
  maxOutputBytes: number;
  /** Deepest nesting of arrays/objects in the output. */
  maxOutputDepth: number;
  maxLogLines: number;
  /** A longer line is cut and marked. */
  maxLogLineBytes: number;
  /** All log lines together. */
  maxLogBytes: number;
  /** `ctx.fetch` calls per run (each redirect hop counts). */
  maxRequests: number;
  maxRequestBodyBytes: number;
  maxResponseBytes: number;
  /** One request, all its redirect hops included; never beyond the run's own deadline. */
  requestTimeoutMs: number;
  maxRedirects: number;
  /** `ctx.directory` calls per run. */
  maxDirectoryCalls: number;
  /** Timers pending at once (`setTimeout`). */
  maxTimers: number;
}

export const DEFAULT_LIMITS: FunctionLimits = {
  maxOutputBytes: 1024 * 1024,
  maxOutputDepth: 64,
  maxLogLines: 1000,
  maxLogLineBytes: 8 * 1024,
  maxLogBytes: 128 * 1024,
  maxRequests: 50,
  maxRequestBodyBytes: 1024 * 1024,
  maxResponseBytes: 5 * 1024 * 1024,
  requestTimeoutMs: 10_000,
  maxRedirects: 5,
  maxDirectoryCalls: 500,
  maxTimers: 100,
};

export const DEFAULT_TIMEOUT_MS = 5_000;
export const MAX_TIMEOUT_MS = 15 * 60_000;
export const DEFAULT_MEMORY_MB = 128;
export const MIN_MEMORY_MB = 32;
export const MAX_MEMORY_MB = 4096;

/** A canned answer to one request, for test cases: matched by method (default GET) and exact URL. */
export interface FetchStub {
  method?: string;
  url: string;
  status?: number;
  headers?: Record<string, string>;
  /** Text as is; anything else is sent as JSON. */
  body?: JsonValue;
}

/** One call. Give `source` (compiled here, cached by content) or an already `compiled` function. */
export interface FunctionRunRequest {
  source?: string;
  /** Names the source in compile errors, e.g. "username.ts". */
  filename?: string;
  compiled?: CompiledFunction;
  input: JsonValue;
  /** Hosts `ctx.fetch` may reach: exact names, `*.example.com` (subdomains only), optionally `:port`. */
  allowHosts?: string[];
  /**
   * Operator-level, never a function author's: internal CIDRs `ctx.fetch` may reach although
   * private, e.g. ['127.0.0.0/8'] in tests or an on-prem HR system's range.
   */
  allowPrivateNetworks?: string[];
  timeoutMs?: number;
  memoryMb?: number;
  /** This call's secrets, for `ctx.getConfig`; their values are redacted from everything returned. */
  secrets?: Record<string, string>;
  /** `ctx.trigger`: the automation context when called from a step. */
  trigger?: JsonValue;
  /**
   * `ctx.idempotencyKey`: a step gives the same key on every retry of the same step of the same
   * run; without one (a run by hand, a test case) each call gets a fresh UUID.
   */
  idempotencyKey?: string;
  directory?: FunctionDirectory;
  limits?: Partial<FunctionLimits>;
  /** Test mode: ctx.fetch answers from these instead of the network (the allowlist still applies). */
  fetchStubs?: FetchStub[];
}
