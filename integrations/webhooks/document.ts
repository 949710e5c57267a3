/** The `kind: Webhook` document: an outbound webhook run_webhook posts to, optionally signed. */
import { z } from 'zod';
import { DurationSchema as duration } from '../../core/duration.js';
import { DefinitionNameSchema as name } from '../../core/names.js';

export const WebhookSchema = z
  .object({
    kind: z.literal('Webhook'),
    name,
    description: z.string().optional(),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    headers: z.record(z.string(), z.string()).default({}),
    signingSecret: z
      .object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') })
      .strict()
      .optional()
      .describe('Standard Webhooks signing secret ("whsec_..."), read from this environment variable of the worker.'),
    timeout: duration.default('10s').describe('Timeout of one delivery attempt.'),
  })
  .strict();

export type WebhookSpec = z.output<typeof WebhookSchema>;
