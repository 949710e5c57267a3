/**
 * `reconcile_app`: compares an app provisioned over SCIM with the directory — users only in the
 * app or only in the directory, a different status, group memberships on one side only — and with
 * `apply: true` fixes the app to match the directory (provisioning/reconcile.ts). Idempotent: a
 * retry compares again. A fix that failed fails the step once the others are done, retryable
 * when a retry could help.
 */
import { z } from 'zod';
import { StepError } from '../core/step-error.js';
import { stepOutput, unknownReferences } from './directory-common.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    app: z.string().min(1).describe('App id or slug; the app must be provisioned over SCIM.'),
    apply: z.boolean().default(false).describe('Fix the app to match the directory; without it the step only reports the drift.'),
  })
  .strict();

export const reconcileAppStep = defineActivityStep({
  type: 'reconcile_app',
  description: "Compare an app's SCIM users and groups with the directory; with apply: true, fix the app to match. Returns the drift.",
  runsIn: 'activity',
  // Its report lists the directory's accounts and grants in the app; with apply it changes the app.
  scopes: ['directory:write'],
  scopesFor: (input) => (input.apply === false || input.apply === undefined ? ['directory:read'] : ['directory:write']),
  with: schema,
  // A reconcile of thousands of people takes a while; it heartbeats, so a lost worker is noticed in seconds.
  defaults: {
    timeout: '30m',
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 5, initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5m' },
  },
  checkReferences: (input, refs) => unknownReferences(input.app, 'app', refs.hasApp, 'app'),
  async plan(input) {
    return {
      effects: [{ kind: 'reconcile', app: input.app, apply: input.apply }],
      unknownReason: `a reconcile's report is known only once it has read app "${input.app}"`,
    };
  },
  async run(input, services) {
    const report = await services.directory.reconcileApp(input);
    const failed = report.drift.flatMap((drift) => (drift.error ? [drift.error] : []));
    const first = failed[0];
    if (first) {
      throw new StepError(
        'RECONCILE_INCOMPLETE',
        `app "${report.app}": ${failed.length} of ${report.fixed + failed.length} fixes failed (the rest were made); the first: ${first.message}`,
        { retryable: failed.some((error) => error.retryable), details: { fixed: report.fixed, failed: report.failed } },
      );
    }
    return stepOutput(report);
  },
});
