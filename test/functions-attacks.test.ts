/**
 * Hostile functions trying to leave the sandbox, each a known way out of `vm` (see the vm2 and
 * n8n expression-sandbox advisories): reaching the host's Function through constructors, through
 * errors and values the bridge hands in, through stack-trace call sites; Proxy traps, thenables
 * and Promise species on the returned value; code generation; dynamic import; prototype pollution.
 *
 * A run counts as "escaped" if it obtains a `process` object or reads the canary file; each test
 * asserts it did neither, and that nothing host-side (paths, frames) shows in what comes back.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashOf } from '../functions/compile.js';
import { FunctionSandbox } from '../functions/runner.js';
import type { FunctionRunRequest, FunctionRunResult } from '../functions/types.js';

const sandbox = new FunctionSandbox();
const canaryDir = mkdtempSync(join(tmpdir(), 'idflow-canary-'));
const canaryFile = join(canaryDir, 'canary.txt');
const canary = `CANARY-${randomBytes(8).toString('hex')}`;
writeFileSync(canaryFile, canary);
after(() => {
  sandbox.close();
  rmSync(canaryDir, { recursive: true, force: true });
});

/**
 * Source text shared by the attacks: `tryHost(f)` takes a function that may return the host's
 * Function constructor (or a `process`), and reports what it reached.
 */
const PROBE = `
const CANARY = ${JSON.stringify(canaryFile)};
function tryHost(get: () => any): string {
  try {
    const F = get();
    if (typeof F !== 'function') return 'no function';
    const p = F('return process')();
    if (!p) return 'no process';
    return 'ESCAPED ' + p.mainModule.require('fs').readFileSync(CANARY, 'utf8');
  } catch (e: any) {
    return 'blocked: ' + (e && e.name);
  }
}
`;

const run = (source: string, request: Partial<FunctionRunRequest> = {}): Promise<FunctionRunResult> => sandbox.run({ source: PROBE + source, input: null, ...request });

function assertContained(result: FunctionRunResult): void {
  const everything = JSON.stringify(result);
  assert.ok(!everything.includes('ESCAPED'), everything);
  assert.ok(!everything.includes(canary), everything);
  assert.ok(!everything.includes(process.cwd()) && !everything.includes('node:internal') && !everything.includes('child-'), `host details leaked: ${everything}`);
}

/** The output of an attack whose probes all must be blocked by code generation being off. */
function assertAllBlocked(result: FunctionRunResult): void {
  assertContained(result);
  assert.equal(result.ok, true, JSON.stringify(result));
  for (const outcome of Object.values(result.output as Record<string, string>)) assert.match(outcome, /^blocked: EvalError$|^no function$/);
}

describe('reaching the host Function', () => {
  test('through the global object, ctx and its functions, console, timers', async () => {
    const result = await run(`export default (input: unknown, ctx: any) => ({
      global: tryHost(() => globalThis.constructor.constructor),
      thisObject: tryHost(function (this: any) { return this.constructor.constructor; }),
      ctxLog: tryHost(() => ctx.log.constructor),
      ctxFetch: tryHost(() => ctx.fetch.constructor),
      ctxObject: tryHost(() => ctx.constructor.constructor),
      directory: tryHost(() => ctx.directory.findByEmail.constructor),
      console: tryHost(() => console.log.constructor),
      timer: tryHost(() => setTimeout.constructor),
      asyncFn: tryHost(() => (async () => 1).constructor),
      generator: tryHost(() => (function* () {}).constructor),
      proto: tryHost(() => (ctx as any).__proto__.constructor.constructor),
    })`);
    assertAllBlocked(result);
  });

  test('no process, require, Buffer or module loader in the context', async () => {
    const result = await run(`export default () => [typeof process, typeof require, typeof Buffer, typeof globalThis.process, typeof (globalThis as any).global, typeof WebAssembly, typeof SharedArrayBuffer, typeof FinalizationRegistry]`);
    assert.deepEqual(result.output, ['undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined', 'undefined']);
  });

  test('through errors and values the bridge hands in (ctx.fetch, ctx.directory, getConfig, JSON input)', async () => {
    const result = await run(
      `export default async (input: any, ctx: any) => {
        const out: Record<string, string> = {};
        try { await ctx.fetch('http://169.254.169.254/latest/meta-data/'); } catch (e: any) { out.fetchError = tryHost(() => e.constructor.constructor); out.fetchRealm = String(e instanceof Error) === 'true' ? 'no function' : 'FOREIGN'; }
        try { await ctx.directory.getById('x'); } catch (e: any) { out.directoryError = tryHost(() => e.constructor.constructor); out.directoryRealm = e instanceof Error ? 'no function' : 'FOREIGN'; }
        try { ctx.fetch(Symbol()); } catch (e: any) { out.badArgument = tryHost(() => e.constructor.constructor); }
        out.input = tryHost(() => input.constructor.constructor);
        out.inputArray = tryHost(() => input.list.constructor.constructor);
        out.trigger = tryHost(() => ctx.trigger.constructor.constructor);
        out.config = tryHost(() => ctx.getConfig('TOKEN').constructor.constructor);
        out.configProto = tryHost(() => (ctx.getConfig('__proto__') as any)?.constructor?.constructor);
        return out;
      }`,
      { input: { list: [1] } as never, trigger: { a: 1 }, secrets: { TOKEN: 'token-value' } },
    );
    assertAllBlocked(result);
  });

  test('through Error.prepareStackTrace call sites (getThis/getFunction), also at a stack overflow inside a bridge call', async () => {
    const result = await run(`export default (input: unknown, ctx: any) => {
      const found: string[] = [];
      (Error as any).prepareStackTrace = (error: unknown, frames: any[]) => {
        for (const frame of frames) {
          for (const value of [frame.getThis(), frame.getFunction()]) {
            if (value === undefined || value === null) continue;
            const F = value.constructor && value.constructor.constructor;
            if (F !== Function) found.push(tryHost(() => F) + ' at ' + frame.getFunctionName());
          }
        }
        return 'formatted';
      };
      const deep = (): void => { try { deep(); } catch (e: any) { try { ctx.log('at the limit'); } catch (inner: any) { found.push('inner ' + (inner instanceof Error ? 'own realm' : tryHost(() => inner.constructor.constructor))); } String(e.stack); throw e; } };
      try { deep(); } catch (e: any) { found.push(String(e.stack)); }
      found.push(String(new Error('top').stack));
      return found.filter((entry) => entry !== 'formatted' && entry !== 'inner own realm');
    }`);
    assertContained(result);
    assert.equal(result.ok, true, JSON.stringify(result.error));
    // An overflow while formatting the overflow's own stack falls back to V8's text: sandbox frames only.
    for (const entry of result.output as string[]) assert.match(entry, /^blocked: EvalError|^no function|^RangeError: Maximum call stack size exceeded\n(\s+at .*\((function\.js:\d+:\d+|<anonymous>)\)\n?)+$/);
  });

  test('arguments.callee.caller and Function.caller reach nothing outside the function', async () => {
    const result = await run(`export default function (this: any) {
      function sloppy(this: any) { return (sloppy as any).caller; }
      const caller = (() => { try { return (sloppy as any)(); } catch (e: any) { return e instanceof TypeError ? null : e; } })();
      let outer: unknown = 'none';
      try { outer = (arguments as any).callee.caller; } catch (e: any) { outer = e.name; }
      return { caller: caller === null ? null : typeof caller, outer: outer === null ? null : typeof outer, viaCaller: tryHost(() => (caller as any)?.constructor) };
    }`);
    assertContained(result);
    // The sloppy function's caller is the function's own default export; the runtime's frames are strict.
    assert.deepEqual(result.output, { caller: 'function', outer: null, viaCaller: 'blocked: EvalError' });
  });
});

describe('code generation and modules', () => {
  test('eval and new Function are refused; WebAssembly is gone', async () => {
    const result = await run(`export default () => {
      const attempt = (f: () => unknown): string => { try { return 'ran ' + String(f()); } catch (e: any) { return e.name + ': ' + e.message; } };
      return [attempt(() => eval('1 + 1')), attempt(() => new Function('return 1')()), attempt(() => (0, eval)('1')), attempt(() => (globalThis as any).WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])))];
    }`);
    assert.deepEqual(result.output, [
      'EvalError: Code generation from strings disallowed for this context',
      'EvalError: Code generation from strings disallowed for this context',
      'EvalError: Code generation from strings disallowed for this context',
      "TypeError: Cannot read properties of undefined (reading 'compile')",
    ]);
  });

  test('a dynamic import() fails: lowered away at compile time, refused with an error of the sandbox realm at run time', async () => {
    const compiledRun = await run(`export default async () => { const name = ['f', 's'].join(''); try { await import(name); return 'imported'; } catch (e: any) { return e.name + ': ' + e.message; } }`);
    assert.deepEqual(compiledRun.output, 'ReferenceError: require is not defined');
    // Hand-written code that never went through compileFunction, with a real import() in it.
    const code = `module.exports = async () => { try { await import('fs'); return 'imported'; } catch (e) { return [e instanceof Error, e.constructor === Error, String(e.message)]; } };`;
    const handWritten = await sandbox.run({ compiled: { code, hash: hashOf(code), packages: [] }, input: null });
    assert.deepEqual(handWritten.output, [true, true, 'import() is not available in a function; import npm: packages statically']);
    const probe = `module.exports = async () => { try { await import('fs'); } catch (e) { return e.constructor.constructor('return process')(); } };`;
    const probed = await sandbox.run({ compiled: { code: probe, hash: hashOf(probe), packages: [] }, input: null });
    assert.match(probed.error?.message ?? '', /^EvalError: Code generation from strings disallowed/);
  });
});

describe('what the function throws or returns', () => {
  const thrown: [string, string, RegExp][] = [
    ['a Symbol', 'throw Symbol("boom")', /^a Symbol was thrown: Symbol\(boom\)$/],
    ['a Proxy whose traps throw', 'throw new Proxy({}, { get() { throw new Error("trap"); }, getPrototypeOf() { throw new Error("trap"); } })', /^a value that cannot be described was thrown$/],
    ['an object whose message getter throws', 'throw { get message(): string { throw new Error("getter"); } }', /^a value that cannot be described was thrown$/],
    ['an Error with prepareStackTrace overridden', '(Error as any).prepareStackTrace = () => { throw new Error("stack"); }; throw new TypeError("plain")', /^TypeError: plain$/],
    ['a stack overflow', 'const f = (): number => f() + 1; f()', /^RangeError: Maximum call stack size exceeded$/],
    ['null', 'throw null', /^a non-Error value was thrown: null$/],
    ['an error that names a host path', `throw new Error('see ' + ${JSON.stringify(process.cwd())} + '/secret.ts')`, /^Error: see <host>\/secret\.ts$/],
  ];
  for (const [what, statement, message] of thrown) {
    test(`throwing ${what} is a sanitized RUNTIME_ERROR`, async () => {
      const result = await run(`export default () => { ${statement}; }`);
      assertContained(result);
      assert.equal(result.error?.code, 'RUNTIME_ERROR', JSON.stringify(result));
      assert.match(result.error?.message ?? '', message);
    });
  }

  test('Proxy traps, toJSON and getters on the returned value run inside the sandbox only', async () => {
    const result = await run(`export default () => {
      const seen: string[] = [];
      const value = new Proxy({ a: 1 }, { get(target: any, key: any, receiver: any) { seen.push(String(key)); return key === 'hostProbe' ? tryHost(() => receiver.constructor.constructor) : target[key]; }, ownKeys: () => ['a', 'hostProbe'], getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }) });
      return { value, viaToJSON: { toJSON(this: any) { return tryHost(() => this.constructor.constructor) + ' / ' + typeof (globalThis as any).process; } }, get viaGetter() { return tryHost(() => (arguments as any).callee); } };
    }`);
    assertContained(result);
    assert.deepEqual(result.output, { value: { a: 1, hostProbe: 'blocked: EvalError' }, viaToJSON: 'blocked: EvalError / undefined', viaGetter: 'blocked: TypeError' });
  });

  test('a returned thenable, and Promise species / then overrides, stay inside', async () => {
    const thenable = await run(`export default () => ({ then(resolve: (v: unknown) => void) { resolve({ via: 'thenable', probe: tryHost(() => (resolve as any).constructor) }); } })`);
    assertContained(thenable);
    assert.deepEqual(thenable.output, { via: 'thenable', probe: 'blocked: EvalError' });
    const species = await run(`export default async () => {
      class Evil extends Promise<unknown> { static get [Symbol.species]() { return Evil; } }
      Object.defineProperty(Promise, Symbol.species, { get: () => Evil });
      const originalThen = Promise.prototype.then;
      (Promise.prototype as any).then = function (this: Promise<unknown>, ...args: any[]) { return originalThen.apply(this, args.map((f) => (typeof f === 'function' ? (v: unknown) => f(tryHost(() => f.constructor) + ':' + String(v)) : f)) as any); };
      return 'value';
    }`);
    assertContained(species);
  });

  test('prototype pollution inside a call affects neither the next call nor the host', async () => {
    const source = `export default (pollute: boolean) => {
      if (pollute) { (Object.prototype as any).polluted = 'yes'; (Array.prototype as any).push = () => { throw new Error('hijacked'); }; JSON.stringify = () => 'hijacked'; return 'polluted'; }
      const list: number[] = []; list.push(1);
      return { polluted: ({} as any).polluted ?? null, list, json: JSON.stringify({ a: 1 }) };
    }`;
    // The runtime serializes with the JSON it captured before the function ran.
    assert.equal((await run(source, { input: true })).output, 'polluted');
    const next = await run(source, { input: false });
    assert.deepEqual(next.output, { polluted: null, list: [1], json: '{"a":1}' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('an unhandled rejection and a throwing timer callback do not crash the sandbox process', async () => {
    const result = await run(`export default async () => { Promise.reject(new Error('ignored')); setTimeout(() => { throw new Error('in a timer'); }, 1); await new Promise((r) => setTimeout(r, 20)); return 'still here'; }`);
    assert.equal(result.output, 'still here');
    assert.deepEqual(result.logs, ['[error] a setTimeout callback threw: Error: in a timer']);
  });

  test('unprintable log arguments are logged as such', async () => {
    const result = await run(`export default () => { console.log(new Proxy({}, { ownKeys() { throw new Error('x'); }, get() { throw new Error('x'); } })); return 1; }`);
    assert.deepEqual(result.logs, ['[unprintable]']);
  });
});

describe('ctx.fetch through the guarded fetch', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.setHeader('x-token', 'abc');
      response.end(JSON.stringify({ path: request.url, method: request.method }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  test('an allowed host, with the operator exempting loopback: a Response-like object built inside', async () => {
    const result = await run(
      `export default async (port: number, ctx: any) => {
        const response = await ctx.fetch('http://127.0.0.1:' + port + '/users?x=1', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) });
        return { status: response.status, ok: response.ok, type: response.headers.get('Content-Type'), body: await response.json(), realm: response.headers.get.constructor === Function, probe: tryHost(() => response.text.constructor) };
      }`,
      { input: port, allowHosts: [`127.0.0.1:${port}`], allowPrivateNetworks: ['127.0.0.0/8'] },
    );
    assertContained(result);
    assert.deepEqual(result.output, { status: 200, ok: true, type: 'application/json', body: { path: '/users?x=1', method: 'POST' }, realm: true, probe: 'blocked: EvalError' });
  });

  test('loopback without the exemption, and a host not allowed: NETWORK_DENIED, logged', async () => {
    const denied = await run(`export default async (port: number, ctx: any) => (await ctx.fetch('http://127.0.0.1:' + port + '/')).status`, { input: port, allowHosts: [`127.0.0.1:${port}`] });
    assert.equal(denied.error?.code, 'NETWORK_DENIED', JSON.stringify(denied));
    assert.match(denied.logs[0] ?? '', /^NETWORK_DENIED GET http:\/\/127\.0\.0\.1:\d+\/: 127\.0\.0\.1 is/);
    const notAllowed = await run(`export default async (i: unknown, ctx: any) => { try { await ctx.fetch('http://169.254.169.254/latest/meta-data/'); } catch (e: any) { return [e.name, e.message]; } }`);
    assert.equal((notAllowed.output as string[])[0], 'NETWORK_DENIED');
    assert.match((notAllowed.output as string[])[1] ?? '', /not in the allowed hosts/);
  });
});
