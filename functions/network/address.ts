/**
 * Addresses as the guarded fetch sees them: a lenient parser for every notation a hostile URL or
 * resolver may use, and the classification of internal ranges a function must never reach.
 *
 * Lenient on purpose: anything some parser (WHATWG URL, inet_aton, getaddrinfo) would read as an
 * address is treated as that address, so `0x7f.1` or `0177.0.0.1` cannot pass for a host name.
 */
import { IpAddress, parseCidr, parseIp, type CidrRange } from '../../cel/network.js';

export interface Address {
  version: 4 | 6;
  value: bigint;
}

/** The IPv4/IPv6 address a URL host or DNS answer denotes in any notation, or undefined for a name. */
export function addressOf(host: string): Address | undefined {
  let text = host.toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.includes(':')) {
    const value = ipv6Of(text);
    return value === undefined ? undefined : { version: 6, value };
  }
  const value = ipv4Of(text.endsWith('.') ? text.slice(0, -1) : text);
  return value === undefined ? undefined : { version: 4, value };
}

/** One inet_aton part: decimal, 0x hex (bare "0x" is 0, as WHATWG reads it) or 0-led octal. */
function ipv4PartOf(part: string): bigint | undefined {
  if (/^0x[0-9a-f]*$/.test(part)) return part.length === 2 ? 0n : BigInt(part);
  if (/^0[0-7]+$/.test(part)) return BigInt(`0o${part.slice(1)}`);
  if (/^(0|[1-9][0-9]*)$/.test(part)) return BigInt(part);
  return undefined;
}

/** inet_aton notation: 1 to 4 parts, the last one filling the remaining bytes (`127.1`, `2130706433`). */
function ipv4Of(text: string): bigint | undefined {
  const parts = text.split('.').map(ipv4PartOf);
  if (parts.length > 4 || parts.some((part) => part === undefined)) return undefined;
  const values = parts as bigint[];
  const last = values.pop() as bigint;
  if (values.some((value) => value > 255n)) return undefined;
  const lastBits = BigInt(8 * (4 - values.length));
  if (last >= 1n << lastBits) return undefined;
  return values.reduce((sum, value, index) => sum | (value << BigInt(24 - 8 * index)), 0n) | last;
}

/** RFC 4291 text, hex in any case, a zone id (`%eth0`) ignored, an embedded IPv4 tail in any inet_aton notation. */
function ipv6Of(text: string): bigint | undefined {
  const zoneless = text.split('%')[0] as string;
  const lastColon = zoneless.lastIndexOf(':');
  const tail = zoneless.slice(lastColon + 1);
  let groups = zoneless;
  if (tail.includes('.')) {
    const v4 = ipv4Of(tail);
    if (v4 === undefined) return undefined;
    groups = `${zoneless.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  try {
    const address = parseIp(groups);
    return address.version === 6 ? address.value : undefined;
  } catch {
    return undefined;
  }
}

/** The canonical text to connect to: dotted quad, or RFC 5952 IPv6 (what net.connect reads as an IP). */
export function formatAddress(address: Address): string {
  return new IpAddress(address.version, address.value).text;
}

interface Classification {
  reason: string;
  /** Cloud metadata endpoints: exempted only by a range naming exactly that address. */
  metadata: boolean;
}

const table = (rows: [string, string][]): [CidrRange, string][] => rows.map(([range, reason]) => [parseCidr(range), reason]);

/** IANA's IPv4 special-purpose registry, less the globally reachable rows; first match wins. */
const IPV4_RANGES = table([
  ['169.254.169.254/32', 'link-local (cloud metadata)'],
  ['100.100.100.200/32', 'CGNAT (cloud metadata: Alibaba Cloud)'],
  ['168.63.129.16/32', 'cloud metadata (Azure WireServer)'],
  ['192.0.0.192/32', 'reserved (cloud metadata: Oracle Cloud)'],
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'CGNAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved (IETF protocol assignments)'],
  ['192.0.2.0/24', 'reserved (documentation)'],
  ['192.88.99.0/24', 'reserved (6to4 relay anycast)'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved (benchmarking)'],
  ['198.51.100.0/24', 'reserved (documentation)'],
  ['203.0.113.0/24', 'reserved (documentation)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const IPV6_RANGES = table([
  ['fd00:ec2::254/128', 'private (cloud metadata: AWS)'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'reserved (local-use NAT64)'],
  ['100::/64', 'reserved (discard-only)'],
  ['2001:db8::/32', 'reserved (documentation)'],
  ['2001::/23', 'reserved (IETF protocol assignments, Teredo included)'],
  ['3fff::/20', 'reserved (documentation)'],
  ['5f00::/16', 'reserved (SRv6)'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private (site-local)'],
  ['ff00::/8', 'multicast'],
]);

/** IPv6 forms that carry an IPv4 address, reached through it: [range, name, bits right of the IPv4 part]. */
const IPV4_CARRIERS: [CidrRange, string, bigint][] = [
  [parseCidr('::ffff:0:0/96'), 'IPv4-mapped', 0n],
  [parseCidr('::/96'), 'IPv4-compatible', 0n],
  [parseCidr('::ffff:0:0:0/96'), 'IPv4-translated', 0n],
  [parseCidr('64:ff9b::/96'), 'NAT64', 0n],
  [parseCidr('2002::/16'), '6to4', 80n],
];
/** Deprecated carriers: nothing legitimate uses them, so even a public IPv4 inside is refused. */
const DEPRECATED_CARRIERS = new Set(['IPv4-compatible', 'IPv4-translated']);
const GLOBAL_UNICAST = parseCidr('2000::/3');

function classify(address: Address): Classification | undefined {
  const ip = new IpAddress(address.version, address.value);
  const ranges = address.version === 4 ? IPV4_RANGES : IPV6_RANGES;
  const row = ranges.find(([range]) => range.contains(ip));
  if (row) return { reason: row[1], metadata: row[1].includes('cloud metadata') };
  if (address.version === 4) return undefined;
  const carried = carriedIpv4(address);
  if (carried) {
    const inner = classify(carried.address);
    const via = `${carried.carrier} ${formatAddress(carried.address)}`;
    if (inner) return { reason: `${inner.reason} (${via})`, metadata: inner.metadata };
    return DEPRECATED_CARRIERS.has(carried.carrier) ? { reason: `reserved (deprecated ${via})`, metadata: false } : undefined;
  }
  return GLOBAL_UNICAST.contains(ip) ? undefined : { reason: 'reserved (outside global unicast 2000::/3)', metadata: false };
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4 ...), if any. */
export function carriedIpv4(address: Address): { carrier: string; address: Address } | undefined {
  if (address.version !== 6) return undefined;
  const ip = new IpAddress(6, address.value);
  const row = IPV4_CARRIERS.find(([range]) => range.contains(ip));
  return row && { carrier: row[1], address: { version: 4, value: (address.value >> row[2]) & 0xffffffffn } };
}

/** Why an address is internal ("loopback", "private", "link-local (cloud metadata)", ...), or undefined when public. */
export function internalRangeOf(address: Address): string | undefined {
  return classify(address)?.reason;
}

/**
 * Why the guard refuses to connect to `address` ("loopback", ...), or undefined when it may:
 * internal addresses are refused unless an operator's range exempts them. An IPv4-mapped address
 * is exempted by its IPv4 range too (same host); cloud metadata only by a range of that one address.
 */
export function deniedReasonOf(address: Address, exemptions: readonly CidrRange[]): string | undefined {
  const classification = classify(address);
  if (!classification) return undefined;
  const mapped = carriedIpv4(address);
  const candidates = [address, ...(mapped?.carrier === 'IPv4-mapped' ? [mapped.address] : [])].map(
    (one) => new IpAddress(one.version, one.value),
  );
  const exempt = exemptions.some((range) =>
    candidates.some((ip) => range.contains(ip) && (!classification.metadata || range.prefix === ip.bits)),
  );
  return exempt ? undefined : classification.reason;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.version === b.version && a.value === b.value;
}

/** allowPrivateNetworks, parsed once: a clear Error for a malformed range. */
export function parseExemptions(ranges: readonly string[]): CidrRange[] {
  return ranges.map((range) => {
    try {
      return parseCidr(range);
    } catch (error) {
      throw new Error(`allowPrivateNetworks: ${(error as Error).message}`);
    }
  });
}
