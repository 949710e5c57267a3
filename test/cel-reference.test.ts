/**
 * docs/cel.md's reference is executable: every example row, evaluated with the documented
 * `now()`, event and step outputs, must give the documented result; every error row must fail
 * with the documented kind and message; and everything idflow registers in the CEL environment
 * (functions, constants, fields of its types) must have an example there.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { Environment } from '@marcbachmann/cel-js';
import { celEnvironment } from '../cel/environment.js';
import { CelError, compile, evaluateExpression, type CelVariables } from '../cel/index.js';
import { NET_IP_FIELDS } from '../cel/network.js';
import { MATCHES_FUNCTION } from '../cel/regex.js';
import { subjectOf, triggerContext } from '../triggers/events.js';

const doc = await readFile(new URL('../docs/cel.md', import.meta.url), 'utf8');
const START = '## Reference: every variable';
const section = doc.slice(doc.indexOf(START), doc.indexOf('\n## ', doc.indexOf(START) + START.length));

interface ReferenceContext {
  now: string;
  event: JsonObject;
  steps: JsonObject;
}

const context = JSON.parse(/```json reference-context\n([\s\S]*?)```/.exec(section)?.[1] ?? 'null') as ReferenceContext | null;
const unescape = (cell: string): string => cell.replaceAll('\\|', '|');
/** `| \`expression\` | \`JSON result\` | ...` */
const examples = [...section.matchAll(/^\| `(.+?)` \| `(.+?)` \|/gm)].map(([, expression, result]) => ({
  expression: unescape(expression as string),
  result: unescape(result as string),
}));
/** `| \`expression\` | type error: \`message part\` |` */
const errors = [...section.matchAll(/^\| `(.+?)` \| (type|evaluation) error: `(.+?)` \|/gm)].map(([, expression, kind, message]) => ({
  expression: unescape(expression as string),
  kind: kind as CelError['kind'],
  message: unescape(message as string),
}));

/** The variables as the engine builds them for a run of the documented event. */
function vars(): CelVariables {
  const trigger = triggerContext(context?.event ?? {});
  return { ctx: { ...context?.steps, trigger }, subject: subjectOf(trigger) };
}
const now = new Date(context?.now ?? Number.NaN);

test('the reference has its context, examples and errors', () => {
  assert.ok(context, 'a ```json reference-context block with now, event and steps');
  assert.ok(!Number.isNaN(now.getTime()), `reference-context "now" is a timestamp, got ${String(context?.now)}`);
  assert.ok(examples.length >= 60, `found ${examples.length} examples`);
  assert.ok(errors.length >= 8, `found ${errors.length} error rows`);
});

describe('docs/cel.md examples', () => {
  for (const { expression, result } of examples) {
    test(`${expression} → ${result}`, () => {
      assert.deepEqual(evaluateExpression(expression, vars(), { now }), JSON.parse(result) as JsonValue);
    });
  }
});

describe('docs/cel.md errors', () => {
  for (const { expression, kind, message } of errors) {
    test(`${expression} → ${kind} error: ${message}`, () => {
      assert.throws(
        () => evaluateExpression(expression, vars(), { now }),
        (error: unknown) => error instanceof CelError && error.kind === kind && error.message.includes(message),
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Coverage: what idflow registers, against what the examples use (read from the checked syntax
// trees, so `string(ip(...))` counts for string(net.IP) and not for string(timestamp)).
// ---------------------------------------------------------------------------------------------

interface Definitions {
  variables: { name: string; type: string }[];
  functions: { signature: string; name: string; receiverType: string | null; params: { type: string }[] }[];
}

interface CheckedNode {
  op: string;
  args: unknown;
  checkedType?: { name: string };
}

const isNode = (value: unknown): value is CheckedNode =>
  typeof value === 'object' && value !== null && typeof (value as CheckedNode).op === 'string';
const typeOf = (node: unknown): string => (isNode(node) && node.checkedType ? node.checkedType.name : 'unchecked');

/** What an expression uses: `name(T1, T2)`, `Recv.name(T1)` calls, `T.field` reads and identifiers. */
function uses(expression: string): Set<string> {
  const parsed = celEnvironment().parse(expression);
  const checked = parsed.check();
  assert.ok(checked.valid, `${expression}: ${String(checked.error)}`);
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isNode(node)) return;
    const args = node.args;
    if (node.op === 'id' && typeof args === 'string') found.add(args);
    if (node.op === 'call') {
      const [name, callArgs] = args as [string, unknown[]];
      found.add(`${name}(${callArgs.map(typeOf).join(', ')})`);
    }
    if (node.op === 'rcall') {
      const [name, receiver, callArgs] = args as [string, unknown, unknown[]];
      found.add(`${typeOf(receiver)}.${name}(${callArgs.map(typeOf).join(', ')})`);
    }
    if (node.op === '.') {
      const [target, field] = args as [unknown, string];
      found.add(`${typeOf(target)}.${field}`);
    }
    if (typeof args === 'object' && args !== null) walk(Array.isArray(args) ? args : [args]);
  };
  walk(parsed.ast);
  return found;
}

/** `ip(string): net.IP` → the shapes a use may have, `dyn` arguments matching any parameter. */
function matches(signature: Definitions['functions'][number], use: string): boolean {
  const prefix = signature.receiverType ? `${signature.receiverType}.${signature.name}(` : `${signature.name}(`;
  if (!use.startsWith(prefix) || !use.endsWith(')')) return false;
  const inner = use.slice(prefix.length, -1);
  const argTypes = inner === '' ? [] : inner.split(', ');
  return argTypes.length === signature.params.length && argTypes.every((type, i) => type === 'dyn' || type === signature.params[i]?.type);
}

test('every function, constant and field idflow adds has an example', () => {
  const ours = celEnvironment().getDefinitions() as unknown as Definitions;
  const base = new Environment({
    unlistedVariablesAreDyn: false,
    homogeneousAggregateLiterals: false,
    enableOptionalTypes: true,
  }).getDefinitions() as unknown as Definitions;
  const baseSignatures = new Set(base.functions.map((f) => f.signature));
  const baseVariables = new Set(base.variables.map((v) => v.name));
  const used = new Set(examples.flatMap(({ expression }) => [...uses(expression)]));

  const missing: string[] = [];
  for (const fn of ours.functions) {
    // MATCHES_FUNCTION is cel-js's own matches(), which compile() points at RE2.
    if (baseSignatures.has(fn.signature) || fn.name === 'type' || fn.name === MATCHES_FUNCTION) continue;
    if (![...used].some((use) => matches(fn, use))) missing.push(fn.signature);
  }
  for (const variable of ours.variables) {
    if (!baseVariables.has(variable.name) && !used.has(variable.name)) missing.push(`variable or constant ${variable.name}`);
  }
  const groups: Record<string, readonly string[]> = {
    'idflow.UserStatus': ['ENABLED', 'DISABLED', 'DELETED'],
    'idflow.TimeFormat': ['DATE', 'DATETIME', 'RFC3339', 'TIME', 'KITCHEN'],
    'net.IP': Object.keys(NET_IP_FIELDS),
  };
  for (const [type, fields] of Object.entries(groups)) {
    for (const field of fields) if (!used.has(`${type}.${field}`)) missing.push(`${type}.${field}`);
  }
  assert.deepEqual(missing, [], 'add an example row to docs/cel.md for each');
});

test('TimeFormat in the docs is all of TimeFormat', () => {
  // Guards the list above: a new TimeFormat member must be documented (and added there).
  assert.deepEqual(Object.keys(evaluateExpression('TimeFormat', {}) as JsonObject), ['DATE', 'DATETIME', 'RFC3339', 'TIME', 'KITCHEN']);
  assert.deepEqual(Object.keys(evaluateExpression('UserStatus', {}) as JsonObject), ['ENABLED', 'DISABLED', 'DELETED']);
});

test('apply-time type checking still refuses typos among the new names', () => {
  for (const expression of [
    'UserStatuss.ENABLED',
    'UserStatus.ENABLD',
    'TimeFormat.DATEE',
    'time.formatt(now(), "15")',
    'ip("1.2.3.4").isPrivat',
    'APP_USER_STATUS_ENABLD',
  ]) {
    assert.throws(
      () => compile(expression),
      (error: unknown) => error instanceof CelError && error.kind === 'type',
      expression,
    );
  }
});
