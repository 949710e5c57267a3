/**
 * The house rules of docs/architecture.md, held against every source file's imports: no import
 * cycle between files, no two top-level folders importing each other, no import from a higher
 * layer — with the layers read from the table in docs/architecture.md itself, so the map and the
 * rule cannot drift apart — and the rooms inside functions/ (the sandbox knows nothing of the
 * engine).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { cycles, importGraph, ROOT, sourceFiles } from './helpers/imports.js';

const files = sourceFiles();
const graph = importGraph(files);

/** The room a file lives in: its top-level folder, or the file itself at the top. */
const roomOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);

/** The layers table of docs/architecture.md: rows `| N | `room/` `room/` ... | ... |`, 0 the lowest. */
function layers(): Map<string, number> {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layers'));
  const layerOf = new Map<string, number>();
  for (const row of section.matchAll(/^\|\s*(\d+)\s*\|([^|]*)\|/gm)) {
    for (const [, room] of row[2].matchAll(/`([^`]+?)\/?`/g)) layerOf.set(room, Number(row[1]));
  }
  return layerOf;
}

test('the checker sees the tree: files and their imports', () => {
  assert.ok(files.length > 100, `only ${files.length} source files found`);
  assert.ok(files.includes('worker.ts') && files.includes('functions/sandbox/pool.ts'));
  const edges = [...graph.values()].reduce((sum, targets) => sum + targets.size, 0);
  assert.ok(edges > files.length, `only ${edges} imports between ${files.length} files`);
  // The detector itself can fail: a made-up cycle is found.
  const made = new Map([
    ['a.ts', new Set(['b.ts'])],
    ['b.ts', new Set(['c.ts'])],
    ['c.ts', new Set(['a.ts'])],
  ]);
  assert.deepEqual(cycles(made), [['a.ts', 'b.ts', 'c.ts']]);
});

test('no import cycle between files', () => {
  const found = cycles(graph);
  assert.deepEqual(found, [], `import cycles:\n${found.map((cycle) => `  ${cycle.join(' ↔ ')}`).join('\n')}`);
});

test('no two top-level folders import each other', () => {
  const roomImports = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (roomOf(file) === roomOf(target)) continue;
      if (!roomImports.has(roomOf(file))) roomImports.set(roomOf(file), new Set());
      roomImports.get(roomOf(file))!.add(roomOf(target));
    }
  }
  const mutual = [...roomImports].flatMap(([room, targets]) =>
    [...targets].filter((target) => room < target && roomImports.get(target)?.has(room)).map((target) => `${room} ↔ ${target}`),
  );
  assert.deepEqual(mutual, []);
});

test('every import goes to the same layer or below, as docs/architecture.md draws them', () => {
  const layerOf = layers();
  assert.ok(layerOf.size >= 15, `docs/architecture.md's layer table names only ${layerOf.size} rooms`);
  const unplaced = [...new Set(files.map(roomOf))].filter((room) => !layerOf.has(room));
  assert.deepEqual(unplaced, [], 'rooms missing from the layer table of docs/architecture.md');
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (layerOf.get(roomOf(target))! > layerOf.get(roomOf(file))!) upward.push(`${file} → ${target}`);
    }
  }
  assert.deepEqual(upward, [], 'imports from a higher layer');
});

/** Inside functions/: the sandbox and the guarded fetch know nothing of the engine, the store or the service. */
const FUNCTIONS_ROOMS: Record<string, (target: string) => boolean> = {
  'functions/sandbox/': (target) =>
    /^functions\/(sandbox|network)\//.test(target) ||
    ['functions/types.ts', 'functions/sdk.d.ts', 'functions/compile.ts', 'core/json.ts'].includes(target),
  'functions/network/': (target) =>
    target.startsWith('functions/network/') ||
    ['functions/types.ts', 'functions/sdk.d.ts', 'cel/network.ts', 'core/json.ts'].includes(target),
};

test('functions/sandbox/ and functions/network/ import nothing of the engine, the store or functions/service.ts', () => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const room = Object.keys(FUNCTIONS_ROOMS).find((prefix) => file.startsWith(prefix));
    if (room) wrong.push(...[...targets].filter((target) => !FUNCTIONS_ROOMS[room](target)).map((target) => `${file} → ${target}`));
  }
  assert.ok(
    [...graph.keys()].some((file) => file.startsWith('functions/sandbox/')),
    'the walk found functions/sandbox/',
  );
  assert.deepEqual(wrong, []);
});

/** The imports of a file that bring values (not `import type` / `export type`), by specifier. */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TSX);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && !node.importClause?.isTypeOnly) {
      const bindings = node.importClause?.namedBindings;
      const allTypes = bindings && ts.isNamedImports(bindings) && !node.importClause?.name && bindings.elements.every((e) => e.isTypeOnly);
      if (!allTypes) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier) && !node.isTypeOnly) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      if (specifier && ts.isStringLiteral(specifier)) found.push(specifier.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test('the browser code (console/src/) takes only types from the rooms below: no server code reaches the bundle', () => {
  const browser = files.filter((file) => file.startsWith('console/src/'));
  assert.ok(browser.includes('console/src/main.tsx'), 'the walk found console/src/main.tsx');
  const wrong = browser.flatMap((file) =>
    valueImports(file)
      .filter((specifier) => specifier.startsWith('.') && !normalize(join(dirname(file), specifier)).startsWith('console/src/'))
      .map((specifier) => `${file} → ${specifier}`),
  );
  assert.deepEqual(wrong, []);
  // The checker sees a value import for what it is.
  assert.deepEqual(
    valueImports('console/build.ts').filter((specifier) => specifier === 'esbuild'),
    ['esbuild'],
  );
});
