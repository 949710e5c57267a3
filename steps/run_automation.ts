/** `run_automation`: start another automation as a child run (chaining). */
import { z } from 'zod';
import { StepError } from '../core/step-error.js';
import { defineWorkflowStep } from './types.js';

/** Deeper run_automation chains are refused: they are almost always a mistake. */
export const MAX_CHAIN_DEPTH = 10;

/** Throws when starting `automation` from a run whose chain (root first) is `chain` would loop or go too deep. */
export function checkChain(chain: readonly string[], automation: string): void {
  if (chain.includes(automation)) {
    throw new StepError('AUTOMATION_CYCLE', `run_automation would start a cycle: ${[...chain, automation].join(' → ')}`, {
      retryable: false,
    });
  }
  if (chain.length >= MAX_CHAIN_DEPTH) {
    throw new StepError(
      'CHAIN_TOO_DEEP',
      `run_automation chains are limited to ${MAX_CHAIN_DEPTH} automations: ${[...chain, automation].join(' → ')}`,
      { retryable: false },
    );
  }
}

const schema = z
  .object({
    automation: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'an automation name: lowercase letters, digits and -')
      .describe('Name of the automation to run.'),
    context: z.record(z.string(), z.json()).default({}).describe("Becomes the child's ctx.trigger."),
    wait: z.boolean().default(true).describe('Wait for the child to finish and return its step outputs (true), or only start it (false).'),
  })
  .strict();

export const runAutomationStep = defineWorkflowStep({
  type: 'run_automation',
  description: 'Run another automation as a child run, with a context that becomes its ctx.trigger; optionally wait for its outputs.',
  runsIn: 'workflow',
  // Starts another automation with a context of the author's choosing, as a manual run does.
  scopes: ['runs:write'],
  with: schema,
  checkReferences(input, refs) {
    const name = input.automation;
    if (typeof name === 'string' && !refs.hasAutomation(name)) {
      return [{ path: ['automation'], message: `unknown automation "${name}"` }];
    }
    return [];
  },
  async run(input, services) {
    return services.runAutomation({ automation: input.automation, context: input.context, wait: input.wait });
  },
});
