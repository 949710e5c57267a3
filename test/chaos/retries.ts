/**
 * Why steps took more than one attempt, from Temporal's histories: each retried attempt's start
 * event carries the previous attempt's failure (a timeout: the worker was killed or the step was
 * slow; an error: its message). Printed by the chaos run, so retries are explained, not guessed.
 */
import type { Client } from '@temporalio/client';

/** How many runs' histories are read: enough to see the causes, bounded for a large run. */
const SAMPLE = 100;

/** Retry causes and how often each was seen, most frequent first. */
export async function retryCauses(client: Client, runIds: string[]): Promise<[string, number][]> {
  const causes = new Map<string, number>();
  for (const runId of runIds.slice(0, SAMPLE)) {
    const history = await client.workflow.getHandle(runId).fetchHistory();
    for (const event of history.events ?? []) {
      const started = event.activityTaskStartedEventAttributes;
      if (!started?.lastFailure || (started.attempt ?? 1) <= 1) continue;
      const failure = started.lastFailure;
      const cause = failure.timeoutFailureInfo ? 'timed out (start to close)' : (failure.message ?? 'failed').slice(0, 160);
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
  }
  return [...causes].sort((a, b) => b[1] - a[1]);
}
