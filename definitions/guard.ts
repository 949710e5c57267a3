/**
 * An automation's blast-radius limits (`guard:`): how many of its runs, and how many effects of
 * each step type, may act in an hour before the rest are held for an admin. Limits it leaves
 * out come from the server's defaults (activities/guard.ts).
 */
import { z } from 'zod';
import { stepRegistry } from '../steps/registry.js';

/** The largest limit one may write: far above any real hour, and small enough to count. */
export const MAX_GUARD_LIMIT = 1_000_000;

const perHour = z.number().int().min(1, 'a limit is at least 1 an hour').max(MAX_GUARD_LIMIT, `at most ${MAX_GUARD_LIMIT} an hour`);

export const GuardSchema = z
  .object({
    maxRunsPerHour: perHour
      .optional()
      .describe("Runs of this automation that may act in an hour; the rest are held. Default: the server's."),
    maxStepEffectsPerHour: z
      .record(z.string(), perHour)
      .optional()
      .describe('Steps of each type (e.g. revoke_entitlements) that may run in an hour over all runs of this automation.')
      .superRefine((limits, context) => {
        for (const type of Object.keys(limits ?? {})) {
          const step = stepRegistry.get(type);
          if (!step || step.runsIn !== 'activity')
            context.addIssue({
              code: 'custom',
              path: [type],
              message: `"${type}" is not a step type with side effects: limit one of ${[...stepRegistry.values()]
                .filter((entry) => entry.runsIn === 'activity')
                .map((entry) => entry.type)
                .join(', ')}`,
            });
        }
      }),
  })
  .strict();

export type GuardSpec = z.output<typeof GuardSchema>;
