/**
 * The host side of the functions sandbox: a pool of sandbox processes (process.ts) that checks
 * each request, compiles it (cached by content), and hands it to a process.
 *
 * A process only ever runs the code of one function hash (pool key: hash + memoryMb); a blank
 * spare is kept so that a new hash starts without paying for a spawn. A runaway function costs
 * its own timeout only: the pool grows up to MAX_PROCESSES and queues beyond that.
 */
import type { JsonValue } from '../../core/json.js';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { compileFunction, FunctionCompileError, hashOf } from '../compile.js';
import { createGuardedFetch } from '../network/fetch.js';
import { childBundlePath, SandboxProcess, type ValidRun } from './process.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_MEMORY_MB,
  DEFAULT_TIMEOUT_MS,
  MAX_MEMORY_MB,
  MAX_TIMEOUT_MS,
  MIN_MEMORY_MB,
  type CompiledFunction,
  type FunctionErrorCode,
  type FunctionLimits,
  type FunctionRunRequest,
  type FunctionRunResult,
} from '../types.js';

export const MAX_PROCESSES = Math.max(4, 2 * availableParallelism());
const COMPILE_CACHE_SIZE = 256;
/** What an API takes as an Idempotency-Key header value. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** An idle process not used for this long is stopped (each holds ~45 MB); the blank spare stays. */
export const IDLE_PROCESS_MS = 60_000;
/** In a full pool, a process idle this long gives its place to the blank spare. */
const SPARE_MAY_REPLACE_IDLE_MS = 5_000;

class RequestError extends Error {
  constructor(
    readonly code: FunctionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Waiter {
  hash: string;
  memoryMb: number;
  resolve: (process: SandboxProcess | undefined) => void;
}

export interface SandboxOptions {
  /** Processes at most, busy or idle (default MAX_PROCESSES). */
  maxProcesses?: number;
}

export class FunctionSandbox {
  private readonly processes = new Set<SandboxProcess>();
  private readonly waiting: Waiter[] = [];
  private readonly compiled = new Map<string, Promise<CompiledFunction>>();
  private readonly maxProcesses: number;
  private nextCallId = 1;
  private closed = false;
  private bundle: string | undefined;

  private readonly reaper: NodeJS.Timeout;

  constructor(options: SandboxOptions = {}) {
    this.maxProcesses = options.maxProcesses ?? MAX_PROCESSES;
    this.reaper = setInterval(() => this.stopIdle(Date.now() - IDLE_PROCESS_MS), IDLE_PROCESS_MS / 2).unref();
  }

  /** Stops processes of a function that have been idle since before `cutoff`. */
  stopIdle(cutoff: number): void {
    for (const process of this.idleBefore(cutoff)) if (process.hash !== undefined) this.retire(process);
  }

  /** Idle, untaken processes last used before `cutoff`, least recently used first. */
  private idleBefore(cutoff: number): SandboxProcess[] {
    return [...this.processes]
      .filter((process) => process.state === 'idle' && !process.reserved && process.lastUsed < cutoff)
      .sort((a, b) => a.lastUsed - b.lastUsed);
  }

  private retire(process: SandboxProcess): void {
    process.kill();
    this.processes.delete(process);
  }

  /** Never throws for anything the function does; resolves within timeoutMs + ~100 ms of getting a process. */
  async run(request: FunctionRunRequest): Promise<FunctionRunResult> {
    let run: ValidRun;
    try {
      run = await this.validate(request);
    } catch (error) {
      if (error instanceof RequestError || error instanceof FunctionCompileError) return failure(error.code, error.message);
      throw error;
    }
    const process = await this.acquire(run.compiled.hash, run.memoryMb);
    if (!process)
      return failure(
        'SANDBOX_FAILURE',
        this.closed ? 'the sandbox is closed' : 'could not start a sandbox process; the run may be retried',
      );
    const result = new Promise<FunctionRunResult>((resolve) => process.start(this.nextCallId++, run, resolve));
    // The next new version's spare starts after this call is on its way, not before.
    this.keepSpare(run.memoryMb);
    return result;
  }

  /** Kills every sandbox process; calls still running end with SANDBOX_FAILURE. */
  close(): void {
    this.closed = true;
    clearInterval(this.reaper);
    for (const process of this.processes) process.kill('closed');
    this.processes.clear();
    for (const waiter of this.waiting.splice(0)) waiter.resolve(undefined);
  }

  /** PIDs of the live sandbox processes (for tests and diagnostics). */
  pids(): number[] {
    return [...this.processes].flatMap((process) => (process.pid === undefined ? [] : [process.pid]));
  }

  private async validate(request: FunctionRunRequest): Promise<ValidRun> {
    const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const memoryMb = request.memoryMb ?? DEFAULT_MEMORY_MB;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS)
      throw new RequestError('INVALID_REQUEST', `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
    if (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB || memoryMb > MAX_MEMORY_MB)
      throw new RequestError('INVALID_REQUEST', `memoryMb must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}`);
    const limits: FunctionLimits = { ...DEFAULT_LIMITS, ...request.limits };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 0) throw new RequestError('INVALID_REQUEST', `limits.${name} must be a non-negative integer`);
    }
    if (request.idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(request.idempotencyKey))
      throw new RequestError('INVALID_REQUEST', 'idempotencyKey must be 1 to 255 printable ASCII characters without spaces');
    const secrets = Object.entries(request.secrets ?? {});
    if (!secrets.every(([, value]) => typeof value === 'string'))
      throw new RequestError('INVALID_REQUEST', 'every secret must be a string');
    const allowHosts = request.allowHosts ?? [];
    const allowPrivateNetworks = request.allowPrivateNetworks ?? [];
    try {
      // The same parsing the sandbox's guarded fetch does: a bad pattern is the caller's error, found here.
      createGuardedFetch({ ...limits, allowHosts, allowPrivateNetworks, deadline: 0 });
    } catch (error) {
      throw new RequestError(
        'INVALID_REQUEST',
        `allowHosts/allowPrivateNetworks: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    return {
      compiled: await this.compiledOf(request),
      inputJson: jsonOf(request.input, 'input'),
      triggerJson: request.trigger === undefined ? 'null' : jsonOf(request.trigger, 'trigger'),
      idempotencyKey: request.idempotencyKey ?? randomUUID(),
      secrets,
      limits,
      timeoutMs,
      memoryMb,
      allowHosts,
      allowPrivateNetworks,
      fetchStubs: request.fetchStubs,
      directory: request.directory,
    };
  }

  private compiledOf(request: FunctionRunRequest): Promise<CompiledFunction> {
    if (request.compiled) {
      if (hashOf(request.compiled.code) !== request.compiled.hash)
        return Promise.reject(new RequestError('INVALID_REQUEST', 'compiled.hash is not the sha256 of compiled.code'));
      return Promise.resolve(request.compiled);
    }
    if (typeof request.source !== 'string')
      return Promise.reject(new RequestError('INVALID_REQUEST', 'give the function as source or compiled'));
    const filename = request.filename ?? 'function.ts';
    const key = hashOf(`${filename}\0${request.source}`);
    let compiled = this.compiled.get(key);
    if (!compiled) {
      compiled = compileFunction(request.source, filename);
      compiled.catch(() => this.compiled.delete(key));
      this.compiled.set(key, compiled);
      if (this.compiled.size > COMPILE_CACHE_SIZE) this.compiled.delete(this.compiled.keys().next().value as string);
    }
    return compiled;
  }

  /** A process for this hash: an idle one that ran it, the blank spare, a new one, or the next one freed. */
  private async acquire(hash: string, memoryMb: number): Promise<SandboxProcess | undefined> {
    this.bundle ??= await childBundlePath();
    if (this.closed) return undefined;
    const process =
      this.take(hash, memoryMb) ??
      (await new Promise<SandboxProcess | undefined>((resolve) => this.waiting.push({ hash, memoryMb, resolve })));
    if (!process || !(await process.ready) || process.state === 'dead') {
      process?.kill();
      return undefined;
    }
    return process;
  }

  private take(hash: string, memoryMb: number): SandboxProcess | undefined {
    const free = [...this.processes].filter((process) => !process.reserved && (process.state === 'idle' || process.state === 'starting'));
    const same = free.find((process) => process.hash === hash && process.memoryMb === memoryMb);
    if (same) return this.reserve(same, hash);
    // The process that just ran this hash is about to be free: wait for it rather than take another.
    if ([...this.processes].some((process) => process.finishing && process.hash === hash && process.memoryMb === memoryMb))
      return undefined;
    const spare = free.find((process) => process.hash === undefined && process.memoryMb === memoryMb);
    if (spare) return this.reserve(spare, hash);
    if (this.processes.size >= this.maxProcesses) {
      const evictable = this.idleBefore(Infinity)[0];
      if (!evictable) return undefined;
      this.retire(evictable);
    }
    return this.reserve(this.spawn(memoryMb), hash);
  }

  /** Binds a process to the hash and takes it, so that no other call picks it before it starts. */
  private reserve(process: SandboxProcess, hash: string): SandboxProcess {
    process.reserve(hash);
    return process;
  }

  private spawn(memoryMb: number): SandboxProcess {
    const process = new SandboxProcess(this.bundle as string, memoryMb, (freed) => this.onFree(freed));
    this.processes.add(process);
    return process;
  }

  /**
   * One blank process of this memory size waits so that a new hash starts fast; in a full pool it
   * takes the place of a process that has been idle a while (a busy pool keeps its warm processes).
   */
  private keepSpare(memoryMb: number): void {
    if (this.closed) return;
    if ([...this.processes].some((process) => process.hash === undefined && process.state !== 'dead')) return;
    if (this.processes.size >= this.maxProcesses) {
      const stale = this.idleBefore(Date.now() - SPARE_MAY_REPLACE_IDLE_MS)[0];
      if (!stale) return;
      this.retire(stale);
    }
    this.spawn(memoryMb);
  }

  private onFree(process: SandboxProcess): void {
    if (process.state === 'dead') this.processes.delete(process);
    this.serveWaiting();
  }

  /** Oldest first; a waiter that cannot be served yet does not hold up the others. */
  private serveWaiting(): void {
    for (const waiter of [...this.waiting]) {
      if (this.closed) return;
      const process = this.take(waiter.hash, waiter.memoryMb);
      if (!process) continue;
      this.waiting.splice(this.waiting.indexOf(waiter), 1);
      waiter.resolve(process);
    }
  }
}

function failure(code: FunctionErrorCode, message: string): FunctionRunResult {
  return { ok: false, error: { code, message }, logs: [], durationMs: 0 };
}

function jsonOf(value: JsonValue, name: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new RequestError('INVALID_REQUEST', `${name} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (json === undefined) throw new RequestError('INVALID_REQUEST', `${name} is not JSON`);
  return json;
}

// ---------------------------------------------------------------- the shared default sandbox

let shared: FunctionSandbox | undefined;

/** Runs one call in the shared sandbox (created at first use; its processes never keep the process alive). */
export function runFunction(request: FunctionRunRequest): Promise<FunctionRunResult> {
  if (!shared) {
    shared = new FunctionSandbox();
    process.once('exit', closeSharedSandbox);
  }
  return shared.run(request);
}

/** Kills the shared sandbox's processes (the CLI and tests call it; it also runs at exit). */
export function closeSharedSandbox(): void {
  shared?.close();
  shared = undefined;
}
