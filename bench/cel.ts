/**
 * CEL benchmark (prints figures, gates nothing): evaluations/s of realistic trigger conditions
 * through idflow's wrapper (evaluateCondition on a compiled expression, as the trigger index
 * does), the same through bare cel-js for comparison, and compile time per expression.
 * One thread, warm-up first, median of several timed rounds. Target: ≥ 1,000,000 evals/s.
 *
 *   node --import tsx bench/cel.ts
 */
import { pathToFileURL } from 'node:url';
import { celEnvironment } from '../cel/environment.js';
import { compile, evaluateCondition, type CelVariables } from '../cel/index.js';

export interface CelBenchRow {
  expression: string;
  /** Through compile() + evaluateCondition(). */
  evalsPerSecond: number;
  /** The same expression called directly on cel-js's parsed program: the wrapper's floor. */
  rawEvalsPerSecond: number;
  /** parse + type-check + AST walk of one expression, in microseconds (median). */
  compileMicros: number;
}

export interface BenchFigures {
  rows: CelBenchRow[];
  medianEvalsPerSecond: number;
  medianRawEvalsPerSecond: number;
  medianCompileMicros: number;
  targetEvalsPerSecond: number;
}

export const CEL_BENCH_EXPRESSIONS: readonly string[] = [
  'ctx.trigger.newUser.department == "Engineering"',
  'ctx.trigger.oldUser.department != ctx.trigger.newUser.department && ctx.trigger.newUser.status == "ENABLED"',
  '"admins" in ctx.trigger.newUser.groups',
  'ctx.trigger.newUser.email.endsWith("@example.com")',
  'ctx.trigger.newUser.age > 30',
  'ctx.trigger.newUser.groups.exists(g, g.startsWith("eng-"))',
  'has(ctx.trigger.newUser.manager) && ctx.trigger.newUser.manager != ""',
];

const TARGET = 1_000_000;

function user(department: string): Record<string, unknown> {
  return {
    id: 'u-123',
    email: 'ada.lovelace@example.com',
    department,
    title: 'Senior Engineer',
    status: 'ENABLED',
    age: 36,
    manager: 'grace@example.com',
    groups: ['everyone', 'admins', 'eng-platform', 'vpn'],
  };
}

const VARS: CelVariables = {
  ctx: { trigger: { oldUser: user('Sales'), newUser: user('Engineering') } },
  subject: { id: 'u-123' },
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Calls `fn` in rounds of `iterations` and returns the median rate in calls/s. */
function rate(fn: () => unknown, iterations: number, rounds: number): number {
  let sink: unknown;
  for (let i = 0; i < iterations; i++) sink = fn(); // warm-up: let V8 optimise the path
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = fn();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(iterations / seconds);
  }
  if (sink === undefined) throw new Error('benchmark body returned nothing');
  return median(rates);
}

/** Median compile time: distinct trailing whitespace defeats compile()'s memo without changing the program. */
function compileMicros(expression: string, samples: number): number {
  const times: number[] = [];
  for (let i = 1; i <= samples; i++) {
    const text = expression + ' '.repeat(i);
    const started = process.hrtime.bigint();
    compile(text);
    times.push(Number(process.hrtime.bigint() - started) / 1e3);
  }
  return median(times);
}

/** Runs the benchmark and prints its table (unless print is false); returns the figures. */
export async function runCelBench(options: { iterations?: number; rounds?: number; print?: boolean } = {}): Promise<BenchFigures> {
  const iterations = options.iterations ?? 300_000;
  const rounds = options.rounds ?? 5;
  const rows: CelBenchRow[] = [];
  for (const expression of CEL_BENCH_EXPRESSIONS) {
    const compiled = compile(expression);
    if (evaluateCondition(compiled, VARS) !== true) throw new Error(`bench condition is not true: ${expression}`);
    const program = celEnvironment().parse(expression);
    if (!program.check().valid) throw new Error(`bench expression does not type-check: ${expression}`);
    rows.push({
      expression,
      evalsPerSecond: rate(() => evaluateCondition(compiled, VARS), iterations, rounds),
      rawEvalsPerSecond: rate(() => program(VARS) as unknown, iterations, rounds),
      compileMicros: compileMicros(expression, 200),
    });
  }
  const figures: BenchFigures = {
    rows,
    medianEvalsPerSecond: median(rows.map((r) => r.evalsPerSecond)),
    medianRawEvalsPerSecond: median(rows.map((r) => r.rawEvalsPerSecond)),
    medianCompileMicros: median(rows.map((r) => r.compileMicros)),
    targetEvalsPerSecond: TARGET,
  };
  if (options.print !== false) printCelBench(figures);
  return figures;
}

function formatRate(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(11);
}

export function printCelBench(figures: BenchFigures): void {
  console.log(`${'evals/s'.padStart(11)} ${'cel-js'.padStart(11)} ${'compile'.padStart(9)}  expression`);
  for (const row of figures.rows) {
    console.log(
      `${formatRate(row.evalsPerSecond)} ${formatRate(row.rawEvalsPerSecond)} ${row.compileMicros.toFixed(1).padStart(7)}µs  ${row.expression}`,
    );
  }
  const verdict = figures.medianEvalsPerSecond >= figures.targetEvalsPerSecond ? 'meets' : 'MISSES';
  console.log(
    `${formatRate(figures.medianEvalsPerSecond)} ${formatRate(figures.medianRawEvalsPerSecond)} ${figures.medianCompileMicros.toFixed(1).padStart(7)}µs  median (${verdict} the ${figures.targetEvalsPerSecond.toLocaleString('en-US')} evals/s target)`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runCelBench();
}
