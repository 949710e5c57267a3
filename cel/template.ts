/**
 * Templates: strings with `{{ cel }}` parts, used in step `with` blocks.
 *
 * - A string that is exactly one `{{ expr }}` (whitespace around allowed) takes the expression's
 *   JSON value and type: list, map, number, bool, null.
 * - Otherwise each `{{ expr }}` is replaced by text: strings as they are, null as "", numbers and
 *   bools as JSON text, lists and maps as JSON.
 * - Every `{{` opens an expression; it ends at the first `}}` outside CEL string literals and
 *   outside `{ }` map literals. There is no escape: write `{{ "{{" }}` for a literal `{{`.
 * - Rendered into markup (an email's Markdown, Slack mrkdwn), each interpolated value's text goes
 *   through the field's escaper, so data stays text while the author's own markup stays live.
 *
 * Workflow-safe like the rest of cel/.
 */
import type { JsonValue } from '../core/json.js';
import { compile, type CelVariables, type CheckedExpression, type EvaluateOptions } from './index.js';
import { CelError, describePosition, type CelErrorKind } from './errors.js';

export function isTemplate(text: string): boolean {
  // Any `{{` counts, terminated or not, so that an unterminated one is reported at apply time
  // instead of being passed on as literal text.
  return typeof text === 'string' && text.includes('{{');
}

/** Turns one interpolated value's text into literal text of the markup it lands in. */
export type Escaper = (text: string) => string;

export interface RenderOptions extends EvaluateOptions {
  /** Applied to the text of each interpolated value (not to the template's own text); the result is then always text. */
  escape?: Escaper;
}

export interface CompiledTemplate {
  readonly source: string;
  readonly ctxReferences: readonly string[];
  render(vars: CelVariables, options?: RenderOptions): JsonValue;
}

interface ExpressionPart {
  readonly compiled: CheckedExpression;
  /** Offset of `{{` in the template. */
  readonly open: number;
  /** Offset of the expression's first character in the template. */
  readonly exprStart: number;
  /** The `{{ ... }}` text as written. */
  readonly raw: string;
}

type Part = string | ExpressionPart;

const MAX_SHOWN = 80;

/** The `{{ ... }}` for a message, on one line; long ones are cut (keeping the closing braces if any). */
function showPart(raw: string): string {
  const flat = raw.replace(/\s*\n\s*/g, ' ');
  if (flat.length <= MAX_SHOWN) return flat;
  return flat.endsWith('}}') ? flat.slice(0, MAX_SHOWN - 3) + '…}}' : flat.slice(0, MAX_SHOWN - 1) + '…';
}

/** Where inside the expression of a `{{ }}` an error is, when the compiler or evaluator said. */
interface InnerPosition {
  /** Offset of the (trimmed) expression in the template. */
  exprStart: number;
  expression: string;
  /** Offset in `expression`. */
  offset: number | undefined;
}

/**
 * A CelError about one `{{ }}` of a template, naming it and its offsets:
 * "in {{ ctxx.a }} at offset 3 of the template (column 1 of the expression): Unknown variable: ctxx".
 */
function templateError(
  kind: CelErrorKind,
  template: string,
  raw: string,
  open: number,
  detail: string,
  inner?: InnerPosition,
  cause?: unknown,
): CelError {
  let where = `in ${showPart(raw)} at offset ${open} of the template`;
  let offset = open;
  if (inner !== undefined && inner.offset !== undefined) {
    where += ` (${describePosition(inner.expression, inner.offset)} of the expression)`;
    offset = inner.exprStart + inner.offset;
  }
  return new CelError(kind, template, `${where}: ${detail}`, { offset, detail, cause });
}

function isIdentifierChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

/** CEL string prefixes: r"..." is raw (no escapes); b"..." bytes; br/rb both. */
function isRawString(text: string, quote: number): boolean {
  let i = quote - 1;
  let raw = false;
  while (i >= 0 && quote - i <= 2 && /[rRbB]/.test(text[i])) {
    if (text[i] === 'r' || text[i] === 'R') raw = true;
    i--;
  }
  return raw && !isIdentifierChar(text[i]);
}

/** Index just past the string literal starting at `start`, or -1 when it is not terminated. */
function skipStringLiteral(text: string, start: number): number {
  const quote = text[start];
  const raw = isRawString(text, start);
  const triple = text.startsWith(quote.repeat(3), start);
  const closing = triple ? quote.repeat(3) : quote;
  let i = start + closing.length;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && !raw) {
      i += 2;
      continue;
    }
    if (!triple && c === '\n') return -1;
    if (text.startsWith(closing, i)) return i + closing.length;
    i++;
  }
  return -1;
}

/** Offset of the `}}` closing the `{{` at `open`; throws CelError('syntax') when there is none. */
function findClose(text: string, open: number): number {
  let depth = 0;
  let i = open + 2;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const end = skipStringLiteral(text, i);
      if (end < 0) {
        throw templateError('syntax', text, text.slice(open), open, `unterminated string literal at offset ${i}`);
      }
      i = end;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}') {
      if (depth > 0) depth--;
      else if (text[i + 1] === '}') return i;
    }
    i++;
  }
  throw templateError('syntax', text, text.slice(open), open, 'unterminated {{: no closing }}');
}

function parseTemplate(text: string): Part[] {
  const parts: Part[] = [];
  let pos = 0;
  for (;;) {
    const open = text.indexOf('{{', pos);
    if (open < 0) break;
    if (open > pos) parts.push(text.slice(pos, open));
    const close = findClose(text, open);
    const raw = text.slice(open, close + 2);
    const inner = text.slice(open + 2, close);
    const expression = inner.trim();
    const exprStart = open + 2 + (inner.length - inner.trimStart().length);
    if (expression === '') throw templateError('syntax', text, raw, open, 'empty expression');
    let compiled: CheckedExpression;
    try {
      compiled = compile(expression);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      throw templateError(error.kind, text, raw, open, error.detail, { exprStart, expression, offset: error.offset }, error);
    }
    parts.push({ compiled, open, exprStart, raw });
    pos = close + 2;
  }
  if (pos < text.length) parts.push(text.slice(pos));
  return parts;
}

/** Text for one interpolated value. */
function interpolate(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  return JSON.stringify(value);
}

class Template implements CompiledTemplate {
  readonly source: string;
  readonly ctxReferences: readonly string[];
  readonly #parts: readonly Part[];
  /** Set when the template is one expression with only whitespace around it: its value keeps its type. */
  readonly #single: ExpressionPart | undefined;

  constructor(source: string, parts: Part[]) {
    this.source = source;
    this.#parts = parts;
    const expressions = parts.filter((p): p is ExpressionPart => typeof p !== 'string');
    const onlyWhitespaceAround = parts.every((p) => typeof p !== 'string' || p.trim() === '');
    this.#single = expressions.length === 1 && onlyWhitespaceAround ? expressions[0] : undefined;
    const refs = new Set<string>();
    for (const e of expressions) for (const r of e.compiled.ctxReferences) refs.add(r);
    this.ctxReferences = Object.freeze([...refs]);
  }

  render(vars: CelVariables, options?: RenderOptions): JsonValue {
    const escape = options?.escape;
    if (this.#single !== undefined && escape === undefined) return this.#evaluate(this.#single, vars, options);
    let out = '';
    for (const part of this.#parts) {
      if (typeof part === 'string') out += part;
      else {
        const text = interpolate(this.#evaluate(part, vars, options));
        out += escape === undefined ? text : escape(text);
      }
    }
    return out;
  }

  #evaluate(part: ExpressionPart, vars: CelVariables, options: EvaluateOptions | undefined): JsonValue {
    try {
      return part.compiled.evaluate(vars, options);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      const inner = { exprStart: part.exprStart, expression: part.compiled.expression, offset: error.offset };
      throw templateError(error.kind, this.source, part.raw, part.open, error.detail, inner, error);
    }
  }
}

const CACHE_LIMIT = 10_000;
const cache = new Map<string, Template>();

/** Parses and compiles every `{{ }}` of `text`; throws CelError naming the bad one. Memoised. */
export function compileTemplate(text: string): CompiledTemplate {
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const template = new Template(text, parseTemplate(text));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, template);
  return template;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The escaper for the string at `path` inside a step's `with` (its container given, as written),
 * or undefined where the string is not markup.
 */
export type EscapeSelector = (
  path: readonly (string | number)[],
  container: JsonValue[] | { [key: string]: JsonValue } | undefined,
) => Escaper | undefined;

export interface RenderDeepOptions extends EvaluateOptions {
  escapeFor?: EscapeSelector;
}

/** Renders every template string inside `value` (objects and arrays, keys untouched). */
export function renderDeep(value: JsonValue, vars: CelVariables, options?: RenderDeepOptions): JsonValue {
  return renderAt(value, [], undefined, vars, options);
}

function renderAt(
  value: JsonValue,
  path: (string | number)[],
  container: JsonValue[] | { [key: string]: JsonValue } | undefined,
  vars: CelVariables,
  options: RenderDeepOptions | undefined,
): JsonValue {
  if (typeof value === 'string') {
    if (!isTemplate(value)) return value;
    return compileTemplate(value).render(vars, { ...options, escape: options?.escapeFor?.(path, container) });
  }
  if (Array.isArray(value)) return value.map((item, index) => renderAt(item, [...path, index], value, vars, options));
  if (isPlainObject(value)) {
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) {
      const rendered = renderAt(value[key] as JsonValue, [...path, key], value as { [key: string]: JsonValue }, vars, options);
      if (key === '__proto__') Object.defineProperty(out, key, { value: rendered, enumerable: true, writable: true, configurable: true });
      else out[key] = rendered;
    }
    return out;
  }
  return value;
}

export interface TemplateIssue {
  path: (string | number)[];
  message: string;
}

/** Calls `visit` for every string in `value`, with its path. */
function eachString(value: unknown, path: (string | number)[], visit: (text: string, path: (string | number)[]) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((item, i) => eachString(item, [...path, i], visit));
  else if (isPlainObject(value)) for (const key of Object.keys(value)) eachString(value[key], [...path, key], visit);
}

/** Apply-time check: compiles every template string found in `value`; one issue per bad string. */
export function templateIssues(value: unknown): TemplateIssue[] {
  const issues: TemplateIssue[] = [];
  eachString(value, [], (text, path) => {
    if (!isTemplate(text)) return;
    try {
      compileTemplate(text);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      // Issues are printed as they are (no separate kind), so the message carries it.
      issues.push({ path, message: `CEL ${error.kind} error ${error.message}` });
    }
  });
  return issues;
}

/** Union of the ctx keys read by the templates in `value`. Invalid templates are skipped (see templateIssues). */
export function templateCtxReferences(value: unknown): Set<string> {
  const refs = new Set<string>();
  eachString(value, [], (text) => {
    if (!isTemplate(text)) return;
    let template: CompiledTemplate;
    try {
      template = compileTemplate(text);
    } catch (error) {
      if (error instanceof CelError) return;
      throw error;
    }
    for (const r of template.ctxReferences) refs.add(r);
  });
  return refs;
}
