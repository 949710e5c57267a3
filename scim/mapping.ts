/**
 * A directory user as a SCIM User, and a SCIM User as the directory fields it sets. Each mapped
 * directory field is fed from one SCIM attribute path (scim/document.ts); what no mapping names is
 * kept in the user's `attributes.scim`, so a client reads back what it wrote. `active` is the
 * status (ENABLED ⇄ true, DISABLED ⇄ false; DELETED users are not served), the SCIM id the user's id.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { createHash } from 'node:crypto';
import { toUserFields, UserInputSchema } from '../directory/users.js';
import type { User, UserFields } from '../directory/types.js';
import { KEPT_ATTRIBUTES, MAPPABLE_FIELDS, type ScimServiceConfig } from './document.js';
import { ScimError } from './errors.js';
import { parseAttributePath, readPath, removePath, writePath, type AttributePath } from './paths.js';
import { ENTERPRISE_SCHEMA, USER_SCHEMA } from './schemas.js';

/** Most JSON the unmapped SCIM attributes of one person may take. */
export const MAX_KEPT_BYTES = 16 * 1024;

const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A mapping's entries with their parsed paths (parsed once per config). */
const parsedMaps = new WeakMap<Record<string, string>, [string, AttributePath][]>();
function mappedPaths(config: ScimServiceConfig): [string, AttributePath][] {
  let parsed = parsedMaps.get(config.attributes);
  if (!parsed) {
    parsed = Object.entries(config.attributes).map(([field, path]) => [field, parseAttributePath(path) as AttributePath]);
    parsedMaps.set(config.attributes, parsed);
  }
  return parsed;
}

const attributeKey = (field: string): string | undefined => /^attributes\.(.+)$/.exec(field)?.[1];

/** The weak ETag of a served resource: a hash of everything but its meta. */
export function versionOf(resource: JsonObject): string {
  const { meta: _meta, ...content } = resource;
  return `W/"${createHash('sha256').update(JSON.stringify(content)).digest('base64url').slice(0, 22)}"`;
}

/** The SCIM User for a directory user; `base` is the service's URL (…/scim/v2). */
export function userResource(user: User, config: ScimServiceConfig, base: string): JsonObject {
  const kept = user.attributes[KEPT_ATTRIBUTES];
  const resource: JsonObject = isObject(kept) ? structuredClone(kept) : {};
  for (const [field, path] of mappedPaths(config)) {
    const key = attributeKey(field);
    const value: JsonValue | undefined =
      key !== undefined ? user.attributes[key] : field === 'manager' ? user.managerId : (user[field as keyof User] as string | undefined);
    if (value !== undefined && value !== null) writePath(resource, path, value);
  }
  // Every User has a userName; a person the HR feed brought without one goes by their email.
  if (typeof resource.userName !== 'string') resource.userName = user.email;
  const served: JsonObject = {
    schemas: resource[ENTERPRISE_SCHEMA] === undefined ? [USER_SCHEMA] : [USER_SCHEMA, ENTERPRISE_SCHEMA],
    id: user.id,
    ...resource,
    active: user.status === 'ENABLED',
  };
  served.meta = {
    resourceType: 'User',
    created: user.createdAt,
    lastModified: user.updatedAt,
    location: `${base}/Users/${encodeURIComponent(user.id)}`,
    version: versionOf(served),
  };
  return served;
}

/** How a SCIM id or email in `manager.value` names a directory user; undefined when it names none. */
export type ManagerResolver = (ref: string) => Promise<User | undefined>;

const LOOSE_EMAIL = /^[^@\s]+@[^@\s]+$/;

/**
 * The directory fields a validated SCIM User sets on `current` (or on a new person with `id`).
 * Fields no mapping names keep their values; mapped fields the resource lacks are cleared, as a
 * PUT replaces. A `manager.value` naming no directory user is kept as sent, unlinked.
 */
export async function userFields(
  resource: JsonObject,
  config: ScimServiceConfig,
  target: { id: string; current?: User },
  resolveManager: ManagerResolver,
): Promise<UserFields> {
  const { current } = target;
  const kept: JsonObject = structuredClone(resource);
  for (const key of ['schemas', 'id', 'meta', 'active', 'password']) delete kept[key];
  const input: Record<string, unknown> = { id: target.id };
  const attributes: JsonObject = { ...current?.attributes };
  let managerEmail: { email: string; id: string } | undefined;
  for (const [field, path] of mappedPaths(config)) {
    const value = readPath(resource, path);
    const key = attributeKey(field);
    if (key !== undefined) {
      if (value === undefined) delete attributes[key];
      else attributes[key] = value;
      removePath(kept, path);
      continue;
    }
    if (value === undefined || value === null) {
      removePath(kept, path);
      continue;
    }
    if (typeof value !== 'string')
      throw new ScimError(400, 'invalidValue', `${path.text} must be a string (it sets the directory's ${field})`);
    if (field === 'manager') {
      const manager = await resolveManager(value);
      // Unknown managers stay in the kept attributes, as sent.
      if (manager === undefined || manager.id === target.id) continue;
      managerEmail = { email: manager.email, id: manager.id };
      input.manager = manager.email;
    } else input[field] = value;
    removePath(kept, path);
  }
  // Fields the mapping does not feed keep what the directory has (an HR feed's start date, say).
  for (const field of MAPPABLE_FIELDS) {
    if (config.attributes[field] === undefined && current?.[field] !== undefined) input[field] = current[field];
  }
  if (config.attributes.manager === undefined && current?.managerId !== undefined && current.manager !== undefined)
    managerEmail = { email: current.manager, id: current.managerId };
  // The directory keeps an email for everyone: a userName that is an address will do.
  if (input.email === undefined && typeof resource.userName === 'string' && LOOSE_EMAIL.test(resource.userName))
    input.email = resource.userName;
  if (input.email === undefined)
    throw new ScimError(
      400,
      'invalidValue',
      `idflow keeps an email for every person: send ${config.attributes.email ?? 'emails'}, or a userName that is an email address`,
    );
  const active = resource.active;
  input.status =
    active === false ? 'DISABLED' : active === true || current === undefined || current.status === 'DELETED' ? 'ENABLED' : current.status;
  delete attributes[KEPT_ATTRIBUTES];
  input.attributes = attributes;
  const parsed = UserInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.map(String).join('.') ?? '';
    const source = field.startsWith('attributes.') ? config.attributes[field] : config.attributes[field.split('.')[0] ?? ''];
    throw new ScimError(400, 'invalidValue', `${source ?? field}: ${issue?.message}`);
  }
  const fields = toUserFields(parsed.data, current, (email) =>
    managerEmail && managerEmail.email.toLowerCase() === email ? managerEmail.id : undefined,
  );
  if (Object.keys(kept).length > 0) {
    const size = Buffer.byteLength(JSON.stringify(kept));
    if (size > MAX_KEPT_BYTES)
      throw new ScimError(400, 'invalidValue', `the attributes idflow does not map take ${size} bytes of JSON; at most ${MAX_KEPT_BYTES}`);
    fields.attributes = { ...fields.attributes, [KEPT_ATTRIBUTES]: kept };
  }
  return fields;
}
