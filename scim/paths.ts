/**
 * Attribute paths (RFC 7644 §3.10) as the attribute mapping and the quirk normaliser use them:
 * `title`, `name.givenName`, `emails[primary eq true].value`, and any of these after an extension's
 * URN (`urn:…:enterprise:2.0:User:manager.value`). Value filters are SCIM filters (scim/filter.ts).
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { matches, parseFilter, type Filter } from './filter.js';
import { SCHEMA_ATTRIBUTES, type AttributeDescription } from './schemas.js';

export interface AttributePath {
  /** The extension's URN when the attribute is an extension's (its values sit under that key). */
  schema?: string;
  attribute: string;
  /** Which values of a multi-valued attribute: `emails[type eq "work"]`. */
  filter?: Filter;
  sub?: string;
  text: string;
}

const PATH = /^(?:(urn:[^[\]\s]+):)?([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$/;

/** The path's parts, or undefined when `text` is not an attribute path. */
export function parseAttributePath(text: string): AttributePath | undefined {
  const match = PATH.exec(text);
  if (!match) return undefined;
  const [, schema, attribute, filter, sub] = match;
  return {
    ...(schema !== undefined && { schema }),
    attribute: attribute as string,
    ...(filter !== undefined && { filter: parseFilter(filter) }),
    ...(sub !== undefined && { sub }),
    text,
  };
}

const named = <T extends { name: string }>(list: T[] | undefined, name: string): T | undefined =>
  list?.find((item) => item.name.toLowerCase() === name.toLowerCase());

/** What the schema says of the attribute (and sub-attribute) a path names; `core` is the resource's own schema. */
export function describePath(path: AttributePath, core: string): { attribute?: AttributeDescription; sub?: AttributeDescription } {
  const schemaId = [...SCHEMA_ATTRIBUTES.keys()].find((id) => id.toLowerCase() === (path.schema ?? core).toLowerCase());
  const attribute = named(schemaId === undefined ? undefined : SCHEMA_ATTRIBUTES.get(schemaId), path.attribute);
  return { attribute, sub: path.sub === undefined ? undefined : named(attribute?.subAttributes, path.sub) };
}

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The own key of `object` equal to `name` but for case (attribute names are case-insensitive). */
const keyOf = (object: JsonObject, name: string): string =>
  Object.keys(object).find((key) => key.toLowerCase() === name.toLowerCase()) ?? name;

/** The object holding the path's attribute: the resource, or its extension's object (made when `create`). */
function holder(resource: JsonObject, path: AttributePath, create: boolean): JsonObject | undefined {
  if (path.schema === undefined) return resource;
  const key = keyOf(resource, path.schema);
  if (!isObject(resource[key]) && create) resource[key] = {};
  const found = resource[key];
  return isObject(found) ? found : undefined;
}

/** `primary eq true` falls back to the first value when none is marked primary (a single email often is not). */
const isPrimaryFilter = (filter: Filter): boolean =>
  filter.op === 'eq' && filter.attrPath.toLowerCase() === 'primary' && filter.compValue === true;

/** The value of a multi-valued attribute the path picks: the first the filter matches (or the first, without a filter). */
function pick(values: JsonValue[], filter: Filter | undefined): JsonObject | undefined {
  const objects = values.filter(isObject);
  if (filter === undefined) return objects[0];
  return objects.find((value) => matches(filter, value)) ?? (isPrimaryFilter(filter) ? objects[0] : undefined);
}

/** The value at the path, or undefined. */
export function readPath(resource: JsonObject, path: AttributePath): JsonValue | undefined {
  const container = holder(resource, path, false);
  const value = container?.[keyOf(container, path.attribute)];
  if (Array.isArray(value) && (path.filter !== undefined || path.sub !== undefined)) {
    const chosen = pick(value, path.filter);
    return path.sub === undefined ? chosen : chosen?.[keyOf(chosen, path.sub)];
  }
  if (path.sub === undefined) return value;
  return isObject(value) ? value[keyOf(value, path.sub)] : undefined;
}

/** The sub-attribute values a filter's equalities fix (`type eq "work"` → { type: "work" }), for a value the path adds. */
function fixedBy(filter: Filter | undefined): JsonObject {
  if (filter === undefined) return {};
  if (filter.op === 'eq' && typeof filter.compValue !== 'object') return { [filter.attrPath]: filter.compValue };
  if (filter.op === 'and') return Object.assign({}, ...filter.filters.map(fixedBy)) as JsonObject;
  return {};
}

/** Sets the value at the path, adding the attribute, its extension or a matching multi-value as needed. */
export function writePath(resource: JsonObject, path: AttributePath, value: JsonValue): void {
  const container = holder(resource, path, true) as JsonObject;
  const key = keyOf(container, path.attribute);
  const current = container[key];
  if (path.sub === undefined && path.filter === undefined) {
    container[key] = value;
    return;
  }
  if (Array.isArray(current) || path.filter !== undefined) {
    const values = Array.isArray(current) ? current : [];
    const chosen = pick(values, path.filter);
    if (chosen && path.sub !== undefined) chosen[keyOf(chosen, path.sub)] = value;
    else if (path.sub !== undefined) values.push({ ...fixedBy(path.filter), [path.sub]: value });
    container[key] = values;
    return;
  }
  container[key] = { ...(isObject(current) ? current : {}), [path.sub as string]: value };
}

/** Removes the value at the path; a sub-attribute's parent (or an extension's object) left empty goes too. */
export function removePath(resource: JsonObject, path: AttributePath): void {
  const container = holder(resource, path, false);
  if (container === undefined) return;
  const key = keyOf(container, path.attribute);
  const current = container[key];
  if (path.sub === undefined && path.filter === undefined) delete container[key];
  else if (Array.isArray(current)) {
    const chosen = pick(current, path.filter);
    if (chosen && path.sub !== undefined) delete chosen[keyOf(chosen, path.sub)];
    else if (chosen) current.splice(current.indexOf(chosen), 1);
    if (current.length === 0) delete container[key];
  } else if (isObject(current) && path.sub !== undefined) {
    delete current[keyOf(current, path.sub)];
    if (Object.keys(current).length === 0) delete container[key];
  }
  if (path.schema !== undefined && Object.keys(container).length === 0) delete resource[keyOf(resource, path.schema)];
}
