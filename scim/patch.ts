/**
 * PATCH (RFC 7644 §3.5.2) by scimmy's PatchOp: add, remove and replace, with or without a path,
 * value filters in paths, complex attributes merged as the RFC says; each operation's value first
 * cleared of Entra ID's and Okta's quirks (scim/quirks.ts). At most MAX_PATCH_OPERATIONS a request.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import SCIMMY from 'scimmy';
import { ScimError } from './errors.js';
import { normaliseAtPath, normaliseResource } from './quirks.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA, plain, SCHEMA_ATTRIBUTES, USER_SCHEMA } from './schemas.js';

export const MAX_PATCH_OPERATIONS = 100;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * scimmy fails on a path that names a whole extension (`urn:…:enterprise:2.0:User`): an add or
 * replace becomes the same without a path (`{ "urn:…:User": value }`, its `schemas` dropped), a remove one remove per
 * attribute the resource has in that extension.
 */
function extensionOperations(operation: JsonObject, resource: JsonObject): JsonObject[] | undefined {
  const { op, path, value } = operation;
  const extension =
    typeof path === 'string' ? (Object.keys(resource).find((key) => key.toLowerCase() === path.toLowerCase()) ?? path) : undefined;
  if (extension === undefined || !SCHEMA_ATTRIBUTES.has(extension) || extension === USER_SCHEMA || extension === GROUP_SCHEMA)
    return undefined;
  if (typeof op === 'string' && op.toLowerCase() === 'remove') {
    const present = resource[extension];
    return Object.keys(isObject(present) ? present : {}).map((name) => ({ op: 'remove', path: `${extension}:${name}` }));
  }
  // A client serialising the extension as a resource of its own sends its `schemas` along: not an attribute.
  const { schemas: _schemas, ...attributes } = isObject(value) ? value : { schemas: null };
  return [{ op: op as JsonValue, value: { [extension]: isObject(value) ? attributes : (value as JsonValue) } }];
}

function normalisedOperations(body: JsonObject, resource: JsonObject, core: string): JsonObject[] {
  const operations = body.Operations;
  if (!Array.isArray(operations) || operations.length === 0)
    throw new ScimError(400, 'invalidSyntax', 'a PatchOp needs Operations: a list of { op, path?, value? }');
  if (operations.length > MAX_PATCH_OPERATIONS)
    throw new ScimError(400, 'tooMany', `the PatchOp has ${operations.length} operations; at most ${MAX_PATCH_OPERATIONS}`);
  return operations.flatMap((operation, index) => {
    if (!isObject(operation)) throw new ScimError(400, 'invalidSyntax', `operation ${index + 1} is not an object`);
    const expanded = extensionOperations(operation, resource) ?? [operation];
    return expanded.map((one) => {
      const { path, value } = one;
      if (value === undefined) return one;
      if (typeof path === 'string') return { ...one, value: normaliseAtPath(path, value, core) };
      return { ...one, value: isObject(value) ? normaliseResource(value, core) : value };
    });
  });
}

/** The resource with the PatchOp applied, or undefined when it changes nothing. */
export async function applyPatch(kind: 'User' | 'Group', resource: JsonObject, body: JsonObject): Promise<JsonObject | undefined> {
  const core = kind === 'User' ? USER_SCHEMA : GROUP_SCHEMA;
  if (!Array.isArray(body.schemas) || !body.schemas.includes(PATCH_OP_SCHEMA))
    throw new ScimError(400, 'invalidSyntax', `a PATCH body is a PatchOp: schemas must list ${PATCH_OP_SCHEMA}`);
  const operations = normalisedOperations(body, resource, core);
  // Removing an extension the resource does not have: nothing to do.
  if (operations.length === 0) return undefined;
  const request = { schemas: [PATCH_OP_SCHEMA] as [typeof PATCH_OP_SCHEMA], Operations: operations };
  // scimmy cannot add an extension the resource's `schemas` does not list yet (it is frozen): a User lists it from the start.
  const instance =
    kind === 'User'
      ? new SCIMMY.Schemas.User({ ...resource, schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA] }, 'out')
      : new SCIMMY.Schemas.Group(resource, 'out');
  const patched: unknown = await new SCIMMY.Messages.PatchOp(request as ConstructorParameters<typeof SCIMMY.Messages.PatchOp>[0]).apply(
    instance,
    async (result) => result,
  );
  return patched === undefined ? undefined : plain(patched);
}
