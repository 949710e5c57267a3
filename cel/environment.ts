/**
 * The one place where idflow's CEL environment is built: declared variables, extra functions
 * and operators: time (cel/time.ts), networks (cel/network.ts) and the directory's constants.
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
import { MAX_EXPRESSION_DEPTH } from './limits.js';
import { MATCHES_FUNCTION, regexMatches } from './regex.js';
import { CidrRange, IpAddress, NET_IP_FIELDS, parseCidr, parseIp } from './network.js';
import { TIME_FORMATS, formatTime, parseTime, startOf } from './time.js';

/** The variables an expression may use, by name: their CEL type and what they hold. Anything else is a type error at compile time. */
export type CelVariableSet = Readonly<Record<string, { type: string; description: string }>>;

/** The variables of run expressions: conditions, templates, forEachUser. */
export const RUN_VARIABLES: CelVariableSet = {
  ctx: {
    type: 'map<string, dyn>',
    description: 'Run context: ctx.trigger (the trigger payload) and ctx.<step name> (each finished step output).',
  },
  subject: { type: 'dyn', description: 'The user the run is about (ctx.trigger.user: newUser, else oldUser), or null.' },
};

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

/** The directory's status values, as constants: `subject.status == UserStatus.DISABLED`. */
export const USER_STATUS = { ENABLED: 'ENABLED', DISABLED: 'DISABLED', DELETED: 'DELETED' } as const;
export const APP_USER_STATUSES = ['APP_USER_STATUS_ENABLED', 'APP_USER_STATUS_DISABLED', 'APP_USER_STATUS_DELETED'] as const;

/** The receiver of `time.format(...)`, `time.parse(...)` and `time.start_of(...)` (see the file comment). */
class TimeNamespace {}

/**
 * A constant whose members are read as fields (`UserStatus.DISABLED`). Declared as a type with
 * one string field per member rather than as a map<string, string>, so that a typo
 * (`UserStatus.DISABLD`) is a type error at apply time, not a missing key in a run. A Map
 * subclass, so that the whole group still converts to JSON.
 */
function registerConstantGroup(env: Environment, typeName: string, name: string, members: Readonly<Record<string, string>>): void {
  const Group = class extends Map<string, string> {};
  Object.defineProperty(Group, 'name', { value: typeName });
  const fields = Object.fromEntries(Object.keys(members).map((member) => [member, 'string']));
  env.registerType(typeName, { ctor: Group, fields }).registerConstant(name, typeName, new Group(Object.entries(members)));
}

function registerDirectoryConstants(env: Environment): void {
  registerConstantGroup(env, 'idflow.UserStatus', 'UserStatus', USER_STATUS);
  for (const status of APP_USER_STATUSES) env.registerConstant(status, 'string', status);
  registerConstantGroup(env, 'idflow.TimeFormat', 'TimeFormat', TIME_FORMATS);
}

function registerTimeFunctions(env: Environment): void {
  env
    .registerType('TimeNamespace', TimeNamespace)
    .registerConstant('time', 'TimeNamespace', new TimeNamespace())
    .registerFunction(
      `TimeNamespace.format(${TIMESTAMP}, string): string`,
      (_time: TimeNamespace, ts: Date, layout: string) => formatTime(ts, layout),
      {
        description: 'Formats a timestamp with a Go-style layout ("2006-01-02 15:04", "Monday") in UTC.',
      },
    )
    .registerFunction(
      `TimeNamespace.format(${TIMESTAMP}, string, string): string`,
      (_time: TimeNamespace, ts: Date, layout: string, zone: string) => formatTime(ts, layout, zone),
    )
    .registerFunction(
      `TimeNamespace.parse(string, string): ${TIMESTAMP}`,
      (_time: TimeNamespace, text: string, layout: string) => parseTime(text, layout),
      {
        description: 'Parses text with a Go-style layout or a TimeFormat constant; times without an offset are UTC.',
      },
    )
    .registerFunction(
      `TimeNamespace.parse(string, string, string): ${TIMESTAMP}`,
      (_time: TimeNamespace, text: string, layout: string, zone: string) => parseTime(text, layout, zone),
    )
    .registerFunction(
      `TimeNamespace.start_of(${TIMESTAMP}, string): ${TIMESTAMP}`,
      (_time: TimeNamespace, ts: Date, unit: string) => startOf(ts, unit),
      {
        description: 'The start of the "day", "week" (Monday) or "month" containing a timestamp.',
      },
    )
    .registerFunction(
      `TimeNamespace.start_of(${TIMESTAMP}, string, string): ${TIMESTAMP}`,
      (_time: TimeNamespace, ts: Date, unit: string, zone: string) => startOf(ts, unit, zone),
    );
}

/**
 * ip() and cidr(). The predicates of an address are both fields and methods: the issue and the
 * reference docs write `ip(x).isPrivate`, CEL users (Kubernetes' library) `ip(x).isLoopback()`;
 * cel-js resolves the two forms separately, so both type-check and give the same answer.
 */
function registerNetworkFunctions(env: Environment): void {
  env
    .registerType('net.IP', { ctor: IpAddress, fields: NET_IP_FIELDS })
    .registerType('net.CIDR', CidrRange)
    .registerFunction('ip(string): net.IP', parseIp, { description: 'An IPv4 or IPv6 address, e.g. "10.1.2.5" or "2001:db8::1".' })
    .registerFunction('cidr(string): net.CIDR', parseCidr, { description: 'An address range, e.g. "10.1.2.0/24" or "2001:db8::/32".' })
    .registerFunction('net.IP.within(net.CIDR): bool', (address: IpAddress, range: CidrRange) => range.contains(address))
    .registerFunction('net.CIDR.contains(net.IP): bool', (range: CidrRange, address: IpAddress) => range.contains(address))
    .registerFunction('net.CIDR.contains(net.CIDR): bool', (range: CidrRange, inner: CidrRange) => range.containsRange(inner))
    .registerFunction('net.IP.isPrivate(): bool', (address: IpAddress) => address.isPrivate)
    .registerFunction('net.IP.isLoopback(): bool', (address: IpAddress) => address.isLoopback)
    .registerFunction('net.IP.is4(): bool', (address: IpAddress) => address.is4)
    .registerFunction('net.IP.is6(): bool', (address: IpAddress) => address.is6)
    .registerOperator('net.IP == net.IP', (a: IpAddress, b: IpAddress) => a.equals(b))
    .registerOperator('net.CIDR == net.CIDR', (a: CidrRange, b: CidrRange) => a.equals(b))
    .registerFunction('string(net.IP): string', (address: IpAddress) => address.text)
    .registerFunction('string(net.CIDR): string', (range: CidrRange) => range.text);
}

/** A fresh environment declaring `variables`; use celEnvironment() for the shared one. */
export function createCelEnvironment(variables: CelVariableSet = RUN_VARIABLES): Environment {
  const env = new Environment({
    // Unknown identifiers (ctxx.trigger) must be type errors at apply time, not dyn variables.
    unlistedVariablesAreDyn: false,
    // Templates build JSON: {"name": x, "count": 1} must not require dyn() around each value.
    homogeneousAggregateLiterals: false,
    // x.?field and .orValue(): the natural way to read optional step output fields.
    enableOptionalTypes: true,
    // The parser's own nesting count (parentheses, calls, selections) gets idflow's bound.
    limits: { maxDepth: MAX_EXPRESSION_DEPTH },
  });
  for (const [name, { type, description }] of Object.entries(variables)) env.registerVariable(name, type, { description });
  env
    .registerFunction(`now(): ${TIMESTAMP}`, readClock, {
      description: 'The evaluation time: one value per evaluation, from the caller (workflow time in runs).',
    })
    // Standard CEL conversions that cel-js 8 lacks; templates need string(timestamp) most.
    .registerFunction(`string(${TIMESTAMP}): string`, (ts: Date) => formatTimestamp(ts))
    .registerFunction(`string(${DURATION}): string`, (d: Duration) => formatDuration(d))
    .registerFunction(`int(${TIMESTAMP}): int`, (ts: Date) => BigInt(Math.floor(ts.getTime() / 1000)))
    .registerFunction(`timestamp(${TIMESTAMP}): ${TIMESTAMP}`, (ts: Date) => ts)
    .registerFunction(`duration(${DURATION}): ${DURATION}`, (d: Duration) => d)
    // compile() points `.matches()` here: RE2, linear time (see cel/regex.ts).
    .registerFunction(`string.${MATCHES_FUNCTION}(string): bool`, regexMatches);
  registerMixedArithmetic(env);
  registerDirectoryConstants(env);
  registerTimeFunctions(env);
  registerNetworkFunctions(env);
  return env;
}

const shared = new Map<CelVariableSet, Environment>();

/** The shared environment of a variable set, built on first use (construction costs a few milliseconds). */
export function celEnvironment(variables: CelVariableSet = RUN_VARIABLES): Environment {
  let env = shared.get(variables);
  if (env === undefined) {
    env = createCelEnvironment(variables);
    shared.set(variables, env);
  }
  return env;
}
