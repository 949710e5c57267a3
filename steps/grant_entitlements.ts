/** `grant_entitlements`: give a user entitlements (idempotent: what they had is reported, not granted twice). */
import { z } from 'zod';
import { PROVISIONING_STEP_DEFAULTS, entitlementRefs, stepOutput, unknownReferences, userRef } from './directory-common.js';
import { StepError } from '../core/step-error.js';
import { defineActivityStep } from './types.js';
import { parseDuration } from '../core/duration.js';

const schema = z
  .object({
    user: userRef,
    entitlements: entitlementRefs,
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('The grants lapse at this time.'),
    duration: z.string().optional().describe('The grants lapse this long after the step runs, e.g. "30d".'),
  })
  .strict()
  .refine((input) => !(input.expiresAt && input.duration), { message: 'give expiresAt or duration, not both' });

export const grantEntitlementsStep = defineActivityStep({
  type: 'grant_entitlements',
  description: 'Grant entitlements to a user; returns granted and alreadyHad.',
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: PROVISIONING_STEP_DEFAULTS,
  checkReferences: (input, refs) => unknownReferences(input.entitlements, 'entitlements', refs.hasEntitlement, 'entitlement'),
  async run(input, services) {
    let expiresAt = input.expiresAt;
    if (input.duration !== undefined) {
      const ms = parseDuration(input.duration);
      if (ms === undefined)
        throw new StepError('INVALID_STEP_INPUT', `with.duration: "${input.duration}" is not a duration such as "30d"`, {
          retryable: false,
        });
      expiresAt = new Date(Date.now() + ms).toISOString();
    }
    return stepOutput(await services.directory.grantEntitlements({ user: input.user, entitlements: input.entitlements, expiresAt }));
  },
});
