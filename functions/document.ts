/** The `kind: Function` document: a TypeScript module run in the sandbox, with its hosts and limits. */
import { z } from 'zod';
import { DurationSchema as duration, parseDuration } from '../core/duration.js';
import { DefinitionNameSchema as name } from '../core/names.js';
import { parseHostPattern } from './network/hosts.js';
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, MAX_MEMORY_MB, MAX_TIMEOUT_MS, MIN_MEMORY_MB } from './types.js';

function hostPatternProblem(pattern: string): string | undefined {
  try {
    parseHostPattern(pattern);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const hostPattern = z.string().superRefine((pattern, context) => {
  const problem = hostPatternProblem(pattern);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});

/** A function: a TypeScript module run in the sandbox (see docs/functions.md). */
export const FunctionSchema = z
  .object({
    kind: z.literal('Function'),
    name,
    description: z.string().optional(),
    file: z
      .string()
      .min(1)
      .regex(/\.ts$/, 'expected a TypeScript file ending in .ts')
      .describe('The TypeScript module, relative to this document; its default export is `async function (input, ctx)`.'),
    allowedHosts: z
      .array(hostPattern)
      .default([])
      .describe('Hosts ctx.fetch may reach: "api.example.com", "*.example.com", optionally ":port". Nothing else is reachable.'),
    timeout: duration
      .default(`${DEFAULT_TIMEOUT_MS / 1000}s`)
      .refine((text) => (parseDuration(text) ?? 0) <= MAX_TIMEOUT_MS, { message: `at most ${MAX_TIMEOUT_MS / 60_000}m` })
      .describe('Wall-clock limit of one call; the call is killed and fails with TIMEOUT.'),
    memoryMb: z
      .number()
      .int()
      .min(MIN_MEMORY_MB)
      .max(MAX_MEMORY_MB)
      .default(DEFAULT_MEMORY_MB)
      .describe('Memory limit of one call, heap and off-heap; MEMORY_LIMIT beyond it.'),
    planSafe: z
      .boolean()
      .default(false)
      .describe('The function has no side effects (a username generator): plans run it, with ctx.fetch refused, to show its output.'),
  })
  .strict();

export type FunctionSpec = z.output<typeof FunctionSchema>;
