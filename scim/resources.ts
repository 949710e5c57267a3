/**
 * What Users and Groups share: list queries (filter, startIndex/count, attributes /
 * excludedAttributes) and their ListResponse, and versions checked against If-Match.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { ScimError } from './errors.js';
import { matches, parseFilter, type Filter } from './filter.js';
import { parseAttributePath, type AttributePath } from './paths.js';
import { LIST_RESPONSE_SCHEMA } from './schemas.js';

/** Largest page a list answers (ServiceProviderConfig's filter.maxResults), and the page without `count`. */
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 100;
/** Most names in `attributes` or `excludedAttributes`. */
export const MAX_ATTRIBUTE_NAMES = 50;

export interface ListQuery {
  filter?: string;
  startIndex?: number;
  count?: number;
  attributes?: string;
  excludedAttributes?: string;
}

/** A list query checked and parsed: a bad filter is a 400 invalidFilter, a page larger than MAX_PAGE_SIZE is cut to it. */
export interface ParsedListQuery {
  filter?: Filter;
  /** 1-based, as in SCIM. */
  startIndex: number;
  count: number;
  projection: Projection;
}

export interface Projection {
  attributes?: AttributePath[];
  excludedAttributes?: AttributePath[];
}

function attributeList(text: string | undefined, parameter: string): AttributePath[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const names = text.split(',').map((name) => name.trim());
  if (names.length > MAX_ATTRIBUTE_NAMES)
    throw new ScimError(400, 'invalidValue', `${parameter} names ${names.length} attributes; at most ${MAX_ATTRIBUTE_NAMES}`);
  return names.map((name) => {
    const path = parseAttributePath(name);
    if (path === undefined || path.filter !== undefined)
      throw new ScimError(400, 'invalidPath', `${parameter}: "${name}" is not an attribute name`);
    return path;
  });
}

export function parseProjection(query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>): Projection {
  return {
    attributes: attributeList(query.attributes, 'attributes'),
    excludedAttributes: attributeList(query.excludedAttributes, 'excludedAttributes'),
  };
}

export function parseListQuery(query: ListQuery): ParsedListQuery {
  return {
    ...(query.filter !== undefined && query.filter.trim() !== '' && { filter: parseFilter(query.filter) }),
    // RFC 7644 §3.4.2.4: a startIndex below 1 is 1, a negative count is 0.
    startIndex: Math.max(1, query.startIndex ?? 1),
    count: Math.min(MAX_PAGE_SIZE, Math.max(0, query.count ?? DEFAULT_PAGE_SIZE)),
    projection: parseProjection(query),
  };
}

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const keyOf = (object: JsonObject, name: string): string | undefined =>
  Object.keys(object).find((key) => key.toLowerCase() === name.toLowerCase());

/** The part of `value` (an attribute's value) a sub-attribute names: of each value of a multi-valued one. */
function subOf(value: JsonValue, sub: string): JsonValue | undefined {
  if (Array.isArray(value)) {
    const picked = value.filter(isObject).flatMap((item) => {
      const key = keyOf(item, sub);
      return key === undefined ? [] : [{ [key]: item[key] as JsonValue }];
    });
    return picked.length > 0 ? picked : undefined;
  }
  const key = isObject(value) ? keyOf(value, sub) : undefined;
  return key === undefined ? undefined : { [key]: (value as JsonObject)[key] as JsonValue };
}

/** Where an attribute path's value sits: the resource, or an extension's object (its key, as the resource spells it). */
function containerOf(resource: JsonObject, path: AttributePath): { holder: JsonObject; key?: string } | undefined {
  if (path.schema === undefined) return { holder: resource };
  // `urn:…:User` alone names the whole extension: it parses as schema `urn:…:2.0` and attribute `User`.
  const key = keyOf(resource, path.schema);
  if (key === undefined) return undefined;
  const holder = resource[key];
  return isObject(holder) ? { holder, key } : undefined;
}

function include(resource: JsonObject, paths: AttributePath[]): JsonObject {
  const projected: JsonObject = {};
  for (const path of paths) {
    const whole = keyOf(resource, `${path.schema ?? ''}:${path.attribute}`);
    if (path.schema !== undefined && whole !== undefined) {
      projected[whole] = resource[whole] as JsonValue;
      continue;
    }
    const container = containerOf(resource, path);
    const key = container && keyOf(container.holder, path.attribute);
    if (!container || key === undefined) continue;
    const value = path.sub === undefined ? (container.holder[key] as JsonValue) : subOf(container.holder[key] as JsonValue, path.sub);
    if (value === undefined) continue;
    const target = container.key === undefined ? projected : ((projected[container.key] ??= {}) as JsonObject);
    const existing = target[key];
    target[key] = isObject(existing) && isObject(value) ? { ...existing, ...value } : value;
  }
  return projected;
}

function exclude(resource: JsonObject, paths: AttributePath[]): JsonObject {
  const projected = structuredClone(resource);
  for (const path of paths) {
    const whole = keyOf(projected, `${path.schema ?? ''}:${path.attribute}`);
    if (path.schema !== undefined && whole !== undefined) {
      delete projected[whole];
      continue;
    }
    const container = containerOf(projected, path);
    const key = container && keyOf(container.holder, path.attribute);
    if (!container || key === undefined) continue;
    const value = container.holder[key] as JsonValue;
    if (path.sub === undefined) delete container.holder[key];
    else for (const item of Array.isArray(value) ? value : [value]) if (isObject(item)) delete item[keyOf(item, path.sub) ?? path.sub];
  }
  return projected;
}

/** The resource as `attributes` / `excludedAttributes` ask; `id` and `schemas` always stay (RFC 7643 §7 "returned: always"). */
export function project(resource: JsonObject, projection: Projection): JsonObject {
  const always = { schemas: resource.schemas as JsonValue, id: resource.id as JsonValue };
  if (projection.attributes) return { ...always, ...include(resource, projection.attributes) };
  if (projection.excludedAttributes) return { ...exclude(resource, projection.excludedAttributes), ...always };
  return resource;
}

/** One page of `resources` (all of them already filtered) as a ListResponse. */
export function listResponse(resources: JsonObject[], query: ParsedListQuery): JsonObject {
  const page = resources.slice(query.startIndex - 1, query.startIndex - 1 + query.count);
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    startIndex: query.startIndex,
    itemsPerPage: page.length,
    Resources: page.map((resource) => project(resource, query.projection)),
  };
}

export const filtered = (resources: JsonObject[], filter: Filter | undefined): JsonObject[] =>
  filter === undefined ? resources : resources.filter((resource) => matches(filter, resource));

/** Refuses (412) when the client's If-Match names none of the resource's versions; `*` matches any. */
export function checkIfMatch(ifMatch: string | undefined, resource: JsonObject): void {
  if (ifMatch === undefined) return;
  const version = (resource.meta as JsonObject).version as string;
  const wanted = ifMatch.split(',').map((tag) => tag.trim());
  if (wanted.includes('*') || wanted.includes(version)) return;
  throw new ScimError(412, undefined, `If-Match ${ifMatch} does not match the resource's version ${version}: read it again and retry`);
}
