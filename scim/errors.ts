/**
 * SCIM's own error shape (RFC 7644 §3.12): `{ schemas: [Error], status, scimType?, detail }`.
 * Everything /scim/v2 refuses is a ScimError, whether the SCIM code, scimmy, the directory or the
 * API's auth hook refused it, so a provisioning client (Okta, Entra ID) always reads the same shape.
 */
import { IdflowError } from '../core/errors.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 Table 9: the detail error keywords a 400 (and 409 uniqueness) carries. */
export const SCIM_TYPES = [
  'invalidFilter',
  'tooMany',
  'uniqueness',
  'mutability',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'invalidValue',
  'invalidVers',
  'sensitive',
] as const;
export type ScimType = (typeof SCIM_TYPES)[number];

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  /** A string, as RFC 7644's examples and Entra ID's client expect. */
  status: string;
  scimType?: ScimType;
  detail: string;
}

export function scimErrorBody(error: ScimError): ScimErrorBody {
  return {
    schemas: [ERROR_SCHEMA],
    status: String(error.status),
    ...(error.scimType !== undefined && { scimType: error.scimType }),
    detail: error.detail,
  };
}

const isScimType = (value: unknown): value is ScimType => SCIM_TYPES.includes(value as ScimType);

/** scimmy's errors carry status and scimType; its schema checks throw TypeErrors that name the attribute. */
interface ScimmyError {
  status: number;
  scimType?: string;
  message: string;
}
const isScimmyError = (error: unknown): error is ScimmyError =>
  error instanceof Error && typeof (error as Partial<ScimmyError>).status === 'number' && 'scimType' in error;

/** Any error as a ScimError: idflow's own by their code's status, scimmy's as they are, a schema TypeError as invalidValue. */
export function asScimError(error: unknown): ScimError | undefined {
  if (error instanceof ScimError) return error;
  if (isScimmyError(error)) return new ScimError(error.status, isScimType(error.scimType) ? error.scimType : undefined, error.message);
  if (error instanceof IdflowError) {
    const scimType = error.code === 'CONFLICT' ? 'uniqueness' : error.status === 400 ? 'invalidValue' : undefined;
    return new ScimError(error.status, scimType, error.message);
  }
  if (error instanceof TypeError && /^(Required )?(Complex )?[Aa]ttribute '/.test(error.message))
    return new ScimError(400, 'invalidValue', error.message);
  return undefined;
}
