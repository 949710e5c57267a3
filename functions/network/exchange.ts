/**
 * One HTTP exchange with an already validated address: connect, check the peer the socket really
 * reached before a single byte is sent, then request and read the response within the limits.
 *
 * The socket is made here and handed to node:http through `createConnection` with no agent, so
 * no pooled socket (to some other address) is ever reused, and TLS starts only after the check.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { CidrRange } from '../../cel/network.js';
import { addressOf, carriedIpv4, deniedReasonOf, formatAddress, sameAddress, type Address } from './address.js';
import { NetworkError } from './errors.js';
import { defaultPortOf } from './hosts.js';

export interface Hop {
  url: URL;
  /** Uppercase. */
  method: string;
  /** Lowercase names, values already checked for line breaks. */
  headers: [string, string][];
  body: Buffer | undefined;
}

export interface ExchangeOptions {
  signal: AbortSignal;
  maxResponseBytes: number;
  exemptions: readonly CidrRange[];
  /** "GET https://api.example.com/users", for error messages. */
  label: string;
  /** Builds (and reports) the NetworkDeniedError for `reason`. */
  deny: (reason: string) => Error;
}

export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
  readBody(): Promise<string>;
  /** Closes the connection without reading the body (a redirect's). */
  discard(): void;
}

export async function exchange(hop: Hop, address: Address, options: ExchangeOptions): Promise<ResponseHead> {
  const port = hop.url.port === '' ? defaultPortOf(hop.url.protocol) : Number(hop.url.port);
  const socket = await connectChecked(address, port, options);
  return send(hop, hop.url.protocol === 'https:' ? startTls(hop.url, socket) : socket, options);
}

/**
 * Why the peer a socket reached must not be talked to, or undefined when it is the address that
 * was checked (an IPv4-mapped report of it included) and that address is allowed.
 */
export function connectedAddressProblem(
  remote: string | undefined,
  expected: Address,
  exemptions: readonly CidrRange[],
): string | undefined {
  const address = remote === undefined ? undefined : addressOf(remote);
  if (!address) return 'the connection reports no peer address';
  const mapped = carriedIpv4(address);
  const unmapped = mapped?.carrier === 'IPv4-mapped' ? mapped.address : address;
  if (!sameAddress(address, expected) && !sameAddress(unmapped, expected)) {
    return `connected to ${remote}, not to the checked ${formatAddress(expected)}`;
  }
  const reason = deniedReasonOf(address, exemptions);
  return reason && `connected to ${remote}, which is ${reason}`;
}

function connectChecked(address: Address, port: number, options: ExchangeOptions): Promise<Socket> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    // An IP literal as host: net.connect does no name lookup of its own.
    const socket = netConnect({ host: formatAddress(address), port });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      const problem = connectedAddressProblem(socket.remoteAddress, address, options.exemptions);
      if (problem === undefined) return resolve(socket);
      socket.destroy();
      reject(options.deny(problem));
    });
  });
}

/** TLS over the checked socket; SNI and the certificate check use the URL's host name, not the IP. */
function startTls(url: URL, socket: Socket): Socket {
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const servername = addressOf(host) ? undefined : host;
  return tlsConnect({ socket, host, servername, ALPNProtocols: ['http/1.1'] });
}

function send(hop: Hop, socket: Socket, options: ExchangeOptions): Promise<ResponseHead> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    const request = (hop.url.protocol === 'https:' ? httpsRequest : httpRequest)({
      method: hop.method,
      path: `${hop.url.pathname}${hop.url.search}`,
      headers: outgoingHeaders(hop),
      createConnection: () => socket,
    });
    const onAbort = (): void => {
      request.destroy();
      socket.destroy();
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    // `on`, not `once`: a socket error after the response still lands here, never as an uncaught 'error'.
    request.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    });
    request.once('response', (response) => {
      signal.removeEventListener('abort', onAbort);
      resolve({
        status: response.statusCode ?? 0,
        statusText: response.statusMessage ?? '',
        headers: headerPairs(response.rawHeaders),
        readBody: () => readBody(response, socket, options),
        discard: () => socket.destroy(),
      });
    });
    request.end(hop.body);
  });
}

/** The function's headers, plus the ones the guard owns: Host, framing, and one request per connection. */
function outgoingHeaders(hop: Hop): OutgoingHttpHeaders {
  // A Map, so that a header named "__proto__" is just a header.
  const grouped = new Map<string, string[]>();
  for (const [name, value] of hop.headers) grouped.set(name, [...(grouped.get(name) ?? []), value]);
  return {
    ...Object.fromEntries(grouped),
    host: hop.url.host,
    connection: 'close',
    ...(hop.body === undefined ? {} : { 'content-length': String(hop.body.length) }),
  };
}

function headerPairs(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) pairs.push([(raw[index] as string).toLowerCase(), raw[index + 1] as string]);
  return pairs;
}

/** Counts bytes as they arrive and gives up past maxResponseBytes, whatever Content-Length claims. */
function readBody(response: IncomingMessage, socket: Socket, options: ExchangeOptions): Promise<string> {
  const { signal, maxResponseBytes, label } = options;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (error?: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve(Buffer.concat(chunks).toString('utf8'));
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason);
    const tooLarge = (what: string): NetworkError =>
      new NetworkError(`${label}: the response body ${what}, more than maxResponseBytes (${maxResponseBytes})`);
    const incomplete = (): NetworkError => new NetworkError(`${label}: the connection closed before the whole response body arrived`);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const declared = Number(response.headers['content-length']);
    if (declared > maxResponseBytes) return finish(tooLarge(`is declared as ${declared} bytes`));
    if (response.destroyed && !response.complete) return finish(incomplete());
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxResponseBytes) finish(tooLarge(`reached ${received} bytes`));
      else chunks.push(chunk);
    });
    response.once('end', () => finish());
    // A body shorter than its Content-Length ends in 'error' ("aborted") or a bare 'close'.
    response.on('error', () => finish(incomplete()));
    response.once('close', () => {
      if (!response.complete) finish(incomplete());
    });
  });
}
