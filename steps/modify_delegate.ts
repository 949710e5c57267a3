/** `modify_delegate`: set or remove a user's delegate, and/or remove the user as anyone's delegate. */
import { z } from 'zod';
import { DIRECTORY_STEP_DEFAULTS, stepOutput, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    user: userRef,
    delegate: z.string().min(1).optional().describe('The new delegate (user id or email).'),
    remove: z.literal(true).optional().describe("Remove the user's delegate."),
    removeAsDelegate: z.boolean().optional().describe('Also stop the user being the delegate of anyone.'),
  })
  .strict()
  .refine((input) => !(input.delegate !== undefined && input.remove), { message: 'give delegate or remove: true, not both' })
  .refine((input) => input.delegate !== undefined || input.remove || input.removeAsDelegate, {
    message: 'give delegate, remove: true or removeAsDelegate: true',
  });

export const modifyDelegateStep = defineActivityStep({
  type: 'modify_delegate',
  description: "Set or remove a user's delegate, or remove the user as anyone's delegate.",
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: DIRECTORY_STEP_DEFAULTS,
  async run(input, services) {
    return stepOutput(await services.directory.modifyDelegate(input));
  },
});
