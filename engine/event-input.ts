/** An event as sent (POST /v1/events, a plan of one): checked against its schema and the size every run's input must fit. */
import { IdflowError } from '../core/errors.js';
import { EventInputSchema, MAX_EVENT_DATA_BYTES } from '../triggers/events.js';

/**
 * Temporal refuses a workflow start whose input payloads exceed 2 MiB (dynamic config
 * limit.blobSize.error, the default, also on Temporal Cloud): measured, the dev server starts
 * 2,097,052 bytes of JSON and refuses 2,097,132 ("Blob data size exceeds limit").
 */
export const TEMPORAL_INPUT_LIMIT_BYTES = 2 * 1024 * 1024;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

function describeIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || 'event'}: ${issue.message}`).join('; ');
}

/** The event, valid and small enough to run, or a 400 / 413 that says what is wrong. */
export function parseEventInput(input: unknown): ReturnType<typeof EventInputSchema.parse> {
  const parsed = EventInputSchema.safeParse(input);
  if (!parsed.success) throw new IdflowError('INVALID', `invalid event: ${describeIssues(parsed.error.issues)}`);
  const dataBytes = jsonBytes(parsed.data.data);
  if (dataBytes > MAX_EVENT_DATA_BYTES) {
    throw new IdflowError(
      'PAYLOAD_TOO_LARGE',
      `event data is ${dataBytes} bytes as JSON; events are limited to ${MAX_EVENT_DATA_BYTES} bytes, so that every run's workflow input fits Temporal's ${TEMPORAL_INPUT_LIMIT_BYTES}-byte limit`,
    );
  }
  return parsed.data;
}
