/** Reads definition files from paths that may be files or folders. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { SourceFile } from '../engine/types.js';

const DEFINITION_FILE = /\.(ya?ml|json)$/;
/** Companions that live beside definitions but are not: test cases and sample event payloads. */
const NOT_DEFINITIONS = /\.(test|event)\.json$/;

async function walk(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file or folder`);
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => entry.name !== 'node_modules' && !entry.name.startsWith('.'))
      .map((entry) => join(path, entry.name))
      .map(async (child) => ((await stat(child)).isDirectory() ? walk(child) : DEFINITION_FILE.test(child) && !NOT_DEFINITIONS.test(child) ? [child] : [])),
  );
  return nested.flat();
}

/**
 * Every definition file under the given paths (files are taken as given, folders are searched
 * for *.yaml, *.yml and *.json), sorted, with paths relative to `cwd` for error messages.
 */
export async function collectDefinitionFiles(paths: string[], cwd = process.cwd()): Promise<SourceFile[]> {
  const found = [...new Set((await Promise.all(paths.map(walk))).flat())].sort();
  return Promise.all(found.map(async (file) => ({ path: relative(cwd, file) || file, content: await readFile(file, 'utf8') })));
}
