/**
 * The vm-side half of the bridge. `sandboxPrelude` is never called in the host: child.ts takes
 * its source text and evaluates it INSIDE each fresh context, so every object it makes (ctx,
 * console, errors, promises, responses) belongs to the sandbox's realm. Its one link to the host
 * is `hostCall`, a host function that takes and returns JSON text; it is held in this closure
 * only, and anything it throws is dropped unseen, so no host object ever reaches user code.
 *
 * Because the source is evaluated on its own, this function must not use anything from its
 * module: no imports (types only, which are erased), no module-level names, only the globals
 * of a fresh context.
 */
import type { DirectoryMethod } from '../types.js';

/** The prelude's answer, read by child.ts once, before any user code runs. */
export interface PreludeHandle {
  /** Runs the function: `factory` is the wrapped bundle, `bootJson` {"input","trigger","idempotencyKey","maxOutputChars"}. */
  start(factory: unknown, bootJson: string): void;
  /** Hands host events (JSON text of BridgeEvent[]) in; their callbacks run as microtasks. */
  deliver(eventsJson: string): void;
  /** An Error of the sandbox's realm, e.g. for a refused dynamic import. */
  makeError(code: string, message: string): unknown;
}

/** What deliver() receives. */
export type BridgeEvent =
  { kind: 'timer'; id: number } | { kind: 'reply'; id: number; json?: string; error?: { code: string; message: string } };

export function sandboxPrelude(hostCall: (request: string) => string): PreludeHandle {
  'use strict';
  const G = globalThis as Record<string, unknown>;
  // Captured before user code runs, which may replace any of them.
  const { parse, stringify } = JSON;
  const { freeze, entries, defineProperty, getOwnPropertyDescriptor } = Object;
  const { apply } = Reflect;
  const NativeError = Error;
  const NativeTypeError = TypeError;
  const NativePromise = Promise;
  const promiseThen = Promise.prototype.then;
  const isFiniteNumber = Number.isFinite;
  const isArray = Array.isArray;
  const bridgeErrorCodes = new WeakMap<object, string>();
  const weakGet = WeakMap.prototype.get;
  const weakSet = WeakMap.prototype.set;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;

  // Capabilities a function has no use for, and that run code outside the call's time limit.
  for (const name of ['WebAssembly', 'SharedArrayBuffer', 'Atomics', 'FinalizationRegistry', 'WeakRef']) delete G[name];

  function makeError(code: string, message: string): Error {
    const error = new NativeError(message);
    error.name = code === 'RUNTIME_ERROR' ? 'Error' : code;
    apply(weakSet, bridgeErrorCodes, [error, code]);
    return error;
  }

  interface Reply {
    value?: unknown;
    pending?: number;
    error?: { code: string; message: string };
  }

  /** One synchronous call to the host; a host failure of any kind becomes a fresh sandbox Error. */
  function call(op: string, payload: Record<string, unknown>): Reply {
    let text: string;
    try {
      text = hostCall(stringify({ ...payload, op }));
    } catch {
      throw makeError('SANDBOX_FAILURE', `the sandbox could not complete ${op}`);
    }
    const reply = parse(text) as Reply;
    if (reply.error) throw makeError(reply.error.code, reply.error.message);
    return reply;
  }

  // ---- asynchronous host calls (fetch, directory): settled by deliver() ----
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: unknown) => void; decode: (json: string) => unknown }
  >();

  function callAsync(op: string, payload: Record<string, unknown>, decode: (json: string) => unknown): Promise<unknown> {
    return new NativePromise((resolve, reject) => {
      const id = call(op, payload).pending as number;
      apply(mapSet, pending, [id, { resolve, reject, decode }]);
    });
  }

  // ---- logging ----
  function show(value: unknown): string {
    try {
      if (typeof value === 'string') return value;
      if (value === undefined) return 'undefined';
      if (typeof value === 'function') return '[Function]';
      if (typeof value === 'symbol' || typeof value === 'bigint') return typeof value === 'bigint' ? `${value}n` : value.toString();
      if (value instanceof NativeError) return `${String(value.name)}: ${String(value.message)}`;
      const text = stringify(value);
      return text === undefined ? String(value) : text;
    } catch {
      try {
        return String(value);
      } catch {
        return '[unprintable]';
      }
    }
  }

  function log(level: string, args: unknown[]): void {
    let text = '';
    for (let i = 0; i < args.length; i++) text += (i > 0 ? ' ' : '') + show(args[i]);
    call('log', { text: level === 'log' ? text : `[${level}] ${text}` });
  }

  const logTo = (level: string) =>
    function (...args: unknown[]): void {
      log(level, args);
    };
  G.console = freeze({ log: logTo('log'), info: logTo('log'), debug: logTo('log'), warn: logTo('warn'), error: logTo('error') });

  // ---- URL and URLSearchParams: whatwg-url (url.ts), evaluated into this context at first use ----
  for (const name of ['URL', 'URLSearchParams']) {
    defineProperty(G, name, {
      configurable: true,
      enumerable: false,
      get(): unknown {
        call('installUrl', {});
        // The script replaced both getters with the classes; a getter still here would only recurse.
        if (typeof getOwnPropertyDescriptor(G, name)?.get === 'function') throw makeError('RUNTIME_ERROR', `${name} is not available`);
        return G[name];
      },
      set(value: unknown): void {
        defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
      },
    });
  }

  // ---- timers: host timers, capped and all cleared when the call ends ----
  const timers = new Map<number, () => unknown>();
  let nextTimerId = 1;
  G.setTimeout = function setTimeout(callback: unknown, ms?: unknown, ...args: unknown[]): number {
    if (typeof callback !== 'function') throw new NativeTypeError('setTimeout needs a function');
    const id = nextTimerId++;
    const delay = Number(ms);
    call('setTimeout', { id, ms: isFiniteNumber(delay) && delay > 0 ? delay : 0 });
    apply(mapSet, timers, [id, () => apply(callback, undefined, args)]);
    return id;
  };
  G.clearTimeout = function clearTimeout(id: unknown): void {
    const key = Number(id);
    if (apply(mapDelete, timers, [key])) call('clearTimeout', { id: key });
  };
  G.queueMicrotask = function queueMicrotask(callback: unknown): void {
    if (typeof callback !== 'function') throw new NativeTypeError('queueMicrotask needs a function');
    apply(promiseThen, NativePromise.resolve(), [() => apply(callback, undefined, [])]);
  };

  // ---- ctx.fetch: plain request out, a Response-like object built here ----
  type HeaderPairs = [string, string][];
  function headerPairs(headers: unknown): HeaderPairs {
    const pairs: HeaderPairs = [];
    if (headers === undefined || headers === null) return pairs;
    const source = isArray(headers)
      ? headers
      : typeof (headers as { entries?: unknown }).entries === 'function'
        ? [...(headers as { entries(): Iterable<unknown> }).entries()]
        : entries(headers as object);
    for (const pair of source as unknown[]) {
      if (!isArray(pair) || pair.length !== 2)
        throw new NativeTypeError('ctx.fetch headers must be an object or a list of [name, value] pairs');
      pairs.push([String(pair[0]), String(pair[1])]);
    }
    return pairs;
  }

  function responseOf(json: string): unknown {
    const plain = parse(json) as {
      url: string;
      status: number;
      statusText: string;
      headers: HeaderPairs;
      body: string;
      redirected: boolean;
    };
    const list: HeaderPairs = plain.headers.map(([name, value]) => [name.toLowerCase(), value]);
    const headers = freeze({
      get(name: unknown): string | null {
        const wanted = String(name).toLowerCase();
        const values = list.filter(([key]) => key === wanted).map(([, value]) => value);
        return values.length > 0 ? values.join(', ') : null;
      },
      has: (name: unknown): boolean => list.some(([key]) => key === String(name).toLowerCase()),
      entries: () => list.map(([key, value]) => [key, value])[Symbol.iterator](),
      forEach(callback: (value: string, key: string) => void): void {
        for (const [key, value] of list) callback(value, key);
      },
      [Symbol.iterator]: () => list.map(([key, value]) => [key, value])[Symbol.iterator](),
    });
    const body = plain.body;
    return freeze({
      url: plain.url,
      status: plain.status,
      statusText: plain.statusText,
      ok: plain.status >= 200 && plain.status < 300,
      redirected: plain.redirected,
      headers,
      text: async (): Promise<string> => body,
      json: async (): Promise<unknown> => parse(body),
    });
  }

  async function fetch(resource: unknown, init?: { method?: unknown; headers?: unknown; body?: unknown }): Promise<unknown> {
    // A URL (or any object) is taken as its string, a URL's href; no URL class is loaded for a string.
    const url = typeof resource === 'string' ? resource : String(resource);
    const options = init ?? {};
    const body = options.body;
    if (body !== undefined && body !== null && typeof body !== 'string')
      throw new NativeTypeError('ctx.fetch body must be a string: use JSON.stringify(value)');
    const request = {
      url,
      method: options.method === undefined ? 'GET' : String(options.method),
      headers: headerPairs(options.headers),
      body: body ?? undefined,
    };
    return callAsync('fetch', { request }, responseOf);
  }

  // ---- ctx.directory ----
  const directoryMethod = (method: string) =>
    function (...args: unknown[]): Promise<unknown> {
      return callAsync('directory', { method, args: args.map((arg) => String(arg)) }, parse);
    };
  const directory = freeze({
    findByEmail: directoryMethod('findByEmail'),
    getById: directoryMethod('getById'),
    getManagers: directoryMethod('getManagers'),
    directReports: directoryMethod('directReports'),
    getEntitlementMembers: directoryMethod('getEntitlementMembers'),
    listAppUsersForUser: directoryMethod('listAppUsersForUser'),
    findByUsername: directoryMethod('findByUsername'),
    // The filter crosses as JSON text, serialized here inside the sandbox.
    listUsers: function (filter?: unknown): Promise<unknown> {
      return callAsync('directory', { method: 'listUsers', args: [JSON.stringify(filter ?? {})] }, parse);
    },
  } satisfies Record<DirectoryMethod, (...args: never[]) => Promise<unknown>>);

  // ---- the outcome, described and serialized here, inside the sandbox ----
  function describeThrown(thrown: unknown): { code: string; message: string } {
    try {
      if (typeof thrown === 'object' && thrown !== null) {
        const bridgeCode = apply(weakGet, bridgeErrorCodes, [thrown]) as string | undefined;
        // The function asks for a retry (an API answered 503): the step retries it with the same ctx.idempotencyKey.
        const retryable = (thrown as { retryable?: unknown }).retryable === true;
        const code = retryable ? 'RETRYABLE_ERROR' : (bridgeCode ?? 'RUNTIME_ERROR');
        const message = (thrown as { message?: unknown }).message;
        const name = (thrown as { name?: unknown }).name;
        if (typeof message === 'string') {
          const prefix = typeof name === 'string' && name !== '' && (bridgeCode === undefined || retryable) ? `${name}: ` : '';
          return { code, message: prefix + message };
        }
        return { code: 'RUNTIME_ERROR', message: `a non-Error value was thrown: ${show(thrown)}` };
      }
      if (typeof thrown === 'symbol') return { code: 'RUNTIME_ERROR', message: `a Symbol was thrown: ${thrown.toString()}` };
      if (typeof thrown === 'string') return { code: 'RUNTIME_ERROR', message: thrown };
      return { code: 'RUNTIME_ERROR', message: `a non-Error value was thrown: ${show(thrown)}` };
    } catch {
      return { code: 'RUNTIME_ERROR', message: 'a value that cannot be described was thrown' };
    }
  }

  class NotJson extends NativeError {}
  function checkedJson(key: string, value: unknown): unknown {
    const kind = typeof value;
    const where = key === '' ? 'the output' : `output key "${key}"`;
    if (kind === 'function' || kind === 'symbol' || kind === 'bigint') throw new NotJson(`${where} is a ${kind}, which JSON cannot hold`);
    if (kind === 'number' && !isFiniteNumber(value)) throw new NotJson(`${where} is ${String(value)}, which JSON cannot hold`);
    return value;
  }

  let finished = false;
  function finish(outcome: { json?: string; error?: { code: string; message: string } }): void {
    if (finished) return;
    finished = true;
    call('done', outcome);
  }

  function succeed(value: unknown, maxOutputChars: number): void {
    let json: string | undefined;
    try {
      json = stringify(value, checkedJson);
    } catch (error) {
      if (error instanceof NotJson) return finish({ error: { code: 'OUTPUT_NOT_JSON', message: error.message } });
      if (error instanceof NativeTypeError && /circular|BigInt/.test(String(error.message))) {
        return finish({
          error: { code: 'OUTPUT_NOT_JSON', message: `the output cannot be JSON: ${String(error.message).split('\n')[0]}` },
        });
      }
      return finish({ error: describeThrown(error) });
    }
    if (json === undefined)
      return finish({
        error: { code: 'OUTPUT_NOT_JSON', message: 'the function returned undefined; return a JSON value (null for nothing)' },
      });
    if (json.length > maxOutputChars)
      return finish({ error: { code: 'OUTPUT_TOO_LARGE', message: `the output is more than ${maxOutputChars} bytes of JSON` } });
    finish({ json });
  }

  function start(factory: unknown, bootJson: string): void {
    const boot = parse(bootJson) as { input: unknown; trigger: unknown; idempotencyKey: string; maxOutputChars: number };
    const ctx = freeze({
      log: logTo('log'),
      getConfig(key: unknown): string | undefined {
        const value = call('getConfig', { key: String(key) }).value;
        return typeof value === 'string' ? value : undefined;
      },
      fetch,
      directory,
      trigger: boot.trigger,
      idempotencyKey: boot.idempotencyKey,
    });
    const run = async (): Promise<unknown> => {
      const module = { exports: {} as Record<string, unknown> };
      (factory as (module: unknown, exports: unknown) => void)(module, module.exports);
      const exported = module.exports;
      const main =
        exported !== null && typeof exported === 'object' && typeof exported.default === 'function' ? exported.default : exported;
      if (typeof main !== 'function') throw new NativeTypeError('the function must `export default async function (input, ctx) { ... }`');
      return await (main as (input: unknown, ctx: unknown) => unknown)(boot.input, ctx);
    };
    apply(promiseThen, NativePromise.resolve(), [run]).then(
      (value: unknown) => succeed(value, boot.maxOutputChars),
      (error: unknown) => finish({ error: describeThrown(error) }),
    );
  }

  /** Called by the host: only queues, so that everything, even reading the events, runs under the watchdog. */
  function deliver(eventsJson: string): void {
    apply(promiseThen, NativePromise.resolve(), [() => handleEvents(eventsJson)]);
  }

  function handleEvents(eventsJson: string): void {
    for (const event of parse(eventsJson) as BridgeEvent[]) {
      if (event.kind === 'timer') {
        const callback = apply(mapGet, timers, [event.id]) as (() => unknown) | undefined;
        if (!callback) continue;
        apply(mapDelete, timers, [event.id]);
        const ran = apply(promiseThen, NativePromise.resolve(), [callback]);
        apply(promiseThen, ran, [
          undefined,
          (error: unknown) => log('error', [`a setTimeout callback threw: ${describeThrown(error).message}`]),
        ]);
        continue;
      }
      const waiting = apply(mapGet, pending, [event.id]) as
        { resolve: (value: unknown) => void; reject: (error: unknown) => void; decode: (json: string) => unknown } | undefined;
      if (!waiting) continue;
      apply(mapDelete, pending, [event.id]);
      if (event.error) waiting.reject(makeError(event.error.code, event.error.message));
      else waiting.resolve(waiting.decode(event.json as string));
    }
  }

  return freeze({ start, deliver, makeError });
}
