/**
 * The SCIM schemas idflow serves (RFC 7643 §4, §8.7): the core User with the enterprise extension,
 * and the core Group, taken from scimmy's definitions, which also validate what a client sends.
 * Also the discovery documents: /Schemas, /ResourceTypes and /ServiceProviderConfig.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import SCIMMY from 'scimmy';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

// scimmy keeps its schemas in module state: the enterprise extension is declared once, for every caller.
// (Its typings take a Schema instance; the class is what its docs and code take.)
SCIMMY.Schemas.User.extend(SCIMMY.Schemas.EnterpriseUser as unknown as SCIMMY.Types.Schema, false);

/**
 * scimmy 1.3.5 declares `roles.type` and `x509Certificates.type` with an empty list of canonical
 * values, and then refuses every value: RFC 7643 gives them none, so any value goes.
 */
function allowAnyWhereNoneAreCanonical(attributes: SCIMMY.Types.Attribute[]): void {
  for (const attribute of attributes) {
    const { canonicalValues } = attribute.config;
    if (Array.isArray(canonicalValues) && canonicalValues.length === 0) attribute.config.canonicalValues = false;
    allowAnyWhereNoneAreCanonical(attribute.subAttributes ?? []);
  }
}
for (const schema of [SCIMMY.Schemas.User, SCIMMY.Schemas.EnterpriseUser, SCIMMY.Schemas.Group])
  allowAnyWhereNoneAreCanonical(
    schema.definition.attributes.filter((a): a is SCIMMY.Types.Attribute => a instanceof SCIMMY.Types.Attribute),
  );

/** An attribute as a Schema resource describes it (RFC 7643 §7). */
export interface AttributeDescription {
  name: string;
  type: 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex';
  multiValued: boolean;
  required: boolean;
  caseExact?: boolean;
  mutability?: string;
  subAttributes?: AttributeDescription[];
}

export interface SchemaDescription {
  id: string;
  attributes: AttributeDescription[];
}

const described = (definition: { describe(basepath?: string): unknown }, base: string): JsonObject =>
  JSON.parse(JSON.stringify(definition.describe(`${base}/Schemas`))) as JsonObject;

/**
 * idflow keeps an email for every person (the directory's key besides the id), so the published
 * User schema marks `emails` and `emails.value` required: a generic client fills them. (A userName
 * that is an address also does: see scim/mapping.ts.)
 */
function requireEmails(schema: JsonObject): JsonObject {
  const attributes = schema.attributes as JsonObject[];
  for (const attribute of attributes) {
    if (attribute.name !== 'emails') continue;
    attribute.required = true;
    for (const sub of attribute.subAttributes as JsonObject[]) if (sub.name === 'value') sub.required = true;
  }
  return schema;
}

/** The Schema resources of /Schemas, each with its meta. */
export function schemaResources(base: string): JsonObject[] {
  return [
    requireEmails(described(SCIMMY.Schemas.User.definition, base)),
    described(SCIMMY.Schemas.EnterpriseUser.definition, base),
    described(SCIMMY.Schemas.Group.definition, base),
  ];
}

/** Each schema's attributes, by schema id, for normalising and mapping what clients send. */
export const SCHEMA_ATTRIBUTES: ReadonlyMap<string, AttributeDescription[]> = new Map(
  schemaResources('').map((schema) => [schema.id as string, schema.attributes as unknown as AttributeDescription[]]),
);

export function resourceTypes(base: string): JsonObject[] {
  const resourceType = (name: string, endpoint: string, schema: string, description: string, extensions: JsonValue[]): JsonObject => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: name,
    name,
    endpoint,
    description,
    schema,
    schemaExtensions: extensions,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${name}` },
  });
  return [
    resourceType('User', '/Users', USER_SCHEMA, 'A person of the idflow directory', [{ schema: ENTERPRISE_SCHEMA, required: false }]),
    resourceType('Group', '/Groups', GROUP_SCHEMA, 'An entitlement of the SCIM groups app; members are its grants', []),
  ];
}

/** What the service supports; `maxResults` is the largest page a list answers. */
export function serviceProviderConfig(base: string, maxResults: number): JsonObject {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'An idflow API token with the scope "scim": idflow tokens create NAME --scopes scim',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

/** scimmy's validation of a resource as a client sends it: types, required attributes, read-only ones dropped. */
export function validatedUser(body: JsonObject): JsonObject {
  return plain(new SCIMMY.Schemas.User(body, 'in'));
}

export function validatedGroup(body: JsonObject): JsonObject {
  return plain(new SCIMMY.Schemas.Group(body, 'in'));
}

/** A scimmy resource as the JSON it serialises to (its getters and schema bookkeeping left behind). */
export const plain = (resource: unknown): JsonObject => JSON.parse(JSON.stringify(resource)) as JsonObject;
