/**
 * The sandbox process. The pool bundles this file and forks it with an empty environment, the
 * permission model (it may read its own bundle, nothing else; no writes, no child processes, no
 * workers) and a heap cap. It runs the code of ONE function hash, one call at a time, each call in
 * a fresh `vm` context that can generate no code from strings and no WebAssembly.
 *
 * All user code runs as microtasks of that context, drained under a watchdog (`timeout`), so a
 * runaway call is stopped here at its deadline; the parent kills the process if even that fails.
 * Only JSON text and primitives cross between this realm and the context (see bridge.ts).
 */
import vm from 'node:vm';
import { sandboxPrelude, type BridgeEvent, type PreludeHandle } from './bridge.js';
import { installWebGlobals } from './web-globals.js';
import { createGuardedFetch, NetworkDeniedError, type GuardedFetch, type PlainRequest } from '../network/fetch.js';
import { createStubFetch } from '../network/stub.js';
import type { ChildMessage, DirectoryReplyMessage, ParentMessage, RunMessage } from './protocol.js';
import { DIRECTORY_METHODS, type DirectoryMethod, type FunctionError, type FunctionErrorCode } from '../types.js';

const PRELUDE = new vm.Script(`'use strict';(${sandboxPrelude.toString()})`, { filename: 'idflow-prelude.js' });
const WEB_GLOBALS = new vm.Script(`'use strict';(${installWebGlobals.toString()})()`, { filename: 'idflow-web-globals.js' });
/** functions/sandbox/url.ts bundled (whatwg-url), put here as text by process.ts when it bundles this file. */
declare const IDFLOW_URL_SCRIPT: string;
/** Compiled at the first call that uses URL: a process whose function never does skips parsing ~300 KB. */
let urlScript: vm.Script | undefined;
/** Running any script drains the context's microtask queue afterwards, within the script's timeout. */
const DRAIN = new vm.Script('void 0', { filename: 'idflow-drain.js' });
/**
 * Some work reaches the context's microtask queue from the host's own microtasks, which no bridge
 * event announces (a refused import() settles through a chain of host and context jobs): the
 * context is drained this often while a call runs.
 */
const PUMP_INTERVAL_MS = 10;
/** Codes an error raised inside the context may carry; anything else there is a RUNTIME_ERROR. */
const CODES_FROM_CONTEXT = new Set<string>([
  'RUNTIME_ERROR',
  'NETWORK_DENIED',
  'RETRYABLE_ERROR',
  'OUTPUT_NOT_JSON',
  'OUTPUT_TOO_LARGE',
  'SANDBOX_FAILURE',
]);

let loaded: { hash: string; script: vm.Script } | undefined;
let current: Invocation | undefined;

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** JSON text from host code into a reply the prelude understands. */
const reply = {
  value: (value: unknown): string => JSON.stringify({ value }),
  pending: (id: number): string => JSON.stringify({ pending: id }),
  error: (code: string, message: string): string => JSON.stringify({ error: { code, message } }),
};

class Invocation {
  private readonly deadline: number;
  private readonly context: vm.Context;
  private readonly handle: PreludeHandle;
  private readonly secrets: Map<string, string>;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly deadlineTimer: NodeJS.Timeout;
  private readonly pumpTimer: NodeJS.Timeout;
  /** The wrapped bundle, `(function (module, exports) {...})`, as a function of the context. */
  private readonly factory: unknown;
  private readonly network: GuardedFetch;
  private readonly awaitingDirectory = new Set<number>();
  private events: BridgeEvent[] = [];
  private flushScheduled = false;
  private draining = false;
  private finished = false;
  private released = false;
  private logLines = 0;
  private logBytes = 0;
  private logTruncated = false;
  private directoryCalls = 0;
  private nextRequestId = 1;

  constructor(
    private readonly run: RunMessage,
    script: vm.Script,
  ) {
    this.deadline = Date.now() + run.timeoutMs;
    this.secrets = new Map(run.secrets);
    const onDenied = (line: string) => this.log(line);
    this.network = run.fetchStubs
      ? createStubFetch(run.fetchStubs, run.allowHosts, onDenied)
      : createGuardedFetch({
          allowHosts: run.allowHosts,
          allowPrivateNetworks: run.allowPrivateNetworks,
          maxRequests: run.limits.maxRequests,
          maxRequestBodyBytes: run.limits.maxRequestBodyBytes,
          maxResponseBytes: run.limits.maxResponseBytes,
          requestTimeoutMs: run.limits.requestTimeoutMs,
          maxRedirects: run.limits.maxRedirects,
          deadline: this.deadline,
          onDenied,
        });
    this.context = vm.createContext(
      {},
      { name: 'idflow function', codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' },
    );
    WEB_GLOBALS.runInContext(this.context);
    const install = PRELUDE.runInContext(this.context) as (hostCall: (request: string) => string) => PreludeHandle;
    this.handle = install((request) => this.hostCall(request));
    this.factory = script.runInContext(this.context);
    this.deadlineTimer = setTimeout(() => this.timeout(), run.timeoutMs);
    this.pumpTimer = setInterval(() => this.flush(), PUMP_INTERVAL_MS);
  }

  /** Runs the function; separate from the constructor so that `current` is this call while it runs. */
  begin(): void {
    const { inputJson, triggerJson, idempotencyKey, limits } = this.run;
    const boot = `{"input":${inputJson},"trigger":${triggerJson},"idempotencyKey":${JSON.stringify(idempotencyKey)},"maxOutputChars":${limits.maxOutputBytes}}`;
    this.handle.start(this.factory, boot);
    this.drain();
  }

  directoryReply(message: DirectoryReplyMessage): void {
    const id = message.requestId;
    if (message.callId !== this.run.callId || !this.awaitingDirectory.delete(id)) return;
    this.enqueue(message.error ? { kind: 'reply', id, error: message.error } : { kind: 'reply', id, json: message.json ?? 'null' });
  }

  /** The context's only way out. Takes and returns JSON text; never throws. */
  private hostCall(request: unknown): string {
    try {
      if (typeof request !== 'string') return reply.error('SANDBOX_FAILURE', 'bad bridge request');
      const call = JSON.parse(request) as Record<string, unknown>;
      if (this.finished && call.op !== 'log') return reply.error('RUNTIME_ERROR', 'the call has already ended');
      switch (call.op) {
        case 'log':
          this.log(String(call.text));
          return reply.value(null);
        case 'getConfig': {
          const key = String(call.key);
          return reply.value(this.secrets.has(key) ? this.secrets.get(key) : null);
        }
        case 'setTimeout':
          return this.setTimer(Number(call.id), Number(call.ms));
        case 'clearTimeout':
          clearTimeout(this.timers.get(Number(call.id)));
          this.timers.delete(Number(call.id));
          return reply.value(null);
        case 'fetch':
          return this.fetch(call.request);
        case 'directory':
          return this.directory(call.method, call.args);
        case 'installUrl':
          return this.installUrl();
        case 'done':
          this.done(call);
          return reply.value(null);
        default:
          return reply.error('SANDBOX_FAILURE', `unknown bridge operation ${String(call.op)}`);
      }
    } catch {
      return reply.error('SANDBOX_FAILURE', 'the bridge call failed');
    }
  }

  /**
   * Evaluates the URL script in the context, from inside it (the function touched URL or
   * URLSearchParams): the nested evaluation runs under the drain's watchdog, and the context's
   * microtasks are not run by it, since they are already running.
   */
  private installUrl(): string {
    urlScript ??= new vm.Script(IDFLOW_URL_SCRIPT, { filename: 'idflow-url.js' });
    try {
      urlScript.runInContext(this.context);
    } catch {
      // What it threw is the context's and is not looked at: the function replaced a built-in the script needs.
      return reply.error('RUNTIME_ERROR', 'URL and URLSearchParams could not be set up: was a built-in they use replaced?');
    }
    return reply.value(null);
  }

  private log(text: string): void {
    const { maxLogLines, maxLogLineBytes, maxLogBytes } = this.run.limits;
    if (this.logTruncated) return;
    if (this.logLines >= maxLogLines || this.logBytes >= maxLogBytes) {
      this.logTruncated = true;
      send({
        type: 'log',
        callId: this.run.callId,
        line: `[idflow] further log lines dropped: more than ${maxLogLines} lines or ${maxLogBytes} bytes`,
      });
      return;
    }
    const line =
      Buffer.byteLength(text) > maxLogLineBytes
        ? `${Buffer.from(text)
            .subarray(0, maxLogLineBytes)
            .toString()
            .replace(/\uFFFD$/, '')}… [line cut at ${maxLogLineBytes} bytes]`
        : text;
    this.logLines++;
    this.logBytes += Buffer.byteLength(line);
    send({ type: 'log', callId: this.run.callId, line });
  }

  private setTimer(id: number, ms: number): string {
    if (this.timers.size >= this.run.limits.maxTimers)
      return reply.error('RUNTIME_ERROR', `more than ${this.run.limits.maxTimers} timers pending at once`);
    const delay = Math.min(ms, Math.max(0, this.deadline - Date.now()) + 1);
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        this.enqueue({ kind: 'timer', id });
      }, delay),
    );
    return reply.value(null);
  }

  private fetch(request: unknown): string {
    const plain = plainRequestOf(request);
    if (!plain) return reply.error('RUNTIME_ERROR', 'ctx.fetch got a malformed request');
    const id = this.nextRequestId++;
    this.network.fetch(plain).then(
      (response) => this.enqueue({ kind: 'reply', id, json: JSON.stringify(response) }),
      (error: unknown) => {
        const code = error instanceof NetworkDeniedError ? 'NETWORK_DENIED' : 'NETWORK_ERROR';
        this.enqueue({ kind: 'reply', id, error: { code, message: error instanceof Error ? error.message : 'the request failed' } });
      },
    );
    return reply.pending(id);
  }

  private directory(method: unknown, args: unknown): string {
    if (!this.run.hasDirectory) return reply.error('RUNTIME_ERROR', 'ctx.directory: no directory available to this run');
    if (!DIRECTORY_METHODS.some((name) => name === method) || !Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) {
      return reply.error('RUNTIME_ERROR', `ctx.directory has no method ${String(method)}`);
    }
    if (this.directoryCalls >= this.run.limits.maxDirectoryCalls)
      return reply.error(
        'RUNTIME_ERROR',
        `more than maxDirectoryCalls (${this.run.limits.maxDirectoryCalls}) ctx.directory calls in this run`,
      );
    this.directoryCalls++;
    const id = this.nextRequestId++;
    this.awaitingDirectory.add(id);
    send({ type: 'directory', callId: this.run.callId, requestId: id, method: method as DirectoryMethod, args: args as string[] });
    return reply.pending(id);
  }

  private done(call: Record<string, unknown>): void {
    const error = call.error as { code?: unknown; message?: unknown } | undefined;
    if (error) {
      const code = String(error.code);
      return this.finish({
        error: { code: (CODES_FROM_CONTEXT.has(code) ? code : 'RUNTIME_ERROR') as FunctionErrorCode, message: String(error.message) },
      });
    }
    const json = String(call.json);
    const { maxOutputBytes, maxOutputDepth } = this.run.limits;
    const bytes = Buffer.byteLength(json);
    if (bytes > maxOutputBytes)
      return this.finish({
        error: { code: 'OUTPUT_TOO_LARGE', message: `the output is ${bytes} bytes of JSON, more than maxOutputBytes (${maxOutputBytes})` },
      });
    if (jsonDepth(json) > maxOutputDepth)
      return this.finish({
        error: { code: 'OUTPUT_TOO_LARGE', message: `the output nests deeper than maxOutputDepth (${maxOutputDepth})` },
      });
    this.finish({ outputJson: json });
  }

  refuseImport(message: string): unknown {
    return this.handle.makeError('RUNTIME_ERROR', message);
  }

  private enqueue(event: BridgeEvent): void {
    if (this.finished) return;
    this.events.push(event);
    this.flush();
  }

  /** Hands the queued events in and drains the context, once per turn of the event loop. */
  private flush(): void {
    if (this.flushScheduled || this.finished) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.finished) return;
      const events = this.events;
      this.events = [];
      this.handle.deliver(JSON.stringify(events));
      this.drain();
    });
  }

  /** Runs the context's pending microtasks (all user code) under the watchdog. */
  private drain(): void {
    const remaining = this.deadline - Date.now();
    if (remaining <= 0) return this.timeout();
    this.draining = true;
    try {
      DRAIN.runInContext(this.context, { timeout: remaining });
    } catch (error) {
      const timedOut = (error as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
      this.finish({
        error: timedOut
          ? timeoutError(this.run.timeoutMs)
          : { code: 'SANDBOX_FAILURE', message: 'the sandbox failed while running the function' },
      });
    } finally {
      this.draining = false;
    }
    if (this.finished) this.release();
  }

  private timeout(): void {
    this.finish({ error: timeoutError(this.run.timeoutMs) });
    if (!this.draining) this.release();
  }

  private finish(result: { outputJson?: string; error?: FunctionError }): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.deadlineTimer);
    clearInterval(this.pumpTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    send({ type: 'result', callId: this.run.callId, ...result });
  }

  /** Tells the parent this process can take the next call; the context is dropped. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    if (current === this) current = undefined;
    send({ type: 'idle', callId: this.run.callId });
  }
}

function timeoutError(timeoutMs: number): FunctionError {
  return { code: 'TIMEOUT', message: `the function did not finish within ${timeoutMs} ms` };
}

function plainRequestOf(value: unknown): PlainRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { url, method, headers, body } = value as Record<string, unknown>;
  if (typeof url !== 'string' || typeof method !== 'string') return undefined;
  if (body !== undefined && typeof body !== 'string') return undefined;
  if (
    !Array.isArray(headers) ||
    !headers.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')
  )
    return undefined;
  return { url, method, headers: headers as [string, string][], body };
}

/** Deepest array/object nesting of JSON text, counted without parsing (so without recursion). */
export function jsonDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const char = json.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x5d || char === 0x7d) depth--;
  }
  return deepest;
}

function onRun(message: RunMessage): void {
  if (message.code !== undefined) loaded = { hash: message.hash, script: compileUserScript(message.code) };
  if (!loaded || loaded.hash !== message.hash) {
    send({
      type: 'result',
      callId: message.callId,
      error: { code: 'SANDBOX_FAILURE', message: 'the sandbox process holds another function' },
    });
    send({ type: 'idle', callId: message.callId });
    return;
  }
  current = new Invocation(message, loaded.script);
  current.begin();
}

function compileUserScript(code: string): vm.Script {
  return new vm.Script(`(function (module, exports) {${code}\n})`, {
    filename: 'function.js',
    // Reached only by code that was not compiled by compileFunction (which lowers import() away):
    // the refusal must be an error of the context's realm, never one made by Node in the host.
    importModuleDynamically: (() => {
      throw (
        current?.refuseImport('import() is not available in a function; import npm: packages statically') ??
        'import() is not available in a function'
      );
    }) as unknown as vm.ScriptOptions['importModuleDynamically'],
  });
}

// A rejection nobody handled inside the context is the function's business, not a crash of
// this process; its reason is an object of the context and is not looked at.
process.on('unhandledRejection', () => undefined);
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ParentMessage) => {
  if (message.type === 'run') onRun(message);
  else if (message.type === 'directory-reply' && current) current.directoryReply(message);
});
send({ type: 'ready' });
