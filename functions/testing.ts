/**
 * A function's test cases, `NAME.test.json` beside its source: input → expected output (or an
 * expected error code), with stubbed `ctx.fetch` responses, secrets, a trigger and directory
 * users of the case's own. `idflow function test` runs them before (or after) publishing.
 */
import type { JsonValue } from '../core/json.js';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { DirectoryDocumentSchema, applyDirectoryDocument, emptySummary } from '../directory/document.js';
import { DirectoryService } from '../directory/service.js';
import { openStore } from '../store/index.js';
import { functionDirectory } from './directory.js';
import { FUNCTION_ERROR_CODES, type FunctionRunRequest, type FunctionRunResult } from './types.js';

const FetchStubSchema = z
  .object({
    method: z.string().optional(),
    url: z.url(),
    status: z.number().int().min(100).max(599).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.json().optional(),
  })
  .strict();

const TestCaseSchema = z
  .object({
    name: z.string().min(1),
    input: z.json(),
    expect: z.json().optional().describe('The exact output (deep equality).'),
    expectError: z.enum(FUNCTION_ERROR_CODES).optional().describe('The run must fail with this code.'),
    fetch: z.array(FetchStubSchema).default([]),
    secrets: z.record(z.string(), z.string()).default({}),
    trigger: z.json().optional(),
    directory: DirectoryDocumentSchema.omit({ kind: true })
      .optional()
      .describe('What ctx.directory holds for this case: users, apps, grants, accounts ... as in a kind: Directory document.'),
  })
  .strict()
  .refine((testCase) => (testCase.expect === undefined) !== (testCase.expectError === undefined), {
    message: 'give exactly one of "expect" or "expectError"',
  });

export const TestFileSchema = z.object({ cases: z.array(TestCaseSchema).min(1) }).strict();
export type FunctionTestCase = z.output<typeof TestCaseSchema>;

export interface TestCaseResult {
  name: string;
  passed: boolean;
  /** Why it failed, in one line. */
  problem?: string;
  result: FunctionRunResult;
}

/** Parses a test file's text; errors say which case and field. */
export function parseTestFile(text: string, file: string): FunctionTestCase[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = TestFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.map(String).join('.') || '(top)'}: ${issue.message}`);
  }
  return parsed.data.cases;
}

/** What a case adds to a run: its stubs, secrets, trigger and a directory of its own users (in memory). */
async function caseOverrides(testCase: FunctionTestCase): Promise<{ overrides: Partial<FunctionRunRequest>; close(): Promise<void> }> {
  const store = await openStore({ memory: true });
  if (testCase.directory) {
    const document = { kind: 'Directory' as const, ...testCase.directory };
    const issues = await new DirectoryService(store.directory).write((tx) =>
      applyDirectoryDocument(tx, document, emptySummary(), 'test case'),
    );
    if (issues.length > 0) {
      await store.close();
      throw new Error(`test case "${testCase.name}": directory.${issues[0].path.join('.')}: ${issues[0].message}`);
    }
  }
  return {
    overrides: {
      fetchStubs: testCase.fetch,
      secrets: testCase.secrets,
      trigger: testCase.trigger,
      directory: functionDirectory(store.directory),
    },
    close: () => store.close(),
  };
}

function judge(testCase: FunctionTestCase, result: FunctionRunResult): string | undefined {
  if (testCase.expectError !== undefined) {
    if (result.ok) return `expected ${testCase.expectError}, but it returned ${JSON.stringify(result.output)}`;
    return result.error?.code === testCase.expectError
      ? undefined
      : `expected ${testCase.expectError}, got ${result.error?.code}: ${result.error?.message}`;
  }
  if (!result.ok) return `failed with ${result.error?.code}: ${result.error?.message}`;
  return isDeepStrictEqual(result.output, testCase.expect as JsonValue)
    ? undefined
    : `expected ${JSON.stringify(testCase.expect)}, got ${JSON.stringify(result.output)}`;
}

/** Runs every case (one after another, so their logs stay readable) with `run` doing the call. */
export async function runTestCases(
  cases: FunctionTestCase[],
  run: (input: JsonValue, overrides: Partial<FunctionRunRequest>) => Promise<FunctionRunResult>,
): Promise<TestCaseResult[]> {
  const results: TestCaseResult[] = [];
  for (const testCase of cases) {
    const { overrides, close } = await caseOverrides(testCase);
    try {
      const result = await run(testCase.input as JsonValue, overrides);
      const problem = judge(testCase, result);
      results.push({ name: testCase.name, passed: problem === undefined, problem, result });
    } finally {
      await close();
    }
  }
  return results;
}
