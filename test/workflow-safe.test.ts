/**
 * The determinism boundary of docs/architecture.md, for what workflow code bundles: every step
 * module and every integration's types.ts, and all they import transitively (type-only imports
 * too), reach no Node built-in and no package outside a short list of pure-computation ones —
 * sockets, files, clocks and SDKs belong in the adapters (integrations/<name>/adapter.ts).
 */
import assert from 'node:assert/strict';
import { isBuiltin } from 'node:module';
import { test } from 'node:test';
import { resolveImport, sourceFiles, specifiersOf } from './helpers/imports.js';

/** Packages that compute and do no I/O: safe in the workflow bundle. A new one is a decision, made here. */
const WORKFLOW_SAFE_PACKAGES = new Set(['zod', 'marked', 'standardwebhooks', '@marcbachmann/cel-js', 're2js']);

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Each import of a Node built-in or of a package not in WORKFLOW_SAFE_PACKAGES, as the chain of files that leads to it. */
function unsafeImports(roots: string[]): string[] {
  const via = new Map<string, string | undefined>(roots.map((root) => [root, undefined]));
  const chain = (file: string): string => {
    const parent = via.get(file);
    return parent === undefined ? file : `${chain(parent)} → ${file}`;
  };
  const found: string[] = [];
  const queue = [...roots];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const specifier of specifiersOf(file)) {
      const target = resolveImport(file, specifier);
      if (target !== undefined) {
        if (!via.has(target)) {
          via.set(target, file);
          queue.push(target);
        }
      } else if (isBuiltin(specifier)) {
        found.push(`${chain(file)} imports the Node built-in "${specifier}"`);
      } else if (!WORKFLOW_SAFE_PACKAGES.has(packageOf(specifier))) {
        found.push(`${chain(file)} imports "${specifier}", not a workflow-safe package`);
      }
    }
  }
  return found;
}

const files = sourceFiles();
const stepModules = files.filter((file) => file.startsWith('steps/'));
const integrationTypes = files.filter((file) => /^integrations\/([^/]+\/)?types\.ts$/.test(file));

test('the checker sees the step modules and the integrations, and flags an adapter', () => {
  assert.ok(stepModules.includes('steps/registry.ts') && stepModules.length > 10, `step modules: ${stepModules.join(', ')}`);
  for (const name of [
    'integrations/types.ts',
    'integrations/mail/types.ts',
    'integrations/slack/types.ts',
    'integrations/webhooks/types.ts',
  ]) {
    assert.ok(integrationTypes.includes(name), `${name} is checked`);
  }
  // What an adapter imports is what the rule keeps out: the checker finds it, through the chain.
  assert.deepEqual(
    unsafeImports(['integrations/mail/adapter.ts']).filter((line) => line.includes('"nodemailer"')),
    ['integrations/mail/adapter.ts imports "nodemailer", not a workflow-safe package'],
  );
  assert.ok(unsafeImports(['integrations/adapters.ts']).some((line) => line.includes('the Node built-in "node:url"')));
});

test('no step module and no integration types.ts reaches a Node built-in or an I/O library, even through other files', () => {
  assert.deepEqual(unsafeImports([...stepModules, ...integrationTypes]), []);
});
