/**
 * `call_function`: runs a function (kind: Function) in the sandbox. `function` is NAME (the
 * current version) or NAME@VERSION; the output is `ctx.<step>.output`, with the version, the
 * logs and the duration beside it. A function's own failure (its code threw, timed out, went
 * over memory, was denied the network) fails the step at once; a sandbox failure, or an error the
 * function marked `retryable`, retries.
 * A successful call is recorded, so a retried step does not call the function a second time.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import { z } from 'zod';
import { FUNCTION_REF, FUNCTION_REF_HINT, parseFunctionRef } from '../functions/ref.js';
import { functionCallError } from '../functions/call-error.js';
import { heartbeating } from '../core/heartbeat.js';
import { defineActivityStep, type FunctionCallOutcome, type StepServices } from './types.js';

const schema = z
  .object({
    function: z.string().regex(FUNCTION_REF, FUNCTION_REF_HINT).describe('NAME (current version) or NAME@VERSION.'),
    input: z.json().default({}).describe("The function's input (JSON); strings may be templates."),
  })
  .strict();

/**
 * One call of a function from a step (call_function, perform_connector_action): heartbeats while it
 * runs, one log line, and the function's failure as a StepError with its code and message.
 */
export async function callFunction(
  services: StepServices,
  ref: string,
  input: JsonValue,
  options?: Parameters<StepServices['functions']['call']>[2],
): Promise<FunctionCallOutcome> {
  const result = await heartbeating(services, () => services.functions.call(ref, input, options));
  services.log.info(
    { function: result.function, version: result.version, ok: result.ok, durationMs: result.durationMs, logs: result.logs.length },
    'function called',
  );
  if (!result.ok) throw functionCallError(result);
  return result;
}

/** A successful call as step output: `output` is what the function returned, beside which version ran and its logs. */
export function functionCallOutput(result: FunctionCallOutcome): JsonObject {
  return {
    output: result.output ?? null,
    function: result.function,
    version: result.version,
    logs: result.logs,
    durationMs: result.durationMs,
  };
}

export const callFunctionStep = defineActivityStep({
  type: 'call_function',
  description: 'Run a function (sandboxed TypeScript) with an input; its output becomes ctx.<step>.output.',
  runsIn: 'activity',
  // The function's output (which can carry its secrets in any encoding) lands in the run, where any step can send it on.
  scopes: ['functions:run'],
  with: schema,
  // Room for the longest function timeout (15m); heartbeats while the call runs let Temporal
  // notice a dead worker within the heartbeat timeout instead.
  defaults: {
    timeout: '16m',
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  },
  checkReferences(input, refs) {
    const name = typeof input.function === 'string' ? parseFunctionRef(input.function)?.name : undefined;
    if (!name || refs.hasFunction(name)) return [];
    return [{ path: ['function'], message: `function "${name}" is not defined: apply a kind: Function document named "${name}"` }];
  },
  async plan(input, services) {
    const call = await services.callFunction(input.function, input.input);
    if (!call.ran)
      return { effects: [{ kind: 'function', function: input.function, ran: false, reason: call.reason }], unknownReason: call.reason };
    if (!call.outcome.ok) throw functionCallError(call.outcome);
    const output = functionCallOutput(call.outcome);
    return { effects: [{ kind: 'function', function: input.function, ran: true, output: output.output ?? null }], output };
  },
  async run(input, services) {
    // Recorded once it succeeded: a retry after a crash returns this result rather than calling
    // again (a second Temporary Access Pass, a second ticket).
    return services.once(async () => {
      return functionCallOutput(await callFunction(services, input.function, input.input));
    });
  },
});
