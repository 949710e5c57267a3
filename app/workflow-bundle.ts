/**
 * The workflow bundle: workflows/ and everything they import, packed by webpack for Temporal's
 * workflow sandbox. Bundling costs seconds and ~200 MB of memory that a Node process never gives
 * back, so a worker does not bundle in its own process: it loads a bundle built beforehand (at
 * image build: `node --import tsx app/workflow-bundle.ts`) or, when none fits its sources, has a
 * short-lived child process build one. Bundles are cached by a hash of the sources, so a changed
 * source never runs a stale bundle and an unchanged one is never built twice.
 */
import { bundleWorkflowCode, type WorkflowBundlePath } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stepRegistry } from '../steps/registry.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where bundles are kept: beside the dependencies they were built from. */
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'idflow');
/** Folders of the repository that never reach a workflow. */
const NOT_BUNDLED = new Set(['node_modules', 'test', 'bench', 'docs', 'examples', 'deploy', 'schema', '.git', '.tools', '.ci']);

/**
 * Modules each workflow thread evaluates once and shares between workflows (Temporal's
 * `preloadModules`), where it would otherwise evaluate them again for every workflow: building
 * every step type's zod schema and the CEL environment per run was most of idflow's CPU per run
 * (bench/engine.ts). Temporal deep-freezes what it shares, and a frozen zod schema cannot parse
 * (zod fills in members on first use), so only schemas the workflow never parses are shared: the
 * activity step types'. The workflow step types (wait, run_automation), whose input the workflow
 * parses, are evaluated per workflow and must build their schemas from `z` alone.
 */
function preloadedModules(): string[] {
  const activitySteps = [...stepRegistry.values()].filter((step) => step.runsIn === 'activity').map((step) => `steps/${step.type}.ts`);
  return ['@marcbachmann/cel-js', 'cel/template.ts', 'triggers/events.ts', ...activitySteps].map((spec) =>
    spec.startsWith('@') ? spec : join(ROOT, spec),
  );
}

/** The TypeScript sources a bundle may contain, and the lock file that pins the packages it may contain. */
async function sourceFiles(dir = ROOT): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !NOT_BUNDLED.has(entry.name)) files.push(...(await sourceFiles(path)));
    else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(path);
  }
  return dir === ROOT ? [...files, join(ROOT, 'package-lock.json')].sort() : files;
}

/** The cache file of the bundle built from the sources as they are now. */
async function bundleFile(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await sourceFiles())
    hash
      .update(relative(ROOT, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  return join(CACHE_DIR, `workflows-${hash.digest('hex').slice(0, 16)}.js`);
}

const SOURCE_MAP_COMMENT = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

/**
 * The bundle with its inline source map kept (Temporal requires one, and maps workflow stack
 * traces to files and lines with it) but without the sources' text in it: 1.7 of its 2.3 MB, which
 * every worker would otherwise hold parsed in two threads for its lifetime.
 */
function withoutSourcesContent(code: string): string {
  const at = code.lastIndexOf(SOURCE_MAP_COMMENT);
  if (at < 0) return code;
  const map = JSON.parse(Buffer.from(code.slice(at + SOURCE_MAP_COMMENT.length).trim(), 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  delete map.sourcesContent;
  return `${code.slice(0, at)}${SOURCE_MAP_COMMENT}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

/** Bundles in this process and writes the code to `file` (atomically: concurrent builders are harmless). */
export async function buildWorkflowBundle(file: string): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(ROOT, 'workflows', 'index.ts'),
    preloadModules: preloadedModules(),
    logger: {
      log() {},
      trace() {},
      debug() {},
      info() {},
      warn: (message) => console.warn(message),
      error: (message) => console.error(message),
    },
  });
  await mkdir(join(file, '..'), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, withoutSourcesContent(code));
  await rename(partial, file);
}

/** Bundles of other sources, untouched for a day: a checkout that changes often would pile them up (~5 MB each). */
const STALE_BUNDLE_MS = 24 * 60 * 60 * 1000;

async function pruneStaleBundles(keep: string): Promise<void> {
  const names = await readdir(CACHE_DIR).catch(() => []);
  for (const name of names) {
    const path = join(CACHE_DIR, name);
    if (path === keep || !/^workflows-\w+\.js$/.test(name)) continue;
    const modified = await stat(path).then(
      (stats) => stats.mtimeMs,
      () => Date.now(),
    );
    if (Date.now() - modified > STALE_BUNDLE_MS) await rm(path, { force: true });
  }
}

/** Runs buildWorkflowBundle in a child process, so that webpack's memory leaves with it. */
function buildInChild(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`building the workflow bundle failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}

let bundle: Promise<WorkflowBundlePath> | undefined;

/** The workflow bundle for this process's sources: cached on disk, built in a child process when missing. */
export function workflowBundle(): Promise<WorkflowBundlePath> {
  bundle ??= (async () => {
    const file = await bundleFile();
    if (existsSync(file)) return { codePath: file };
    try {
      await buildInChild(file);
      await pruneStaleBundles(file);
      return { codePath: file };
    } catch (error) {
      // A read-only install without a prepared bundle: build into a temporary directory instead.
      if (!(error instanceof Error && /EACCES|EROFS|EPERM/.test(error.message))) throw error;
      const temporary = join(tmpdir(), `idflow-${file.split('/').pop()}`);
      if (!existsSync(temporary)) await buildInChild(temporary);
      return { codePath: temporary };
    }
  })();
  bundle.catch(() => (bundle = undefined));
  return bundle;
}

// `node --import tsx app/workflow-bundle.ts [FILE]`: builds the bundle into FILE, or into the cache unless it is there.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const build = async (): Promise<void> => {
    const file = process.argv[2] ?? (await bundleFile());
    // Into the cache: only when it lacks this state of the sources.
    if (process.argv[2] !== undefined || !existsSync(file)) await buildWorkflowBundle(file);
    console.log(file);
  };
  build().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
