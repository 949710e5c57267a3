/**
 * The one place where idflow's CEL environment is built: declared variables, extra functions
 * and operators. Later additions (time.format, ip(), cidr(), UserStatus constants...) go here.
 *
 * Workflow-safe: imported by workflow code, so no Node built-ins, no I/O and no host clock.
 * now() reads the clock the caller handed to evaluate() (see setEvaluationClock).
 *
 * Namespaced functions (`time.format(ts, layout)`): cel-js resolves `time.format(...)` as a
 * receiver call on a value named `time`, so declare a marker type and a constant of it, then
 * receiver functions on that type — the way cel-js itself provides `cel.bind` and `optional.of`:
 *   class TimeNamespace {}
 *   env.registerType('TimeNamespace', TimeNamespace)
 *      .registerConstant('time', 'TimeNamespace', new TimeNamespace())
 *      .registerFunction('TimeNamespace.format(google.protobuf.Timestamp, string): string', (_ns, ts, layout) => ...)
 */
import { Environment } from '@marcbachmann/cel-js';
import { Duration } from '@marcbachmann/cel-js/evaluator';
import { formatDuration, formatTimestamp } from './json.js';

/** The variables every expression may use. Anything else is a type error at compile time. */
export const CEL_VARIABLES = {
  ctx: 'Run context: ctx.trigger (the trigger payload) and ctx.<step name> (each finished step output).',
  subject: 'The user the run is about (ctx.trigger.user: newUser, else oldUser), or null.',
} as const;

let clock: Date | undefined;

/**
 * Sets the value now() returns during the evaluation that follows. Evaluation is synchronous
 * (no async functions are registered), so a module-level slot cannot leak between evaluations
 * as long as the caller resets it to undefined afterwards, which cel/index.ts does in finally.
 */
export function setEvaluationClock(now: Date | undefined): void {
  clock = now;
}

function readClock(): Date {
  // compile() records whether an expression calls now() and evaluate() refuses to run it without
  // options.now, so this only fires if that bookkeeping is bypassed.
  if (clock === undefined) throw new Error('now() needs a clock: pass options.now to evaluate()');
  return clock;
}

const TIMESTAMP = 'google.protobuf.Timestamp';
const DURATION = 'google.protobuf.Duration';

/**
 * Mixed int/double arithmetic. Inputs are JSON, where every number is a double, while CEL number
 * literals without a dot are ints; standard CEL has no `double + int`, so `ctx.trigger.count + 1`
 * or `groups.map(g, g.size * 2)` would fail at run time on data that looks fine. We add the
 * mixed overloads, returning double (what JavaScript and JSON users expect). Comparisons
 * (`age > 30`, `count == 2`) need nothing: cel-js already compares int with double by value.
 * Cost: `1 + 1.0` now type-checks, where strict CEL refuses it.
 */
function registerMixedArithmetic(env: Environment): void {
  const toNumber = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));
  const ops: Record<string, (a: number, b: number) => number> = {
    '+': (a, b) => a + b,
    '-': (a, b) => a - b,
    '*': (a, b) => a * b,
    '/': (a, b) => a / b,
    '%': (a, b) => a % b,
  };
  for (const [op, fn] of Object.entries(ops)) {
    const handler = (a: unknown, b: unknown): number => fn(toNumber(a), toNumber(b));
    env.registerOperator(`double ${op} int: double`, handler);
    env.registerOperator(`int ${op} double: double`, handler);
  }
}

/** A fresh environment; use celEnvironment() for the shared one. */
export function createCelEnvironment(): Environment {
  const env = new Environment({
    // Unknown identifiers (ctxx.trigger) must be type errors at apply time, not dyn variables.
    unlistedVariablesAreDyn: false,
    // Templates build JSON: {"name": x, "count": 1} must not require dyn() around each value.
    homogeneousAggregateLiterals: false,
    // x.?field and .orValue(): the natural way to read optional step output fields.
    enableOptionalTypes: true,
  })
    .registerVariable('ctx', 'map<string, dyn>', { description: CEL_VARIABLES.ctx })
    .registerVariable('subject', 'dyn', { description: CEL_VARIABLES.subject })
    .registerFunction(`now(): ${TIMESTAMP}`, readClock, {
      description: 'The evaluation time: one value per evaluation, from the caller (workflow time in runs).',
    })
    // Standard CEL conversions that cel-js 8 lacks; templates need string(timestamp) most.
    .registerFunction(`string(${TIMESTAMP}): string`, (ts: Date) => formatTimestamp(ts))
    .registerFunction(`string(${DURATION}): string`, (d: Duration) => formatDuration(d))
    .registerFunction(`int(${TIMESTAMP}): int`, (ts: Date) => BigInt(Math.floor(ts.getTime() / 1000)))
    .registerFunction(`timestamp(${TIMESTAMP}): ${TIMESTAMP}`, (ts: Date) => ts)
    .registerFunction(`duration(${DURATION}): ${DURATION}`, (d: Duration) => d);
  registerMixedArithmetic(env);
  return env;
}

let shared: Environment | undefined;

/** The shared environment, built on first use (construction costs a few milliseconds). */
export function celEnvironment(): Environment {
  shared ??= createCelEnvironment();
  return shared;
}
