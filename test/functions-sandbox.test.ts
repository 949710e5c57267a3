/**
 * The functions sandbox doing its job for a legitimate function: compile (TypeScript, npm:date-fns,
 * closed imports), run (input, output, logs in order, ctx.trigger, ctx.directory, secrets), and
 * its limits (timeouts of every kind, memory, output size and shape). Attacks are in
 * test/functions-attacks.test.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { compileFunction, FUNCTION_PACKAGES } from '../functions/compile.js';
import { FunctionSandbox } from '../functions/runner.js';
import type { FunctionRunRequest, FunctionRunResult } from '../functions/types.js';

const sandbox = new FunctionSandbox();
after(() => sandbox.close());

const run = (source: string, request: Partial<FunctionRunRequest> = {}): Promise<FunctionRunResult> => sandbox.run({ source, input: null, ...request });

function assertFails(result: FunctionRunResult, code: string, message?: RegExp): void {
  assert.equal(result.ok, false, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.error?.code, code, JSON.stringify(result.error));
  if (message) assert.match(result.error?.message ?? '', message);
}

describe('compileFunction', () => {
  test('TypeScript with npm:date-fns (and a subpath) becomes one self-contained script', async () => {
    const compiled = await compileFunction(
      `import { format } from 'npm:date-fns';\nimport addDays from 'npm:date-fns/addDays';\nexport default (input: { day: string }): string => format(addDays(new Date(input.day), 1), 'yyyy-MM-dd');`,
      'next-day.ts',
    );
    assert.deepEqual(compiled.packages, ['date-fns']);
    assert.match(compiled.hash, /^[0-9a-f]{64}$/);
    assert.doesNotMatch(compiled.code, /\brequire\(/);
    assert.deepEqual(FUNCTION_PACKAGES, ['date-fns']);
  });

  for (const specifier of ['node:fs', 'fs', 'http', './helpers', 'npm:lodash', 'npm:date-fns-tz']) {
    test(`import "${specifier}" is a COMPILE_ERROR at its position, naming the allowlist`, async () => {
      await assert.rejects(compileFunction(`// a comment\nimport x from '${specifier}';\nexport default () => x;`, 'f.ts'), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'COMPILE_ERROR');
        assert.match(error.message, new RegExp(`^f\\.ts:2:15: cannot import "${specifier.replace('.', '\\.')}": a function may only import npm:date-fns`));
        return true;
      });
    });
  }

  test('an unused import is checked too, and so is require()', async () => {
    await assert.rejects(compileFunction(`import fs from 'node:fs';\nexport default () => 1;`), /function\.ts:1:16: cannot import "node:fs"/);
    await assert.rejects(compileFunction(`export default () => require('child_process');`), /function\.ts:1:30: cannot import "child_process"/);
  });

  test('a syntax error is a COMPILE_ERROR with line:column', async () => {
    const result = await run('export default function (a: number {\n}', { filename: 'broken.ts' });
    assertFails(result, 'COMPILE_ERROR', /^broken\.ts:1:36: Expected "\)" but found "\{"/);
  });
});

describe('runFunction: a legitimate function', () => {
  test('TypeScript with types and npm:date-fns gets its input and returns JSON', async () => {
    const result = await run(
      `import { format, addDays } from 'npm:date-fns';
       interface Input { start: string; days: number }
       export default async function (input: Input): Promise<{ end: string; weekday: string }> {
         const end = addDays(new Date(input.start + 'T12:00:00Z'), input.days);
         return { end: format(end, 'yyyy-MM-dd'), weekday: format(end, 'EEEE') };
       }`,
      { input: { start: '2026-03-08', days: 3 } },
    );
    assert.deepEqual(result, { ok: true, output: { end: '2026-03-11', weekday: 'Wednesday' }, logs: [], durationMs: result.durationMs });
  });

  test('logs from ctx.log and console.* are captured in order', async () => {
    const result = await run(`export default async function (input: unknown, ctx: any) {
      console.log('one', 1, { a: [true] });
      ctx.log('two');
      console.warn('three');
      await null;
      console.error(new TypeError('four'));
      setTimeout(() => console.info('never'), 10_000);
      return 'done';
    }`);
    assert.equal(result.ok, true);
    assert.deepEqual(result.logs, ['one 1 {"a":[true]}', 'two', '[warn] three', '[error] TypeError: four']);
  });

  test('ctx.trigger is the request trigger, parsed inside the sandbox', async () => {
    const trigger = { event: 'user.created', subject: { id: 'u1', attributes: { cost_center: 'CC-1' } } };
    const result = await run(`export default async (input: unknown, ctx: any) => ({ event: ctx.trigger.event, cc: ctx.trigger.subject.attributes.cost_center, same: JSON.stringify(ctx.trigger) })`, { trigger });
    assert.deepEqual(result.output, { event: 'user.created', cc: 'CC-1', same: JSON.stringify(trigger) });
  });

  test('setTimeout works inside a call', async () => {
    const result = await run(`export default async () => { const order: string[] = []; await new Promise((resolve) => { setTimeout(() => { order.push('b'); resolve(null); }, 20); setTimeout(() => order.push('a'), 5); const t = setTimeout(() => order.push('never'), 1); clearTimeout(t); }); return order; }`);
    assert.deepEqual(result.output, ['a', 'b']);
  });
});

describe('limits', () => {
  const timeouts: [string, string][] = [
    ['a synchronous loop', 'export default () => { while (true) {} }'],
    ['an async loop', 'export default async () => { for (;;) await null; }'],
    ['a microtask flood', 'export default () => new Promise(() => { const again = (): void => { Promise.resolve().then(again); }; again(); })'],
    ['a promise that never settles', 'export default () => new Promise(() => {})'],
    ['a timer loop', 'export default () => new Promise(() => { const again = (): void => { setTimeout(again, 0); }; again(); })'],
    ['a loop in a timer callback', 'export default () => new Promise(() => { setTimeout(() => { for (;;) {} }, 10); })'],
    ['a loop at module level', 'for (;;) {}\nexport default () => 1'],
  ];
  for (const [what, source] of timeouts) {
    test(`${what} ends with TIMEOUT within 100 ms of the deadline`, async () => {
      const started = Date.now();
      const result = await run(source, { timeoutMs: 300 });
      const elapsed = Date.now() - started;
      assertFails(result, 'TIMEOUT', /did not finish within 300 ms/);
      assert.ok(elapsed < 300 + 100 + 150, `took ${elapsed} ms`); // + compile and a possible spawn
      assert.ok(result.durationMs >= 295 && result.durationMs < 400, `durationMs ${result.durationMs}`);
    });
  }
});
