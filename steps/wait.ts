/** `wait`: a durable pause. A workflow timer, never a sleeping activity: it survives restarts. */
import { z } from 'zod';
import { DURATION_HINT, parseDuration } from '../core/duration.js';
import { StepError } from '../core/step-error.js';
import { defineWorkflowStep } from './types.js';

const schema = z
  .object({
    duration: z
      .string()
      .refine((text) => parseDuration(text) !== undefined, { message: `expected ${DURATION_HINT}` })
      .optional()
      .describe('How long to wait: "30s", "30m", "2h", "7d", "1h30m".'),
    until: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Wait until this RFC 3339 time (a template is fine). A time in the past does not wait.'),
  })
  .strict()
  .refine((input) => (input.duration === undefined) !== (input.until === undefined), {
    message: 'give exactly one of "duration" or "until"',
  });

export const waitStep = defineWorkflowStep({
  type: 'wait',
  description: 'Pause the run for a duration or until a time, durably (a Temporal timer).',
  runsIn: 'workflow',
  scopes: [],
  with: schema,
  async run(input, services) {
    const started = services.now();
    const ms = input.duration !== undefined ? parseDuration(input.duration) : Date.parse(input.until ?? '') - started.getTime();
    if (ms === undefined || Number.isNaN(ms)) {
      throw new StepError('INVALID_WAIT', 'wait: no duration or until to wait for', { retryable: false });
    }
    if (ms > 0) await services.sleep(ms);
    return { waitedMs: Math.max(ms, 0), resumedAt: services.now().toISOString() };
  },
});
