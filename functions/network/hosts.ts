/**
 * allowHosts patterns: "api.example.com", "*.example.com" (subdomains only, not the apex),
 * "10.20.0.5", "[2001:db8::1]", each optionally with ":port". A pattern without a port allows
 * only the scheme's default port (80 for http:, 443 for https:).
 */
import { addressOf, type Address } from './address.js';

export interface HostPattern {
  /** Lowercase, IDN as punycode, no trailing dot; an IPv6 address in brackets, as URL.hostname has it. */
  host: string;
  wildcard: boolean;
  port?: number;
}

const PATTERN_SHAPE = /^(\*\.)?(\[[0-9a-fA-F:.]+\]|[^\s/?#@[\]:*\\%]+)(?::([0-9]{1,5}))?$/;
const NAME_SHAPE = /^([a-z0-9_-]+\.)*[a-z0-9_-]+$/;

/** Throws an Error saying what is wrong with `pattern` and what a good one looks like. */
export function parseHostPattern(pattern: string): HostPattern {
  const problem = (why: string): Error =>
    new Error(`allowed host "${pattern}" ${why}; write a host name such as "api.example.com", "*.example.com" or "api.example.com:8443"`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pattern)) throw problem('has a scheme');
  const match = PATTERN_SHAPE.exec(pattern);
  if (!match) throw problem('is not a host with an optional port');
  const [, star, written, portText] = match as unknown as [string, string | undefined, string, string | undefined];
  const host = normalizedHost(written);
  if (host === undefined) throw problem('is not a valid host name or IP address');
  const wildcard = star !== undefined;
  if (wildcard && addressOf(host)) throw problem('puts a wildcard on an IP address');
  if (portText === undefined) return { host, wildcard };
  const port = Number(portText);
  if (port < 1 || port > 65535) throw problem(`has port ${portText}, outside 1-65535`);
  return { host, wildcard, port };
}

/** WHATWG's host normalisation (lowercase, punycode, IPv4 notations, IPv6 compression), then a plain shape check. */
function normalizedHost(written: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${written}/`).hostname;
  } catch {
    return undefined;
  }
  const host = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return addressOf(host) || NAME_SHAPE.test(host) ? host : undefined;
}

export function defaultPortOf(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** Whether `url` (http: or https:) is allowed by one of `patterns`. */
export function isHostAllowed(patterns: readonly HostPattern[], url: URL): boolean {
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  const port = url.port === '' ? defaultPortOf(url.protocol) : Number(url.port);
  const address = addressOf(host);
  return patterns.some((pattern) => (pattern.port ?? defaultPortOf(url.protocol)) === port && hostMatches(pattern, host, address));
}

function hostMatches(pattern: HostPattern, host: string, address: Address | undefined): boolean {
  const patternAddress = addressOf(pattern.host);
  if (address || patternAddress)
    return !!address && !!patternAddress && address.version === patternAddress.version && address.value === patternAddress.value;
  return pattern.wildcard ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
}
