/**
 * `matches()` with RE2 semantics (as CEL's spec says), in linear time: cel-js's own `matches`
 * uses JavaScript's backtracking RegExp, where `"aaaa…!".matches("^(a+)+$")` runs for minutes.
 * cel-js cannot replace a built-in overload, so compile() renames every `.matches(pattern)` call
 * in the syntax tree to MATCHES_FUNCTION before type checking (see useRe2Matches).
 *
 * Workflow-safe like the rest of cel/: re2js is plain JavaScript with no I/O.
 */
import { RE2JS } from 're2js';
import { isNode } from './references.js';

/** The name the CEL environment registers `string.matches(string)` under (environment.ts). */
export const MATCHES_FUNCTION = 'matches_re2';

// Patterns are compiled once: most come from definitions, a bounded set. The limit only guards
// against patterns built from data.
const CACHE_LIMIT = 1000;
const cache = new Map<string, RE2JS>();

/** The compiled pattern; throws with RE2's reason ("invalid or unsupported Perl syntax: `(?=`") when it is not RE2 syntax. */
export function compileRegex(pattern: string): RE2JS {
  const hit = cache.get(pattern);
  if (hit !== undefined) return hit;
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${reason} (RE2 syntax: no backreferences or lookaround)`);
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

/** CEL's `text.matches(pattern)`: whether the pattern matches anywhere in the text. */
export function regexMatches(text: string, pattern: string): boolean {
  return compileRegex(pattern).test(text);
}

/** A `.matches(pattern)` call whose pattern is a string literal. */
export interface LiteralPattern {
  pattern: string;
  /** Offset of the pattern in the expression. */
  offset: number;
}

/**
 * Points every `receiver.matches(pattern)` call of a parsed (not yet checked) tree at
 * MATCHES_FUNCTION, and returns the literal patterns so the caller can refuse bad ones at
 * compile time. The tree's depth is bounded before this walk (cel/limits.ts).
 */
export function useRe2Matches(root: unknown): LiteralPattern[] {
  const literals: LiteralPattern[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!isNode(node)) return;
    const args = node.args;
    if (node.op === 'rcall' && Array.isArray(args) && args[0] === 'matches' && Array.isArray(args[2]) && args[2].length === 1) {
      args[0] = MATCHES_FUNCTION;
      const [pattern] = args[2] as unknown[];
      if (isNode(pattern) && pattern.op === 'value' && typeof pattern.args === 'string') {
        literals.push({ pattern: pattern.args, offset: (pattern as { start?: number }).start ?? 0 });
      }
    }
    walk(args);
  };
  walk(root);
  return literals;
}
