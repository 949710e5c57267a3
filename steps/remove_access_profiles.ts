/** `remove_access_profiles`: unenroll a user from access profiles (listed, or all). */
import { z } from 'zod';
import { DIRECTORY_STEP_DEFAULTS, stepOutput, unknownReferences, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    user: userRef,
    profiles: z.array(z.string().min(1)).min(1).optional().describe('Access profile ids.'),
    all: z.literal(true).optional().describe('Every profile the user is enrolled in.'),
  })
  .strict()
  .refine((input) => (input.profiles !== undefined) !== (input.all === true), { message: 'give profiles or all: true (one of them)' });

export const removeAccessProfilesStep = defineActivityStep({
  type: 'remove_access_profiles',
  description: 'Remove a user from access profiles (listed ones or all); returns removed and notEnrolled.',
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: DIRECTORY_STEP_DEFAULTS,
  checkReferences: (input, refs) => unknownReferences(input.profiles, 'profiles', refs.hasAccessProfile, 'access profile'),
  async run(input, services) {
    return stepOutput(await services.directory.removeAccessProfiles(input));
  },
});
