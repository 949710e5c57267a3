/**
 * What both workflows use: the run/step bookkeeping (local activities), the tick time of a
 * scheduled start, and the message of a failure chain.
 */
import { proxyLocalActivities } from '@temporalio/workflow';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import type { RecordActivities } from '../activities/contracts.js';

/** Set by Temporal on runs a Schedule starts: the tick's scheduled (not actual) time. */
export const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

export const recorder = proxyLocalActivities<RecordActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', maximumInterval: '10s' },
});

/** The innermost message of a failure chain (activity → application failure → ...). */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(error);
}
