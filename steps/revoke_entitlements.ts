/** `revoke_entitlements`: take entitlements away from a user: listed ones, all of some apps, or all, minus exclusions. */
import { z } from 'zod';
import { PROVISIONING_STEP_DEFAULTS, entitlementRefs, stepOutput, unknownReferences, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    user: userRef,
    entitlements: entitlementRefs.optional(),
    apps: z.array(z.string().min(1)).min(1).optional().describe('Revoke every entitlement of these apps (ids or slugs).'),
    all: z.literal(true).optional().describe('Revoke every entitlement the user holds.'),
    exclude: z.array(z.string().min(1)).optional().describe('Entitlements to keep.'),
  })
  .strict()
  .refine((input) => [input.entitlements, input.apps, input.all].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of entitlements, apps or all: true',
  });

export const revokeEntitlementsStep = defineActivityStep({
  type: 'revoke_entitlements',
  description: 'Revoke entitlements from a user (a list, whole apps, or all), keeping exclusions; returns revoked, notHeld and kept.',
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: PROVISIONING_STEP_DEFAULTS,
  checkReferences: (input, refs) => [
    ...unknownReferences(input.entitlements, 'entitlements', refs.hasEntitlement, 'entitlement'),
    ...unknownReferences(input.exclude, 'exclude', refs.hasEntitlement, 'entitlement'),
    ...unknownReferences(input.apps, 'apps', refs.hasApp, 'app'),
  ],
  async run(input, services) {
    return stepOutput(await services.directory.revokeEntitlements(input));
  },
});
