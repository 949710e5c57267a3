/**
 * IP addresses and CIDR ranges for CEL: `ip("10.1.2.5").within(cidr("10.1.2.0/24"))`.
 * Strict parsing (dotted-quad IPv4, RFC 4291 IPv6 text with `::` and an embedded IPv4 tail):
 * an address written any other way is an error, not a guess. Workflow-safe, no Node built-ins.
 */

/** An IPv4 or IPv6 address; `ip(...)` in CEL (type net.IP). */
export class IpAddress {
  /** The canonical text: RFC 5952 for IPv6 (lowercase, longest zero run as `::`), as CEL's string(ip) prints it. */
  readonly text: string;

  constructor(
    readonly version: 4 | 6,
    /** The address as an unsigned integer of 32 or 128 bits. */
    readonly value: bigint,
  ) {
    this.text = version === 4 ? formatIpv4(value) : formatIpv6(value);
  }

  get bits(): number {
    return this.version === 4 ? 32 : 128;
  }

  // Getters so that CEL can read them as fields too (`ip(x).isPrivate`, as the reference docs
  // write them) beside the methods (`ip(x).isPrivate()`); see NET_IP_FIELDS.
  get isPrivate(): boolean {
    return PRIVATE.some((range) => range.contains(this));
  }

  get isLoopback(): boolean {
    return LOOPBACK.some((range) => range.contains(this));
  }

  get is4(): boolean {
    return this.version === 4;
  }

  get is6(): boolean {
    return this.version === 6;
  }

  equals(other: IpAddress): boolean {
    return this.version === other.version && this.value === other.value;
  }
}

/** The fields of net.IP in CEL, read through the getters above. */
export const NET_IP_FIELDS = { isPrivate: 'bool', isLoopback: 'bool', is4: 'bool', is6: 'bool' } as const;

/** An address range; `cidr(...)` in CEL (type net.CIDR). */
export class CidrRange {
  /** The canonical text: the address as written (canonicalised), then the prefix length. */
  readonly text: string;

  constructor(
    /** The address as written, host bits included: cidr("10.1.2.5/24") keeps 10.1.2.5. */
    readonly address: IpAddress,
    readonly prefix: number,
  ) {
    this.text = `${address.text}/${prefix}`;
  }

  /** An IPv4 address never falls in an IPv6 range, nor the reverse (IPv4-mapped IPv6 included). */
  contains(address: IpAddress): boolean {
    if (address.version !== this.address.version) return false;
    const shift = BigInt(address.bits - this.prefix);
    return address.value >> shift === this.address.value >> shift;
  }

  /** Whether `range` lies wholly inside this range. */
  containsRange(range: CidrRange): boolean {
    return range.prefix >= this.prefix && this.contains(range.address);
  }

  equals(other: CidrRange): boolean {
    return this.prefix === other.prefix && this.address.equals(other.address);
  }
}

function formatIpv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

/** RFC 5952: lowercase hex without leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIpv6(value: bigint): string {
  if (value >> 32n === 0xffffn) return `::ffff:${formatIpv4(value & 0xffffffffn)}`;
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':');
  return bestStart < 0 ? hex(0, 8) : `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  let head = text;
  let tail: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): string[] => (half === '' ? [] : half.split(':'));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let value = 0n;
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return tail === undefined ? value : (value & ~0xffffffffn) | tail;
}

/** ip(text): throws an Error naming `text` when it is not an address. */
export function parseIp(text: string): IpAddress {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return new IpAddress(4, v4);
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6 !== undefined) return new IpAddress(6, v6);
  const hint = text.includes('/') ? ' (a range? use cidr())' : text.includes('%') ? ' (zone ids such as %eth0 are not supported)' : '';
  throw new Error(`ip: "${text}" is not an IPv4 (10.1.2.5) or IPv6 (2001:db8::1) address${hint}`);
}

/** cidr(text): throws an Error naming `text` when it is not a range. */
export function parseCidr(text: string): CidrRange {
  const slash = text.indexOf('/');
  const prefixText = text.slice(slash + 1);
  const shape = `cidr: "${text}" is not a range such as 10.1.2.0/24 or 2001:db8::/32`;
  if (slash < 0 || !/^(0|[1-9]\d{0,2})$/.test(prefixText)) throw new Error(shape);
  let address: IpAddress;
  try {
    address = parseIp(text.slice(0, slash));
  } catch {
    throw new Error(shape);
  }
  const prefix = Number(prefixText);
  if (prefix > address.bits) throw new Error(`cidr: "${text}" has a prefix longer than ${address.bits} bits`);
  return new CidrRange(address, prefix);
}

/**
 * Private ranges: RFC 1918 for IPv4 (10/8, 172.16/12, 192.168/16), RFC 4193 unique local
 * fc00::/7 for IPv6, and those IPv4 ranges IPv4-mapped (::ffff:10.0.0.0/104 ...), as Go's
 * netip.Addr.IsPrivate. Link-local, CGNAT (100.64/10) and loopback are not private.
 */
const PRIVATE = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
  '::ffff:10.0.0.0/104',
  '::ffff:172.16.0.0/108',
  '::ffff:192.168.0.0/112',
].map(parseCidr);
/** 127.0.0.0/8, ::1 and IPv4-mapped 127/8. */
const LOOPBACK = ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'].map(parseCidr);
