/**
 * The functions sandbox on this machine: warm and cold invocation overhead, throughput with
 * concurrent callers, how late a TIMEOUT arrives after its deadline, and whether one spinning
 * function slows the others down. Every phase uses its own FunctionSandbox (closed at its end), so
 * that no phase inherits another's processes; the figures are wall times seen by the caller of
 * `sandbox.run()` unless named `durationMs` (the pool's own clock, from handing the call to a
 * process to its result, whole milliseconds).
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileFunction } from '../functions/compile.js';
import { FunctionSandbox, MAX_PROCESSES, type SandboxOptions } from '../functions/sandbox/pool.js';
import type { CompiledFunction, FunctionRunRequest, FunctionRunResult } from '../functions/types.js';

const TRIVIAL_SOURCE = 'export default async (input) => ({ ok: input.n + 1 })';
const SPINNER_SOURCE = 'export default async () => { while (true) {} }';

const WARM_UP_CALLS = 100;
const WARM_CALLS = 1_000;
const COLD_STARTS = 20;
/** Cold starts in one default pool, where the spare disappears once the pool is full. */
const POOL_COLD_STARTS = 10;
/** Long enough for a freshly spawned spare to have said it is ready (a spawn takes ~100-200 ms here). */
const SPARE_SETTLE_MS = 600;
const THROUGHPUT_CALLERS = 8;
const THROUGHPUT_SECONDS = 5;
const TIMEOUT_RUNS = 10;
const TIMEOUT_MS = 200;
const SPINNER_TIMEOUT_MS = 10_000;
/** Each side of the isolation comparison samples trivial calls for this long. */
const ISOLATION_WINDOW_MS = 3_000;
/** Lets the spinner reach its loop before the spinning window opens. */
const SPINNER_START_MS = 300;

export interface FunctionsBenchFigures {
  warm: { calls: number; p50Ms: number; p99Ms: number };
  cold: {
    starts: number;
    compileMsMedian: number;
    /** run() of the new hash, precompiled, on a ready spare: validate, acquire, code over IPC, vm.Script, context, call (the next spare is forked once the call is sent). */
    firstCallMsMedian: number;
    firstCallDurationMsMedian: number;
    /** The same first call on a fresh pool with no spare: the spawn of a process is paid in the call. */
    spawnFirstCallMsMedian: number;
    /** New hashes one after another in one default pool already running a function, spare given time to start each time. */
    poolStarts: number;
    poolMaxProcesses: number;
    poolFirstCallMsMedian: number;
    poolFirstCallMsMax: number;
  };
  throughput: { callers: number; seconds: number; calls: number; perSecond: number };
  timeout: { runs: number; timeoutMs: number; lateMsMedian: number; lateMsMax: number; wallLateMsMedian: number; wallLateMsMax: number };
  isolation: {
    quietCalls: number;
    quietP50Ms: number;
    quietP99Ms: number;
    spinningCalls: number;
    spinningP50Ms: number;
    spinningP99Ms: number;
    p99Ratio: number;
    spinnerCode: string;
  };
  /** Sandbox processes still alive after every phase closed its sandbox (must be 0). */
  leftoverProcesses: number;
}

// ---------------------------------------------------------------- helpers

/** Nearest-rank percentile of values already sorted ascending. */
function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] as number;
}

function ascending(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

function median(values: number[]): number {
  return percentile(ascending(values), 0.5);
}

const seenHashes = new Set<string>();

/**
 * The trivial function as a version never run before. The tag is in the code, not in a comment:
 * esbuild drops comments, and the hash is of the compiled code.
 */
async function compileFreshTrivial(tag: string): Promise<CompiledFunction> {
  const compiled = await compileFunction(
    `export default async (input) => ({ ok: input.n + 1, version: '${tag} ${process.hrtime.bigint()}' })`,
    'fresh.ts',
  );
  if (seenHashes.has(compiled.hash)) throw new Error('a "fresh" function compiled to a hash already run: the cold start would be warm');
  seenHashes.add(compiled.hash);
  return compiled;
}

function trivialRequest(compiled: CompiledFunction, n: number): FunctionRunRequest {
  return { compiled, input: { n } };
}

/** A failed trivial call would make its time meaningless: the bench stops instead of printing it. */
function expectTrivialOutput(result: FunctionRunResult, n: number): void {
  const output = result.output as { ok?: unknown } | undefined;
  if (!result.ok || output?.ok !== n + 1) throw new Error(`trivial function failed: ${JSON.stringify(result.error ?? result.output)}`);
}

async function timedTrivialCall(
  sandbox: FunctionSandbox,
  compiled: CompiledFunction,
  n: number,
): Promise<{ ms: number; result: FunctionRunResult }> {
  const started = performance.now();
  const result = await sandbox.run(trivialRequest(compiled, n));
  const ms = performance.now() - started;
  expectTrivialOutput(result, n);
  return { ms, result };
}

const sandboxPids = new Set<number>();

/** Runs a phase in its own sandbox and always closes it, remembering its processes for the final check. */
async function withSandbox<T>(options: SandboxOptions, phase: (sandbox: FunctionSandbox) => Promise<T>): Promise<T> {
  const sandbox = new FunctionSandbox(options);
  try {
    return await phase(sandbox);
  } finally {
    for (const pid of sandbox.pids()) sandboxPids.add(pid);
    sandbox.close();
  }
}

/** Processes of any phase still alive (a SIGKILLed child is reaped by Node within milliseconds). */
async function leftoverProcesses(): Promise<number> {
  const alive = (): number[] => [...sandboxPids].filter((pid) => existsSync(`/proc/${pid}`));
  for (let attempt = 0; attempt < 20 && alive().length > 0; attempt++) await sleep(50);
  return alive().length;
}

// ---------------------------------------------------------------- phases

async function measureWarm(trivial: CompiledFunction): Promise<FunctionsBenchFigures['warm']> {
  return withSandbox({}, async (sandbox) => {
    for (let i = 0; i < WARM_UP_CALLS; i++) await timedTrivialCall(sandbox, trivial, i);
    const times: number[] = [];
    for (let i = 0; i < WARM_CALLS; i++) times.push((await timedTrivialCall(sandbox, trivial, i)).ms);
    const sorted = ascending(times);
    return { calls: WARM_CALLS, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99) };
  });
}

interface ColdStart {
  compileMs: number;
  firstCallMs: number;
  firstCallDurationMs: number;
  spawnFirstCallMs: number;
}

/**
 * One cold start in a fresh pool: its first call spawns a process (and then the spare); once the
 * spare is ready, a never-seen source is compiled and run on it.
 */
async function oneColdStart(trivial: CompiledFunction, index: number): Promise<ColdStart> {
  return withSandbox({}, async (sandbox) => {
    const spawnFirstCallMs = (await timedTrivialCall(sandbox, trivial, 1)).ms;
    await sleep(SPARE_SETTLE_MS);
    const compileStarted = performance.now();
    const fresh = await compileFreshTrivial(`cold ${index}`);
    const compileMs = performance.now() - compileStarted;
    const { ms, result } = await timedTrivialCall(sandbox, fresh, index);
    return { compileMs, firstCallMs: ms, firstCallDurationMs: result.durationMs, spawnFirstCallMs };
  });
}

/** New hashes in one default pool: the spare is only kept while the pool has room for it. */
async function poolColdStarts(trivial: CompiledFunction): Promise<number[]> {
  return withSandbox({}, async (sandbox) => {
    // A pool in use: one process runs a function, the spare waits.
    await timedTrivialCall(sandbox, trivial, 0);
    await sleep(SPARE_SETTLE_MS);
    const times: number[] = [];
    for (let i = 0; i < POOL_COLD_STARTS; i++) {
      const fresh = await compileFreshTrivial(`pool ${i}`);
      times.push((await timedTrivialCall(sandbox, fresh, i)).ms);
      await sleep(SPARE_SETTLE_MS);
    }
    return times;
  });
}

async function measureCold(trivial: CompiledFunction): Promise<FunctionsBenchFigures['cold']> {
  const starts: ColdStart[] = [];
  for (let i = 0; i < COLD_STARTS; i++) starts.push(await oneColdStart(trivial, i));
  const pool = await poolColdStarts(trivial);
  return {
    starts: COLD_STARTS,
    compileMsMedian: median(starts.map((start) => start.compileMs)),
    firstCallMsMedian: median(starts.map((start) => start.firstCallMs)),
    firstCallDurationMsMedian: median(starts.map((start) => start.firstCallDurationMs)),
    spawnFirstCallMsMedian: median(starts.map((start) => start.spawnFirstCallMs)),
    poolStarts: POOL_COLD_STARTS,
    poolMaxProcesses: MAX_PROCESSES,
    poolFirstCallMsMedian: median(pool),
    poolFirstCallMsMax: Math.max(...pool),
  };
}

async function measureThroughput(trivial: CompiledFunction): Promise<FunctionsBenchFigures['throughput']> {
  return withSandbox({}, async (sandbox) => {
    // Warm-up: let the pool grow to the processes the callers will use.
    await Promise.all(Array.from({ length: THROUGHPUT_CALLERS }, (_, i) => timedTrivialCall(sandbox, trivial, i)));
    let calls = 0;
    const started = performance.now();
    const endsAt = started + THROUGHPUT_SECONDS * 1000;
    const caller = async (): Promise<void> => {
      while (performance.now() < endsAt) {
        await timedTrivialCall(sandbox, trivial, calls);
        calls++;
      }
    };
    await Promise.all(Array.from({ length: THROUGHPUT_CALLERS }, caller));
    const seconds = (performance.now() - started) / 1000;
    return { callers: THROUGHPUT_CALLERS, seconds, calls, perSecond: calls / seconds };
  });
}

async function measureTimeout(spinner: CompiledFunction): Promise<FunctionsBenchFigures['timeout']> {
  return withSandbox({}, async (sandbox) => {
    const late: number[] = [];
    const wallLate: number[] = [];
    // The first run binds a process to the spinner's hash (spawn included); it is not counted.
    for (let run = -1; run < TIMEOUT_RUNS; run++) {
      const started = performance.now();
      const result = await sandbox.run({ compiled: spinner, input: null, timeoutMs: TIMEOUT_MS });
      const wallMs = performance.now() - started;
      if (result.error?.code !== 'TIMEOUT') throw new Error(`spinner ended with ${JSON.stringify(result.error)}, not TIMEOUT`);
      if (run < 0) continue;
      late.push(result.durationMs - TIMEOUT_MS);
      wallLate.push(wallMs - TIMEOUT_MS);
      // A killed process is replaced by the spare: give it time to start, so that no spawn is timed.
      await sleep(SPARE_SETTLE_MS);
    }
    return {
      runs: TIMEOUT_RUNS,
      timeoutMs: TIMEOUT_MS,
      lateMsMedian: median(late),
      lateMsMax: Math.max(...late),
      wallLateMsMedian: median(wallLate),
      wallLateMsMax: Math.max(...wallLate),
    };
  });
}

/** Sequential trivial calls for a window of time; their wall times in ms. */
async function trivialCallsFor(sandbox: FunctionSandbox, trivial: CompiledFunction, windowMs: number): Promise<number[]> {
  const times: number[] = [];
  const endsAt = performance.now() + windowMs;
  while (performance.now() < endsAt) times.push((await timedTrivialCall(sandbox, trivial, times.length)).ms);
  return times;
}

async function measureIsolation(trivial: CompiledFunction, spinner: CompiledFunction): Promise<FunctionsBenchFigures['isolation']> {
  return withSandbox({}, async (sandbox) => {
    for (let i = 0; i < WARM_UP_CALLS; i++) await timedTrivialCall(sandbox, trivial, i);
    // The spare must be ready before the spinner takes it, or the spinning window would time a spawn.
    await sleep(SPARE_SETTLE_MS);
    const quiet = ascending(await trivialCallsFor(sandbox, trivial, ISOLATION_WINDOW_MS));
    let spinnerSettled = false;
    const spinning = sandbox.run({ compiled: spinner, input: null, timeoutMs: SPINNER_TIMEOUT_MS }).finally(() => (spinnerSettled = true));
    await sleep(SPINNER_START_MS);
    const busy = ascending(await trivialCallsFor(sandbox, trivial, ISOLATION_WINDOW_MS));
    if (spinnerSettled) throw new Error('the spinner ended before the spinning window closed: the comparison is void');
    const spinnerResult = await spinning;
    const quietP99Ms = percentile(quiet, 0.99);
    const spinningP99Ms = percentile(busy, 0.99);
    return {
      quietCalls: quiet.length,
      quietP50Ms: percentile(quiet, 0.5),
      quietP99Ms,
      spinningCalls: busy.length,
      spinningP50Ms: percentile(busy, 0.5),
      spinningP99Ms,
      p99Ratio: spinningP99Ms / quietP99Ms,
      spinnerCode: spinnerResult.error?.code ?? 'ok',
    };
  });
}

// ---------------------------------------------------------------- entry points

export async function benchFunctions(): Promise<FunctionsBenchFigures> {
  const trivial = await compileFunction(TRIVIAL_SOURCE, 'trivial.ts');
  const spinner = await compileFunction(SPINNER_SOURCE, 'spinner.ts');
  const warm = await measureWarm(trivial);
  const cold = await measureCold(trivial);
  const throughput = await measureThroughput(trivial);
  const timeout = await measureTimeout(spinner);
  const isolation = await measureIsolation(trivial, spinner);
  return { warm, cold, throughput, timeout, isolation, leftoverProcesses: await leftoverProcesses() };
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;

export function describeFunctions(figures: FunctionsBenchFigures): string {
  const { warm, cold, throughput, timeout, isolation } = figures;
  return [
    `warm trivial call (${warm.calls} sequential): p50 ${ms(warm.p50Ms)}, p99 ${ms(warm.p99Ms)} (target p50 ≤ 5 ms)`,
    `cold start, median of ${cold.starts}: compile ${ms(cold.compileMsMedian)} (esbuild) + first call ${ms(cold.firstCallMsMedian)} on the ready spare (the next spare forks after the call is sent; durationMs ${ms(cold.firstCallDurationMsMedian)}: code over IPC, vm.Script, fresh context, call) (target ≤ 50 ms for the call)`,
    `first call with no spare (spawn paid in the call): median ${ms(cold.spawnFirstCallMsMedian)}`,
    `cold starts in one default pool of ${cold.poolMaxProcesses} processes, ${cold.poolStarts} new hashes: first call median ${ms(cold.poolFirstCallMsMedian)}, max ${ms(cold.poolFirstCallMsMax)} (a full pool keeps a spare only in place of a process idle 5 s, so back-to-back new hashes evict + spawn)`,
    `throughput, ${throughput.callers} callers for ${throughput.seconds.toFixed(1)} s: ${throughput.perSecond.toFixed(0)} calls/s (${throughput.calls} calls; target ≥ 300/s)`,
    `TIMEOUT of while(true){} at ${timeout.timeoutMs} ms, ${timeout.runs} runs: durationMs − timeout median ${ms(timeout.lateMsMedian)}, max ${ms(timeout.lateMsMax)}; wall − timeout median ${ms(timeout.wallLateMsMedian)}, max ${ms(timeout.wallLateMsMax)} (target ≤ 100 ms)`,
    `trivial calls, quiet: p50 ${ms(isolation.quietP50Ms)}, p99 ${ms(isolation.quietP99Ms)} (${isolation.quietCalls} calls)`,
    `trivial calls while another call spins: p50 ${ms(isolation.spinningP50Ms)}, p99 ${ms(isolation.spinningP99Ms)} (${isolation.spinningCalls} calls; spinner ended ${isolation.spinnerCode}); p99 ratio ${isolation.p99Ratio.toFixed(2)} (target p99 unchanged, ratio ≈ 1)`,
    `sandbox processes left after close: ${figures.leftoverProcesses} (must be 0)`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchFunctions()
    .then((figures) => console.log(describeFunctions(figures)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
