/**
 * Hostile functions trying to leave the sandbox, each a known way out of `vm` (see the vm2 and
 * n8n expression-sandbox advisories): reaching the host's Function through constructors, through
 * errors and values the bridge hands in, through stack-trace call sites; Proxy traps, thenables
 * and Promise species on the returned value; code generation; dynamic import; prototype pollution.
 *
 * An escape starts with one object of the host's realm: from there `constructor.constructor` is
 * the host's Function. So the probes do not try to run code with what they reach (code generation
 * is off in both realms, so that would fail either way): they walk everything reachable from it,
 * through properties, accessors and prototypes, and report any object whose prototype chain does
 * not end in the context's own Object.prototype. The process layer, which would still stand if a
 * host object leaked, is tested on its own at the end, with a probe started exactly as the pool
 * starts its processes.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashOf } from '../functions/compile.js';
import { FunctionSandbox } from '../functions/sandbox/pool.js';
import { sandboxProcessOptions } from '../functions/sandbox/process.js';
import type { FunctionRunRequest, FunctionRunResult } from '../functions/types.js';

const sandbox = new FunctionSandbox();
after(() => sandbox.close());

/**
 * Source text shared by the attacks (plain JavaScript, so that hand-written bundles can use it
 * too). `foreignReachable(roots)` lists the paths to every object of another realm reachable from
 * the roots; `tryHost(get)` says what one probe reached: "own realm", "FOREIGN <paths>", the type
 * of a primitive, or "threw <name>".
 */
const PROBE = `
const OWN_OBJECT_PROTOTYPE = Object.prototype;
const probeGetPrototypeOf = Object.getPrototypeOf;
const probeDescriptor = Object.getOwnPropertyDescriptor;
const probeOwnKeys = Reflect.ownKeys;
const isObject = (value) => (typeof value === 'object' && value !== null) || typeof value === 'function';
/** How many objects the last foreignReachable() looked at. */
let walkedObjects = 0;
function foreignReachable(roots) {
  const seen = new Set();
  const queue = Object.entries(roots);
  const foreign = [];
  for (let next = 0; next < queue.length; next++) {
    const [path, value] = queue[next];
    if (!isObject(value) || seen.has(value)) continue;
    seen.add(value);
    let root = value;
    for (let proto = probeGetPrototypeOf(value); proto !== null; proto = probeGetPrototypeOf(proto)) root = proto;
    // A null-prototype object has no realm of its own to check: what it holds is walked.
    if (root !== OWN_OBJECT_PROTOTYPE && root !== value) { foreign.push(path); continue; }
    queue.push([path + '.__proto__', probeGetPrototypeOf(value)]);
    for (const key of probeOwnKeys(value)) {
      const descriptor = probeDescriptor(value, key);
      const name = path + '.' + String(key);
      queue.push([name, descriptor.value], [name + '<get>', descriptor.get], [name + '<set>', descriptor.set]);
    }
  }
  walkedObjects = seen.size;
  return foreign;
}
function tryHost(get) {
  let value;
  try {
    value = get();
  } catch (error) {
    return 'threw ' + (foreignReachable({ error }).length > 0 ? 'FOREIGN' : error.name);
  }
  if (!isObject(value)) return typeof value;
  const foreign = foreignReachable({ value });
  return foreign.length === 0 ? 'own realm' : 'FOREIGN ' + foreign.join(', ');
}
`;

const run = (source: string, request: Partial<FunctionRunRequest> = {}): Promise<FunctionRunResult> =>
  sandbox.run({ source: PROBE + source, input: null, ...request });

/** Nothing host-side (paths, Node's frames, the child bundle's name) in what comes back. */
function assertContained(result: FunctionRunResult): void {
  const everything = JSON.stringify(result);
  assert.ok(!everything.includes('FOREIGN'), everything);
  assert.ok(
    !everything.includes(process.cwd()) && !everything.includes('node:internal') && !everything.includes('child-'),
    `host details leaked: ${everything}`,
  );
}

/** The run returned exactly these probe outcomes: every probe ran, and none reached another realm. */
function assertProbes(result: FunctionRunResult, expected: Record<string, unknown>): void {
  assertContained(result);
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.deepEqual(result.output, expected);
}

describe('reaching the host realm', () => {
  test('nothing reachable from the global object, ctx, this, arguments or the module objects is of the host realm', async () => {
    const result = await run(
      `export default function (this: unknown, input: unknown, ctx: any) {
      // URL and URLSearchParams are evaluated at first use (whatwg-url): touched here, so they are walked too.
      const roots = { globalThis, ctx, this: this, arguments, module, exports, input, trigger: ctx.trigger, url: new URL('https://h/?a=1'), URLSearchParams };
      return { foreign: foreignReachable(roots), walkedObjects, ctxMembers: Object.keys(ctx).sort() };
    }`,
      { input: { list: [1] } as never, trigger: { user: { id: 'u1' } } },
    );
    assertContained(result);
    const { foreign, walkedObjects, ctxMembers } = result.output as { foreign: string[]; walkedObjects: number; ctxMembers: string[] };
    assert.deepEqual(foreign, []);
    // Every built-in of the context and what they hold (747 objects on Node 20, whatwg-url's included).
    assert.ok(walkedObjects > 500, `walked ${walkedObjects} objects`);
    // What ctx holds is listed, so that a new member is noticed here (and is walked with the rest).
    assert.deepEqual(ctxMembers, ['directory', 'fetch', 'getConfig', 'idempotencyKey', 'log', 'trigger']);
  });

  test('the probe itself sees an object of another realm', async () => {
    // A null-prototype object with an Object of this realm under it is no proof; one whose chain
    // ends elsewhere is: the context's own Object.prototype is not every realm's.
    const result = await run(`export default () => {
      const fakeRealmRoot = Object.create(null);
      const alien = Object.create(Object.create(fakeRealmRoot));
      return { alien: tryHost(() => alien), nested: foreignReachable({ holder: { deep: [alien] } }), nullPrototype: tryHost(() => Object.create(null)) };
    }`);
    assert.deepEqual(result.output, { alien: 'FOREIGN value', nested: ['holder.deep.0'], nullPrototype: 'own realm' });
  });

  test('no process, require, Buffer or module loader in the context', async () => {
    const result = await run(
      `export default () => [typeof process, typeof require, typeof Buffer, typeof globalThis.process, typeof (globalThis as any).global, typeof WebAssembly, typeof SharedArrayBuffer, typeof FinalizationRegistry]`,
    );
    assert.deepEqual(result.output, [
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
      'undefined',
    ]);
  });

  test('through errors and values the bridge hands in (ctx.fetch, ctx.directory, getConfig, timers, JSON input)', async () => {
    const result = await run(
      `export default async (input: any, ctx: any) => {
        const out: Record<string, string> = {};
        try { await ctx.fetch('http://169.254.169.254/latest/meta-data/'); out.fetchError = 'did not throw'; } catch (e: any) { out.fetchError = tryHost(() => e); }
        try { await ctx.directory.getById('x'); out.directoryError = 'did not throw'; } catch (e: any) { out.directoryError = tryHost(() => e); }
        try { await ctx.fetch(Symbol()); out.badArgument = 'did not throw'; } catch (e: any) { out.badArgument = tryHost(() => e) + ' ' + e.name; }
        try { await ctx.fetch('http://example.com/', { headers: [['only a name']] }); out.badHeaders = 'did not throw'; } catch (e: any) { out.badHeaders = tryHost(() => e) + ' ' + e.name; }
        try { await ctx.fetch('http://example.com/', { body: {} }); out.badBody = 'did not throw'; } catch (e: any) { out.badBody = tryHost(() => e) + ' ' + e.name; }
        try { setTimeout('not a function'); out.badTimer = 'did not throw'; } catch (e: any) { out.badTimer = tryHost(() => e) + ' ' + e.name; }
        out.timerId = tryHost(() => setTimeout(() => undefined, 1));
        out.input = tryHost(() => input);
        out.trigger = tryHost(() => ctx.trigger);
        out.config = tryHost(() => ctx.getConfig('TOKEN'));
        out.configProto = tryHost(() => ctx.getConfig('__proto__'));
        return out;
      }`,
      { input: { list: [1], nested: { a: null } } as never, trigger: { a: [1] }, secrets: { TOKEN: 'token-value' } },
    );
    assertProbes(result, {
      fetchError: 'own realm',
      directoryError: 'own realm',
      badArgument: 'own realm NETWORK_ERROR',
      badHeaders: 'own realm TypeError',
      badBody: 'own realm TypeError',
      badTimer: 'own realm TypeError',
      timerId: 'number',
      input: 'own realm',
      trigger: 'own realm',
      config: 'string',
      configProto: 'undefined',
    });
  });

  test('through Error.prepareStackTrace call sites (getThis/getFunction), also at a stack overflow inside a bridge call', async () => {
    const result = await run(`export default (input: unknown, ctx: any) => {
      const frameValues: unknown[] = [];
      const inner: string[] = [];
      (Error as any).prepareStackTrace = (error: unknown, frames: any[]) => {
        for (const frame of frames) frameValues.push(frame.getThis(), frame.getFunction());
        return 'formatted';
      };
      const stacks: string[] = [];
      const deep = (): void => { try { deep(); } catch (e: any) { try { ctx.log('at the limit'); } catch (error: any) { inner.push(tryHost(() => error)); } String(e.stack); throw e; } };
      try { deep(); } catch (e: any) { stacks.push(String(e.stack)); }
      stacks.push(String(new Error('top').stack));
      const seen = frameValues.filter((value) => value !== undefined && value !== null).length;
      return { foreign: foreignReachable({ frameValues }), sawFrameValues: seen > 0, inner: [...new Set(inner)], stacks: stacks.filter((stack) => stack !== 'formatted') };
    }`);
    assert.equal(result.ok, true, JSON.stringify(result.error));
    const output = result.output as { foreign: string[]; sawFrameValues: boolean; inner: string[]; stacks: string[] };
    assertContained({ ...result, output: { ...output, stacks: [] } });
    assert.deepEqual(output.foreign, []);
    assert.equal(output.sawFrameValues, true, "the hook saw the sloppy frames' this and functions");
    assert.ok(
      output.inner.every((outcome) => outcome === 'own realm'),
      JSON.stringify(output.inner),
    );
    // An overflow while formatting the overflow's own stack falls back to V8's text: the function's
    // frames, and (a known limit: names only, no objects or paths) Node's two frames that call the hook.
    const nodeHookFrame = String.raw`\s+at (Function\.ErrorPrepareStackTrace|prepareStackTraceCallback) \(node:internal\/errors:\d+:\d+\)\n?`;
    const functionFrame = String.raw`\s+at .*\((function\.js:\d+:\d+|<anonymous>)\)\n?`;
    for (const stack of output.stacks)
      assert.match(stack, new RegExp(`^RangeError: Maximum call stack size exceeded\n(${nodeHookFrame})*(${functionFrame})+$`));
  });

  test('arguments.callee.caller and Function.caller reach nothing outside the function', async () => {
    const result = await run(`export default function (this: any) {
      function sloppy(this: any) { return (sloppy as any).caller; }
      const caller = (() => { try { return (sloppy as any)(); } catch (e: any) { return e instanceof TypeError ? null : e; } })();
      let outer: unknown = 'none';
      try { outer = (arguments as any).callee.caller; } catch (e: any) { outer = e.name; }
      return { caller: caller === null ? null : typeof caller, outer: outer === null ? null : typeof outer, viaCaller: tryHost(() => caller) };
    }`);
    assertContained(result);
    // The sloppy function's caller is the function's own default export; the runtime's frames are strict.
    assert.deepEqual(result.output, { caller: 'function', outer: null, viaCaller: 'own realm' });
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
    const compiledRun = await run(
      `export default async () => { const name = ['f', 's'].join(''); try { await import(name); return 'imported'; } catch (e: any) { return e.name + ': ' + e.message; } }`,
    );
    assert.deepEqual(compiledRun.output, 'ReferenceError: require is not defined');
    // Hand-written code that never went through compileFunction, with a real import() in it.
    const code = `module.exports = async () => { try { await import('fs'); return 'imported'; } catch (e) { return [e instanceof Error, e.constructor === Error, String(e.message)]; } };`;
    const handWritten = await sandbox.run({ compiled: { code, hash: hashOf(code), packages: [] }, input: null });
    assert.deepEqual(handWritten.output, [true, true, 'import() is not available in a function; import npm: packages statically']);
    const probe = `${PROBE}\nmodule.exports = async () => { try { await import('fs'); return 'imported'; } catch (error) { return foreignReachable({ error }); } };`;
    const probed = await sandbox.run({ compiled: { code: probe, hash: hashOf(probe), packages: [] }, input: null });
    assert.deepEqual(probed.output, [], 'the refusal holds nothing of the host realm');
  });
});

describe('what the function throws or returns', () => {
  const thrown: [string, string, RegExp][] = [
    ['a Symbol', 'throw Symbol("boom")', /^a Symbol was thrown: Symbol\(boom\)$/],
    [
      'a Proxy whose traps throw',
      'throw new Proxy({}, { get() { throw new Error("trap"); }, getPrototypeOf() { throw new Error("trap"); } })',
      /^a value that cannot be described was thrown$/,
    ],
    [
      'an object whose message getter throws',
      'throw { get message(): string { throw new Error("getter"); } }',
      /^a value that cannot be described was thrown$/,
    ],
    [
      'an Error with prepareStackTrace overridden',
      '(Error as any).prepareStackTrace = () => { throw new Error("stack"); }; throw new TypeError("plain")',
      /^TypeError: plain$/,
    ],
    ['a stack overflow', 'const f = (): number => f() + 1; f()', /^RangeError: Maximum call stack size exceeded$/],
    ['null', 'throw null', /^a non-Error value was thrown: null$/],
    [
      'an error that names a host path',
      `throw new Error('see ' + ${JSON.stringify(process.cwd())} + '/secret.ts')`,
      /^Error: see <host>\/secret\.ts$/,
    ],
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
      const value = new Proxy({ a: 1 }, { get(target: any, key: any, receiver: any) { seen.push(String(key)); return key === 'hostProbe' ? tryHost(() => receiver) : target[key]; }, ownKeys: () => ['a', 'hostProbe'], getOwnPropertyDescriptor: () => ({ enumerable: true, configurable: true }) });
      return { value, viaToJSON: { toJSON(this: any, key: unknown) { return tryHost(() => this) + ' / ' + typeof key + ' / ' + typeof (globalThis as any).process; } }, get viaGetter() { return tryHost(() => this) + ' / ' + tryHost(() => (arguments as any).callee); } };
    }`);
    assertContained(result);
    assert.deepEqual(result.output, {
      value: { a: 1, hostProbe: 'own realm' },
      viaToJSON: 'own realm / string / undefined',
      viaGetter: 'own realm / own realm',
    });
  });

  test('a returned thenable, and Promise species / then overrides, stay inside', async () => {
    const thenable = await run(
      `export default () => ({ then(resolve: (v: unknown) => void, reject: unknown) { resolve({ via: 'thenable', resolve: tryHost(() => resolve), reject: tryHost(() => reject) }); } })`,
    );
    assertContained(thenable);
    assert.deepEqual(thenable.output, { via: 'thenable', resolve: 'own realm', reject: 'own realm' });
    const species = await run(`export default async () => {
      class Evil extends Promise<unknown> { static get [Symbol.species]() { return Evil; } }
      Object.defineProperty(Promise, Symbol.species, { get: () => Evil });
      const originalThen = Promise.prototype.then;
      (Promise.prototype as any).then = function (this: Promise<unknown>, ...args: any[]) { return originalThen.apply(this, args.map((f) => (typeof f === 'function' ? (v: unknown) => f(tryHost(() => this) + ' ' + tryHost(() => f) + ':' + String(v)) : f)) as any); };
      return 'value';
    }`);
    assertContained(species);
    // The runtime settles the call through a promise of the context, so the override runs (once):
    // it may rewrite its own function's output, and what it is handed is of the context's realm.
    assert.deepEqual([species.ok, species.output], [true, 'own realm own realm:value']);
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
    const result = await run(
      `export default async () => { Promise.reject(new Error('ignored')); setTimeout(() => { throw new Error('in a timer'); }, 1); await new Promise((r) => setTimeout(r, 20)); return 'still here'; }`,
    );
    assert.equal(result.output, 'still here');
    assert.deepEqual(result.logs, ['[error] a setTimeout callback threw: Error: in a timer']);
  });

  test('unprintable log arguments are logged as such', async () => {
    const result = await run(
      `export default () => { console.log(new Proxy({}, { ownKeys() { throw new Error('x'); }, get() { throw new Error('x'); } })); return 1; }`,
    );
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
        return { status: response.status, ok: response.ok, type: response.headers.get('Content-Type'), body: await response.json(), response: tryHost(() => response), entries: tryHost(() => [...response.headers.entries()]), urlLike: await (await ctx.fetch({ toString: () => 'http://127.0.0.1:' + port + '/url-like' })).json() };
      }`,
      { input: port, allowHosts: [`127.0.0.1:${port}`], allowPrivateNetworks: ['127.0.0.0/8'] },
    );
    assertContained(result);
    assert.deepEqual(result.output, {
      status: 200,
      ok: true,
      type: 'application/json',
      body: { path: '/users?x=1', method: 'POST' },
      response: 'own realm',
      entries: 'own realm',
      urlLike: { path: '/url-like', method: 'GET' },
    });
  });

  test('loopback without the exemption, and a host not allowed: NETWORK_DENIED, logged', async () => {
    const denied = await run(
      `export default async (port: number, ctx: any) => (await ctx.fetch('http://127.0.0.1:' + port + '/')).status`,
      { input: port, allowHosts: [`127.0.0.1:${port}`] },
    );
    assert.equal(denied.error?.code, 'NETWORK_DENIED', JSON.stringify(denied));
    assert.match(denied.logs[0] ?? '', /^NETWORK_DENIED GET http:\/\/127\.0\.0\.1:\d+\/: 127\.0\.0\.1 is/);
    const notAllowed = await run(
      `export default async (i: unknown, ctx: any) => { try { await ctx.fetch('http://169.254.169.254/latest/meta-data/'); } catch (e: any) { return [e.name, e.message]; } }`,
    );
    assert.equal((notAllowed.output as string[])[0], 'NETWORK_DENIED');
    assert.match((notAllowed.output as string[])[1] ?? '', /not in the allowed hosts/);
  });
});

describe('the sandbox process, the layer under the context', () => {
  const directory = mkdtempSync(join(tmpdir(), 'idflow-process-layer-'));
  const canary = join(directory, 'canary.txt');
  writeFileSync(canary, 'host file');
  after(() => rmSync(directory, { recursive: true, force: true }));

  /**
   * What a script started exactly as the pool starts child.ts (sandboxProcessOptions, with the probe
   * as the one file it may read) can do in its own realm: the realm a host object leaked into the
   * context would give access to.
   */
  const PROCESS_PROBE = `
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
const attempt = (action) => { try { return 'allowed: ' + String(action()); } catch (error) { return error.code ?? error.name; } };
const canary = process.argv[2];
process.send({
  env: Object.keys(process.env),
  readPermission: process.permission?.has('fs.read', canary) ?? 'no permission model',
  read: attempt(() => readFileSync(canary, 'utf8')),
  write: attempt(() => writeFileSync(canary + '.written', 'x')),
  childProcess: attempt(() => execFileSync(process.execPath, ['--version'])),
  worker: attempt(() => new Worker('', { eval: true })),
  nativeAddon: attempt(() => process.dlopen({ exports: {} }, canary)),
  newFunction: attempt(() => new Function('return process')()),
  eval: attempt(() => eval('process')),
  webAssembly: typeof WebAssembly,
  heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
});
`;

  test('a process started as the pool starts one can read no file, write, spawn, load code or see the environment', async () => {
    const script = join(directory, 'probe.mjs');
    writeFileSync(script, PROCESS_PROBE);
    const memoryMb = 64;
    const options = sandboxProcessOptions(script, memoryMb);
    const child = fork(script, [canary], { ...options, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const report = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code, signal) => reject(new Error(`the probe exited (${signal ?? code}) without a report: ${stderr}`)));
    });
    child.kill();
    const { heapLimitMb, ...rest } = report;
    assert.deepEqual(rest, {
      env: [],
      readPermission: false,
      read: 'ERR_ACCESS_DENIED',
      write: 'ERR_ACCESS_DENIED',
      childProcess: 'ERR_ACCESS_DENIED',
      worker: 'ERR_ACCESS_DENIED',
      nativeAddon: 'ERR_DLOPEN_DISABLED',
      newFunction: 'EvalError',
      eval: 'EvalError',
      webAssembly: 'undefined',
    });
    // V8 adds the young generation (2 semi-spaces of 2 MB, and one more for copying) to the old space.
    assert.ok(
      typeof heapLimitMb === 'number' && heapLimitMb >= memoryMb && heapLimitMb <= memoryMb + 16,
      `heap limit ${String(heapLimitMb)} MB for memoryMb ${memoryMb}`,
    );
  });

  test("the pool's own processes are started with nothing of the host's environment", async () => {
    const own = new FunctionSandbox();
    try {
      assert.equal((await own.run({ source: 'export default () => 1', input: null })).output, 1);
      const pids = own.pids();
      assert.ok(pids.length > 0);
      for (const pid of pids) {
        // What the process was started with, as the kernel holds it: Node's IPC channel and nothing else.
        const names = readFileSync(`/proc/${pid}/environ`, 'latin1')
          .split('\0')
          .filter(Boolean)
          .map((entry) => entry.slice(0, entry.indexOf('=')));
        assert.deepEqual(names.sort(), ['NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE']);
      }
    } finally {
      own.close();
    }
  });
});
