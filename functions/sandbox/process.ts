/**
 * One sandbox process, seen from the host: how it is started (the locked-down options and the
 * bundled child.ts it runs), the call it runs, the deadline and memory watch that kill it, the
 * answers to its ctx.directory requests, and redaction of everything its call returns.
 */
import type { JsonValue } from '../../core/json.js';
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ChildMessage, DirectoryRequestMessage, ResultMessage, RunMessage } from './protocol.js';
import { hidePaths, Redactor } from './redact.js';
import {
  DIRECTORY_METHODS,
  type CompiledFunction,
  type FunctionError,
  type FunctionLimits,
  type FunctionRunRequest,
  type FunctionRunResult,
} from '../types.js';

/** Past the deadline, how long the parent waits for the process's own TIMEOUT before killing it. */
export const KILL_GRACE_MS = 40;
export const RSS_POLL_MS = 25;
/**
 * RSS a sandbox process may use beyond memoryMb: an idle process (Node itself, the bundle, a
 * context) measures about 45 MB here; the rest is room for V8's young generation and code.
 */
export const RSS_OVERHEAD_MB = 96;
const SPAWN_TIMEOUT_MS = 10_000;
const MAX_MESSAGE_CHARS = 4_000;
/** A call running longer than this is demoted to the lowest CPU priority (see SandboxProcess.demote). */
export const LONG_CALL_MS = 100;
const LOWEST_PRIORITY = 19;

const HERE = dirname(fileURLToPath(import.meta.url));
const HOST_PATHS = [join(HERE, '..', '..'), HERE, tmpdir(), homedir(), dirname(process.execPath), process.cwd()];

/** One request, checked and with every default filled in. */
export interface ValidRun {
  compiled: CompiledFunction;
  inputJson: string;
  triggerJson: string;
  idempotencyKey: string;
  secrets: [string, string][];
  limits: FunctionLimits;
  timeoutMs: number;
  memoryMb: number;
  allowHosts: string[];
  allowPrivateNetworks: string[];
  fetchStubs: FunctionRunRequest['fetchStubs'];
  directory: FunctionRunRequest['directory'];
}

// ---------------------------------------------------------------- the child bundle

let childBundle: Promise<string> | undefined;

/** A file of this folder, as TypeScript (run with tsx) or as compiled JavaScript. */
function sourceFile(name: string): string {
  const found = [join(HERE, `${name}.ts`), join(HERE, `${name}.js`)].find((file) => existsSync(file));
  if (!found) throw new Error(`functions/sandbox/${name}.ts not found in ${HERE}`);
  return found;
}

/**
 * url.ts with whatwg-url and its dependencies as one classic script for a vm context: no module
 * system, no Node built-ins (platform neutral; tr46 asks for the npm package "punycode/").
 */
async function urlScript(): Promise<string> {
  const result = await build({
    entryPoints: [sourceFile('url')],
    bundle: true,
    platform: 'neutral',
    mainFields: ['main'],
    format: 'iife',
    target: 'node20',
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return result.outputFiles[0]?.text ?? '';
}

/**
 * child.ts bundled into one ESM file (built at first use, cached by content), so a sandbox runs
 * without tsx; the URL script is in it as the text constant IDFLOW_URL_SCRIPT.
 */
export function childBundlePath(): Promise<string> {
  childBundle ??= (async () => {
    const result = await build({
      entryPoints: [sourceFile('child')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
      legalComments: 'none',
      define: { IDFLOW_URL_SCRIPT: JSON.stringify(await urlScript()) },
    });
    const text = result.outputFiles[0]?.text ?? '';
    const directory = join(tmpdir(), 'idflow-functions-sandbox');
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const file = join(directory, `child-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.mjs`);
    if (!existsSync(file)) {
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, text, { mode: 0o500 });
      renameSync(partial, file);
    }
    return realpathSync(file);
  })();
  childBundle.catch(() => (childBundle = undefined));
  return childBundle;
}

// ---------------------------------------------------------------- one sandbox process

/**
 * How a sandbox process is started, in one place: an empty environment, the permission model (it
 * may read `script` and nothing else; no writes, child processes or workers), no code generation
 * from strings or WebAssembly in its own realm, a heap cap. The pool forks child.ts with it; the
 * tests fork a probe script with it to check this layer on its own.
 */
export function sandboxProcessOptions(script: string, memoryMb: number): Required<Pick<ForkOptions, 'env' | 'cwd' | 'execArgv'>> {
  return {
    env: {},
    cwd: dirname(script),
    execArgv: [
      '--experimental-permission',
      `--allow-fs-read=${script}`,
      '--disallow-code-generation-from-strings',
      `--max-old-space-size=${memoryMb}`,
      '--max-semi-space-size=2',
      '--no-expose-wasm',
      // Only so that a dynamic import() in the context reaches child.ts's refusal (an error of
      // the context) instead of Node's own (an Error of the host realm).
      '--experimental-vm-modules',
      '--no-warnings',
    ],
  };
}

interface ActiveCall {
  callId: number;
  run: ValidRun;
  logs: string[];
  startedAt: number;
  settled: boolean;
  resolve: (result: FunctionRunResult) => void;
  deadlineTimer: NodeJS.Timeout;
  memoryTimer: NodeJS.Timeout;
  demoteTimer: NodeJS.Timeout;
}

export class SandboxProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<boolean>;
  /** The one function hash this process runs; undefined while it is a blank spare. */
  hash: string | undefined;
  state: 'starting' | 'idle' | 'busy' | 'dead' = 'starting';
  /** Taken by a call (waiting for the process to start, or running); freed when the process says it is idle. */
  reserved = false;
  /** Whether the process has been sent its function's code. */
  private loaded = false;
  lastUsed = Date.now();
  private call: ActiveCall | undefined;
  private stderrTail = '';
  private killReason: 'timeout' | 'memory' | 'closed' | undefined;

  constructor(
    bundle: string,
    readonly memoryMb: number,
    private readonly onFree: (process: SandboxProcess) => void,
  ) {
    this.child = fork(bundle, [], { ...sandboxProcessOptions(bundle, memoryMb), stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.unref();
    this.child.channel?.unref();
    const stderr = this.child.stderr as Socket | null;
    stderr?.unref();
    stderr?.setEncoding('utf8');
    stderr?.on('data', (text: string) => (this.stderrTail = (this.stderrTail + text).slice(-4096)));
    this.ready = new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), SPAWN_TIMEOUT_MS).unref();
      this.child.once('message', (message: ChildMessage) => {
        clearTimeout(timer);
        if (message.type === 'ready' && this.state === 'starting') this.state = 'idle';
        resolve(message.type === 'ready');
      });
      this.child.once('exit', () => resolve(false));
    });
    this.child.on('message', (message: ChildMessage) => this.onMessage(message));
    this.child.on('exit', (code, signal) => this.onExit(code, signal));
    this.child.on('error', () => this.kill());
  }

  /** Taken by a call: the IPC channel keeps the host process alive until the call has ended. */
  reserve(hash: string): void {
    this.hash = hash;
    this.reserved = true;
    this.child.channel?.ref();
  }

  /** Its call has its result but the process has not yet said it is idle (usually a few microseconds). */
  get finishing(): boolean {
    return this.call?.settled === true && this.state !== 'dead';
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  start(callId: number, run: ValidRun, resolve: (result: FunctionRunResult) => void): void {
    const message: RunMessage = {
      type: 'run',
      callId,
      hash: run.compiled.hash,
      code: this.loaded ? undefined : run.compiled.code,
      inputJson: run.inputJson,
      triggerJson: run.triggerJson,
      idempotencyKey: run.idempotencyKey,
      secrets: run.secrets,
      limits: run.limits,
      timeoutMs: run.timeoutMs,
      allowHosts: run.allowHosts,
      allowPrivateNetworks: run.allowPrivateNetworks,
      fetchStubs: run.fetchStubs,
      hasDirectory: run.directory !== undefined,
    };
    this.loaded = true;
    this.state = 'busy';
    this.call = {
      callId,
      run,
      logs: [],
      startedAt: Date.now(),
      settled: false,
      resolve,
      deadlineTimer: setTimeout(() => this.onDeadline(), run.timeoutMs + KILL_GRACE_MS),
      memoryTimer: setInterval(() => this.checkMemory(), RSS_POLL_MS),
      demoteTimer: setTimeout(() => this.demote(), LONG_CALL_MS),
    };
    this.child.send(message, (error) => {
      if (error) this.kill();
    });
  }

  /**
   * A call still running after LONG_CALL_MS yields the CPU to short ones: its process gets the
   * lowest scheduling priority, for good (only root could raise it again; the idle reaper retires
   * the process in time). So one spinning function barely slows the others' calls.
   */
  private demote(): void {
    if (this.child.pid === undefined || this.state === 'dead') return;
    try {
      setPriority(this.child.pid, LOWEST_PRIORITY);
    } catch {
      // The process is gone, or the OS refuses: it keeps its priority, nothing else changes.
    }
  }

  kill(reason?: 'timeout' | 'memory' | 'closed'): void {
    this.killReason ??= reason;
    if (this.state !== 'dead') this.child.kill('SIGKILL');
  }

  private onMessage(message: ChildMessage): void {
    const call = this.call;
    if (!call || !('callId' in message) || message.callId !== call.callId) return;
    if (message.type === 'log') {
      if (!call.settled) call.logs.push(message.line);
    } else if (message.type === 'result') {
      this.settle(message);
    } else if (message.type === 'directory') {
      void this.answerDirectory(call, message);
    } else if (message.type === 'idle') {
      this.endCall();
      this.state = 'idle';
      this.reserved = false;
      this.lastUsed = Date.now();
      this.child.channel?.unref();
      this.onFree(this);
    }
  }

  private async answerDirectory(call: ActiveCall, message: DirectoryRequestMessage): Promise<void> {
    const reply = await directoryReply(call.run.directory, message);
    if (this.call === call && !call.settled && this.state !== 'dead')
      this.child.send({ type: 'directory-reply', callId: call.callId, requestId: message.requestId, ...reply });
  }

  private onDeadline(): void {
    const call = this.call;
    if (!call) return;
    // Either the process is stuck past its own watchdog, or it answered but keeps running code.
    this.kill('timeout');
    this.settle({ error: { code: 'TIMEOUT', message: `the function did not finish within ${call.run.timeoutMs} ms` } });
  }

  private checkMemory(): void {
    const call = this.call;
    if (!call || this.pid === undefined) return;
    const rssMb = residentMb(this.pid);
    if (rssMb === undefined || rssMb <= this.memoryMb + RSS_OVERHEAD_MB) return;
    this.kill('memory');
    this.settle({ error: memoryError(this.memoryMb) });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const wasReady = this.state !== 'starting';
    this.state = 'dead';
    if (this.call && !this.call.settled) {
      const outOfMemory = this.killReason === 'memory' || /heap out of memory|Allocation failed|out of memory/i.test(this.stderrTail);
      this.settle({
        error: outOfMemory
          ? memoryError(this.memoryMb)
          : this.killReason === 'closed'
            ? { code: 'SANDBOX_FAILURE', message: 'the sandbox was closed while the function ran' }
            : {
                code: 'SANDBOX_FAILURE',
                message: `the sandbox process ended unexpectedly (${signal ?? `exit code ${code}`}); the run may be retried`,
              },
      });
    }
    this.endCall();
    if (wasReady || this.call === undefined) this.onFree(this);
  }

  private settle(message: Pick<ResultMessage, 'outputJson' | 'error'>): void {
    const call = this.call;
    if (!call || call.settled) return;
    call.settled = true;
    call.resolve(finalResult(call, message));
  }

  private endCall(): void {
    if (!this.call) return;
    clearTimeout(this.call.deadlineTimer);
    clearInterval(this.call.memoryTimer);
    clearTimeout(this.call.demoteTimer);
    this.call = undefined;
  }
}

function memoryError(memoryMb: number): FunctionError {
  return { code: 'MEMORY_LIMIT', message: `the function used more than its memory limit (${memoryMb} MB)` };
}

/** VmRSS of a process in MB, from /proc (undefined where there is none, or once it has exited). */
function residentMb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function directoryReply(
  directory: FunctionRunRequest['directory'],
  message: DirectoryRequestMessage,
): Promise<{ json?: string; error?: FunctionError }> {
  const method = message.method;
  if (!directory) return { error: { code: 'RUNTIME_ERROR', message: 'ctx.directory: no directory available to this run' } };
  if (!DIRECTORY_METHODS.includes(method) || !Array.isArray(message.args) || typeof message.args[0] !== 'string') {
    return { error: { code: 'RUNTIME_ERROR', message: `ctx.directory.${String(method)} needs one string argument` } };
  }
  try {
    const value = await directory[method](message.args[0]);
    return { json: JSON.stringify(value ?? null) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'failed';
    return {
      error: {
        code: 'RUNTIME_ERROR',
        message: `ctx.directory.${method} failed: ${hidePaths(reason, HOST_PATHS).slice(0, MAX_MESSAGE_CHARS)}`,
      },
    };
  }
}

/** The result as the caller sees it: output parsed here from JSON text, secrets redacted everywhere. */
function finalResult(call: ActiveCall, message: Pick<ResultMessage, 'outputJson' | 'error'>): FunctionRunResult {
  const redactor = new Redactor(call.run.secrets.map(([, value]) => value));
  const logs = call.logs.map((line) => redactor.text(line));
  const durationMs = Date.now() - call.startedAt;
  if (message.error || message.outputJson === undefined) {
    const error = message.error ?? { code: 'SANDBOX_FAILURE', message: 'the sandbox returned no result' };
    return { ok: false, error: { code: error.code, message: redactor.text(cleanMessage(error.message)) }, logs, durationMs };
  }
  return { ok: true, output: redactor.json(JSON.parse(message.outputJson) as JsonValue), logs, durationMs };
}

function cleanMessage(message: string): string {
  const text = hidePaths(message, HOST_PATHS);
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}
