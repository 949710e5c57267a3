/**
 * Conversion of CEL values (as cel-js represents them) to JSON values, and CEL type names
 * for messages. Workflow-safe: no Buffer, no Node built-ins.
 */
import type { JsonValue } from '../core/json.js';
import { Optional } from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import { CelError } from './errors.js';
import { CidrRange, IpAddress } from './network.js';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const NANOS_PER_SECOND = 1_000_000_000n;

/** Standard base64 with padding, written out because Buffer and btoa are not in the workflow sandbox. */
export function bytesToBase64(bytes: Uint8Array): string {
  let out = '';
  const full = bytes.length - (bytes.length % 3);
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + BASE64[n & 63];
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[full] << 16;
    out += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[full] << 16) | (bytes[full + 1] << 8);
    out += BASE64[n >> 18] + BASE64[(n >> 12) & 63] + BASE64[(n >> 6) & 63] + '=';
  }
  return out;
}

/** RFC 3339 in UTC as CEL prints it: milliseconds only when non-zero ("2024-05-01T10:00:00Z"). */
export function formatTimestamp(date: Date): string {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new CelError('evaluation', '', 'invalid timestamp (NaN) cannot be converted to JSON');
  const iso = date.toISOString();
  return ms % 1000 === 0 ? iso.slice(0, -5) + 'Z' : iso;
}

/** Protobuf JSON form of a duration: seconds with up to 9 fractional digits, e.g. "3600s", "-1.5s". */
export function formatDuration(duration: Duration): string {
  const total = duration.seconds * NANOS_PER_SECOND + BigInt(duration.nanos);
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const fraction = abs % NANOS_PER_SECOND;
  const fractionText = fraction === 0n ? '' : '.' + fraction.toString().padStart(9, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${abs / NANOS_PER_SECOND}${fractionText}s`;
}

function isCelTypeValue(value: object): boolean {
  return /^\[object Type<.*>\]$/.test(Object.prototype.toString.call(value));
}

/** CEL name of a runtime value's type, for messages such as "condition must be a bool, got string". */
export function celTypeName(value: unknown): string {
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'undefined':
      return 'undefined';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value) || value instanceof Set) return 'list';
      if (value instanceof Date) return 'timestamp';
      if (value instanceof Duration) return 'duration';
      if (value instanceof Uint8Array) return 'bytes';
      if (value instanceof UnsignedInt) return 'uint';
      if (value instanceof Optional) return 'optional';
      if (value instanceof IpAddress) return 'net.IP';
      if (value instanceof CidrRange) return 'net.CIDR';
      if (value instanceof Map) return 'map';
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) return 'map';
      if (isCelTypeValue(value)) return 'type';
      return value.constructor?.name ?? 'object';
    }
    default:
      return typeof value;
  }
}

function bigintToNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CelError(
      'evaluation',
      '',
      `integer ${value} is beyond JSON's safe integer range (±${Number.MAX_SAFE_INTEGER}); convert it with string() to keep it exact`,
    );
  }
  return Number(value);
}

function mapKey(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return key;
    case 'bigint':
    case 'number':
    case 'boolean':
      return String(key);
    default:
      if (key instanceof UnsignedInt) return String(key.valueOf());
      throw new CelError('evaluation', '', `map key of type ${celTypeName(key)} cannot be a JSON object key`);
  }
}

function setKey(target: { [key: string]: JsonValue }, key: string, value: JsonValue): void {
  // A "__proto__" key from JSON input must stay data, not become the prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Converts a CEL result to JSON: int/uint → number (refusing values beyond 2^53), timestamp →
 * RFC 3339 string, duration → "3600s", bytes → base64, optional → its value or null, map → object,
 * list → array, type → its name, ip and cidr → their canonical text ("2001:db8::1", "10.0.0.0/8"). Throws CelError (kind evaluation, empty expression) otherwise.
 */
export function toJson(value: unknown): JsonValue {
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      throw new CelError('evaluation', '', `double ${value} is not representable in JSON`);
    case 'bigint':
      return bigintToNumber(value);
    case 'object':
      return objectToJson(value);
    default:
      throw new CelError('evaluation', '', `a value of type ${celTypeName(value)} is not representable in JSON`);
  }
}

function objectToJson(value: object | null): JsonValue {
  if (value === null) return null;
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array<JsonValue>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = toJson(value[i]);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value)) setKey(out, key, toJson((value as Record<string, unknown>)[key]));
    return out;
  }
  if (value instanceof Map) {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of value) setKey(out, mapKey(key), toJson(item));
    return out;
  }
  if (value instanceof Set) return Array.from(value, toJson);
  if (value instanceof Date) return formatTimestamp(value);
  if (value instanceof Duration) return formatDuration(value);
  if (value instanceof Uint8Array) return bytesToBase64(value);
  if (value instanceof UnsignedInt) return bigintToNumber(value.valueOf());
  if (value instanceof Optional) return value.hasValue() ? toJson(value.value()) : null;
  if (value instanceof IpAddress || value instanceof CidrRange) return value.text;
  if (isCelTypeValue(value)) return String((value as { name: unknown }).name);
  throw new CelError('evaluation', '', `a value of type ${celTypeName(value)} is not representable in JSON`);
}
