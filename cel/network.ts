/**
 * IP addresses and CIDR ranges for CEL: `ip("10.1.2.5").within(cidr("10.1.2.0/24"))`.
 * Strict parsing (dotted-quad IPv4, RFC 4291 IPv6 text with `::` and an embedded IPv4 tail):
 * an address written any other way is an error, not a guess. Workflow-safe, no Node built-ins.
 */

export class IpAddress {
  constructor(
    readonly version: 4 | 6,
    /** The address as an unsigned integer of 32 or 128 bits. */
    readonly value: bigint,
    readonly text: string,
  ) {}

  get bits(): number {
    return this.version === 4 ? 32 : 128;
  }
}

export class CidrRange {
  constructor(
    readonly network: IpAddress,
    readonly prefix: number,
    readonly text: string,
  ) {}

  contains(address: IpAddress): boolean {
    if (address.version !== this.network.version) return false;
    const shift = BigInt(address.bits - this.prefix);
    return address.value >> shift === this.network.value >> shift;
  }
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
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

export function parseIp(text: string): IpAddress {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return new IpAddress(4, v4, text);
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  if (v6 !== undefined) return new IpAddress(6, v6, text);
  throw new Error(`ip: "${text}" is not an IPv4 (10.1.2.5) or IPv6 (2001:db8::1) address`);
}

export function parseCidr(text: string): CidrRange {
  const slash = text.indexOf('/');
  const prefixText = text.slice(slash + 1);
  if (slash < 0 || !/^\d{1,3}$/.test(prefixText)) throw new Error(`cidr: "${text}" is not a range such as 10.1.2.0/24 or 2001:db8::/32`);
  let network: IpAddress;
  try {
    network = parseIp(text.slice(0, slash));
  } catch {
    throw new Error(`cidr: "${text}" is not a range such as 10.1.2.0/24 or 2001:db8::/32`);
  }
  const prefix = Number(prefixText);
  if (prefix > network.bits) throw new Error(`cidr: "${text}" has a prefix longer than ${network.bits} bits`);
  return new CidrRange(network, prefix, text);
}

/** Private ranges: RFC 1918 for IPv4, unique local fc00::/7 for IPv6 (and IPv4-mapped RFC 1918). */
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '::ffff:10.0.0.0/104', '::ffff:172.16.0.0/108', '::ffff:192.168.0.0/112'].map(parseCidr);
const LOOPBACK = ['127.0.0.0/8', '::1/128', '::ffff:127.0.0.0/104'].map(parseCidr);

export function isPrivate(address: IpAddress): boolean {
  return PRIVATE.some((range) => range.contains(address));
}

export function isLoopback(address: IpAddress): boolean {
  return LOOPBACK.some((range) => range.contains(address));
}
