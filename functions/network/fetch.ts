/**
 * The guarded `fetch` a function gets. Every function is assumed hostile: the threat is SSRF,
 * reaching what sits beside idflow (cloud metadata, databases, admin ports) through a URL.
 *
 * Each hop (the first request and every redirect) is checked in full: scheme, userinfo, the
 * allowHosts list, every address the host resolves to, and the address the socket actually
 * reached before anything is sent (exchange.ts). Internal ranges (address.ts)
 * are refused whatever the allowlist says, unless the operator exempts them.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { addressOf, deniedReasonOf, formatAddress, parseExemptions, type Address } from './address.js';
import { NetworkDeniedError, NetworkError, requestLabel } from './errors.js';
import { exchange, type Hop, type ResponseHead } from './exchange.js';
import { isHostAllowed, parseHostPattern, type HostPattern } from './hosts.js';

export { addressOf, internalRangeOf } from './address.js';
export { NetworkDeniedError, NetworkError } from './errors.js';
export { parseHostPattern } from './hosts.js';

export interface PlainRequest {
  url: string;
  method?: string;
  headers?: [string, string][];
  body?: string;
}

export interface PlainResponse {
  url: string;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  redirected: boolean;
}

export interface NetworkPolicy {
  /** Hosts a function may reach: exact names ("api.example.com"), "*.example.com" (subdomains only, not the apex), optionally with ":port". Case-insensitive; trailing dot ignored. */
  allowHosts: string[];
  /** Operator-level exemption (never set by a function author): CIDRs that may be reached although internal, e.g. ["127.0.0.0/8"] in tests or ["10.20.0.0/16"] for an on-prem HR system. Default none. */
  allowPrivateNetworks?: string[];
  /** DNS resolution override, same contract as dns.lookup with {all:true}; tests use it to make a name resolve to 127.0.0.1. Default dns.lookup. */
  lookup?: (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;
  maxRequests: number;
  maxRequestBodyBytes: number;
  maxResponseBytes: number;
  requestTimeoutMs: number;
  maxRedirects: number;
  /** Epoch ms; no request runs past it. */
  deadline: number;
  /** Called with one line per denial (e.g. "NETWORK_DENIED GET http://169.254.169.254/: 169.254.169.254 is link-local (cloud metadata)"). */
  onDenied?: (line: string) => void;
}

export interface GuardedFetch {
  fetch(request: PlainRequest): Promise<PlainResponse>;
  readonly requestCount: number;
}

const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Set by the guard itself (Host, framing, connection reuse); a function's value is dropped, as fetch() ignores forbidden headers. */
const GUARD_OWNED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-connection',
]);
/** Dropped when a redirect turns the request into a GET without body, as fetch() does. */
const BODY_HEADERS = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);
/** Dropped when a redirect leaves the origin, so a token for one host never reaches another. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function createGuardedFetch(policy: NetworkPolicy): GuardedFetch {
  const patterns = policy.allowHosts.map(parseHostPattern);
  const exemptions = parseExemptions(policy.allowPrivateNetworks ?? []);
  const lookup = policy.lookup ?? systemLookup;
  let requestCount = 0;

  const deny = (hop: Hop, reason: string): NetworkDeniedError => {
    const error = new NetworkDeniedError(`${requestLabel(hop.method, hop.url)}: ${reason}`);
    policy.onDenied?.(`NETWORK_DENIED ${error.message}`);
    return error;
  };

  /** One hop, counted against maxRequests even when it is then denied. */
  async function send(hop: Hop, signal: AbortSignal): Promise<ResponseHead> {
    const label = requestLabel(hop.method, hop.url);
    if (requestCount >= policy.maxRequests)
      throw new NetworkError(`${label}: more than maxRequests (${policy.maxRequests}) requests in this run`);
    requestCount++;
    const refusal = urlRefusal(hop.url, patterns);
    if (refusal) throw deny(hop, refusal);
    const address = await resolveChecked(hop, signal);
    const options = { signal, maxResponseBytes: policy.maxResponseBytes, exemptions, label, deny: (reason: string) => deny(hop, reason) };
    return exchange(hop, address, options);
  }

  /** The address to connect to: the literal itself, or the first DNS answer once every answer is checked. */
  async function resolveChecked(hop: Hop, signal: AbortSignal): Promise<Address> {
    const host = bareHost(hop.url);
    const literal = addressOf(host);
    if (literal) {
      const reason = deniedReasonOf(literal, exemptions);
      if (reason) throw deny(hop, `${formatAddress(literal)} is ${reason}${EXEMPTION_HINT}`);
      return literal;
    }
    const addresses = (await resolve(host, signal)).map((answer) => {
      const address = addressOf(answer);
      if (!address) throw deny(hop, `${host} resolves to ${JSON.stringify(answer)}, which is not an IP address`);
      const reason = deniedReasonOf(address, exemptions);
      if (reason)
        throw deny(
          hop,
          `${host} resolves to ${formatAddress(address)}, which is ${reason} (every DNS answer is checked, against DNS rebinding)${EXEMPTION_HINT}`,
        );
      return address;
    });
    return addresses[0] as Address;
  }

  async function resolve(host: string, signal: AbortSignal): Promise<string[]> {
    const answers = await untilAborted(lookup(host), signal);
    if (answers.length === 0) throw new Error(`${host} resolves to no address`);
    return answers.map((answer) => answer.address);
  }

  async function fetch(request: PlainRequest): Promise<PlainResponse> {
    let hop = firstHop(request, policy.maxRequestBodyBytes, deny);
    const endsAt = Math.min(Date.now() + policy.requestTimeoutMs, policy.deadline);
    const byDeadline = endsAt === policy.deadline;
    const timeLeft = endsAt - Date.now();
    const timeoutError = (): NetworkError =>
      new NetworkError(
        `${requestLabel(hop.method, hop.url)}: ${byDeadline ? "the run's deadline passed" : `no complete response within requestTimeoutMs (${policy.requestTimeoutMs} ms)`}`,
      );
    if (timeLeft <= 0) throw timeoutError();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(timeoutError()), timeLeft);
    try {
      for (let redirects = 0; ; redirects++) {
        const head = await send(hop, controller.signal);
        const location = REDIRECT_STATUSES.has(head.status) ? head.headers.find(([name]) => name === 'location')?.[1] : undefined;
        if (location === undefined) return plainResponse(hop.url, head, await head.readBody(), redirects > 0);
        head.discard();
        if (redirects >= policy.maxRedirects)
          throw new NetworkError(`${requestLabel(hop.method, hop.url)}: more than maxRedirects (${policy.maxRedirects}) redirects`);
        hop = redirectedHop(hop, head.status, location);
      }
    } catch (error) {
      throw asNetworkError(error, hop);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    fetch,
    get requestCount() {
      return requestCount;
    },
  };
}

async function systemLookup(hostname: string): Promise<{ address: string; family: 4 | 6 }[]> {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const EXEMPTION_HINT = '; an operator can exempt a range with allowPrivateNetworks';

/** The URL's host without IPv6 brackets or a trailing dot. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** Why a URL may not be requested at all, before any name is resolved. */
function urlRefusal(url: URL, patterns: readonly HostPattern[]): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not allowed, only http: and https:`;
  // Denied rather than stripped: credentials belong in an Authorization header, and a URL like
  // http://allowed.com@evil.com/ is meant to confuse whoever reads it.
  if (url.username !== '' || url.password !== '')
    return 'credentials in the URL (user:password@) are not allowed; send an Authorization header instead';
  if (!isHostAllowed(patterns, url)) {
    return `host ${url.host} is not in the allowed hosts; add it to allowedHosts in the function's document (or --allow-host ${url.host} on the CLI)`;
  }
  return undefined;
}

function firstHop(request: PlainRequest, maxBodyBytes: number, deny: (hop: Hop, reason: string) => Error): Hop {
  checkShape(request);
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    // Cut before a query and drop any user:password@, which may hold secrets.
    const shown = (request.url.split(/[?#]/)[0] as string).replace(/\/\/[^/]*@/, '//').slice(0, 200);
    throw new NetworkError(`${JSON.stringify(shown)} is not an absolute URL such as https://api.example.com/users`);
  }
  const method = (request.method ?? 'GET').toUpperCase();
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  if (!ALLOWED_METHODS.has(method)) {
    // Printable in the log line: a hostile method could carry a line break.
    const shown = method.replace(/[^A-Z0-9_-]/g, '?').slice(0, 20);
    throw deny({ url, method: shown, headers: [], body }, `method ${shown} is not allowed, only ${[...ALLOWED_METHODS].join(', ')}`);
  }
  const label = requestLabel(method, url);
  if (body && body.length > maxBodyBytes)
    throw new NetworkError(`${label}: the request body is ${body.length} bytes, more than maxRequestBodyBytes (${maxBodyBytes})`);
  return { url, method, headers: checkedHeaders(request.headers ?? [], label), body };
}

/** The request comes from hostile code: its types are checked, not trusted. */
function checkShape(request: PlainRequest): void {
  const isString = (value: unknown): boolean => typeof value === 'string';
  const optionalString = (value: unknown): boolean => value === undefined || isString(value);
  const pairs =
    request.headers === undefined ||
    (Array.isArray(request.headers) && request.headers.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isString)));
  if (!isString(request.url) || !optionalString(request.method) || !optionalString(request.body) || !pairs) {
    throw new NetworkError('fetch takes { url: string, method?: string, headers?: [string, string][], body?: string }');
  }
}

/** Lowercase names; a bad name or a value with a line break is an error that never echoes the value. */
function checkedHeaders(headers: readonly [string, string][], label: string): [string, string][] {
  const checked: [string, string][] = [];
  for (const [name, value] of headers) {
    if (!HEADER_NAME.test(name)) throw new NetworkError(`${label}: ${JSON.stringify(name.slice(0, 50))} is not a valid header name`);
    if (/[\r\n\0]/.test(value)) throw new NetworkError(`${label}: header ${name} has a line break or NUL in its value`);
    const lower = name.toLowerCase();
    if (!GUARD_OWNED_HEADERS.has(lower)) checked.push([lower, value]);
  }
  return checked;
}

/** The next hop, as browsers do: 303 (and POST on 301/302) becomes a body-less GET; credentials stay with their origin. */
function redirectedHop(hop: Hop, status: number, location: string): Hop {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new NetworkError(`${requestLabel(hop.method, hop.url)}: redirected (${status}) to an invalid Location`);
  }
  const toGet = status === 303 ? hop.method !== 'HEAD' : (status === 301 || status === 302) && hop.method === 'POST';
  const crossOrigin = url.origin !== hop.url.origin;
  const headers = hop.headers.filter(([name]) => !(toGet && BODY_HEADERS.has(name)) && !(crossOrigin && CREDENTIAL_HEADERS.has(name)));
  return { url, method: toGet ? 'GET' : hop.method, headers, body: toGet ? undefined : hop.body };
}

/** Plain data only: strings, numbers and arrays of them, nothing of node:http's. */
function plainResponse(url: URL, head: ResponseHead, body: string, redirected: boolean): PlainResponse {
  return {
    url: url.href,
    status: head.status,
    statusText: head.statusText,
    headers: head.headers.map(([name, value]) => [name, value]),
    body,
    redirected,
  };
}

const NODE_ERROR_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function asNetworkError(error: unknown, hop: Hop): Error {
  if (error instanceof NetworkError || error instanceof NetworkDeniedError) return error;
  const code = (error as { code?: unknown }).code;
  const text = (typeof code === 'string' && NODE_ERROR_TEXT[code]) || (error instanceof Error ? error.message : String(error));
  return new NetworkError(`${requestLabel(hop.method, hop.url)}: ${text}`);
}
