/**
 * CelError: the one error type the CEL module throws, whatever went wrong inside cel-js.
 *
 * Workflow-safe: no Node built-ins (this file is bundled into the Temporal workflow sandbox).
 */
import { EvaluationError, ParseError, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import { MATCHES_FUNCTION } from './regex.js';

export type CelErrorKind = 'syntax' | 'type' | 'evaluation';

export interface CelErrorOptions {
  /** 0-based offset in `expression` where the problem is. */
  offset?: number;
  /** The reason alone, without the location; defaults to the message. */
  detail?: string;
  cause?: unknown;
}

export class CelError extends Error {
  readonly kind: CelErrorKind;
  /** The CEL expression (or, for template errors, the whole template string). */
  readonly expression: string;
  /** 0-based offset in `expression` where the problem is, when known. */
  readonly offset?: number;
  /** The reason alone, e.g. "No such key: missing", for callers composing their own message. */
  readonly detail: string;

  constructor(kind: CelErrorKind, expression: string, message: string, options: CelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CelError';
    this.kind = kind;
    this.expression = expression;
    if (options.offset !== undefined) this.offset = options.offset;
    this.detail = options.detail ?? message;
  }
}

const MAX_QUOTED = 160;

/** `column 13`, or `line 2, column 5` for multi-line expressions (YAML block scalars). */
export function describePosition(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = offset - lineStart + 1;
  return line === 1 && !text.includes('\n') ? `column ${column}` : `line ${line}, column ${column}`;
}

/** The expression in backquotes on one line; long ones are cut. */
export function quoteExpression(expression: string): string {
  const flat = expression.replace(/\s*\n\s*/g, ' ');
  return '`' + (flat.length > MAX_QUOTED ? flat.slice(0, MAX_QUOTED - 1) + '…' : flat) + '`';
}

/**
 * Builds a CelError about `expression`: "in `expr` at column 13: No such key: title". The kind
 * is left out of the message (callers print it from .kind, e.g. "CEL type error: ...").
 */
export function expressionError(kind: CelErrorKind, expression: string, detail: string, offset?: number, cause?: unknown): CelError {
  const where = offset === undefined ? '' : ` at ${describePosition(expression, offset)}`;
  return new CelError(kind, expression, `in ${quoteExpression(expression)}${where}: ${detail}`, {
    offset,
    detail,
    cause,
  });
}

interface LibraryErrorShape {
  code?: string;
  summary?: string;
  range?: { start: number; end: number };
}

/** "ctx and subject", "body, headers and delivery". */
function listed(names: readonly string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Hints for the library's terse messages where our JSON inputs make a mistake likely. */
function withHint(code: string | undefined, kind: CelErrorKind, summary: string, variables: readonly string[]): string {
  if (code === 'no_such_key') {
    // At check time only declared types have a fixed set of fields (UserStatus, TimeFormat, ip()): a typo.
    if (kind === 'type') return `${summary} (not a field of that type; docs/cel.md lists the members of UserStatus, TimeFormat and ip())`;
    return `${summary} (test optional fields with has(x.field) or x.?field.orValue(default))`;
  }
  if (code === 'unknown_variable') {
    return kind === 'type' ? `${summary} (the variables are ${listed(variables)})` : `${summary} (no value was passed for it)`;
  }
  return summary;
}

/**
 * Converts anything thrown while parsing, checking or evaluating into a CelError.
 * `fallbackKind` applies to errors that are not cel-js errors (a JS error inside a function);
 * `variables` are the ones the expression's environment declares (named in hints).
 */
export function toCelError(
  error: unknown,
  expression: string,
  fallbackKind: CelErrorKind,
  variables: readonly string[] = ['ctx', 'subject'],
): CelError {
  if (error instanceof CelError) {
    // Already ours (e.g. from toJson): attach the expression when it was not known yet.
    if (error.expression === expression) return error;
    return expressionError(error.kind, expression, error.detail, error.offset, error.cause ?? error);
  }
  let kind: CelErrorKind = fallbackKind;
  if (error instanceof ParseError) kind = 'syntax';
  else if (error instanceof CelTypeError) kind = 'type';
  else if (error instanceof EvaluationError) kind = 'evaluation';
  const shape = (typeof error === 'object' && error !== null ? error : {}) as LibraryErrorShape;
  const said = typeof shape.summary === 'string' ? shape.summary : error instanceof Error ? error.message : String(error);
  // compile() renamed matches() (cel/regex.ts): say it as written.
  const summary = said.replaceAll(`.${MATCHES_FUNCTION}(`, '.matches(');
  const overlap = /^Operator overload '(.+?)' overlaps with '(.+?)'/.exec(summary);
  if (overlap) {
    // Our mixed int/double overloads (environment.ts) make `T + int` ambiguous when T is the
    // still-unknown element type of an empty literal, as in `[].map(n, n + 1)`.
    const detail = `ambiguous arithmetic: both '${overlap[1]}' and '${overlap[2]}' apply because an operand's type is unknown (element of an empty list or map literal?); convert it with int() or double()`;
    return expressionError('type', expression, detail, undefined, error);
  }
  const offset = shape.range && typeof shape.range.start === 'number' ? shape.range.start : undefined;
  return expressionError(kind, expression, withHint(shape.code, kind, summary, variables), offset, error);
}
