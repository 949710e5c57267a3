/**
 * Types for function authors. A function is one TypeScript file:
 *
 *   import { format } from 'npm:date-fns';
 *   export default async function (input: { email: string }, ctx: FunctionContext) {
 *     const user = await ctx.directory.findByEmail(input.email);
 *     ctx.log('found', user);
 *     return { day: format(new Date(), 'yyyy-MM-dd') };
 *   }
 *
 * Imports: only `npm:date-fns` (and subpaths such as `npm:date-fns/format`); nothing from Node.
 * Globals: the JavaScript built-ins, `console`, `setTimeout`/`clearTimeout`, `queueMicrotask`,
 * `btoa`/`atob`, `TextEncoder`/`TextDecoder` (UTF-8), `URL` and `URLSearchParams` (the WHATWG URL
 * Standard), declared in sandbox-globals.d.ts.
 * No `process`, `require`, `Buffer`, `eval`/`new Function`, `WebAssembly`, dynamic `import()`.
 *
 * The return value must be JSON: `undefined` (at the top), functions, symbols, BigInt, NaN,
 * Infinity and cycles fail the run with OUTPUT_NOT_JSON; otherwise JSON.stringify's rules apply
 * (an object property holding undefined is left out, a Date becomes its ISO string).
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Which users `ctx.directory.listUsers` returns. */
export interface UserFilter {
  status?: 'ENABLED' | 'DISABLED' | 'DELETED';
  department?: string;
  managerId?: string;
  /** 1 to 500 (the default). */
  limit?: number;
}

/**
 * Plain data from the identity directory; each call counts against maxDirectoryCalls. The one
 * declaration of ctx.directory: the host's side (functions/types.ts) is derived from it.
 */
export interface FunctionDirectory {
  findByEmail(email: string): Promise<JsonValue>;
  getById(id: string): Promise<JsonValue>;
  getManagers(userId: string): Promise<JsonValue>;
  directReports(userId: string): Promise<JsonValue>;
  getEntitlementMembers(entitlement: string): Promise<JsonValue>;
  listAppUsersForUser(userId: string): Promise<JsonValue>;
  /** The user whose username, or whose account in any app, is `username`; null when it is free. */
  findByUsername(username: string): Promise<JsonValue>;
  /** Users in id order. */
  listUsers(filter?: UserFilter): Promise<JsonValue>;
}

export interface FetchInit {
  method?: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  headers?: Record<string, string> | [string, string][];
  /** Text only: send JSON with `JSON.stringify(value)`. */
  body?: string;
}

export interface FetchResponse {
  readonly url: string;
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly redirected: boolean;
  readonly headers: {
    get(name: string): string | null;
    has(name: string): boolean;
    entries(): IterableIterator<[string, string]>;
    forEach(callback: (value: string, name: string) => void): void;
    [Symbol.iterator](): IterableIterator<[string, string]>;
  };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

/** The error `ctx.fetch` and `ctx.directory` reject with; `name` is e.g. "NETWORK_DENIED" or "NETWORK_ERROR". */
export interface FunctionCallError extends Error {
  name: string;
}

export interface FunctionContext {
  /**
   * HTTP(S) to the function's allowed hosts only; internal addresses are refused
   * (NETWORK_DENIED), redirects are followed and checked hop by hop. A `URL` is taken as its href.
   */
  fetch(url: string | URL, init?: FetchInit): Promise<FetchResponse>;
  /**
   * A secret or setting of this call; undefined when there is none. Its value is redacted from
   * logs, output and errors. A connector action's function also has its app's token as "app.token".
   */
  getConfig(key: string): string | undefined;
  /** Same as console.log: one captured line, arguments joined by spaces, objects as JSON. */
  log(...args: unknown[]): void;
  directory: FunctionDirectory;
  /** The automation context when the function runs from a step (null otherwise). */
  trigger: JsonValue;
  /**
   * The same on every retry of the same step of the same run, different for another step or run
   * (a fresh one for a run by hand or a test case): a UUID, for an API's Idempotency-Key header or
   * a request id, so that a retried call does not act twice. A step retries the function when it
   * throws an error with `retryable: true`, e.g.
   * `throw Object.assign(new Error('the API answered 503'), { retryable: true })`.
   */
  idempotencyKey: string;
}

export type FunctionHandler<I = JsonValue, O = JsonValue> = (input: I, ctx: FunctionContext) => O | Promise<O>;
