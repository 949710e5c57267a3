/** `create_account`: create a user's account in an app (at most one per app and user). */
import { z } from 'zod';
import { PROVISIONING_STEP_DEFAULTS, stepOutput, unknownReferences, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    app: z.string().min(1).describe('App id or slug.'),
    user: userRef,
    method: z
      .enum(['from_user', 'custom'])
      .default('from_user')
      .describe("from_user: username and email from the user's record; custom: from fields."),
    fields: z
      .object({ username: z.string().min(1).optional(), email: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict()
  .refine((input) => input.method !== 'custom' || input.fields?.username !== undefined, {
    message: 'method custom needs fields.username',
    path: ['fields'],
  });

export const createAccountStep = defineActivityStep({
  type: 'create_account',
  description: "Create the user's account in an app (from the user's record or custom fields); returns created and account.",
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: PROVISIONING_STEP_DEFAULTS,
  checkReferences: (input, refs) => unknownReferences(input.app, 'app', refs.hasApp, 'app'),
  async run(input, services) {
    return stepOutput(await services.directory.createAccount(input));
  },
});
