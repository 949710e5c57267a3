/** `create_campaign`: open an access review campaign of a user's access from a template. */
import { z } from 'zod';
import { DIRECTORY_STEP_DEFAULTS, stepOutput, unknownReferences, userRef } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({ template: z.string().min(1).describe('Campaign template id.'), user: userRef.describe('Whose access is reviewed.') })
  .strict();

export const createCampaignStep = defineActivityStep({
  type: 'create_campaign',
  description: "Open a review campaign of a user's access (one open campaign per template and user); returns created and campaign.",
  runsIn: 'activity',
  scopes: ['directory:write'],
  with: schema,
  defaults: DIRECTORY_STEP_DEFAULTS,
  checkReferences: (input, refs) => unknownReferences(input.template, 'template', refs.hasCampaignTemplate, 'campaign template'),
  async run(input, services) {
    return stepOutput(await services.directory.createCampaign(input));
  },
});
