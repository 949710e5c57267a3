/**
 * functions/sdk.d.ts, the one declaration of what a function sees, against the sandbox and the
 * host: it compiles with only the sandbox's globals (no Node, no DOM), and the host's side of
 * `ctx.directory` (functions/types.ts, the bridge, functions/directory.ts) is derived from it, so
 * a drift on either side is a type error. Each drift is made on an in-memory copy and must fail.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SDK = join(ROOT, 'functions/sdk.d.ts');
const SANDBOX_GLOBALS = join(ROOT, 'functions/sandbox-globals.d.ts');
const DIRECTORY = join(ROOT, 'functions/directory.ts');

function compilerOptions(project: string, overrides: ts.CompilerOptions = {}): ts.CompilerOptions {
  const file = join(ROOT, project, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(file, ts.sys.readFile);
  assert.equal(error, undefined, `${file} does not parse`);
  return { ...ts.parseJsonConfigFileContent(config, ts.sys, join(ROOT, project)).options, ...overrides };
}

/** Parsed files by options and path: each program here reads the same few hundred files, parse them once. */
const parsed = new WeakMap<ts.CompilerOptions, Map<string, ts.SourceFile | undefined>>();

/** Diagnostics of a program over `rootNames`, with some files' text replaced (absolute path → text). */
function diagnostics(rootNames: string[], options: ts.CompilerOptions, replaced: Record<string, string> = {}): string[] {
  const host = ts.createCompilerHost(options);
  const { getSourceFile, readFile } = host;
  const cache = parsed.get(options) ?? new Map<string, ts.SourceFile | undefined>();
  parsed.set(options, cache);
  host.readFile = (file) => replaced[resolve(file)] ?? readFile.call(host, file);
  host.getSourceFile = (file, languageVersion, ...rest) => {
    const text = replaced[resolve(file)];
    if (text !== undefined) return ts.createSourceFile(file, text, languageVersion);
    if (!cache.has(file)) cache.set(file, getSourceFile.call(host, file, languageVersion, ...rest));
    return cache.get(file);
  };
  const program = ts.createProgram(rootNames, options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map(
      (diagnostic) =>
        `${diagnostic.file ? `${diagnostic.file.fileName.slice(ROOT.length)}: ` : ''}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`,
    );
}

/** `text` with `from` replaced by `to`, which must occur exactly once (so a test cannot edit nothing). */
function edit(text: string, from: string, to: string): string {
  assert.equal(text.split(from).length, 2, `expected exactly one "${from}"`);
  return text.replace(from, to);
}

test('sdk.d.ts compiles with only the sandbox globals, its own declarations checked too (no Node, no DOM)', () => {
  // skipLibCheck off: the examples' tsconfig skips .d.ts files, which once hid `fetch(url: string | URL)` naming a class the sandbox lacked.
  assert.deepEqual(diagnostics([SDK, SANDBOX_GLOBALS], compilerOptions('examples/functions', { skipLibCheck: false })), []);
});

describe("the host's ctx.directory is derived from sdk.d.ts", () => {
  const options = compilerOptions('.');
  const roots = [DIRECTORY, join(ROOT, 'functions/sandbox/bridge.ts')];
  const sdk = ts.sys.readFile(SDK) ?? '';
  const directory = ts.sys.readFile(DIRECTORY) ?? '';

  test('as the files are, the host side type-checks against sdk.d.ts', () => {
    assert.deepEqual(diagnostics(roots, options), []);
  });

  test('a method added to sdk.d.ts only is an error in the method list, the bridge and the implementation', () => {
    const added = edit(
      sdk,
      '  listUsers(filter?: UserFilter): Promise<JsonValue>;',
      '  listUsers(filter?: UserFilter): Promise<JsonValue>;\n  listGroups(userId: string): Promise<JsonValue>;',
    );
    const problems = diagnostics(roots, options, { [SDK]: added }).join('\n');
    for (const file of ['functions/types.ts', 'functions/sandbox/bridge.ts', 'functions/directory.ts'])
      assert.match(problems, new RegExp(`${file}: .*listGroups`), problems);
  });

  test('a method removed from sdk.d.ts only is an error in the method list and the bridge', () => {
    const removed = edit(sdk, '  findByUsername(username: string): Promise<JsonValue>;', '');
    const problems = diagnostics(roots, options, { [SDK]: removed }).join('\n');
    for (const file of ['functions/types.ts', 'functions/sandbox/bridge.ts'])
      assert.match(problems, new RegExp(`${file}: .*findByUsername`), problems);
  });

  test("listUsers's filter changed on either side is an error where the host checks it", () => {
    const sdkSide = edit(sdk, '  managerId?: string;', '  managerId?: number;');
    const hostSide = edit(directory, '    department: z.string().optional(),\n', '');
    for (const replaced of [{ [SDK]: sdkSide }, { [DIRECTORY]: hostSide }]) {
      const problems = diagnostics(roots, options, replaced);
      assert.ok(
        problems.some(
          (problem) => problem.startsWith('functions/directory.ts: ') && problem.includes("'false' does not satisfy the constraint 'true'"),
        ),
        problems.join('\n'),
      );
    }
  });
});
