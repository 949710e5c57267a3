/**
 * Turns a function's TypeScript into one self-contained CommonJS-shaped script with esbuild.
 *
 * Imports are closed by default: only `npm:<package>` (and its subpaths) for a package in
 * FUNCTION_PACKAGES resolves, from idflow's own node_modules, and is bundled in. Everything else
 * (node builtins, relative files, other packages) is a COMPILE_ERROR at the import's position.
 * Dynamic `import()` is lowered to `require()`, which does not exist in the sandbox, so no
 * module loader is ever reached at run time.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import type { CompiledFunction } from './types.js';

/** Packages a function may import as `npm:<name>` or `npm:<name>/<subpath>`. */
export const FUNCTION_PACKAGES = ['date-fns'] as const;

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
/**
 * idflow's node_modules as esbuild names the files in it: by their real path, which is elsewhere
 * when node_modules is a symlink (a shared or linked install).
 */
const NODE_MODULES = [join(PROJECT_ROOT, 'node_modules'), realNodeModules()].map((directory) => `${directory}${sep}`);
const ALLOWLIST_TEXT = FUNCTION_PACKAGES.map((name) => `npm:${name}`).join(', ');

/** Thrown by compileFunction; `message` is "file:line:column: what is wrong" for each problem. */
export class FunctionCompileError extends Error {
  readonly code = 'COMPILE_ERROR';

  constructor(
    message: string,
    /** Where in the function's own source the first problem is, when esbuild says. */
    readonly position?: { line: number; column: number },
  ) {
    super(message);
  }
}

export async function compileFunction(source: string, filename = 'function.ts'): Promise<CompiledFunction> {
  const bundled = new Set<string>();
  let text: string;
  try {
    const result = await build({
      stdin: { contents: source, sourcefile: filename, loader: 'ts', resolveDir: PROJECT_ROOT },
      // Error locations relative to the project, whatever the caller's working directory: the
      // source is named `filename`, a package file node_modules/... (not ../../work/...).
      absWorkingDir: PROJECT_ROOT,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      // Keep unused imports, so that every import the author wrote is checked against the allowlist.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      // `import()` becomes `require()`, which the sandbox does not define.
      supported: { 'dynamic-import': false },
      plugins: [closedImports(bundled)],
      logLevel: 'silent',
      legalComments: 'none',
      charset: 'utf8',
    });
    text = result.outputFiles[0]?.text ?? '';
  } catch (error) {
    throw new FunctionCompileError(describeBuildFailure(error, filename), firstPositionInSource(error, filename));
  }
  return { code: text, hash: hashOf(text), packages: [...bundled].sort() };
}

export function hashOf(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

/** Marks the plugin's own resolve() of an allowlisted package, which esbuild's resolver then handles. */
const RESOLVING_ALLOWED = Symbol('resolving an allowed package');

/** Resolves the allowlisted `npm:` imports of the function; refuses every other import it makes. */
function closedImports(bundled: Set<string>): Plugin {
  return {
    name: 'idflow-closed-imports',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === 'entry-point' || args.pluginData === RESOLVING_ALLOWED) return undefined;
        if (args.importer !== '' && insideAllowedPackage(args.importer)) {
          // A bundled package's own files may import each other, never anything outside it.
          if (args.path.startsWith('.')) return undefined;
          const name = packageNameOf(args.path);
          if (name && isAllowedPackage(name)) return undefined;
          return { errors: [{ text: `${relative(PROJECT_ROOT, args.importer)} imports "${args.path}", which is not an allowed package` }] };
        }
        const specifier = args.path.startsWith('npm:') ? args.path.slice('npm:'.length) : undefined;
        const name = specifier === undefined ? undefined : packageNameOf(specifier);
        if (specifier === undefined || name === undefined || !isAllowedPackage(name)) {
          return {
            errors: [
              {
                text: `cannot import "${args.path}": a function may only import ${ALLOWLIST_TEXT} (with subpaths, e.g. npm:date-fns/format)`,
              },
            ],
          };
        }
        const resolved = await pluginBuild.resolve(specifier, { kind: args.kind, resolveDir: PROJECT_ROOT, pluginData: RESOLVING_ALLOWED });
        if (resolved.errors.length > 0)
          return { errors: [{ text: `cannot import "${args.path}": ${resolved.errors[0]?.text ?? 'not found'}` }] };
        bundled.add(name);
        return { path: resolved.path };
      });
    },
  };
}

function isAllowedPackage(name: string): boolean {
  return (FUNCTION_PACKAGES as readonly string[]).includes(name);
}

/** "date-fns/format" → "date-fns"; "@scope/pkg/x" → "@scope/pkg"; undefined for relative or absolute paths. */
function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier === '') return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function realNodeModules(): string {
  try {
    return realpathSync(join(PROJECT_ROOT, 'node_modules'));
  } catch {
    return join(PROJECT_ROOT, 'node_modules');
  }
}

function insideAllowedPackage(file: string): boolean {
  const nodeModules = NODE_MODULES.find((directory) => file.startsWith(directory));
  if (nodeModules === undefined) return false;
  const name = packageNameOf(file.slice(nodeModules.length).split(sep).join('/'));
  return name !== undefined && isAllowedPackage(name);
}

function buildMessages(error: unknown): Message[] | undefined {
  const messages = (error as { errors?: Message[] }).errors;
  return Array.isArray(messages) && messages.length > 0 ? messages : undefined;
}

/** esbuild names the source `filename` (its sourcefile) or `<stdin>`; other files are bundled packages'. */
function firstPositionInSource(error: unknown, filename: string): { line: number; column: number } | undefined {
  const where = buildMessages(error)?.find(
    (message) => message.location?.file === '<stdin>' || message.location?.file === filename,
  )?.location;
  return where ? { line: where.line, column: where.column + 1 } : undefined;
}

function describeBuildFailure(error: unknown, filename: string): string {
  const messages = buildMessages(error);
  if (!messages) return `${filename}: ${error instanceof Error ? error.message : String(error)}`;
  return messages
    .slice(0, 10)
    .map((message) => {
      const where = message.location;
      const file = where ? (where.file === '<stdin>' ? filename : where.file.split(PROJECT_ROOT).join('')) : filename;
      return where ? `${file}:${where.line}:${where.column + 1}: ${message.text}` : `${file}: ${message.text}`;
    })
    .join('\n');
}
