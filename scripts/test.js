// `npm test`: check formatting, provision the Temporal binaries, type-check, then run every test/*.test.ts with
// node's test runner against real servers. Extra arguments select test files by substring:
// `npm test -- engine wait`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function stage(title, command, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

const filters = process.argv.slice(2);
const files = readdirSync(new URL('../test/', import.meta.url))
  .filter((file) => file.endsWith('.test.ts'))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort()
  .map((file) => `test/${file}`);
if (files.length === 0) {
  console.error(`no test file matches ${filters.join(', ')}`);
  process.exit(1);
}

// One style, checked before anything slow: `npm run format` fixes what this finds.
const prettier = fileURLToPath(new URL('../node_modules/prettier/bin/prettier.cjs', import.meta.url));
stage('checking formatting (prettier --check)', process.execPath, [prettier, '--check', '--log-level=warn', '**/*.{ts,js}']);
stage('provisioning the Temporal binaries', process.execPath, ['--import', 'tsx', 'temporal/binaries.ts']);
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
stage('type-checking', process.execPath, [tsc, '--noEmit', '-p', '.']);
// The example functions against the sandbox's own globals (functions/sdk.d.ts), as authors' editors see them.
stage('type-checking the example functions', process.execPath, [tsc, '-p', 'examples/functions']);
stage(`running ${files.length} test files`, process.execPath, [
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=300000',
  ...files,
]);
