/**
 * What Entra ID and Okta send that RFC 7643 does not allow, turned into what it does before
 * scimmy validates it, guided by the schema rather than by attribute names:
 * - a boolean as a string (`"active": "False"`, `"primary": "True"`, Entra ID) becomes the boolean;
 * - a string where a single complex attribute with a `value` is expected (Entra ID's
 *   `"manager": "<id>"`) becomes `{ "value": "<id>" }`;
 * - `op` in any case (`"Replace"`, Entra ID) is left to scimmy, which reads it case-insensitively.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { describePath, parseAttributePath } from './paths.js';
import { SCHEMA_ATTRIBUTES, type AttributeDescription } from './schemas.js';

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const find = (attributes: AttributeDescription[] | undefined, name: string): AttributeDescription | undefined =>
  attributes?.find((attribute) => attribute.name.toLowerCase() === name.toLowerCase());

/** One value of an attribute (a single value, or one of a multi-valued attribute's). */
function normaliseOne(attribute: AttributeDescription, value: JsonValue): JsonValue {
  if (attribute.type === 'boolean' && typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (attribute.type !== 'complex') return value;
  if (typeof value === 'string' && find(attribute.subAttributes, 'value')) return { value };
  if (!isObject(value)) return value;
  const normalised: JsonObject = {};
  for (const [key, sub] of Object.entries(value)) {
    const described = find(attribute.subAttributes, key);
    normalised[key] = described ? normaliseOne(described, sub) : sub;
  }
  return normalised;
}

/** A value for the attribute as a whole: each of a multi-valued attribute's values, or the one. */
export function normaliseValue(attribute: AttributeDescription, value: JsonValue): JsonValue {
  return attribute.multiValued && Array.isArray(value)
    ? value.map((item) => normaliseOne(attribute, item))
    : normaliseOne(attribute, value);
}

/** A value that a path names (`active`, `name.givenName`, `emails[type eq "work"].primary`, an extension's attribute). */
export function normaliseAtPath(pathText: string, value: JsonValue, core: string): JsonValue {
  let path;
  try {
    path = parseAttributePath(pathText);
  } catch {
    return value; // a path with a bad filter: scimmy refuses it with invalidPath
  }
  if (path === undefined) return value;
  const { attribute, sub } = describePath(path, core);
  if (sub) return normaliseOne(sub, value);
  if (!attribute) return value;
  // A filtered path names values of the attribute, one or several.
  if (path.filter !== undefined)
    return Array.isArray(value) ? value.map((item) => normaliseOne(attribute, item)) : normaliseOne(attribute, value);
  return normaliseValue(attribute, value);
}

/** A resource (or a path-less PATCH value): each key is an attribute, a dotted or URN-qualified path, or an extension's object. */
export function normaliseResource(resource: JsonObject, core: string): JsonObject {
  const normalised: JsonObject = {};
  for (const [key, value] of Object.entries(resource)) {
    const extension = [...SCHEMA_ATTRIBUTES.keys()].find((id) => id !== core && id.toLowerCase() === key.toLowerCase());
    normalised[key] = extension !== undefined && isObject(value) ? normaliseResource(value, extension) : normaliseAtPath(key, value, core);
  }
  return normalised;
}
