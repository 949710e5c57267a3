/** Reads definition files from paths that may be files or folders. */
import type { SourceFile } from './types.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

const DEFINITION_FILE = /\.(ya?ml|json)$/;
/** Companions that live beside definitions but are not: test cases, sample event payloads, tool configs. */
const NOT_DEFINITIONS = /\.(test|event)\.json$|(^|[\\/])(tsconfig|jsconfig|package|package-lock)\.json$/;

async function walk(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file or folder`);
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => entry.name !== 'node_modules' && !entry.name.startsWith('.'))
      .map((entry) => join(path, entry.name))
      .map(async (child) =>
        (await stat(child)).isDirectory() ? walk(child) : DEFINITION_FILE.test(child) && !NOT_DEFINITIONS.test(child) ? [child] : [],
      ),
  );
  return nested.flat();
}

/**
 * Every definition file under the given paths (files are taken as given, folders are searched
 * for *.yaml, *.yml and *.json), sorted, with paths relative to `cwd` for error messages.
 */
export async function collectDefinitionFiles(paths: string[], cwd = process.cwd()): Promise<SourceFile[]> {
  const found = [...new Set((await Promise.all(paths.map(walk))).flat())].sort();
  const documents = await Promise.all(found.map(async (file) => ({ file, content: await readFile(file, 'utf8') })));
  // Function documents travel with the TypeScript they name; a missing one is reported by the loader.
  const sources = [
    ...new Set(
      documents.flatMap(({ file, content }) => functionDocumentsIn(content).map((document) => join(dirname(file), document.file))),
    ),
  ].sort();
  const readable = await Promise.all(sources.map(async (file) => ({ file, content: await readFile(file, 'utf8').catch(() => undefined) })));
  return [
    ...documents,
    ...readable.flatMap((source) => (source.content === undefined ? [] : [{ file: source.file, content: source.content }])),
  ].map(({ file, content }) => ({
    path: relative(cwd, file) || file,
    content,
  }));
}

/** A `kind: Function` document as written, before validation (the loader validates it). */
export interface RawFunctionDocument {
  file: string;
  allowedHosts?: string[];
  timeout?: string;
  memoryMb?: number;
}

/** The `kind: Function` documents with a `file` in a file's text (anything unparsable is the loader's to report). */
export function functionDocumentsIn(content: string): RawFunctionDocument[] {
  return parseAllDocuments(content).flatMap((document) => {
    if (!('toJS' in document) || document.errors.length > 0) return [];
    let spec: (Omit<RawFunctionDocument, 'file'> & { kind?: unknown; file?: unknown }) | null;
    try {
      spec = document.toJS() as typeof spec;
    } catch {
      return []; // e.g. an alias bomb: the loader reports it with its file and line
    }
    return spec?.kind === 'Function' && typeof spec.file === 'string' ? [{ ...spec, file: spec.file }] : [];
  });
}
