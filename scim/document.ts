/**
 * `kind: ScimService`: how a SCIM client (Okta, Entra ID) that pushes people and groups to
 * /scim/v2 is served: which tokens it comes with, the app its groups become entitlements of, what
 * DELETE does, and which directory field each SCIM attribute feeds. Applied with `idflow apply`
 * (scope directory:write); a token named by no ScimService document gets DEFAULT_SCIM_SERVICE.
 */
import { z } from 'zod';
import { DefinitionNameSchema } from '../core/names.js';
import { USER_FIELDS } from '../directory/types.js';
import { MAX_ID_LENGTH } from '../directory/users.js';
import { ScimError } from './errors.js';
import { parseAttributePath } from './paths.js';
import { ENTERPRISE_SCHEMA } from './schemas.js';

/** Directory fields no SCIM attribute feeds directly: status comes from `active`, managerId from `manager`, attributes from the rest. */
const NOT_MAPPABLE = ['status', 'managerId', 'attributes'] as const;
export type MappableField = Exclude<(typeof USER_FIELDS)[number], (typeof NOT_MAPPABLE)[number]>;
/** The directory fields a SCIM attribute can feed (besides `attributes.<key>`); the id is SCIM's id. */
export const MAPPABLE_FIELDS: readonly MappableField[] = USER_FIELDS.filter(
  (field): field is MappableField => !(NOT_MAPPABLE as readonly string[]).includes(field),
);

/** Where the SCIM attributes no mapping names are kept, so a client reads back what it wrote. */
export const KEPT_ATTRIBUTES = 'scim';

/** Directory field → SCIM attribute path; fits the attributes Okta's and Entra ID's provisioning apps send by default. */
export const DEFAULT_ATTRIBUTE_MAP: Readonly<Record<string, string>> = {
  username: 'userName',
  email: 'emails[primary eq true].value',
  displayName: 'displayName',
  firstName: 'name.givenName',
  lastName: 'name.familyName',
  title: 'title',
  employmentType: 'userType',
  department: `${ENTERPRISE_SCHEMA}:department`,
  manager: `${ENTERPRISE_SCHEMA}:manager.value`,
  'attributes.externalId': 'externalId',
  'attributes.employeeNumber': `${ENTERPRISE_SCHEMA}:employeeNumber`,
  'attributes.costCenter': `${ENTERPRISE_SCHEMA}:costCenter`,
  'attributes.organization': `${ENTERPRISE_SCHEMA}:organization`,
  'attributes.division': `${ENTERPRISE_SCHEMA}:division`,
};

const slug = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'use lowercase letters, digits, ".", "_" and "-"');

const target = z.string().superRefine((value, context) => {
  if ((MAPPABLE_FIELDS as readonly string[]).includes(value)) return;
  const key = /^attributes\.(.+)$/.exec(value)?.[1];
  if (key === undefined)
    context.addIssue({
      code: 'custom',
      message: `"${value}" is not a directory field: use one of ${MAPPABLE_FIELDS.join(', ')} or attributes.<name>`,
    });
  else if (key === KEPT_ATTRIBUTES)
    context.addIssue({ code: 'custom', message: `attributes.${KEPT_ATTRIBUTES} is where idflow keeps the unmapped SCIM attributes` });
  else if (key.length > MAX_ID_LENGTH)
    context.addIssue({ code: 'custom', message: `an attribute name is longer than ${MAX_ID_LENGTH} characters` });
});

const scimPath = z
  .string()
  .max(512)
  .superRefine((value, context) => {
    let parsed;
    try {
      parsed = parseAttributePath(value);
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof ScimError ? error.detail : String(error) });
      return;
    }
    if (parsed === undefined)
      context.addIssue({
        code: 'custom',
        message: `"${value}" is not a SCIM attribute path (e.g. title, name.givenName, emails[type eq "work"].value, ${ENTERPRISE_SCHEMA}:department)`,
      });
  });

export const ScimServiceSchema = z
  .object({
    kind: z.literal('ScimService'),
    name: DefinitionNameSchema,
    description: z.string().optional(),
    tokens: z
      .array(z.string().min(1).max(100))
      .max(100)
      .optional()
      .describe('Names of the API tokens (scope "scim") this client sends; default: the document\'s name.'),
    groupsApp: slug
      .default('scim')
      .describe('The app whose entitlements pushed groups become (created when missing); group members are its grants.'),
    onDelete: z
      .enum(['deactivate', 'delete'])
      .default('deactivate')
      .describe('DELETE /Users/:id: deactivate (status DELETED, the record kept) or delete (grants revoked, the record removed).'),
    attributes: z
      .record(target, scimPath.nullable())
      .default({})
      .describe('Directory field (or attributes.<name>) -> SCIM attribute path, over the defaults; null unmaps a default.'),
  })
  .strict();

export type ScimServiceSpec = z.output<typeof ScimServiceSchema>;

/** A ScimService in force: the defaults filled in, the attribute map merged. */
export interface ScimServiceConfig {
  name: string;
  groupsApp: string;
  onDelete: 'deactivate' | 'delete';
  /** Directory field → SCIM path. */
  attributes: Record<string, string>;
}

export function scimServiceConfig(spec: Pick<ScimServiceSpec, 'name' | 'groupsApp' | 'onDelete' | 'attributes'>): ScimServiceConfig {
  const attributes: Record<string, string> = { ...DEFAULT_ATTRIBUTE_MAP };
  for (const [field, path] of Object.entries(spec.attributes)) {
    if (path === null) delete attributes[field];
    else attributes[field] = path;
  }
  return { name: spec.name, groupsApp: spec.groupsApp, onDelete: spec.onDelete, attributes };
}

export const DEFAULT_SCIM_SERVICE: ScimServiceConfig = scimServiceConfig({
  name: 'default',
  groupsApp: 'scim',
  onDelete: 'deactivate',
  attributes: {},
});

/** The tokens a document serves. */
export const servedTokens = (spec: Pick<ScimServiceSpec, 'name' | 'tokens'>): string[] => spec.tokens ?? [spec.name];
