/**
 * Field-name aliases, so that expressions may spell a field either way: `subject.firstName` or
 * `subject.first_name`, `ctx.trigger.newUser` or `ctx.trigger.new_user`.
 *
 * The aliases are real, enumerable keys of a copy, not a lookup trick, so that every CEL
 * operation (field reads, `in`, `size`, macros) sees them alike. The price: an aliased object has
 * both spellings as keys, so `size(subject)` counts both and a macro over its keys sees both, and
 * the copy is several times the data: build it where expressions evaluate, never store it or
 * send it through Temporal (triggers/events.ts keeps events and run inputs as sent).
 *
 * Workflow-safe and pure: no Node built-ins; the input is never modified.
 */
import type { JsonObject, JsonValue } from '../steps/types.js';

const CAMEL_CASE = /^[a-z][a-z0-9]*[A-Z][a-zA-Z0-9]*$/;
const SNAKE_CASE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;

/**
 * The snake_case spelling of a camelCase key, or undefined when `key` is not camelCase.
 * Runs of capitals are one word: `employmentType` → `employment_type`, `managerID` → `manager_id`,
 * `ipV4Address` → `ip_v4_address`.
 */
export function snakeCaseOf(key: string): string | undefined {
  if (!CAMEL_CASE.test(key)) return undefined;
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** The camelCase spelling of a snake_case key (`first_name` → `firstName`), or undefined when `key` is not snake_case. */
export function camelCaseOf(key: string): string | undefined {
  if (!SNAKE_CASE.test(key)) return undefined;
  return key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
}

function isPlainObject(value: JsonValue): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function setKey(target: JsonObject, key: string, value: JsonValue): void {
  // A "__proto__" key from JSON input must stay data, not become the prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * A deep copy of `value` in which every object with a camelCase key also has its snake_case
 * alias, and every snake_case key its camelCase alias, each with the same (aliased) value.
 * A key the object already has is never overwritten: `{ firstName: "A", first_name: "B" }` stays
 * as it is. When two keys give the same alias (`managerId`, `managerID`), the first one wins.
 * Other keys (`cost-center`, `Name`, `_id`) get no alias. Arrays are copied with their elements
 * aliased; other values are returned as they are.
 *
 * Costs a copy of the whole value: apply it once where ctx and subject are built, not per evaluation.
 */
export function withFieldAliases<T extends JsonValue>(value: T): T;
export function withFieldAliases(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(withFieldAliases);
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  const keys = Object.keys(value);
  for (const key of keys) setKey(out, key, withFieldAliases(value[key] as JsonValue));
  for (const key of keys) {
    const alias = snakeCaseOf(key) ?? camelCaseOf(key);
    if (alias !== undefined && !Object.prototype.hasOwnProperty.call(out, alias)) setKey(out, alias, out[key] as JsonValue);
  }
  return out;
}
