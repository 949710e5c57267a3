/**
 * The guarded fetch functions get, against real HTTP servers on loopback: every hostile notation
 * of an internal address, DNS rebinding, redirects into the internal network, limits, and the
 * legitimate path. No test talks to anything outside 127.0.0.0/8: names resolve through the
 * policy's `lookup` override, and an unknown name fails the test instead of reaching real DNS.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { parseCidr } from '../cel/network.js';
import { connectedAddressProblem } from '../functions/network/exchange.js';
import {
  addressOf,
  createGuardedFetch,
  internalRangeOf,
  NetworkDeniedError,
  NetworkError,
  parseHostPattern,
  type NetworkPolicy,
  type PlainRequest,
} from '../functions/network/fetch.js';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
}

interface TestServer {
  port: number;
  /** Every request that reached the server. */
  requests: Recorded[];
  /** Connections accepted, whether or not a request followed. */
  connections: number;
}

const servers: Server[] = [];
after(() => {
  for (const server of servers) {
    server.close();
    (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  }
});

async function listen(server: Server, host: string): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: Socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** An HTTP server on `host` (127.0.0.1 unless said) that records each request, then lets `handler` answer. */
async function httpServer(handler: (request: Recorded, response: ServerResponse) => void, host = '127.0.0.1'): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createHttpServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const recorded = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        body,
      };
      requests.push(recorded);
      handler(recorded, response);
    });
  });
  const result: TestServer = { port: 0, requests, connections: 0 };
  server.on('connection', () => result.connections++);
  result.port = await listen(server, host);
  return result;
}

/** A TCP server that hands every connection to `onConnection` (raw bytes, lies, silence). */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<TestServer> {
  const result: TestServer = { port: 0, requests: [], connections: 0 };
  result.port = await listen(
    createNetServer((socket) => {
      result.connections++;
      onConnection(socket);
    }),
    '127.0.0.1',
  );
  return result;
}

const json = (response: ServerResponse, status: number, value: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
};

/** Names the tests resolve, all on loopback; any other name is a test bug, never a real DNS query. */
const NAMES: Record<string, string[]> = {
  'api.test': ['127.0.0.1'],
  'a.test': ['127.0.0.2'],
  'b.test': ['127.0.0.2'],
  'rebind.test': ['127.0.0.1'],
  'mixed.test': ['127.0.0.2', '10.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'garbage.test': ['not-an-address'],
};

async function testLookup(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const answers = NAMES[hostname];
  if (!answers) throw new Error(`test lookup: no such name ${hostname}`);
  return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

function policy(overrides: Partial<NetworkPolicy> = {}): NetworkPolicy {
  return {
    allowHosts: [],
    lookup: testLookup,
    maxRequests: 20,
    maxRequestBodyBytes: 1024,
    maxResponseBytes: 64 * 1024,
    requestTimeoutMs: 3000,
    maxRedirects: 3,
    deadline: Date.now() + 30_000,
    ...overrides,
  };
}

/** Fetches through a fresh guard, expecting a denial: returns its message and the onDenied lines. */
async function denied(request: PlainRequest, overrides: Partial<NetworkPolicy> = {}): Promise<{ message: string; lines: string[] }> {
  const lines: string[] = [];
  const guard = createGuardedFetch(policy({ ...overrides, onDenied: (line) => lines.push(line) }));
  const error = await guard.fetch(request).then(
    () => assert.fail(`${request.url} was not denied`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof NetworkDeniedError, `expected NetworkDeniedError, got ${String(error)}`);
  assert.equal(error.code, 'NETWORK_DENIED');
  assert.deepEqual(lines, [`NETWORK_DENIED ${error.message}`]);
  return { message: error.message, lines };
}

/** Fetches through `guard`, expecting a NetworkError: returns its message. */
async function failed(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('the request did not fail'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof NetworkError, `expected NetworkError, got ${String(error)}`);
  assert.equal(error.code, 'NETWORK_ERROR');
  return error.message;
}

const LOOPBACK_EXEMPT = { allowPrivateNetworks: ['127.0.0.0/8'] };

describe('addressOf: every notation of an address', () => {
  const loopback = 0x7f000001n;
  const cases: [string, 4 | 6, bigint][] = [
    ['127.0.0.1', 4, loopback],
    ['2130706433', 4, loopback],
    ['0x7f000001', 4, loopback],
    ['0X7F000001', 4, loopback],
    ['0x7f.1', 4, loopback],
    ['0177.0.0.1', 4, loopback],
    ['0177.0.0.01', 4, loopback],
    ['127.1', 4, loopback],
    ['127.0.1', 4, loopback],
    ['0x7f.0.0x0.1', 4, loopback],
    ['0177.0x0.1', 4, loopback],
    ['017700000001', 4, loopback],
    ['127.0.0.1.', 4, loopback],
    ['0', 4, 0n],
    ['0x', 4, 0n],
    ['[::ffff:127.0.0.1]', 6, 0xffff7f000001n],
    ['[::ffff:7f00:1]', 6, 0xffff7f000001n],
    ['[::FFFF:0x7f.1]', 6, 0xffff7f000001n],
    ['[0:0:0:0:0:0:0:1]', 6, 1n],
    ['[0000:0000:0000:0000:0000:0000:0000:0001]', 6, 1n],
    ['::1', 6, 1n],
    ['fe80::1%eth0', 6, 0xfe800000000000000000000000000001n],
  ];
  for (const [host, version, value] of cases) {
    test(host, () => assert.deepEqual(addressOf(host), { version, value }));
  }
  for (const name of [
    'example.com',
    'localhost',
    '127.0.0.1.example.com',
    '1.2.3.4.5',
    '256.0.0.1',
    '4294967296',
    '08.0.0.1',
    '0x7g.1',
    '',
    '[example.com]',
    '::1::2',
  ]) {
    test(`${JSON.stringify(name)} is a name, not an address`, () => assert.equal(addressOf(name), undefined));
  }
});

describe('internalRangeOf', () => {
  const internal: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.255', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['100.100.100.200', 'cloud metadata'],
    ['168.63.129.16', 'cloud metadata'],
    ['192.0.0.192', 'cloud metadata'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.1', 'reserved'],
    ['203.0.113.1', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback (IPv4-mapped 127.0.0.1)'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['::ffff:10.0.0.1', 'private (IPv4-mapped 10.0.0.1)'],
    ['::127.0.0.1', 'loopback (IPv4-compatible 127.0.0.1)'],
    ['::8.8.8.8', 'reserved (deprecated IPv4-compatible 8.8.8.8)'],
    ['64:ff9b::7f00:1', 'loopback (NAT64 127.0.0.1)'],
    ['64:ff9b::a9fe:a9fe', 'cloud metadata'],
    ['2002:7f00:1::1', 'loopback (6to4 127.0.0.1)'],
    ['2002:c0a8:101::1', 'private (6to4 192.168.1.1)'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved (outside global unicast 2000::/3)'],
  ];
  for (const [text, reason] of internal) {
    test(`${text} is ${reason}`, () => {
      const address = addressOf(text);
      assert.ok(address);
      assert.ok(internalRangeOf(address)?.includes(reason), `${text}: ${internalRangeOf(address)}`);
    });
  }
  for (const text of [
    '8.8.8.8',
    '1.1.1.1',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ]) {
    test(`${text} is public`, () => {
      const address = addressOf(text);
      assert.ok(address);
      assert.equal(internalRangeOf(address), undefined);
    });
  }
});

describe('parseHostPattern', () => {
  test('names, wildcards, ports, IPs; case and trailing dot normalised', () => {
    assert.deepEqual(parseHostPattern('api.example.com'), { host: 'api.example.com', wildcard: false });
    assert.deepEqual(parseHostPattern('*.Example.COM.'), { host: 'example.com', wildcard: true });
    assert.deepEqual(parseHostPattern('api.example.com:8443'), { host: 'api.example.com', wildcard: false, port: 8443 });
    assert.deepEqual(parseHostPattern('10.20.0.5'), { host: '10.20.0.5', wildcard: false });
    assert.deepEqual(parseHostPattern('[::1]:8080'), { host: '[::1]', wildcard: false, port: 8080 });
    assert.deepEqual(parseHostPattern('bücher.de'), { host: 'xn--bcher-kva.de', wildcard: false });
  });
  const malformed: [string, RegExp][] = [
    ['https://api.example.com', /has a scheme/],
    ['api.example.com/path', /not a host/],
    ['*', /not a host/],
    ['**.example.com', /not a host/],
    ['api.*.com', /not a host/],
    ['user@api.example.com', /not a host/],
    ['api.example.com:0', /outside 1-65535/],
    ['api.example.com:70000', /outside 1-65535/],
    ['*.10.0.0.1', /wildcard on an IP/],
    ['a..b', /not a valid host/],
    ['', /not a host/],
  ];
  for (const [pattern, message] of malformed) {
    test(`"${pattern}" is malformed`, () => assert.throws(() => parseHostPattern(pattern), message));
  }
});

describe('schemes and userinfo', () => {
  for (const url of [
    'file:///etc/passwd',
    'data:text/plain,hello',
    'ftp://api.test/',
    'javascript:alert(1)',
    'gopher://api.test:70/_GET',
    'ws://api.test/',
  ]) {
    test(`${url.split(':')[0]}: is denied`, async () => {
      const { message } = await denied({ url }, { allowHosts: ['api.test', 'api.test:70'], ...LOOPBACK_EXEMPT });
      assert.match(message, /scheme .* is not allowed, only http: and https:/);
    });
  }

  test('credentials in the URL are denied, not stripped, and never echoed', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const { message } = await denied(
      { url: `http://user:s3cret@127.0.0.1:${server.port}/` },
      { allowHosts: [`127.0.0.1:${server.port}`], ...LOOPBACK_EXEMPT },
    );
    assert.match(message, /credentials in the URL/);
    assert.doesNotMatch(message, /s3cret/);
    assert.equal(server.connections, 0);
  });
});

describe('allowHosts', () => {
  test('a host not on the list is denied, with how to allow it', async () => {
    const { message } = await denied({ url: 'http://api.test/x' }, { allowHosts: ['other.test'] });
    assert.match(message, /^GET http:\/\/api\.test\/x: host api\.test is not in the allowed hosts/);
    assert.match(message, /allowedHosts in the function's document/);
    assert.match(message, /--allow-host api\.test/);
  });

  test('the port must match a pattern with a port; a pattern without one allows only the default port', async () => {
    assert.match((await denied({ url: 'http://api.test:8080/' }, { allowHosts: ['api.test:9090'] })).message, /not in the allowed hosts/);
    assert.match((await denied({ url: 'http://api.test:8080/' }, { allowHosts: ['api.test'] })).message, /not in the allowed hosts/);
  });

  test('"*.example" allows subdomains only, not the apex nor look-alikes', async () => {
    for (const url of ['http://api.test/', 'http://evilapi.test/', 'http://api.test.evil/']) {
      assert.match((await denied({ url }, { allowHosts: ['*.api.test'] })).message, /not in the allowed hosts/);
    }
  });

  test('matching is case-insensitive, ignores a trailing dot, and compares IPs in any notation', async () => {
    const server = await httpServer((_request, response) => json(response, 200, { ok: true }));
    const guard = createGuardedFetch(
      policy({ allowHosts: [`API.TEST.:${server.port}`, `*.Api.Test:${server.port}`, `0x7f.1:${server.port}`], ...LOOPBACK_EXEMPT }),
    );
    for (const host of ['api.test', 'API.test.', `2130706433`, '127.0.0.1']) {
      assert.equal((await guard.fetch({ url: `http://${host}:${server.port}/` })).status, 200, host);
    }
  });

  test('a malformed pattern or exemption is a clear Error when the guard is made', () => {
    assert.throws(() => createGuardedFetch(policy({ allowHosts: ['http://api.test'] })), /allowed host "http:\/\/api.test" has a scheme/);
    assert.throws(() => createGuardedFetch(policy({ allowPrivateNetworks: ['10.0.0.0'] })), /allowPrivateNetworks: .*not a range/);
  });
});

describe('internal addresses, whatever the notation', () => {
  const hostile = [
    'http://127.0.0.1:PORT/',
    'http://2130706433:PORT/',
    'http://0x7f000001:PORT/',
    'http://0x7f.1:PORT/',
    'http://0177.0.0.1:PORT/',
    'http://127.1:PORT/',
    'http://127.0.1:PORT/',
    'http://0x7f.0.0x0.1:PORT/',
    'http://127.0.0.1.:PORT/',
    'http://[::ffff:127.0.0.1]:PORT/',
    'http://[::ffff:7f00:1]:PORT/',
    'http://[0:0:0:0:0:0:0:1]:PORT/',
    'http://[::1]:PORT/',
    'http://[64:ff9b::7f00:1]:PORT/',
    'http://[2002:7f00:1::1]:PORT/',
    'http://[::127.0.0.1]:PORT/',
  ];
  for (const template of hostile) {
    test(`${template} is denied even when allowlisted, and nothing connects`, async () => {
      const server = await httpServer((_request, response) => json(response, 200, {}));
      const url = template.replace('PORT', String(server.port));
      // Every notation listed by address, so that the allowlist passes and the address check decides.
      const allowHosts = ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::1]', '[::127.0.0.1]'].map(
        (host) => `${host}:${server.port}`,
      );
      const { message } = await denied({ url }, { allowHosts });
      assert.match(message, /is loopback/);
      assert.equal(server.connections, 0);
    });
  }

  test('cloud metadata is denied with the reason, and not exempted by a broad range', async () => {
    const { message, lines } = await denied(
      { url: 'http://169.254.169.254/latest/meta-data/' },
      { allowHosts: ['169.254.169.254'], allowPrivateNetworks: ['169.254.0.0/16'] },
    );
    assert.equal(
      lines[0],
      'NETWORK_DENIED GET http://169.254.169.254/latest/meta-data/: 169.254.169.254 is link-local (cloud metadata); an operator can exempt a range with allowPrivateNetworks',
    );
    assert.match(message, /cloud metadata/);
  });

  test('an exemption for one range does not open the others', async () => {
    const { message } = await denied({ url: 'http://10.0.0.1/' }, { allowHosts: ['10.0.0.1'], ...LOOPBACK_EXEMPT });
    assert.match(message, /10\.0\.0\.1 is private/);
  });
});

describe('DNS: every answer checked, and the connected peer too', () => {
  test('a name resolving to 127.0.0.1 is denied and the loopback server sees nothing', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const { message } = await denied({ url: `http://rebind.test:${server.port}/` }, { allowHosts: [`rebind.test:${server.port}`] });
    assert.match(message, /rebind\.test resolves to 127\.0\.0\.1, which is loopback/);
    assert.equal(server.connections, 0);
    assert.equal(server.requests.length, 0);
  });

  test('one internal answer among several denies the request', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}), '127.0.0.2');
    const { message } = await denied(
      { url: `http://mixed.test:${server.port}/` },
      { allowHosts: [`mixed.test:${server.port}`], allowPrivateNetworks: ['127.0.0.2/32'] },
    );
    assert.match(message, /resolves to 10\.0\.0\.1, which is private/);
    assert.equal(server.connections, 0);
  });

  test('an IPv4-mapped answer is recognised; an answer that is no address is denied', async () => {
    assert.match(
      (await denied({ url: 'http://mapped.test/' }, { allowHosts: ['mapped.test'] })).message,
      /::ffff:127\.0\.0\.1, which is loopback/,
    );
    assert.match(
      (await denied({ url: 'http://garbage.test/' }, { allowHosts: ['garbage.test'] })).message,
      /"not-an-address", which is not an IP address/,
    );
  });

  test('a lookup failure is a NetworkError naming the URL', async () => {
    const guard = createGuardedFetch(policy({ allowHosts: ['missing.test'] }));
    assert.match(await failed(guard.fetch({ url: 'http://missing.test/' })), /^GET http:\/\/missing\.test\/: test lookup: no such name/);
  });

  test('the connected peer must be the checked address, and allowed', () => {
    const checked = addressOf('127.0.0.2');
    assert.ok(checked);
    const exempt = [parseCidr('127.0.0.2/32')];
    assert.equal(connectedAddressProblem('127.0.0.2', checked, exempt), undefined);
    assert.equal(connectedAddressProblem('::ffff:127.0.0.2', checked, exempt), undefined);
    assert.match(connectedAddressProblem('127.0.0.1', checked, exempt) ?? '', /connected to 127\.0\.0\.1, not to the checked 127\.0\.0\.2/);
    assert.match(connectedAddressProblem('127.0.0.2', checked, []) ?? '', /connected to 127\.0\.0\.2, which is loopback/);
    assert.match(connectedAddressProblem(undefined, checked, exempt) ?? '', /no peer address/);
  });
});

describe('redirects', () => {
  /** a.test and b.test live on 127.0.0.2, exempted; 127.0.0.1 stays internal. */
  const REDIRECT_POLICY = (port: number, extra: string[] = []): Partial<NetworkPolicy> => ({
    allowHosts: [`a.test:${port}`, `b.test:${port}`, ...extra],
    allowPrivateNetworks: ['127.0.0.2/32'],
  });

  async function redirector(routes: Record<string, (request: Recorded, response: ServerResponse) => void>): Promise<TestServer> {
    return httpServer((request, response) => {
      const route = routes[request.url];
      if (route) route(request, response);
      else json(response, 200, { method: request.method, body: request.body });
    }, '127.0.0.2');
  }
  /** Answers with a redirect; PORT in `location` becomes the port the request came in on. */
  const redirect = (status: number, location: string) => (request: Recorded, response: ServerResponse) =>
    response.writeHead(status, { location: location.replace('PORT', request.headers.host?.split(':')[1] ?? '') }).end('moved');

  test('a redirect into the internal network is denied and the internal server sees nothing', async () => {
    const internal = await httpServer((_request, response) => json(response, 200, { secret: true }));
    const server = await redirector({ '/': redirect(302, `http://127.0.0.1:${internal.port}/admin`) });
    const { message } = await denied(
      { url: `http://a.test:${server.port}/` },
      REDIRECT_POLICY(server.port, [`127.0.0.1:${internal.port}`]),
    );
    assert.match(message, new RegExp(`^GET http://127\\.0\\.0\\.1:${internal.port}/admin: 127\\.0\\.0\\.1 is loopback`));
    assert.equal(server.requests.length, 1);
    assert.equal(internal.connections, 0);
  });

  test('every hop re-checks scheme and allowlist', async () => {
    const server = await redirector({ '/file': redirect(301, 'file:///etc/passwd'), '/away': redirect(307, 'http://evil.test/') });
    assert.match(
      (await denied({ url: `http://a.test:${server.port}/file` }, REDIRECT_POLICY(server.port))).message,
      /scheme file: is not allowed/,
    );
    assert.match(
      (await denied({ url: `http://a.test:${server.port}/away` }, REDIRECT_POLICY(server.port))).message,
      /host evil\.test is not in the allowed hosts/,
    );
  });

  test('an allowed redirect is followed: final URL, redirected, each hop a request', async () => {
    const server = await redirector({ '/start': redirect(302, '/middle'), '/middle': redirect(308, 'http://b.test:PORT/end?x=1') });
    const guard = createGuardedFetch(policy(REDIRECT_POLICY(server.port)));
    const response = await guard.fetch({ url: `http://a.test:${server.port}/start` });
    assert.equal(response.status, 200);
    assert.equal(response.redirected, true);
    assert.equal(response.url, `http://b.test:${server.port}/end?x=1`);
    assert.equal(guard.requestCount, 3);
    assert.deepEqual(
      server.requests.map((request) => request.url),
      ['/start', '/middle', '/end?x=1'],
    );
  });

  test('303, and POST on 301/302, become a GET without body; 307/308 keep method and body', async () => {
    const server = await redirector({
      '/303': redirect(303, '/echo'),
      '/301': redirect(301, '/echo'),
      '/302': redirect(302, '/echo'),
      '/307': redirect(307, '/echo'),
      '/308': redirect(308, '/echo'),
    });
    const guard = createGuardedFetch(policy(REDIRECT_POLICY(server.port)));
    const post = (path: string) =>
      guard
        .fetch({
          url: `http://a.test:${server.port}${path}`,
          method: 'POST',
          headers: [['content-type', 'application/json']],
          body: '{"a":1}',
        })
        .then((response) => JSON.parse(response.body));
    for (const path of ['/303', '/301', '/302']) assert.deepEqual(await post(path), { method: 'GET', body: '' }, path);
    for (const path of ['/307', '/308']) assert.deepEqual(await post(path), { method: 'POST', body: '{"a":1}' }, path);
    const afterGet = server.requests.filter((request) => request.url === '/echo')[0];
    assert.equal(afterGet?.headers['content-type'], undefined);
  });

  test('Authorization and Cookie are dropped when a redirect leaves the origin, kept within it', async () => {
    const server = await redirector({ '/same': redirect(302, '/echo'), '/cross': redirect(302, 'http://b.test:PORT/echo') });
    const guard = createGuardedFetch(policy(REDIRECT_POLICY(server.port)));
    const headers: [string, string][] = [
      ['Authorization', 'Bearer t0ken'],
      ['Cookie', 'session=1'],
      ['X-Trace', 'abc'],
    ];
    await guard.fetch({ url: `http://a.test:${server.port}/same`, headers });
    const same = server.requests.at(-1);
    assert.equal(same?.headers.authorization, 'Bearer t0ken');
    assert.equal(same?.headers.cookie, 'session=1');

    await guard.fetch({ url: `http://a.test:${server.port}/cross`, headers });
    const landed = server.requests.at(-1);
    assert.equal(landed?.url, '/echo');
    assert.equal(landed?.headers.authorization, undefined);
    assert.equal(landed?.headers.cookie, undefined);
    assert.equal(landed?.headers['x-trace'], 'abc');
  });

  test('more than maxRedirects hops is a NetworkError', async () => {
    const server = await redirector({ '/loop': redirect(302, '/loop') });
    const guard = createGuardedFetch(policy({ ...REDIRECT_POLICY(server.port), maxRedirects: 2 }));
    assert.match(await failed(guard.fetch({ url: `http://a.test:${server.port}/loop` })), /more than maxRedirects \(2\) redirects/);
    assert.equal(server.requests.length, 3);
  });

  test('redirect hops count against maxRequests', async () => {
    const server = await redirector({ '/one': redirect(302, '/two'), '/two': redirect(302, '/three') });
    const guard = createGuardedFetch(policy({ ...REDIRECT_POLICY(server.port), maxRequests: 2 }));
    assert.match(await failed(guard.fetch({ url: `http://a.test:${server.port}/one` })), /more than maxRequests \(2\)/);
    assert.equal(guard.requestCount, 2);
    assert.equal(server.requests.length, 2);
  });
});

describe('limits', () => {
  test('maxRequests per guard', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], maxRequests: 2, ...LOOPBACK_EXEMPT }));
    const url = `http://127.0.0.1:${server.port}/`;
    await guard.fetch({ url });
    await guard.fetch({ url });
    assert.match(await failed(guard.fetch({ url })), /more than maxRequests \(2\) requests in this run/);
    assert.equal(server.requests.length, 2);
  });

  test('a request body over maxRequestBodyBytes fails before anything is sent', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], maxRequestBodyBytes: 10, ...LOOPBACK_EXEMPT }));
    // 6 characters, 12 bytes of UTF-8: the limit is in bytes.
    assert.match(
      await failed(guard.fetch({ url: `http://127.0.0.1:${server.port}/`, method: 'POST', body: 'éééééé' })),
      /request body is 12 bytes, more than maxRequestBodyBytes \(10\)/,
    );
    assert.equal(server.connections, 0);
  });

  test('a response streaming forever is cut at maxResponseBytes', async () => {
    const server = await httpServer((_request, response) => {
      response.writeHead(200);
      const chunk = 'x'.repeat(16 * 1024);
      const pump = (): void => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], maxResponseBytes: 100_000, ...LOOPBACK_EXEMPT }));
    assert.match(
      await failed(guard.fetch({ url: `http://127.0.0.1:${server.port}/stream` })),
      /response body reached \d+ bytes, more than maxResponseBytes \(100000\)/,
    );
  });

  test('Content-Length lies: too large declared, shorter than declared, longer than declared', async () => {
    const replies: Record<string, string> = {
      '/huge': 'HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\nsmall',
      '/short': 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this',
      '/long': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello and more bytes than declared',
    };
    const server = await tcpServer((socket) =>
      socket.once('data', (data) => {
        const path = data.toString('latin1').split(' ')[1] ?? '';
        socket.end(replies[path]);
      }),
    );
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], maxResponseBytes: 1000, ...LOOPBACK_EXEMPT }));
    const url = (path: string): string => `http://127.0.0.1:${server.port}${path}`;
    assert.match(await failed(guard.fetch({ url: url('/huge') })), /declared as 999999999 bytes/);
    assert.match(await failed(guard.fetch({ url: url('/short') })), /closed before the whole response body arrived/);
    assert.equal((await guard.fetch({ url: url('/long') })).body, 'hello');
  });

  test('a server that never answers: the request fails within requestTimeoutMs', async () => {
    const server = await tcpServer(() => undefined);
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], requestTimeoutMs: 300, ...LOOPBACK_EXEMPT }));
    const started = Date.now();
    assert.match(
      await failed(guard.fetch({ url: `http://127.0.0.1:${server.port}/` })),
      /no complete response within requestTimeoutMs \(300 ms\)/,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 1000, `took ${elapsed} ms`);
  });

  test('the timeout covers a body that trickles, and the deadline caps it', async () => {
    const server = await httpServer((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write('x')), 50);
    });
    const guard = createGuardedFetch(
      policy({ allowHosts: [`127.0.0.1:${server.port}`], requestTimeoutMs: 10_000, deadline: Date.now() + 300, ...LOOPBACK_EXEMPT }),
    );
    const started = Date.now();
    assert.match(await failed(guard.fetch({ url: `http://127.0.0.1:${server.port}/` })), /the run's deadline passed/);
    assert.ok(Date.now() - started < 1000);
    assert.match(await failed(guard.fetch({ url: `http://127.0.0.1:${server.port}/` })), /the run's deadline passed/);
  });

  test('a refused connection is a NetworkError naming the URL', async () => {
    // A port that was just free: listen, note it, close.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${port}`], ...LOOPBACK_EXEMPT }));
    assert.match(
      await failed(guard.fetch({ url: `http://127.0.0.1:${port}/x?token=abc` })),
      new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/x: connection refused$`),
    );
  });
});

describe('requests a function may not shape', () => {
  test('CONNECT and TRACE are denied', async () => {
    for (const method of ['CONNECT', 'trace']) {
      assert.match(
        (await denied({ url: 'http://api.test/', method }, { allowHosts: ['api.test'] })).message,
        /method (CONNECT|TRACE) is not allowed/,
      );
    }
  });

  test("a header with a line break is refused without echoing its value; Host and framing headers are the guard's", async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const guard = createGuardedFetch(policy({ allowHosts: [`api.test:${server.port}`], ...LOOPBACK_EXEMPT }));
    const url = `http://api.test:${server.port}/`;
    const message = await failed(guard.fetch({ url, headers: [['x-token', 'SECRET\r\nX-Injected: 1']] }));
    assert.match(message, /header x-token has a line break/);
    assert.doesNotMatch(message, /SECRET/);
    assert.match(await failed(guard.fetch({ url, headers: [['bad name', 'v']] })), /not a valid header name/);
    await guard.fetch({
      url,
      headers: [
        ['Host', 'internal.test'],
        ['Transfer-Encoding', 'chunked'],
        ['Content-Length', '999'],
      ],
    });
    const sent = server.requests.at(-1);
    assert.equal(sent?.headers.host, `api.test:${server.port}`);
    assert.equal(sent?.headers['transfer-encoding'], undefined);
    assert.equal(sent?.headers['content-length'], undefined);
  });

  test('denial messages never carry the query string or headers', async () => {
    const { message } = await denied(
      { url: 'http://169.254.169.254/?key=SECRET', headers: [['authorization', 'Bearer SECRET']] },
      { allowHosts: ['169.254.169.254'] },
    );
    assert.doesNotMatch(message, /SECRET/);
  });

  test('an invalid URL is a NetworkError that shows no credentials', async () => {
    const guard = createGuardedFetch(policy());
    assert.match(await failed(guard.fetch({ url: 'not a url' })), /"not a url" is not an absolute URL/);
    assert.match(await failed(guard.fetch({ url: 'http://0x7f.1.2.3.4/' })), /is not an absolute URL/);
    const message = await failed(guard.fetch({ url: 'http://user:s3cret@exa mple.com/?k=v' }));
    assert.match(message, /^"http:\/\/exa mple\.com\/" is not an absolute URL/);
  });

  test('a request of the wrong shape (hostile code ignores types) is a NetworkError', async () => {
    const guard = createGuardedFetch(policy({ allowHosts: ['api.test'] }));
    const shapes: unknown[] = [
      { url: 42 },
      { url: 'http://api.test/', headers: { a: 'b' } },
      { url: 'http://api.test/', headers: [['a', 1]] },
      { url: 'http://api.test/', body: {} },
      { url: 'http://api.test/', method: ['GET'] },
    ];
    for (const shape of shapes) assert.match(await failed(guard.fetch(shape as PlainRequest)), /fetch takes \{ url: string/);
    assert.equal(guard.requestCount, 0);
  });

  test('a method with a line break cannot forge a log line', async () => {
    const { lines } = await denied({ url: 'http://api.test/', method: 'GET\nNETWORK_DENIED forged' }, { allowHosts: ['api.test'] });
    assert.equal(lines[0]?.includes('\n'), false);
    assert.match(lines[0] ?? '', /^NETWORK_DENIED GET\?NETWORK_DEN/);
  });

  test('a header named __proto__ is just a header', async () => {
    const server = await httpServer((_request, response) => json(response, 200, {}));
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], ...LOOPBACK_EXEMPT }));
    await guard.fetch({
      url: `http://127.0.0.1:${server.port}/`,
      headers: [
        ['__proto__', 'x'],
        ['x-a', '1'],
        ['X-A', '2'],
      ],
    });
    assert.deepEqual(server.requests[0]?.rawHeaders.slice(0, 2), ['__proto__', 'x']);
    assert.equal(server.requests[0]?.headers['x-a'], '1, 2');
  });
});

describe('the legitimate path', () => {
  test('GET with headers, by an allowlisted name mapped to 127.0.0.1', async () => {
    const server = await httpServer((request, response) => {
      response.setHeader('x-answer', '42');
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      json(response, 200, { path: request.url, accept: request.headers.accept, text: 'héllo ✓' });
    });
    const guard = createGuardedFetch(policy({ allowHosts: [`api.test:${server.port}`], ...LOOPBACK_EXEMPT }));
    const response = await guard.fetch({ url: `http://api.test:${server.port}/users?q=1#frag`, headers: [['Accept', 'application/json']] });
    assert.equal(response.status, 200);
    assert.equal(response.statusText, 'OK');
    assert.equal(response.redirected, false);
    assert.equal(response.url, `http://api.test:${server.port}/users?q=1#frag`);
    assert.deepEqual(JSON.parse(response.body), { path: '/users?q=1', accept: 'application/json', text: 'héllo ✓' });
    assert.ok(response.headers.some(([name, value]) => name === 'x-answer' && value === '42'));
    assert.deepEqual(
      response.headers.filter(([name]) => name === 'set-cookie').map(([, value]) => value),
      ['a=1', 'b=2'],
    );
    assert.equal(server.requests[0]?.headers.host, `api.test:${server.port}`);
    assert.equal(guard.requestCount, 1);
  });

  test('POST with a JSON body to the literal 127.0.0.1; status and statusText round-trip', async () => {
    const server = await httpServer((request, response) => {
      response.statusMessage = 'Made It';
      json(response, 201, {
        received: JSON.parse(request.body),
        type: request.headers['content-type'],
        length: request.headers['content-length'],
      });
    });
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], ...LOOPBACK_EXEMPT }));
    const body = JSON.stringify({ name: 'Zoë' });
    const response = await guard.fetch({
      url: `http://127.0.0.1:${server.port}/users`,
      method: 'post',
      headers: [['Content-Type', 'application/json']],
      body,
    });
    assert.equal(response.status, 201);
    assert.equal(response.statusText, 'Made It');
    assert.deepEqual(JSON.parse(response.body), {
      received: { name: 'Zoë' },
      type: 'application/json',
      length: String(Buffer.byteLength(body)),
    });
    assert.equal(server.requests[0]?.method, 'POST');
  });

  test('the response is plain data, nothing of node:http', async () => {
    const server = await httpServer((_request, response) => json(response, 200, { ok: true }));
    const guard = createGuardedFetch(policy({ allowHosts: [`127.0.0.1:${server.port}`], ...LOOPBACK_EXEMPT }));
    const response = await guard.fetch({ url: `http://127.0.0.1:${server.port}/` });
    assert.equal(Object.getPrototypeOf(response), Object.prototype);
    assert.deepEqual(Object.keys(response).sort(), ['body', 'headers', 'redirected', 'status', 'statusText', 'url']);
    assert.ok(
      Array.isArray(response.headers) &&
        response.headers.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((part) => typeof part === 'string')),
    );
    assert.deepEqual(JSON.parse(JSON.stringify(response)), response);
  });

  test('https: TLS starts on the checked socket with the host name as SNI', async () => {
    let clientHello = Buffer.alloc(0);
    const server = await tcpServer((socket) =>
      socket.once('data', (data) => {
        clientHello = data;
        socket.destroy();
      }),
    );
    const guard = createGuardedFetch(policy({ allowHosts: [`api.test:${server.port}`], ...LOOPBACK_EXEMPT }));
    await failed(guard.fetch({ url: `https://api.test:${server.port}/` }));
    assert.equal(clientHello[0], 0x16, 'a TLS handshake record');
    assert.ok(clientHello.includes('api.test'), 'SNI carries the host name');
    assert.ok(!clientHello.includes('127.0.0.1'), 'not the IP');
  });
});
