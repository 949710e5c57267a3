/** `modify_user_status`: enable, disable or delete a user; emits user.deactivated or user.updated. */
import { z } from 'zod';
import { USER_STATUSES } from '../directory/types.js';
import { PROVISIONING_STEP_DEFAULTS, stepOutput, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z.object({ user: userRef, status: z.enum(USER_STATUSES) }).strict();

export const modifyUserStatusStep = defineActivityStep({
  type: 'modify_user_status',
  description: "Set a user's status (ENABLED, DISABLED, DELETED); returns previousStatus and changed.",
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: PROVISIONING_STEP_DEFAULTS,
  async run(input, services) {
    return stepOutput(await services.directory.modifyUserStatus(input));
  },
});
