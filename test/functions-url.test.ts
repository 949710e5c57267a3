/**
 * `URL` and `URLSearchParams` inside the functions sandbox (whatwg-url, functions/sandbox/url.ts)
 * held against Node's own URL field by field: relative resolution, IPv4 and IPv6 hosts, IDNA
 * hosts, percent-encoding, special and opaque schemes, setters, searchParams mutation, invalid
 * URLs throwing a TypeError of the sandbox's realm, URL.canParse and URL.parse. Each description
 * is made by one function, run in the host over Node's URL and inside the sandbox over its own.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { FunctionSandbox } from '../functions/sandbox/pool.js';
import type { FunctionRunResult } from '../functions/types.js';

const sandbox = new FunctionSandbox();
after(() => sandbox.close());

/** [input, base?] */
const CORPUS: [string, string?][] = [
  // Relative resolution (RFC 3986's examples among them).
  ['../c/d?x#y', 'https://example.com/a/b/'],
  ['//other.example/p', 'https://example.com/a'],
  ['?q=1', 'https://example.com/a?b#c'],
  ['#h', 'https://example.com/a?b'],
  ['', 'https://example.com/a?b#c'],
  ['/..//x', 'http://h/'],
  ['./a/./b/../c', 'http://h/p/q'],
  ['g;x=1/../y', 'http://a/b/c/d;p?q'],
  ['../../../g', 'http://a/b/c/d;p?q'],
  ['g?y/./x', 'http://a/b/c/d;p?q'],
  ['http:g', 'http://a/b/c/d;p?q'],
  ['mailto:ada@example.com', 'https://h/'],
  ['\\\\evil.example\\x', 'https://h/'],
  // IPv6 and IPv4 hosts.
  ['http://[::1]:8080/'],
  ['http://[2001:DB8::0:1]/'],
  ['http://[::ffff:192.168.0.1]/'],
  ['http://[1:2:3:4:5:6:7:8]/'],
  ['http://[0:0:0:0:0:0:0:0]/'],
  ['http://[::1%25eth0]/'],
  ['http://[:::1]/'],
  ['http://[::1/'],
  ['http://0x7f.1/'],
  ['http://2130706433/'],
  ['http://127.1/'],
  ['http://0300.0250.0.1/'],
  ['http://192.168.0.257/'],
  ['http://1.2.3.4.5/'],
  // IDNA / punycode.
  ['https://bücher.example/'],
  ['https://xn--bcher-kva.example/'],
  ['https://EXAMPLE.com./'],
  ['https://ＥＸＡＭＰＬＥ.com/'],
  ['https://faß.de/'],
  ['https://Straße.example/'],
  ['https://例え.テスト/'],
  ['https://☕.us/'],
  ['https://xn--a.example/'],
  ['https://a..b/'],
  ['https://exa%41mple.com/'],
  ['https://exa%00mple.com/'],
  // Percent-encoding and what the parser strips.
  ['https://h/a b/ä?q=a b&ü=1#f g'],
  ['https://h/%7e%2F%zz'],
  ['https://h/?q=\'"<>`{}|'],
  ['https://user name:p@ss@h/'],
  ['https://h/%E2%82%AC?%E2%82%AC#%E2%82%AC'],
  ['http://h/\\a\\b'],
  ['http://h/\t\na\r'],
  ['  https://h/x  '],
  ['https://h/😀?😀#😀'],
  ['https://h/?%EF%BB%BFa=b&%FF=%C3'],
  // Schemes, default ports, opaque paths.
  ['file:///C:/x/../y'],
  ['file://server/share/f'],
  ['data:text/plain,hello world'],
  ['javascript:alert(1)'],
  ['foo://Host/Path?X#Y'],
  ['blob:https://a.example/0b8e'],
  ['ws://h:80/'],
  ['wss://h:443/'],
  ['http://h:80/'],
  ['https://h:443/'],
  ['ftp://h:21/'],
  ['non-spec:/.//p'],
  ['HTTPS://H/'],
  // Invalid.
  ['nope'],
  [''],
  ['http://'],
  ['https://h:99999/'],
  ['http://a b/'],
  ['//x'],
  ['https://h/', 'not a base'],
];

/** Every field of a URL as JSON, or what parsing it threw. Runs in both realms: no outside names. */
function describeUrl(input: string, base: string | undefined): unknown {
  try {
    const url = base === undefined ? new URL(input) : new URL(input, base);
    return {
      href: url.href,
      origin: url.origin,
      protocol: url.protocol,
      username: url.username,
      password: url.password,
      host: url.host,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search,
      hash: url.hash,
      searchParams: [...url.searchParams],
      json: JSON.stringify(url),
      string: String(url),
    };
  } catch (error) {
    return { threw: error instanceof TypeError ? 'TypeError' : String(error) };
  }
}

/** canParse and parse agree with the constructor. */
function staticMethods(input: string, base: string | undefined): unknown {
  return { canParse: URL.canParse(input, base), parse: URL.parse(input, base)?.href ?? null };
}

/**
 * searchParams and setters, step by step: the href, search and pairs after each. (No named inner
 * functions: tsx would wrap them in a helper the sandbox does not have.)
 */
function mutations(): unknown {
  const url = new URL('https://h/p?a=1&b=2&a=3#x');
  const steps: ((url: URL) => unknown)[] = [
    (u) => u.searchParams.append('c', 'd e&f=g'),
    (u) => u.searchParams.set('a', '9'),
    (u) => [u.searchParams.delete('b'), u.searchParams.sort()],
    (u) => (u.search = '?x=%20y+z&&=&k'),
    (u) => ['x', '', 'k'].map((name) => u.searchParams.delete(name)),
    (u) => u.searchParams.append('tilde', "~!'()*-._ +%"),
    (u) => [(u.hostname = 'bücher.example'), (u.port = '8080')],
    (u) => [
      (u.port = '99999'),
      (u.protocol = 'http'),
      (u.pathname = '/a b/../c'),
      (u.hash = ''),
      (u.username = 'a@b'),
      (u.password = 'p:w'),
    ],
    (u) => [(u.protocol = 'foo'), (u.host = '[::1]:81')],
    (u) => {
      try {
        u.href = 'not a url';
        return 'no error';
      } catch (error) {
        return error instanceof TypeError ? 'TypeError' : String(error);
      }
    },
  ];
  const recorded = steps.map((step) => [step(url), url.href, url.search, [...url.searchParams]]);
  const built = [
    new URLSearchParams('?a=b+c%20d&e=%zz&=&&f'),
    new URLSearchParams({ 'x y': '1&2', ü: 'ß' }),
    new URLSearchParams([
      ['dup', '1'],
      ['dup', '2'],
    ]),
    new URLSearchParams(new URLSearchParams('q=1')),
  ];
  return [recorded, built.map((p) => [p.toString(), [...p], p.size, p.has('dup', '2'), p.getAll('dup')])];
}

async function inSandbox(code: string, input: unknown): Promise<unknown> {
  const result: FunctionRunResult = await sandbox.run({ source: code, input: input as null });
  assert.equal(result.ok, true, JSON.stringify(result.error));
  return result.output;
}

describe("URL in the sandbox is the WHATWG URL Standard, as Node's", () => {
  test('every field of every corpus URL (or the TypeError) is the same as Node parses it', async () => {
    const output = (await inSandbox(
      `${describeUrl.toString()}
       export default (corpus: [string, string | null][]) => corpus.map(([input, base]) => describeUrl(input, base ?? undefined));`,
      CORPUS.map(([input, base]) => [input, base ?? null]),
    )) as unknown[];
    CORPUS.forEach(([input, base], index) => {
      assert.deepEqual(output[index], describeUrl(input, base), `${JSON.stringify(input)} against ${JSON.stringify(base)}`);
    });
    // The corpus has both kinds: valid URLs and invalid ones.
    const threw = output.filter((described) => (described as { threw?: string }).threw === 'TypeError').length;
    assert.ok(threw >= 10 && threw < CORPUS.length - 40, `${threw} of ${CORPUS.length} threw`);
  });

  test('URL.canParse and URL.parse agree with Node for every corpus URL', async () => {
    const output = (await inSandbox(
      `${staticMethods.toString()}
       export default (corpus: [string, string | null][]) => corpus.map(([input, base]) => staticMethods(input, base ?? undefined));`,
      CORPUS.map(([input, base]) => [input, base ?? null]),
    )) as unknown[];
    assert.deepEqual(
      output,
      CORPUS.map(([input, base]) => staticMethods(input, base)),
    );
  });

  test('searchParams is live and URLSearchParams its class; setters and mutations give what Node gives', async () => {
    const output = await inSandbox(`${mutations.toString()}\nexport default () => mutations();`, null);
    assert.deepEqual(output, JSON.parse(JSON.stringify(mutations())), 'the same, as JSON');
    const same = await inSandbox(
      `export default () => {
        const url = new URL('https://h/?a=1');
        return [url.searchParams instanceof URLSearchParams, url.searchParams === url.searchParams, url instanceof URL];
      }`,
      null,
    );
    assert.deepEqual(same, [true, true, true]);
  });

  test("the classes and the errors they throw are the sandbox's, loaded at first use without running the function's pending microtasks", async () => {
    const output = await inSandbox(
      `export default async () => {
        const order: string[] = [];
        const before = typeof Object.getOwnPropertyDescriptor(globalThis, 'URL')?.get;
        Promise.resolve().then(() => order.push('microtask'));
        order.push('before');
        const url = new URL('https://h/');
        order.push('after');
        await null;
        let error: unknown;
        try { new URL('nope'); } catch (caught) { error = caught; }
        const chain = (value: object) => { let proto = value; while (Object.getPrototypeOf(proto) !== null) proto = Object.getPrototypeOf(proto); return proto === Object.prototype; };
        return {
          order,
          before,
          after: typeof Object.getOwnPropertyDescriptor(globalThis, 'URL')?.value,
          realm: [chain(url), chain(URL), chain(error as object), chain(new URLSearchParams()), (error as object).constructor === TypeError],
          enumerable: Object.keys(globalThis).filter((key) => key === 'URL' || key === 'URLSearchParams'),
        };
      }`,
      null,
    );
    assert.deepEqual(output, {
      order: ['before', 'after', 'microtask'],
      before: 'function',
      after: 'function',
      realm: [true, true, true, true, true],
      enumerable: [],
    });
  });

  test('a function may replace URL; one that never touches it does not load it', async () => {
    assert.equal(await inSandbox(`export default () => { (globalThis as any).URL = 42; return (globalThis as any).URL; }`, null), 42);
    assert.equal(
      await inSandbox(`export default () => typeof Object.getOwnPropertyDescriptor(globalThis, 'URLSearchParams')?.get`, null),
      'function',
      'still the getter: nothing was evaluated',
    );
  });

  test('ctx.fetch takes a URL as its href', async () => {
    const result = await sandbox.run({
      source: `export default async (input: null, ctx: any) => {
        const url = new URL('/v1/users', 'https://api.example.com');
        url.searchParams.set('filter', 'userName eq "ada"');
        const response = await ctx.fetch(url);
        return [response.url, await response.json()];
      }`,
      input: null,
      allowHosts: ['api.example.com'],
      fetchStubs: [{ url: 'https://api.example.com/v1/users?filter=userName+eq+%22ada%22', body: { found: 1 } }],
    });
    assert.deepEqual(result.output, ['https://api.example.com/v1/users?filter=userName+eq+%22ada%22', { found: 1 }]);
  });
});

test('TextDecoder takes the UTF-8 labels and fatal/ignoreBOM as Node does (whatwg-url decodes with ignoreBOM)', async () => {
  const cases: [string, { fatal?: boolean; ignoreBOM?: boolean }, number[]][] = [
    ['utf-8', { ignoreBOM: true }, [0xef, 0xbb, 0xbf, 0x41]],
    ['UTF8', {}, [0xef, 0xbb, 0xbf, 0x41]],
    [' unicode-1-1-utf-8 ', { fatal: true }, [0x41, 0xc3, 0xa9]],
    ['utf-8', { fatal: true }, [0x41, 0xff]],
    ['utf-8', { fatal: true }, [0xe2, 0x82]],
  ];
  function decode(label: string, options: { fatal?: boolean; ignoreBOM?: boolean }, bytes: number[]): unknown {
    try {
      const decoder = new TextDecoder(label, options);
      return [decoder.decode(new Uint8Array(bytes)), decoder.fatal, decoder.ignoreBOM];
    } catch (error) {
      return (error as Error).name;
    }
  }
  const output = await inSandbox(
    `${decode.toString()}\nexport default (cases: [string, {}, number[]][]) => cases.map(([label, options, bytes]) => decode(label, options, bytes));`,
    cases,
  );
  assert.deepEqual(
    output,
    cases.map(([label, options, bytes]) => decode(label, options, bytes)),
  );
  assert.deepEqual((output as unknown[]).slice(0, 3), [
    ['\ufeffA', false, true],
    ['A', false, false],
    ['Aé', true, false],
  ]);
  // UTF-8 only: Node also decodes latin1, the sandbox refuses it as a browser refuses an unknown label.
  assert.equal(await inSandbox(`${decode.toString()}\nexport default () => decode('latin1', {}, [0x41]);`, null), 'RangeError');
});
