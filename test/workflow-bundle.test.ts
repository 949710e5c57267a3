/**
 * The workflow bundle a worker loads: built once per state of the sources (outside the worker's
 * process), cached by their hash, with a source map that names the TypeScript files but does not
 * carry their text.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { workflowBundle } from '../app/workflow-bundle.js';

const SOURCE_MAP_COMMENT = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

function sourceMapOf(code: string): { sources: string[]; sourcesContent?: unknown } {
  const at = code.lastIndexOf(SOURCE_MAP_COMMENT);
  assert.ok(at > 0, 'the bundle has an inline source map');
  return JSON.parse(Buffer.from(code.slice(at + SOURCE_MAP_COMMENT.length).trim(), 'base64').toString('utf8')) as {
    sources: string[];
    sourcesContent?: unknown;
  };
}

test('the bundle is cached by the hash of the sources, and its source map names the files without their text', async () => {
  const bundle = await workflowBundle();
  assert.match(bundle.codePath, /node_modules\/\.cache\/idflow\/workflows-[0-9a-f]{16}\.js$/);
  assert.deepEqual(await workflowBundle(), bundle, 'one bundle per process');
  const map = sourceMapOf(await readFile(bundle.codePath, 'utf8'));
  assert.ok(
    map.sources.some((source) => source.endsWith('workflows/automation-run.ts')),
    'stack traces map to the TypeScript files',
  );
  assert.equal(map.sourcesContent, undefined);
});

test('`node --import tsx app/workflow-bundle.ts FILE` builds a bundle into FILE, as the image build does', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bundle-'));
  try {
    const file = join(dir, 'workflows.js');
    const script = fileURLToPath(new URL('../app/workflow-bundle.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, file]);
    assert.equal(stdout.trim(), file);
    const code = await readFile(file, 'utf8');
    assert.ok(code.includes('automationRun'), 'the bundle holds the workflows');
    assert.equal(sourceMapOf(code).sourcesContent, undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
