/**
 * idflow function run|test|publish|list|versions|rollback, and idflow secret set|list|delete.
 * `run` and `test` take a FILE.ts (run here, no server needed) or a NAME (run by the API).
 */
import { FunctionSchema, type FunctionSpec } from '../../functions/document.js';
import type { JsonValue } from '../../core/json.js';
import type { Command } from 'commander';
import { readFile, readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseDuration } from '../../core/duration.js';
import { functionDocumentsIn } from '../../definitions/files.js';
import { functionDirectory } from '../../functions/directory.js';
import { FUNCTION_REF_HINT, parseFunctionRef } from '../../functions/ref.js';
import { FunctionSandbox } from '../../functions/sandbox/pool.js';
import { privateNetworksFrom, type FunctionSummary, type FunctionVersionInfo } from '../../functions/service.js';
import { parseTestFile, runTestCases, type FunctionTestCase, type TestCaseResult } from '../../functions/testing.js';
import type { FunctionDirectory, FunctionRunRequest, FunctionRunResult } from '../../functions/types.js';
import { openStore } from '../../store/index.js';
import { connect } from '../client.js';
import { CliError, printJson, type Output } from '../output.js';
import { existingStoreLocation, storeFlags, type StoreFlags } from '../store.js';

interface RunOptions extends StoreFlags {
  input?: string;
  allowHost: string[];
  timeoutMs?: string;
  memoryMb?: string;
  secret: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const isFile = (target: string): boolean => target.endsWith('.ts');

/** The one JSON object `function run` prints: the documented keys, in a stable order. */
function runReport(result: FunctionRunResult & { function?: string; version?: number }): object {
  const { ok, output, error, logs, durationMs } = result;
  return {
    ok,
    ...(ok ? { output } : { error }),
    logs,
    durationMs,
    ...(result.version !== undefined && { function: result.function, version: result.version }),
  };
}

/** The settings of the kind: Function document beside FILE that names it, if there is one; an invalid one is refused, naming its file and field. */
async function documentFor(file: string): Promise<Partial<FunctionSpec>> {
  const folder = dirname(file);
  const entries = await readdir(folder).catch(() => [] as string[]);
  for (const entry of entries.filter((name) => /\.ya?ml$/.test(name))) {
    const documents = functionDocumentsIn(await readFile(join(folder, entry), 'utf8'));
    const naming = documents.find((document) => resolve(folder, document.file) === resolve(file));
    if (!naming) continue;
    const parsed = FunctionSchema.safeParse(naming);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new CliError(
      `${join(folder, entry)}: ${issue.path.map(String).join('.')}: ${issue.message} (the document that names ${basename(file)}; \`idflow validate\` lists every problem)`,
      2,
    );
  }
  return {};
}

/** ctx.directory for a local run: the store's directory when there is one (see cli/store.ts), else an empty one. */
async function localDirectory(flags: StoreFlags): Promise<{ directory: FunctionDirectory; close(): Promise<void> }> {
  const store = await openStore(existingStoreLocation(flags, { memory: true }));
  return { directory: functionDirectory(store.directory), close: () => store.close() };
}

function integer(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new CliError(`${flag} must be a positive whole number, got "${text}"`, 2);
  return value;
}

/** The request for a local run of FILE: the document's settings, then the flags. */
async function localRequest(file: string, options: RunOptions): Promise<FunctionRunRequest> {
  const source = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`${file}: no such file`, 2);
  });
  const document = await documentFor(file);
  const secrets: Record<string, string> = {};
  for (const pair of options.secret) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(`--secret takes KEY=VALUE, got "${pair}"`, 2);
    secrets[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    source,
    filename: basename(file),
    input: null,
    allowHosts: [...(document.allowedHosts ?? []), ...options.allowHost],
    allowPrivateNetworks: privateNetworksFrom(process.env),
    timeoutMs: integer(options.timeoutMs, '--timeout-ms') ?? (document.timeout ? parseDuration(document.timeout) : undefined),
    memoryMb: integer(options.memoryMb, '--memory-mb') ?? document.memoryMb,
    secrets,
  };
}

function parseInput(text: string | undefined): JsonValue {
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new CliError(`--input is not JSON: ${error instanceof Error ? error.message : String(error)}`, 2);
  }
}

async function runCommand(output: Output, target: string, options: RunOptions): Promise<void> {
  let result: FunctionRunResult & { function?: string; version?: number };
  try {
    const input = parseInput(options.input);
    if (isFile(target)) {
      const request = await localRequest(target, options);
      const sandbox = new FunctionSandbox();
      const local = await localDirectory(options);
      try {
        result = await sandbox.run({ ...request, input, directory: local.directory });
      } finally {
        sandbox.close();
        await local.close();
      }
    } else {
      if (options.allowHost.length > 0 || options.secret.length > 0 || options.timeoutMs || options.memoryMb) {
        throw new CliError(
          `--allow-host, --secret, --timeout-ms and --memory-mb apply to a FILE run; function ${target} runs with its document's settings and stored secrets`,
          2,
        );
      }
      const ref = parseFunctionRef(target);
      if (!ref) throw new CliError(`"${target}" is neither a FILE.ts nor a function: ${FUNCTION_REF_HINT}`, 2);
      result = await (
        await connect()
      ).request('POST', `/v1/functions/${encodeURIComponent(ref.name)}/runs`, { input, version: ref.version });
    }
  } catch (error) {
    // Even a usage error is one JSON object on stdout, as scripts expect.
    if (!(error instanceof CliError)) throw error;
    output.out(JSON.stringify({ ok: false, error: { code: 'INVALID_REQUEST', message: error.message }, logs: [], durationMs: 0 }));
    throw new CliError('', error.exitCode);
  }
  output.out(JSON.stringify(runReport(result)));
  if (!result.ok) throw new CliError('', 1);
}

function printResults(output: Output, results: TestCaseResult[]): void {
  for (const result of results) {
    output.out(
      `${result.passed ? '✓' : '✗'} ${result.name}  (${result.result.durationMs} ms)${result.problem ? `\n    ${result.problem}` : ''}`,
    );
    if (!result.passed) for (const line of result.result.logs) output.out(`    log: ${line}`);
  }
  const failed = results.filter((result) => !result.passed).length;
  output.out(`${results.length - failed} passed, ${failed} failed`);
  if (failed > 0) throw new CliError('', 1);
}

async function readCases(file: string): Promise<FunctionTestCase[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`${file}: no such file (test cases are NAME.test.json beside the function; or give --cases FILE)`, 2);
  });
  try {
    return parseTestFile(text, file);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 2);
  }
}

async function testCommand(output: Output, target: string, options: { cases?: string }): Promise<void> {
  if (isFile(target)) {
    const cases = await readCases(options.cases ?? target.replace(/\.ts$/, '.test.json'));
    const request = await localRequest(target, { allowHost: [], secret: [] });
    const sandbox = new FunctionSandbox();
    try {
      printResults(output, await runTestCases(cases, (input, overrides) => sandbox.run({ ...request, input, ...overrides })));
    } finally {
      sandbox.close();
    }
    return;
  }
  const client = await connect();
  let casesFile = options.cases;
  if (!casesFile) {
    const { functions } = await client.request<{ functions: FunctionSummary[] }>('GET', '/v1/functions');
    const summary = functions.find((candidate) => candidate.name === target);
    if (!summary) throw new CliError(`function "${target}" does not exist: apply a kind: Function document named "${target}"`);
    casesFile = join(dirname(summary.file), `${target}.test.json`);
  }
  const cases = await readCases(casesFile);
  const { results } = await client.request<{ results: TestCaseResult[] }>('POST', `/v1/functions/${encodeURIComponent(target)}/tests`, {
    cases,
  });
  printResults(output, results);
}

function printVersion(output: Output, version: FunctionVersionInfo, current?: number): void {
  const marker = current === undefined ? '' : version.version === current ? '● ' : '  ';
  output.out(
    `${marker}v${String(version.version).padEnd(4)} ${version.codeHash.slice(0, 12)}  ${version.createdAt}  ${version.createdBy.padEnd(12)} ${version.message}`,
  );
}

/** A secret's value from stdin, without its trailing newline; never from an argument (shell history). */
export async function readSecretValue(example = 'idflow secret set NAME KEY'): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('value (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const value = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!value) throw new CliError(`no value on stdin: pipe it in, e.g. \`printf %s "$TOKEN" | ${example}\``, 2);
  return value;
}

export function registerFunctionCommands(program: Command, output: Output): void {
  const fn = program.command('function').description('Functions: sandboxed TypeScript with versions, secrets and tests');
  storeFlags(fn.command('run'))
    .description('Run a function once and print one JSON object: { ok, output | error, logs, durationMs }')
    .argument('<target>', 'FILE.ts (runs here, no server needed) or NAME / NAME@VERSION (runs in the engine)')
    .option('--input <json>', 'the input, as JSON', '{}')
    .option('--allow-host <host>', 'a host ctx.fetch may reach (repeatable; FILE runs)', collect, [])
    .option('--timeout-ms <n>', 'wall-clock limit (FILE runs; default 5000)')
    .option('--memory-mb <n>', 'memory limit (FILE runs; default 128)')
    .option('--secret <key=value>', 'a secret for ctx.getConfig (repeatable; FILE runs)', collect, [])
    .action((target: string, options: RunOptions) => runCommand(output, target, options));
  fn.command('test')
    .description("Run a function's test cases (NAME.test.json: input → expected output, stubbed fetch)")
    .argument('<target>', 'FILE.ts or NAME')
    .option('--cases <file>', 'the test cases file')
    .action((target: string, options: { cases?: string }) => testCommand(output, target, options));
  fn.command('publish')
    .description('Publish a new immutable version of a function from its source')
    .argument('<name>')
    .argument('[file]', 'the TypeScript source (default: the file it was applied from)')
    .option('-m, --message <text>', 'what changed', 'published')
    .action(async (name: string, file: string | undefined, options: { message: string }) => {
      const client = await connect();
      let path = file;
      if (!path) {
        const { functions } = await client.request<{ functions: FunctionSummary[] }>('GET', '/v1/functions');
        path = functions.find((candidate) => candidate.name === name)?.file;
        if (!path) throw new CliError(`function "${name}" does not exist: apply a kind: Function document named "${name}"`);
      }
      const source = await readFile(path, 'utf8').catch(() => {
        throw new CliError(`${path}: no such file`, 2);
      });
      const published = await client.request<FunctionVersionInfo & { created: boolean }>(
        'POST',
        `/v1/functions/${encodeURIComponent(name)}/versions`,
        { source, filename: path, message: options.message },
      );
      output.out(
        published.created
          ? `✓ ${name} v${published.version} published (${published.codeHash.slice(0, 12)})`
          : `= ${name} v${published.version} unchanged: the code is the same`,
      );
    });
  fn.command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { functions } = await (await connect()).request<{ functions: FunctionSummary[] }>('GET', '/v1/functions');
      if (options.json) return printJson(output, functions);
      if (functions.length === 0) return output.out('no functions: apply a kind: Function document with `idflow apply PATH`');
      for (const f of functions)
        output.out(
          `${f.name.padEnd(24)} v${String(f.version).padEnd(4)} ${f.codeHash.slice(0, 12)}  hosts: ${f.allowedHosts.join(', ') || '(none)'}  secrets: ${f.secrets.join(', ') || '(none)'}  ${f.description ?? ''}`,
        );
    });
  fn.command('versions')
    .argument('<name>')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { json?: boolean }) => {
      const history = await (
        await connect()
      ).request<{ current: number; versions: FunctionVersionInfo[] }>('GET', `/v1/functions/${encodeURIComponent(name)}/versions`);
      if (options.json) return printJson(output, history);
      for (const version of history.versions) printVersion(output, version, history.current);
    });
  fn.command('rollback')
    .description('Make an earlier version current again (as a new version with its content)')
    .argument('<name>')
    .argument('<version>')
    .action(async (name: string, version: string) => {
      const target = integer(version.replace(/^v/, ''), 'VERSION') as number;
      const result = await (
        await connect()
      ).request<FunctionVersionInfo>('POST', `/v1/functions/${encodeURIComponent(name)}/rollback`, { version: target });
      output.out(`✓ ${name} v${result.version} is current (the content of v${target})`);
    });

  const secret = program.command('secret').description("Functions' secrets: stored encrypted, listed by name, never printed");
  secret
    .command('set')
    .description('Set a secret from stdin: printf %s "$TOKEN" | idflow secret set FUNCTION KEY')
    .argument('<function>')
    .argument('<key>')
    .action(async (name: string, key: string) => {
      const value = await readSecretValue();
      await (await connect()).request('PUT', `/v1/functions/${encodeURIComponent(name)}/secrets/${encodeURIComponent(key)}`, { value });
      output.out(`✓ ${name}: ${key} set`);
    });
  secret
    .command('list')
    .argument('<function>')
    .action(async (name: string) => {
      const { secrets } = await (
        await connect()
      ).request<{ secrets: { key: string; updatedAt: string; updatedBy: string }[] }>(
        'GET',
        `/v1/functions/${encodeURIComponent(name)}/secrets`,
      );
      if (secrets.length === 0) return output.out(`function ${name} has no secrets`);
      for (const entry of secrets) output.out(`${entry.key.padEnd(24)} set ${entry.updatedAt} by ${entry.updatedBy}`);
    });
  secret
    .command('delete')
    .argument('<function>')
    .argument('<key>')
    .action(async (name: string, key: string) => {
      await (await connect()).request('DELETE', `/v1/functions/${encodeURIComponent(name)}/secrets/${encodeURIComponent(key)}`);
      output.out(`✓ ${name}: ${key} deleted`);
    });
}
