/**
 * The functions sandbox doing its job for a legitimate function: compile (TypeScript, npm:date-fns,
 * closed imports), run (input, output, logs in order, ctx.trigger, ctx.directory, secrets), and
 * its limits (timeouts of every kind, memory, output size and shape). Attacks are in
 * test/functions-attacks.test.ts.
 */
import assert from 'node:assert/strict';
import { getPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, describe, test } from 'node:test';
import { compileFunction, FUNCTION_PACKAGES } from '../functions/compile.js';
import { FunctionSandbox } from '../functions/sandbox/pool.js';
import type { FunctionRunRequest, FunctionRunResult } from '../functions/types.js';
import { until } from './helpers/worker-process.js';

const sandbox = new FunctionSandbox();
after(() => sandbox.close());

const run = (source: string, request: Partial<FunctionRunRequest> = {}): Promise<FunctionRunResult> =>
  sandbox.run({ source, input: null, ...request });

/** The lowest CPU priority, which the pool gives a call running past LONG_CALL_MS. */
const LOWEST_PRIORITY = 19;

/** Resolves when some process of the sandbox runs at the lowest priority: a call has run past LONG_CALL_MS. */
async function untilDemoted(sandbox: FunctionSandbox): Promise<number> {
  let demoted: number | undefined;
  await until(
    'a sandbox process runs at the lowest priority',
    () => (demoted = sandbox.pids().find((pid) => getPriority(pid) === LOWEST_PRIORITY)) !== undefined,
    30_000,
    10,
  );
  return demoted as number;
}

/** Resolves when the process is gone (reaped, not merely killed). */
function untilGone(pid: number): Promise<void> {
  return until(
    `process ${pid} is gone`,
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch (error) {
        return (error as NodeJS.ErrnoException).code === 'ESRCH';
      }
    },
    10_000,
    10,
  );
}

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
      await assert.rejects(
        compileFunction(`// a comment\nimport x from '${specifier}';\nexport default () => x;`, 'f.ts'),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'COMPILE_ERROR');
          assert.match(
            error.message,
            new RegExp(`^f\\.ts:2:15: cannot import "${specifier.replace('.', '\\.')}": a function may only import npm:date-fns`),
          );
          return true;
        },
      );
    });
  }

  test('an unused import is checked too, and so is require()', async () => {
    await assert.rejects(
      compileFunction(`import fs from 'node:fs';\nexport default () => 1;`),
      /function\.ts:1:16: cannot import "node:fs"/,
    );
    await assert.rejects(
      compileFunction(`export default () => require('child_process');`),
      /function\.ts:1:30: cannot import "child_process"/,
    );
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

  test("btoa/atob, TextEncoder/TextDecoder and URLSearchParams behave as Node's own (they are the sandbox's, not the host's)", async () => {
    const texts = ['Grüße, 世界 🌍', 'plain', '', 'lone \ud800 surrogate'];
    // Truncated, overlong, surrogate, out of range, stray continuation, a BOM.
    const invalid = [
      [0xff, 0x41, 0xc3, 0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe0, 0x80, 0x41],
      [0xc0, 0xaf],
      [0x80, 0xbf, 0x41],
      [0xef, 0xbb, 0xbf, 0x41],
    ];
    const params: [string, string][] = [
      ['filter', "startsWith(displayName,'Ada') and x=1"],
      ['a b', 'c&d~!*'],
      ['top', '10'],
    ];
    const result = await run(
      `export default (input: { texts: string[]; params: [string, string][]; invalid: number[][] }) => ({
        encoded: input.texts.map((text) => Array.from(new TextEncoder().encode(text))),
        decoded: input.texts.map((text) => new TextDecoder().decode(new TextEncoder().encode(text))),
        invalid: input.invalid.map((bytes) => new TextDecoder().decode(new Uint8Array(bytes))),
        base64: input.texts.map((text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)))),
        roundTrip: atob(btoa('\u00ff\u0000binary')),
        query: new URLSearchParams(input.params).toString(),
        parsed: [...new URLSearchParams('?x=1&y=a+b%21&x=2&flag')],
        realm: [TextEncoder.constructor === Function, Object.getPrototypeOf(new URLSearchParams()) !== null],
      })`,
      { input: { texts, params, invalid } },
    );
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const latin = (bytes: Uint8Array) => String.fromCharCode(...bytes);
    assert.deepEqual(result.output, {
      encoded: texts.map((text) => Array.from(new TextEncoder().encode(text))),
      decoded: texts.map((text) => new TextDecoder().decode(new TextEncoder().encode(text))),
      invalid: invalid.map((bytes) => new TextDecoder().decode(new Uint8Array(bytes))),
      base64: texts.map((text) => btoa(latin(new TextEncoder().encode(text)))),
      roundTrip: '\u00ff\u0000binary',
      query: new URLSearchParams(params).toString(),
      parsed: [...new URLSearchParams('?x=1&y=a+b%21&x=2&flag')],
      realm: [true, true],
    });
    assertFails(await run('export default () => btoa("世界")'), 'RUNTIME_ERROR', /InvalidCharacterError: btoa/);
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
    const result = await run(
      `export default async (input: unknown, ctx: any) => ({ event: ctx.trigger.event, cc: ctx.trigger.subject.attributes.cost_center, same: JSON.stringify(ctx.trigger) })`,
      { trigger },
    );
    assert.deepEqual(result.output, { event: 'user.created', cc: 'CC-1', same: JSON.stringify(trigger) });
  });

  test('setTimeout works inside a call', async () => {
    const result = await run(
      `export default async () => { const order: string[] = []; await new Promise((resolve) => { setTimeout(() => { order.push('b'); resolve(null); }, 20); setTimeout(() => order.push('a'), 5); const t = setTimeout(() => order.push('never'), 1); clearTimeout(t); }); return order; }`,
    );
    assert.deepEqual(result.output, ['a', 'b']);
  });

  test("ctx.idempotencyKey is the caller's key, or a fresh UUID for each call without one", async () => {
    const source = 'export default (input: null, ctx: any) => ctx.idempotencyKey';
    assert.equal((await run(source, { idempotencyKey: 'run-7.step-2' })).output, 'run-7.step-2');
    const [first, second] = await Promise.all([run(source), run(source)]);
    assert.match(String(first.output), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(first.output, second.output);
    assertFails(await run(source, { idempotencyKey: 'has space' }), 'INVALID_REQUEST', /idempotencyKey must be 1 to 255 printable ASCII/);
  });

  test('an error the function marks retryable fails with RETRYABLE_ERROR; any other error, a bridge error too, keeps its code', async () => {
    assertFails(
      await run(`export default () => { throw Object.assign(new Error('the API answered 503'), { retryable: true }); }`),
      'RETRYABLE_ERROR',
      /^Error: the API answered 503$/,
    );
    assertFails(
      await run(`export default () => { throw Object.assign(new Error('nope'), { retryable: 'yes' }); }`),
      'RUNTIME_ERROR',
      /^Error: nope$/,
    );
    assertFails(
      await run(`export default async (input: null, ctx: any) => { await ctx.fetch('https://blocked.example/'); }`, { allowHosts: [] }),
      'NETWORK_DENIED',
    );
  });
});

describe('limits', () => {
  const timeouts: [string, string][] = [
    ['a synchronous loop', 'export default () => { while (true) {} }'],
    ['an async loop', 'export default async () => { for (;;) await null; }'],
    [
      'a microtask flood',
      'export default () => new Promise(() => { const again = (): void => { Promise.resolve().then(again); }; again(); })',
    ],
    ['a promise that never settles', 'export default () => new Promise(() => {})'],
    ['a timer loop', 'export default () => new Promise(() => { const again = (): void => { setTimeout(again, 0); }; again(); })'],
    ['a loop in a timer callback', 'export default () => new Promise(() => { setTimeout(() => { for (;;) {} }, 10); })'],
    ['a loop at module level', 'for (;;) {}\nexport default () => 1'],
  ];
  for (const [what, source] of timeouts) {
    test(`${what} ends with TIMEOUT within 100 ms of the deadline`, async () => {
      // The answer cannot come sooner than this process's event loop lets it: its stalls (a busy
      // machine, a GC) are measured and not counted against the sandbox.
      const stalls = monitorEventLoopDelay({ resolution: 10 });
      stalls.enable();
      const result = await run(source, { timeoutMs: 300 });
      stalls.disable();
      const stalledMs = stalls.max / 1e6;
      assertFails(result, 'TIMEOUT', /did not finish within 300 ms/);
      // durationMs counts from handing the call to a process (compiling and a spawn come before and
      // take what the machine's load makes them take).
      assert.ok(
        result.durationMs >= 295 && result.durationMs < 300 + 100 + stalledMs,
        `durationMs ${result.durationMs}, event loop stalled up to ${Math.round(stalledMs)} ms`,
      );
    });
  }
});

describe('memory', () => {
  // Generous: a bomb is demoted to the lowest CPU priority after LONG_CALL_MS, and on a busy
  // machine it then takes seconds to fill its memory (it took more than 15 s once).
  const timeoutMs = 120_000;

  test('a heap bomb (a growing array of strings) ends with MEMORY_LIMIT', async () => {
    const result = await run(
      'export default () => { const keep: string[] = []; for (let i = 0; ; i++) keep.push("x".repeat(1000) + i); }',
      { memoryMb: 64, timeoutMs },
    );
    assertFails(result, 'MEMORY_LIMIT', /more than its memory limit \(64 MB\)/);
  });

  test('an off-heap bomb (typed arrays written to) ends with MEMORY_LIMIT through the RSS watch', async () => {
    const result = await run(
      'export default () => { const keep: Uint8Array[] = []; for (;;) keep.push(new Uint8Array(1 << 20).fill(1)); }',
      { memoryMb: 64, timeoutMs },
    );
    assertFails(result, 'MEMORY_LIMIT');
  });

  test('the pool goes on after a process was killed', async () => {
    assert.deepEqual((await run('export default () => "alive"', { memoryMb: 64 })).output, 'alive');
  });
});

describe('output', () => {
  const notJson: [string, string][] = [
    ['undefined', 'export default () => undefined'],
    ['a function', 'export default () => () => 1'],
    ['a nested function', 'export default () => ({ a: [1, () => 1] })'],
    ['a BigInt', 'export default () => ({ n: 10n })'],
    ['a cycle', 'export default () => { const a: Record<string, unknown> = {}; a.self = a; return a; }'],
    ['NaN', 'export default () => ({ ratio: 0 / 0 })'],
    ['Infinity', 'export default () => [1 / 0]'],
    ['a symbol', 'export default () => Symbol("s")'],
  ];
  for (const [what, source] of notJson) {
    test(`${what} is OUTPUT_NOT_JSON`, async () => assertFails(await run(source), 'OUTPUT_NOT_JSON'));
  }

  test('JSON semantics otherwise: undefined properties dropped, Dates as strings, toJSON used', async () => {
    const result = await run('export default () => ({ a: undefined, d: new Date(0), t: { toJSON: () => "custom" }, n: null })');
    assert.deepEqual(result.output, { d: '1970-01-01T00:00:00.000Z', t: 'custom', n: null });
  });

  test('an output over maxOutputBytes is OUTPUT_TOO_LARGE', async () => {
    assertFails(await run('export default () => "é".repeat(600)', { limits: { maxOutputBytes: 1000 } }), 'OUTPUT_TOO_LARGE', /1202 bytes/);
    assertFails(await run('export default () => "x".repeat(2_000_000)'), 'OUTPUT_TOO_LARGE');
  });

  test('an output nested deeper than maxOutputDepth is OUTPUT_TOO_LARGE', async () => {
    assertFails(
      await run('export default () => { let v: unknown = 1; for (let i = 0; i < 65; i++) v = [v]; return v; }'),
      'OUTPUT_TOO_LARGE',
      /maxOutputDepth \(64\)/,
    );
    assert.equal(
      (await run('export default () => { let v: unknown = "[[["; for (let i = 0; i < 64; i++) v = { v }; return v; }')).ok,
      true,
    );
  });
});

describe('isolation between calls', () => {
  test('a quick call completes while another spins in while(true)', async () => {
    const own = new FunctionSandbox();
    try {
      const compiled = await compileFunction('export default (input: number) => input * 2');
      let spinningEnded = false;
      const spinning = own
        .run({ source: 'export default () => { while (true) {} }', input: null, timeoutMs: 60_000 })
        .finally(() => (spinningEnded = true));
      await untilDemoted(own); // it has been spinning for LONG_CALL_MS
      const quick = await own.run({ compiled, input: 21 });
      assert.equal(quick.output, 42);
      assert.equal(spinningEnded, false, 'the quick call did not wait for the spinning one');
      own.close();
      assertFails(await spinning, 'SANDBOX_FAILURE', /closed/);
    } finally {
      own.close();
    }
  });

  test('calls beyond the pool size queue and all complete', async () => {
    const small = new FunctionSandbox({ maxProcesses: 2 });
    try {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => small.run({ source: `export default (n: number) => n + ${i % 3}`, input: 1 })),
      );
      assert.deepEqual(
        results.map((result) => result.output),
        [1, 2, 3, 1, 2, 3],
      );
      assert.ok(small.pids().length <= 2);
    } finally {
      small.close();
    }
  });

  test('no timer outlives its call: a later call of the same function sees none of its logs', async () => {
    const source = 'export default async (first: boolean) => { if (first) setTimeout(() => console.log("late"), 30); return first; }';
    assert.deepEqual((await run(source, { input: true })).logs, []);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const second = await run(source, { input: false });
    assert.deepEqual(second.logs, []);
  });
});

describe('secrets', () => {
  const secrets = { API_KEY: 'sk-live-"quoted"\\path', SHORT: 'abc' };

  test("ctx.getConfig reads this call's secrets and nothing else, not even prototype keys", async () => {
    const result = await run(
      'export default (input: unknown, ctx: any) => ["API_KEY", "SHORT", "MISSING", "__proto__", "constructor", "toString", "hasOwnProperty"].map((key) => [key, typeof ctx.getConfig(key)])',
      { secrets },
    );
    assert.deepEqual(result.output, [
      ['API_KEY', 'string'],
      ['SHORT', 'string'],
      ['MISSING', 'undefined'],
      ['__proto__', 'undefined'],
      ['constructor', 'undefined'],
      ['toString', 'undefined'],
      ['hasOwnProperty', 'undefined'],
    ]);
  });

  test('a secret never comes back: not logged, returned (raw, JSON-escaped, as a key) or thrown', async () => {
    const leaky = `export default (mode: string, ctx: any) => {
      const key = ctx.getConfig('API_KEY');
      console.log('key is', key);
      console.log(JSON.stringify({ key }));
      ctx.log(encodeURIComponent(key));
      if (mode === 'throw') throw new Error('bad key ' + key);
      return { key, nested: [JSON.stringify(key)], [key]: 1, short: ctx.getConfig('SHORT') };
    }`;
    const returned = await run(leaky, { input: 'return', secrets });
    const thrown = await run(leaky, { input: 'throw', secrets });
    const everything = JSON.stringify([returned, thrown]);
    assert.ok(!everything.includes('sk-live'), everything);
    assert.deepEqual(returned.output, { key: '[REDACTED]', nested: ['"[REDACTED]"'], '[REDACTED]': 1, short: 'abc' });
    assert.deepEqual(returned.logs, ['key is [REDACTED]', '{"key":"[REDACTED]"}', '[REDACTED]']);
    assertFails(thrown, 'RUNTIME_ERROR', /^Error: bad key \[REDACTED\]$/);
  });
});

describe('ctx.directory', () => {
  const people: Record<string, { id: string; email: string; managerId?: string }> = {
    u1: { id: 'u1', email: 'ada@example.com', managerId: 'u2' },
    u2: { id: 'u2', email: 'grace@example.com' },
  };
  const directory = {
    findByEmail: async (email: string) => Object.values(people).find((person) => person.email === email) ?? null,
    getById: async (id: string) => people[id] ?? null,
    getManagers: async (id: string) => (people[id]?.managerId ? [people[people[id].managerId as string]] : []),
    directReports: async (id: string) => Object.values(people).filter((person) => person.managerId === id),
    getEntitlementMembers: async () => {
      throw new Error('entitlements are down');
    },
    listAppUsersForUser: async () => [],
  } as unknown as NonNullable<FunctionRunRequest['directory']>;

  test('round-trip: the function gets plain objects of its own realm', async () => {
    const result = await run(
      `export default async (email: string, ctx: any) => {
        const user = await ctx.directory.findByEmail(email);
        const managers = await ctx.directory.getManagers(user.id);
        const reports = await ctx.directory.directReports(managers[0].id);
        return { user: user.id, manager: managers[0].email, reports: reports.map((r: any) => r.id), sameRealm: user.constructor === Object && Array.isArray(reports) };
      }`,
      { input: 'ada@example.com', directory },
    );
    assert.deepEqual(result.output, { user: 'u1', manager: 'grace@example.com', reports: ['u1'], sameRealm: true });
  });

  test('a failing directory call is a catchable error of the sandbox realm', async () => {
    const result = await run(
      'export default async (i: unknown, ctx: any) => { try { await ctx.directory.getEntitlementMembers("admins"); } catch (e: any) { return [e instanceof Error, e.message]; } }',
      { directory },
    );
    assert.deepEqual(result.output, [true, 'ctx.directory.getEntitlementMembers failed: entitlements are down']);
  });

  test('without a directory: a clear RUNTIME_ERROR', async () => {
    assertFails(
      await run('export default (i: unknown, ctx: any) => ctx.directory.getById("u1")'),
      'RUNTIME_ERROR',
      /no directory available/,
    );
  });

  test('calls are capped by maxDirectoryCalls', async () => {
    const result = await run(
      'export default async (i: unknown, ctx: any) => { for (let n = 0; n < 5; n++) await ctx.directory.getById("u1"); }',
      { directory, limits: { maxDirectoryCalls: 3 } },
    );
    assertFails(result, 'RUNTIME_ERROR', /more than maxDirectoryCalls \(3\)/);
  });
});

describe('the sandbox processes', () => {
  test('a process that dies another way is a SANDBOX_FAILURE; close() leaves no process behind', async () => {
    const own = new FunctionSandbox({ maxProcesses: 1 });
    // The call is provably running in the process once it asks the directory, which never answers.
    let inFlight!: () => void;
    const asked = new Promise<void>((resolve) => (inFlight = resolve));
    const directory = { getById: () => (inFlight(), new Promise(() => {})) } as unknown as NonNullable<FunctionRunRequest['directory']>;
    const hanging = own.run({
      source: 'export default (i: unknown, ctx: any) => ctx.directory.getById("u1")',
      input: null,
      timeoutMs: 60_000,
      directory,
    });
    await asked;
    const [pid] = own.pids();
    process.kill(pid as number, 'SIGKILL');
    assertFails(await hanging, 'SANDBOX_FAILURE', /ended unexpectedly \(SIGKILL\)/);
    assert.equal((await own.run({ source: 'export default () => 1', input: null })).output, 1);
    const pids = own.pids();
    own.close();
    await Promise.all(pids.map(untilGone));
  });

  test('processes idle too long are stopped, the blank spare is kept, and the function still runs afterwards', async () => {
    const own = new FunctionSandbox();
    try {
      assert.equal((await own.run({ source: 'export default () => "first"', input: null })).output, 'first');
      const before = own.pids();
      assert.equal(before.length, 2, "the function's process and a blank spare (started once the call was sent)");
      // The process turns idle when it says so, just after its result: until then it is not stopped.
      await until('the idle process is stopped', () => (own.stopIdle(Date.now() + 1), own.pids().length < 2), 10_000, 10);
      const after = own.pids();
      assert.equal(after.length, 1, 'only the spare is left');
      const stopped = before.filter((pid) => !after.includes(pid));
      assert.equal(stopped.length, 1);
      await Promise.all(stopped.map(untilGone));
      assert.equal((await own.run({ source: 'export default () => "first"', input: null })).output, 'first');
    } finally {
      own.close();
    }
  });

  test('a call running past LONG_CALL_MS gets the lowest CPU priority, so short calls come first', async () => {
    const own = new FunctionSandbox();
    try {
      const spinning = own.run({ source: 'export default () => { for (;;) {} }', input: null, timeoutMs: 60_000 });
      const demoted = await untilDemoted(own);
      const others = own.pids().filter((pid) => pid !== demoted);
      assert.equal(others.length, 1, 'the blank spare');
      assert.deepEqual(
        others.map((pid) => getPriority(pid)),
        [getPriority()],
        'the blank spare keeps the priority it was started with',
      );
      own.close();
      assertFails(await spinning, 'SANDBOX_FAILURE', /closed/);
    } finally {
      own.close();
    }
  });

  test('invalid requests are INVALID_REQUEST', async () => {
    assertFails(await run('export default () => 1', { timeoutMs: 0 }), 'INVALID_REQUEST', /timeoutMs/);
    assertFails(await run('export default () => 1', { memoryMb: 1 }), 'INVALID_REQUEST', /memoryMb/);
    assertFails(await sandbox.run({ input: 1 }), 'INVALID_REQUEST', /source or compiled/);
    assertFails(await sandbox.run({ compiled: { code: '1', hash: 'abc', packages: [] }, input: 1 }), 'INVALID_REQUEST', /sha256/);
    assertFails(await run('export default () => 1', { input: { n: 1n } as never }), 'INVALID_REQUEST', /input is not JSON/);
  });
});
