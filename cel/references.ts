/**
 * Facts read from a parsed (not yet checked) cel-js AST: which ctx keys an expression reads
 * and whether it calls now(). Walking the AST rather than matching text keeps string literals
 * ("ctx.x"), comprehension variables named ctx and bracket access (ctx["x"]) right.
 */

/** The part of a cel-js AST node this walk relies on (see ASTNode in cel-js's index.d.ts). */
interface AstNode {
  readonly op: string;
  readonly args: unknown;
}

export interface ExpressionFacts {
  /** Top-level ctx keys read as ctx.key, ctx.?key, ctx["key"] or has(ctx.key), in first-use order. */
  ctxReferences: string[];
  /** ctx is used whole (size(ctx), {{ ctx }}) or indexed by a computed key: ctxReferences is not exhaustive. */
  readsWholeCtx: boolean;
  /** The expression calls now(). */
  usesNow: boolean;
}

/** Macros whose first argument names a variable bound in the remaining arguments. */
const BINDING_MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

export function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as AstNode).op === 'string';
}

function idName(node: unknown): string | undefined {
  return isNode(node) && node.op === 'id' && typeof node.args === 'string' ? node.args : undefined;
}

export function expressionFacts(root: unknown): ExpressionFacts {
  const facts: ExpressionFacts = { ctxReferences: [], readsWholeCtx: false, usesNow: false };
  const seen = new Set<string>();
  const addKey = (key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    facts.ctxReferences.push(key);
  };

  // `shadowed`: an enclosing macro binds its own variable named ctx, hiding ours.
  const walk = (node: unknown, shadowed: boolean): void => {
    if (!isNode(node)) return;
    const args = node.args;
    switch (node.op) {
      case 'value':
        return;
      case 'id':
        if (args === 'ctx' && !shadowed) facts.readsWholeCtx = true;
        return;
      case '.':
      case '.?': {
        const [target, field] = args as [unknown, string];
        if (idName(target) === 'ctx' && !shadowed) addKey(field);
        else walk(target, shadowed);
        return;
      }
      case '[]':
      case '[?]': {
        const [target, index] = args as [unknown, unknown];
        if (idName(target) === 'ctx' && !shadowed) {
          if (isNode(index) && index.op === 'value' && typeof index.args === 'string') addKey(index.args);
          else facts.readsWholeCtx = true;
        } else {
          walk(target, shadowed);
        }
        walk(index, shadowed);
        return;
      }
      case 'call': {
        const [name, callArgs] = args as [string, unknown[]];
        if (name === 'now' && callArgs.length === 0) facts.usesNow = true;
        for (const arg of callArgs) walk(arg, shadowed);
        return;
      }
      case 'rcall': {
        const [name, receiver, callArgs] = args as [string, unknown, unknown[]];
        walk(receiver, shadowed);
        const bound = callArgs.length >= 2 ? idName(callArgs[0]) : undefined;
        if (bound !== undefined && BINDING_MACROS.has(name)) {
          for (let i = 1; i < callArgs.length; i++) walk(callArgs[i], shadowed || bound === 'ctx');
        } else if (bound !== undefined && name === 'bind' && idName(receiver) === 'cel' && callArgs.length === 3) {
          // cel.bind(var, value, body): var is visible in body only.
          walk(callArgs[1], shadowed);
          walk(callArgs[2], shadowed || bound === 'ctx');
        } else {
          for (const arg of callArgs) walk(arg, shadowed);
        }
        return;
      }
      case 'map':
        for (const entry of args as [unknown, unknown][]) {
          walk(entry[0], shadowed);
          walk(entry[1], shadowed);
        }
        return;
      default:
        // Lists, operators, ternaries: args is one node or an array of nodes.
        if (Array.isArray(args)) for (const arg of args) walk(arg, shadowed);
        else walk(args, shadowed);
    }
  };
  walk(root, false);
  return facts;
}
