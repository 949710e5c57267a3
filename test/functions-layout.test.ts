/**
 * The functions/ room's own rules, over its relative imports: no import cycle between its files,
 * and the sandbox knows nothing of the engine — functions/sandbox/ reaches only itself, network/,
 * types.ts and compile.ts; functions/network/ only itself, types.ts and cel/network.ts (addresses).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Each .ts file under functions/ (paths relative to the root) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(join(ROOT, 'functions'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files.map((name) => posix.join('functions', name))) {
    const imported = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true).importedFiles.map((reference) => reference.fileName);
    graph.set(
      file,
      imported.filter((specifier) => specifier.startsWith('.')).map((specifier) => relative(ROOT, join(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts')),
    );
  }
  return graph;
}

/** One cycle as a path `a → b → … → a`, or undefined when there is none. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (file: string, path: string[]): string[] | undefined => {
    if (path.includes(file)) return [...path.slice(path.indexOf(file)), file];
    if (done.has(file)) return undefined;
    for (const target of graph.get(file) ?? []) {
      const cycle = visit(target, [...path, file]);
      if (cycle) return cycle;
    }
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file, []);
    if (cycle) return cycle;
  }
  return undefined;
}

const ALLOWED: Record<string, (target: string) => boolean> = {
  'functions/sandbox/': (target) => /^functions\/(sandbox|network)\//.test(target) || target === 'functions/types.ts' || target === 'functions/compile.ts',
  'functions/network/': (target) => target.startsWith('functions/network/') || target === 'functions/types.ts' || target === 'cel/network.ts',
};

test('no import cycle between the files of functions/', () => {
  const graph = importGraph();
  assert.ok(graph.has('functions/sandbox/pool.ts') && graph.has('functions/network/fetch.ts'), 'the walk found the subfolders');
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import cycle: ${cycle?.join(' → ')}`);
});

test('functions/sandbox/ and functions/network/ import nothing of the engine, the store or functions/service.ts', () => {
  const wrong: string[] = [];
  for (const [file, targets] of importGraph()) {
    const folder = Object.keys(ALLOWED).find((prefix) => file.startsWith(prefix));
    if (folder) wrong.push(...targets.filter((target) => !ALLOWED[folder](target)).map((target) => `${file} → ${target}`));
  }
  assert.deepEqual(wrong, []);
});
