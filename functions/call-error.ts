/**
 * A failed function call as a step's error: the function's own failure (its code threw, timed
 * out, went over memory, was denied the network) fails at once; a failure of the sandbox itself,
 * or an error the function marked `retryable`, is worth a retry. Workflow-safe: call_function imports it.
 */
import { StepError } from '../core/step-error.js';

/** What of a call's result the error needs (functions/service.ts FunctionCallResult has it). */
export interface FailedFunctionCall {
  function: string;
  version: number;
  error?: { code: string; message: string };
  logs: string[];
  durationMs: number;
}

/**
 * Failures worth a retry: the sandbox's own (a process that could not start or died), and the
 * function's request for one (an error with `retryable: true`; the retry sees the same
 * ctx.idempotencyKey).
 */
const RETRYABLE_CODES = new Set(['SANDBOX_FAILURE', 'RETRYABLE_ERROR']);

export function functionCallError(result: FailedFunctionCall, context = ''): StepError {
  const error = result.error ?? { code: 'RUNTIME_ERROR', message: 'the function failed' };
  const logs = result.logs.length > 0 ? ` (last log: ${result.logs[result.logs.length - 1]})` : '';
  return new StepError(error.code, `${context}function ${result.function}@${result.version}: ${error.code}: ${error.message}${logs}`, {
    retryable: RETRYABLE_CODES.has(error.code),
    details: { function: result.function, version: result.version, logs: result.logs, durationMs: result.durationMs },
  });
}
