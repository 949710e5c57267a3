/**
 * Limits of one CEL expression, checked when it is compiled (so at apply time): whatever
 * compiles can be type-checked and evaluated without exhausting the stack, whose frames grow
 * with the nesting of the syntax tree. cel-js's parser counts its own depth too (parentheses,
 * calls, field selection) and is given the same bound.
 *
 * Workflow-safe like the rest of cel/.
 */
import { isNode } from './references.js';

/** Characters of one expression (a condition, or one `{{ }}` of a template). */
export const MAX_EXPRESSION_LENGTH = 8192;
/**
 * Levels of the syntax tree. A chain `a || b || c` nests one level per operator, so this also
 * bounds such chains; CEL's spec asks for at least 32 terms. Evaluation overflows the stack near
 * 900 levels on Node's default stack: 100 leaves room for the callers' frames.
 */
export const MAX_EXPRESSION_DEPTH = 100;

/** The depth of a parsed syntax tree, walked with an explicit stack (the tree may be deeper than the call stack allows). */
export function expressionDepth(root: unknown): number {
  let deepest = 0;
  // Arrays (call arguments, map entries) hold nodes without being nodes: they add no level.
  const pending: [unknown, number][] = [[root, 0]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop() as [unknown, number];
    if (Array.isArray(value)) {
      for (const item of value) pending.push([item, depth]);
    } else if (isNode(value)) {
      deepest = Math.max(deepest, depth + 1);
      pending.push([value.args, depth + 1]);
    }
  }
  return deepest;
}
