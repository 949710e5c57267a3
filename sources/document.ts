/**
 * The `kind: EventSource` document: an HR system's signed webhook (`POST /v1/sources/:name`),
 * how its signature is checked, where its secret comes from, and the CEL mapping of a request to
 * lifecycle events and directory changes (docs/connectors.md, "HR webhooks").
 */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import { DefinitionNameSchema as name } from '../core/names.js';
import { SecretRefSchema } from '../core/secret-ref.js';

/** Events one delivery may map to: each is ingested (and its runs started) before the answer, which must stay fast. */
export const MAX_MAPPED_EVENTS = 100;
/** People one delivery may create or update: one directory transaction, their events delivered through the outbox. */
export const MAX_MAPPED_USERS = 1000;
/** The longest replay window a source may allow: beyond it a captured request could be sent again for too long. */
const MAX_TOLERANCE_MS = 60 * 60 * 1000;

const headerName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name');

const StandardWebhooksSchema = z
  .object({
    scheme: z.literal('standard-webhooks'),
    secret: SecretRefSchema.describe(
      'The signing secret, "whsec_" + base64 as the sender shows it: { env: NAME } (of the API process) or { secret: KEY } (`idflow sources secrets set`).',
    ),
  })
  .strict();

const tolerance = z
  .string()
  .refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` })
  .refine((text) => (parseDuration(text) ?? 0) >= 1000 && (parseDuration(text) ?? 0) <= MAX_TOLERANCE_MS, {
    message: `between 1s and ${MAX_TOLERANCE_MS / 60_000}m: a longer window lets a captured request be sent again for longer`,
  });

const HmacSchema = z
  .object({
    scheme: z.literal('hmac-sha256'),
    secret: SecretRefSchema.describe(
      "The shared key as the sender has it (the key is the text's UTF-8 bytes): { env: NAME } (of the API process) or { secret: KEY } (`idflow sources secrets set`).",
    ),
    header: headerName.describe('The header carrying the signature, e.g. X-Signature.'),
    encoding: z.enum(['hex', 'base64']).describe('How the header writes the 32-byte HMAC-SHA256.'),
    prefix: z.string().min(1).max(32).optional().describe('Text before the signature in the header, e.g. "sha256=".'),
    timestampHeader: headerName
      .optional()
      .describe(
        'The header carrying when the sender signed (Unix seconds or ISO 8601): requests further than `tolerance` from now are refused.',
      ),
    tolerance: tolerance.default('5m').describe('How far the timestamp may be from the API clock, either way.'),
    signedPayload: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe(
        'What is signed: the raw body bytes in place of {body}, the timestamp header value in place of {timestamp}. Default "{body}", or "{timestamp}.{body}" with a timestampHeader.',
      ),
  })
  .strict()
  .superRefine((spec, context) => {
    const template = spec.signedPayload;
    if (template === undefined) return;
    if (template.split('{body}').length !== 2)
      context.addIssue({ code: 'custom', path: ['signedPayload'], message: 'name {body} exactly once: the body is what is signed' });
    const timestamps = template.split('{timestamp}').length - 1;
    if (spec.timestampHeader === undefined && timestamps > 0)
      context.addIssue({ code: 'custom', path: ['signedPayload'], message: '{timestamp} needs a timestampHeader to read it from' });
    if (spec.timestampHeader !== undefined && timestamps === 0)
      context.addIssue({
        code: 'custom',
        path: ['signedPayload'],
        message: 'name {timestamp}: with a timestampHeader, an unsigned timestamp could be replaced to replay an old request',
      });
  });

export const SignatureSchema = z.discriminatedUnion('scheme', [StandardWebhooksSchema, HmacSchema]);

export const SourceMappingSchema = z
  .object({
    events: z
      .string()
      .min(1)
      .optional()
      .describe(
        `CEL over body, headers and delivery, giving a list of events { type, id, data, occurredAt? } (at most ${MAX_MAPPED_EVENTS}); the id makes a repeated one start nothing twice.`,
      ),
    users: z
      .string()
      .min(1)
      .optional()
      .describe(
        `CEL over body, headers and delivery, giving a list of people to create or update with the fields of an HR import row (at most ${MAX_MAPPED_USERS}).`,
      ),
  })
  .strict()
  .refine((mapping) => mapping.events !== undefined || mapping.users !== undefined, {
    message: 'map the request to events, users or both',
  });

export const EventSourceSchema = z
  .object({
    kind: z.literal('EventSource'),
    name,
    description: z.string().optional(),
    enabled: z.boolean().default(true).describe('A disabled source answers 404 and changes nothing.'),
    signature: SignatureSchema,
    mapping: SourceMappingSchema,
  })
  .strict();

export type EventSourceSpec = z.output<typeof EventSourceSchema>;
export type SignatureSpec = z.output<typeof SignatureSchema>;
export type HmacSignatureSpec = Extract<SignatureSpec, { scheme: 'hmac-sha256' }>;
export type SourceMapping = z.output<typeof SourceMappingSchema>;

/** A spec read back from the store: it was validated by EventSourceSchema when it was applied. */
export function storedSourceSpec(spec: object): EventSourceSpec {
  return spec as EventSourceSpec;
}
