/**
 * The CEL module as a specification: what compiles, what an expression returns for JSON input,
 * how errors read, and which ctx keys an expression depends on.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import {
  compile,
  compileCondition,
  evaluateCondition,
  evaluateExpression,
  toJson,
  type CelVariables,
  type CompiledExpression,
} from '../cel/index.js';
import { assertCelError } from './helpers/cel.js';

const user = (department: string) => ({
  email: 'ada@example.com',
  department,
  status: 'ENABLED',
  groups: ['users', 'admins'],
  age: 36,
  manager: null,
});

const vars: CelVariables = {
  ctx: {
    trigger: { oldUser: user('Sales'), newUser: user('Engineering'), count: 2, ratio: 0.5 },
    lookup: { x: 'admins' },
  },
  subject: { id: 'u-1', attributes: { title: 'Engineer' } },
};

describe('compile errors', () => {
  test('a syntax error names the column', () => {
    const error = assertCelError(() => compile('ctx.trigger.count +'), 'syntax', /column 20/, /`ctx\.trigger\.count \+`/);
    assert.equal(error.expression, 'ctx.trigger.count +');
    assert.equal(error.offset, 19);
  });

  test('an unknown variable is a type error that names it', () => {
    const error = assertCelError(() => compile('ctxx.trigger == 1'), 'type', /Unknown variable: ctxx/, /column 1/);
    assert.equal(error.offset, 0);
  });

  test('type errors are found before any evaluation', () => {
    assertCelError(() => compile('"a" + 1'), 'type', /no such overload/);
    assertCelError(() => compile('ctx + 1'), 'type');
    assertCelError(() => compile('size(ctx.trigger) && true'), 'type');
  });

  test('multi-line expressions report line and column', () => {
    assertCelError(() => compile('ctx.trigger.count > 1 &&\n  nope'), 'type', /line 2, column 3/);
  });

  test('compile is memoised by expression text', () => {
    assert.equal(compile('ctx.trigger.count == 2'), compile('ctx.trigger.count == 2'));
  });

  test('compileCondition refuses a condition that cannot be a bool', () => {
    assertCelError(() => compileCondition('"yes"'), 'type', /condition must be a bool, got string/);
    assert.equal(compileCondition('ctx.trigger.count > 1').resultType, 'bool');
    assert.equal(compileCondition('ctx.trigger.flag').resultType, 'dyn');
  });
});

describe('evaluation of JSON input', () => {
  const cases: [string, unknown][] = [
    ['ctx.trigger.newUser.department == "Engineering"', true],
    ['ctx.trigger.oldUser.department != ctx.trigger.newUser.department && ctx.trigger.newUser.status == "ENABLED"', true],
    ['"admins" in ctx.trigger.newUser.groups', true],
    ['ctx.trigger.newUser.email.endsWith("@example.com")', true],
    // JSON numbers are doubles; comparing them with int literals works by value.
    ['ctx.trigger.newUser.age > 30', true],
    ['ctx.trigger.count == 2', true],
    ['ctx.trigger.count in [1, 2]', true],
    ['size(ctx.trigger.newUser.groups) == ctx.trigger.count', true],
    // Mixed int/double arithmetic gives a double (an idflow addition to standard CEL).
    ['ctx.trigger.count + 1', 3],
    ['ctx.trigger.count * 2 - 1', 3],
    ['ctx.trigger.count % 2 == 0', true],
    ['ctx.trigger.count / 4', 0.5],
    ['[1, 2, 3].map(n, n * ctx.trigger.ratio)', [0.5, 1, 1.5]],
    ['ctx.trigger.newUser.groups.filter(g, g != "users")', ['admins']],
    ['ctx.trigger.newUser.groups.exists(g, g == ctx.lookup.x)', true],
    ['ctx.trigger.newUser.manager == null', true],
    ['has(ctx.trigger.newUser.title)', false],
    ['ctx.trigger.newUser.?title.orValue("none")', 'none'],
    ['ctx.trigger.newUser.?department', 'Engineering'],
    ['ctx.trigger.newUser.?title', null],
    ['subject.attributes.title', 'Engineer'],
    ['ctx["lookup"]["x"]', 'admins'],
    ['{"name": ctx.trigger.newUser.email, "count": 1, "tags": ["a"]}', { name: 'ada@example.com', count: 1, tags: ['a'] }],
    ['ctx.trigger.newUser.email.split("@")[0].upperAscii()', 'ADA'],
    ['size(ctx.trigger.newUser.groups)', 2],
    ['string(ctx.trigger.count)', '2'],
    ['int(ctx.trigger.newUser.age) + 1', 37],
    ['timestamp("2024-01-01T00:00:00Z") + duration("1h")', '2024-01-01T01:00:00Z'],
    ['string(timestamp("2024-01-01T00:00:00.250Z"))', '2024-01-01T00:00:00.250Z'],
    ['duration("1h30m")', '5400s'],
    ['b"hi"', 'aGk='],
    ['type(1)', 'int'],
  ];
  for (const [expression, expected] of cases) {
    test(expression, () => {
      assert.deepEqual(evaluateExpression(expression, vars), expected);
    });
  }

  test('CEL ints come back as JSON numbers, not bigints', () => {
    const value = evaluateExpression('size(ctx.trigger.newUser.groups) + 40', vars);
    assert.equal(value, 42);
    assert.equal(typeof value, 'number');
  });

  test('compiled expressions carry the checked result type', () => {
    assert.equal(compile('ctx.trigger.count > 1').resultType, 'bool');
    assert.equal(compile('ctx.trigger.newUser').resultType, 'dyn');
    assert.equal(compile('"a" + "b"').resultType, 'string');
  });

  test('a missing field fails with the key and the column', () => {
    const error = assertCelError(
      () => evaluateExpression('ctx.trigger.newUser.title == "x"', vars),
      'evaluation',
      /No such key: title/,
      /column 21/,
      /has\(/,
    );
    assert.equal(error.offset, 20);
  });

  test('a missing variable value is an evaluation error', () => {
    assertCelError(() => compile('subject.id').evaluate({ ctx: {} }), 'evaluation', /Unknown variable: subject/);
  });

  test('runtime type mismatches are evaluation errors', () => {
    assertCelError(() => evaluateExpression('ctx.trigger.newUser.email + 1', vars), 'evaluation', /no such overload/);
  });
});

describe('conditions', () => {
  const condition = (expression: string, input: CelVariables = vars) => evaluateCondition(compile(expression), input);

  test('true and false', () => {
    assert.equal(condition('ctx.trigger.newUser.department == "Engineering"'), true);
    assert.equal(condition('ctx.trigger.newUser.department == "Sales"'), false);
  });

  test('a non-bool result is an evaluation error naming its type', () => {
    const error = assertCelError(() => condition('ctx.trigger.newUser.email'), 'evaluation', /condition must be a bool, got string/);
    assert.equal(error.expression, 'ctx.trigger.newUser.email');
    assertCelError(() => condition('ctx.trigger.count'), 'evaluation', /got double/);
    assertCelError(() => condition('ctx.trigger.newUser.manager'), 'evaluation', /got null/);
  });

  test('a missing field is a clear evaluation error', () => {
    assertCelError(
      () => condition('ctx.trigger.newUser.title == "CTO"'),
      'evaluation',
      /No such key: title/,
      /`ctx\.trigger\.newUser\.title == "CTO"`/,
    );
  });

  test('works with any CompiledExpression implementation', () => {
    const fake: CompiledExpression = { expression: 'fake', ctxReferences: [], evaluate: () => 'yes' };
    assertCelError(() => evaluateCondition(fake, vars), 'evaluation', /condition must be a bool, got string/);
  });
});

describe('ctxReferences', () => {
  const refs = (expression: string) => [...compile(expression).ctxReferences];

  test('dot and bracket access', () => {
    assert.deepEqual(refs('ctx.trigger.newUser.department == "x"'), ['trigger']);
    assert.deepEqual(refs('ctx["lookup"].x == ctx.trigger.y'), ['lookup', 'trigger']);
    assert.deepEqual(refs('ctx.?step_a.orValue(1) == 1'), ['step_a']);
    assert.deepEqual(refs('has(ctx.enrich)'), ['enrich']);
  });

  test('inside macros, in first-use order, without duplicates', () => {
    assert.deepEqual(refs('ctx.trigger.newUser.groups.exists(g, g == ctx.lookup.x)'), ['trigger', 'lookup']);
    assert.deepEqual(refs('ctx.a.list.map(x, ctx.b[x]).filter(y, y == ctx.a.z)'), ['a', 'b']);
  });

  test('not fooled by strings, other variables or a comprehension variable named ctx', () => {
    assert.deepEqual(refs('"ctx.trigger" == subject.ctx.name'), []);
    assert.deepEqual(refs('ctx.trigger.items.all(ctx, ctx.ok)'), ['trigger']);
  });

  test('whole-ctx use is flagged', () => {
    assert.equal(compile('size(ctx) > 0').readsWholeCtx, true);
    assert.equal(compile('ctx[ctx.trigger.step].ok').readsWholeCtx, true);
    assert.equal(compile('ctx.trigger.ok').readsWholeCtx, false);
  });
});

describe('now()', () => {
  const now = new Date('2024-05-01T10:00:00Z');

  test('returns options.now as a timestamp', () => {
    assert.equal(evaluateExpression('now()', {}, { now }), '2024-05-01T10:00:00Z');
    assert.equal(evaluateExpression('now() - duration("24h")', {}, { now }), '2024-04-30T10:00:00Z');
    assert.equal(evaluateExpression('now().getFullYear()', {}, { now }), 2024);
    assert.equal(compile('now()').usesNow, true);
  });

  test('is one value per evaluation', () => {
    assert.equal(evaluateExpression('now() == now()', {}, { now }), true);
  });

  test('compares with timestamps from the input', () => {
    const input = { ctx: { trigger: { endDate: '2024-04-30T00:00:00Z' } } };
    assert.equal(evaluateCondition(compile('timestamp(ctx.trigger.endDate) < now()'), input, { now }), true);
  });

  test('without options.now is an evaluation error, not the host clock', () => {
    assertCelError(() => evaluateExpression('now()', {}), 'evaluation', /now\(\) needs a clock/);
  });

  test('expressions without now() ignore the clock', () => {
    assert.equal(compile('1 == 1').usesNow, false);
    assert.equal(evaluateExpression('1 == 1', {}), true);
  });
});

describe('toJson', () => {
  test('ints and uints become numbers', () => {
    assert.equal(toJson(42n), 42);
    assert.equal(toJson(new UnsignedInt(7n)), 7);
    assert.equal(toJson(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  test('ints beyond the safe range are refused', () => {
    assertCelError(() => toJson(BigInt(Number.MAX_SAFE_INTEGER) + 2n), 'evaluation', /9007199254740993/, /safe integer/);
    assertCelError(() => evaluateExpression('9223372036854775807', {}), 'evaluation', /safe integer/, /`9223372036854775807`/);
  });

  test('non-finite doubles are refused', () => {
    assertCelError(() => toJson(Number.NaN), 'evaluation', /NaN/);
    assertCelError(() => toJson(Infinity), 'evaluation', /Infinity/);
  });

  test('timestamps become RFC 3339 strings', () => {
    assert.equal(toJson(new Date('2024-01-02T03:04:05Z')), '2024-01-02T03:04:05Z');
    assert.equal(toJson(new Date('2024-01-02T03:04:05.678Z')), '2024-01-02T03:04:05.678Z');
  });

  test('durations become seconds strings', () => {
    assert.equal(toJson(new Duration(3600n, 0)), '3600s');
    assert.equal(toJson(new Duration(1n, 500_000_000)), '1.5s');
    assert.equal(toJson(new Duration(0n, 1)), '0.000000001s');
    assert.equal(toJson(new Duration(-1n, -500_000_000)), '-1.5s');
  });

  test('bytes become base64', () => {
    assert.equal(toJson(new Uint8Array([])), '');
    assert.equal(toJson(new Uint8Array([102])), 'Zg==');
    assert.equal(toJson(new Uint8Array([102, 111])), 'Zm8=');
    assert.equal(toJson(new Uint8Array([102, 111, 111])), 'Zm9v');
    assert.equal(toJson(new Uint8Array([0xfb, 0xff, 0xfe, 0x00])), '+//+AA==');
  });

  test('maps, lists and optionals convert recursively', () => {
    const map = new Map<unknown, unknown>([
      ['a', [1n, new Date('2024-01-01T00:00:00Z')]],
      [2n, true],
    ]);
    assert.deepEqual(toJson(map), { a: [1, '2024-01-01T00:00:00Z'], 2: true });
    assert.deepEqual(toJson({ nested: { list: [new Set([1n])] } }), { nested: { list: [[1]] } });
    assert.equal(toJson(Optional.of(5n)), 5);
    assert.equal(toJson(Optional.none()), null);
  });

  test('a "__proto__" key stays a plain data key', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const out = toJson(input) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['__proto__']);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test('values with no JSON form are refused', () => {
    assertCelError(() => toJson(undefined), 'evaluation', /undefined/);
    assertCelError(() => toJson(new (class Widget {})()), 'evaluation', /Widget/);
  });
});
