/**
 * idflow's CEL: compile once (parse + type-check against the declared variables, so bad
 * expressions are refused at apply time), evaluate many times against JSON variables.
 *
 * Workflow-safe: this module is bundled into Temporal workflows, so it uses no Node built-ins,
 * no I/O and no host clock. now() returns options.now, which callers must pass (workflow time
 * in runs, the host clock in the CLI); an expression calling now() without it is an error.
 */
import type { JsonValue } from '../core/json.js';
import type { ParseResult } from '@marcbachmann/cel-js';
import { RUN_VARIABLES, celEnvironment, setEvaluationClock, type CelVariableSet } from './environment.js';
import { CelError, expressionError, toCelError } from './errors.js';
import { celTypeName, toJson } from './json.js';
import { MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, expressionDepth } from './limits.js';
import { expressionFacts, type ExpressionFacts } from './references.js';
import { compileRegex, useRe2Matches } from './regex.js';

export { CelError, type CelErrorKind } from './errors.js';
export { RUN_VARIABLES, type CelVariableSet } from './environment.js';
export { celTypeName, toJson } from './json.js';
export { camelCaseOf, snakeCaseOf, withFieldAliases } from './aliases.js';

export interface CelVariables {
  ctx?: unknown;
  subject?: unknown;
  [name: string]: unknown;
}

export interface EvaluateOptions {
  /** The value now() returns; required when the expression calls now(). */
  now?: Date;
}

export interface CompiledExpression {
  readonly expression: string;
  /** top-level keys referenced as ctx.<key> or ctx["key"] (from the AST, not a regex) */
  readonly ctxReferences: readonly string[];
  evaluate(vars: CelVariables, options?: EvaluateOptions): JsonValue;
}

/** What compile() returns: CompiledExpression plus what parsing and type checking found out. */
export interface CheckedExpression extends CompiledExpression {
  /** Type inferred by the checker: 'bool', 'string', 'dyn' (most ctx reads), 'list<string>'... */
  readonly resultType: string;
  /** The expression calls now(), so evaluate() needs options.now. */
  readonly usesNow: boolean;
  /** ctx is used whole or indexed by a computed key: ctxReferences may not list every key read. */
  readonly readsWholeCtx: boolean;
  /** The raw cel-js result (bigint ints, Date timestamps...), before JSON conversion. */
  evaluateRaw(vars: CelVariables, options?: EvaluateOptions): unknown;
}

class Program implements CheckedExpression {
  readonly expression: string;
  readonly ctxReferences: readonly string[];
  readonly resultType: string;
  readonly usesNow: boolean;
  readonly readsWholeCtx: boolean;
  readonly #run: ParseResult;

  constructor(expression: string, run: ParseResult, resultType: string, facts: ExpressionFacts) {
    this.expression = expression;
    this.#run = run;
    this.resultType = resultType;
    this.ctxReferences = Object.freeze(facts.ctxReferences);
    this.usesNow = facts.usesNow;
    this.readsWholeCtx = facts.readsWholeCtx;
  }

  evaluate(vars: CelVariables, options?: EvaluateOptions): JsonValue {
    const value = this.evaluateRaw(vars, options);
    // Conditions and most templates yield bools and strings: skip the conversion call for them.
    if (typeof value === 'boolean' || typeof value === 'string') return value;
    try {
      return toJson(value);
    } catch (error) {
      throw toCelError(error, this.expression, 'evaluation');
    }
  }

  evaluateRaw(vars: CelVariables, options?: EvaluateOptions): unknown {
    if (this.usesNow) return this.#runWithClock(vars, options?.now);
    // vars go to cel-js as they are: no copy, no conversion (JSON numbers stay doubles).
    try {
      return this.#run(vars);
    } catch (error) {
      throw toCelError(error, this.expression, 'evaluation');
    }
  }

  #runWithClock(vars: CelVariables, now: Date | undefined): unknown {
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
      throw expressionError('evaluation', this.expression, 'now() needs a clock: pass options.now (workflow time in runs) to evaluate()');
    }
    setEvaluationClock(now);
    try {
      return this.#run(vars);
    } catch (error) {
      throw toCelError(error, this.expression, 'evaluation');
    } finally {
      setEvaluationClock(undefined);
    }
  }
}

function build(expression: string, variables: CelVariableSet): Program {
  if (typeof expression !== 'string') {
    throw new CelError('syntax', String(expression), `CEL expression must be a string, got ${typeof expression}`);
  }
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw expressionError('syntax', expression, `the expression is ${expression.length} characters long; at most ${MAX_EXPRESSION_LENGTH}`);
  }
  let parsed: ParseResult;
  try {
    parsed = celEnvironment(variables).parse(expression);
  } catch (error) {
    throw toCelError(error, expression, 'syntax');
  }
  const depth = expressionDepth(parsed.ast);
  if (depth > MAX_EXPRESSION_DEPTH) {
    throw expressionError(
      'syntax',
      expression,
      `nested ${depth} levels deep; at most ${MAX_EXPRESSION_DEPTH} (each operator of a chain like a || b || c is a level: test membership with \`x in [...]\` instead)`,
    );
  }
  // Facts come from the syntax tree as written, before the checker decorates it.
  const facts = expressionFacts(parsed.ast);
  for (const literal of useRe2Matches(parsed.ast)) {
    try {
      compileRegex(literal.pattern);
    } catch (error) {
      throw expressionError('syntax', expression, error instanceof Error ? error.message : String(error), literal.offset);
    }
  }
  const checked = parsed.check();
  if (!checked.valid) throw toCelError(checked.error, expression, 'type', Object.keys(variables));
  return new Program(expression, parsed, checked.type ?? 'dyn', facts);
}

// compile() is pure, so a plain Map is a sound memo. Expressions come from applied definitions,
// a bounded set; the limit only guards against a caller compiling generated strings in a loop.
const CACHE_LIMIT = 10_000;
const caches = new Map<CelVariableSet, Map<string, Program>>();

/**
 * Parses and type-checks `expression` against idflow's environment with `variables` (by default
 * ctx and subject, as runs have them). Throws CelError kind 'syntax' or 'type'. Memoised by
 * variable set and expression string; errors are not cached.
 */
export function compile(expression: string, variables: CelVariableSet = RUN_VARIABLES): CheckedExpression {
  let cache = caches.get(variables);
  if (cache === undefined) {
    cache = new Map();
    caches.set(variables, cache);
  }
  const hit = cache.get(expression);
  if (hit !== undefined) return hit;
  const program = build(expression, variables);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(expression, program);
  return program;
}

/** compile() for conditions: also refuses, at apply time, expressions whose type can't be bool. */
export function compileCondition(expression: string): CheckedExpression {
  const compiled = compile(expression);
  if (compiled.resultType !== 'bool' && compiled.resultType !== 'dyn') {
    throw expressionError('type', expression, `condition must be a bool, got ${compiled.resultType}`);
  }
  return compiled;
}

/** Evaluates a condition; throws CelError('evaluation') when the result is not a bool. */
export function evaluateCondition(compiled: CompiledExpression, vars: CelVariables, options?: EvaluateOptions): boolean {
  const value = compiled instanceof Program ? compiled.evaluateRaw(vars, options) : compiled.evaluate(vars, options);
  if (typeof value === 'boolean') return value;
  throw expressionError('evaluation', compiled.expression, `condition must be a bool, got ${celTypeName(value)}`);
}

/** compile + evaluate in one call, for `idflow cel eval` and tests. */
export function evaluateExpression(expression: string, vars: CelVariables, options?: EvaluateOptions): JsonValue {
  return compile(expression).evaluate(vars, options);
}
