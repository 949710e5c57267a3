/**
 * What step code and the integrations' adapters throw: a failure that says whether a retry can
 * help. Its own home below steps/ and integrations/, since both throw it and activities/ turns it
 * into a Temporal failure.
 */
import type { JsonValue } from './json.js';

/**
 * Thrown by step code. `retryable: false` fails the step at once (bad input, 4xx, missing
 * reference); `retryAfterMs` asks Temporal to wait at least that long before the next attempt.
 */
export class StepError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly details?: JsonValue;
  constructor(code: string, message: string, options: { retryable: boolean; retryAfterMs?: number; details?: JsonValue; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'StepError';
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}
