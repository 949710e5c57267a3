/**
 * What the governance steps share: their retry defaults and their apply-time reference checks.
 * Directory writes are local transactions, so retries are quick and many.
 */
import type { JsonObject } from '../core/json.js';
import { z } from 'zod';
import type { ReferenceIssue, RetrySettings } from './types.js';

export const DIRECTORY_STEP_DEFAULTS: { timeout: string; retry: RetrySettings } = {
  // A local transaction: a lost worker is noticed (and the step retried) after this long.
  timeout: '10s',
  retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/**
 * Governance steps that provision apps (create_account, grant_entitlements, revoke_entitlements,
 * modify_user_status): a step makes several requests to an app, each up to the app's timeout
 * (30 s by default), so its own timeout is long; it heartbeats while it works, so a lost worker is
 * noticed after the heartbeat timeout all the same. Retries as the directory's: an app's 5xx,
 * 429 and timeouts are retried, its other 4xx fail the step at once.
 */
export const PROVISIONING_STEP_DEFAULTS: { timeout: string; heartbeatTimeout: string; retry: RetrySettings } = {
  timeout: '5m',
  heartbeatTimeout: '10s',
  retry: DIRECTORY_STEP_DEFAULTS.retry,
};

export const userRef = z.string().min(1).describe('A user id or email; usually a template such as "{{ subject.id }}".');
export const entitlementRefs = z
  .array(z.string().min(1))
  .describe('Entitlement ids or "app-slug:entitlement-slug"; an empty list (a template that found none) changes nothing.');

/** Issues for each name in `values` (at `path`, then its index) that `known` does not know. */
export function unknownReferences(values: unknown, path: string, known: (name: string) => boolean, what: string): ReferenceIssue[] {
  if (!Array.isArray(values))
    return typeof values === 'string' && !known(values) ? [{ path: [path], message: `unknown ${what} "${values}"` }] : [];
  return values.flatMap((value, index) =>
    typeof value === 'string' && !known(value)
      ? [{ path: [path, index], message: `unknown ${what} "${value}": it is not in the directory (idflow directory apply)` }]
      : [],
  );
}

/** A directory result as step output (the results are plain JSON records). */
export function stepOutput(result: object): JsonObject {
  return result as JsonObject;
}
