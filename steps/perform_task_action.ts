/** `perform_task_action`: reassign, complete or cancel a user's open tasks. */
import { z } from 'zod';
import { TASK_TYPES } from '../directory/types.js';
import { DIRECTORY_STEP_DEFAULTS, stepOutput, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    user: userRef.describe('Whose open tasks (their assignee).'),
    taskType: z.enum(TASK_TYPES).optional().describe('Only tasks of this type; all types when absent.'),
    action: z.enum(['reassign', 'complete', 'cancel']),
    to: z.string().min(1).optional().describe('The new assignee, for reassign (user id or email).'),
  })
  .strict()
  .refine((input) => input.action !== 'reassign' || input.to !== undefined, { message: 'action reassign needs to', path: ['to'] });

export const performTaskActionStep = defineActivityStep({
  type: 'perform_task_action',
  description: "Reassign, complete or cancel a user's open tasks; returns the task ids.",
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: DIRECTORY_STEP_DEFAULTS,
  async run(input, services) {
    return stepOutput(await services.directory.performTaskAction(input));
  },
});
