// `npm test`: check formatting, provision the Temporal binaries, type-check, then run the test files
// with node's test runner against real servers, in two passes: every test/*.test.ts on the SQLite
// store, then the files that open a store (those reaching test/helpers/store.ts) again on PostgreSQL:
// a throwaway cluster (scripts/postgres.js), or the server of IDFLOW_TEST_DATABASE_URL.
// Extra arguments select test files by substring (`npm test -- engine wait`);
// IDFLOW_TEST_STORE=sqlite or =postgres runs one pass only.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from './postgres.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const STORE_HELPER = 'test/helpers/store.ts';
const PASSES = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

function stage(title, command, args) {
  console.log(`\n== ${title}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`\n${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

/** Whether `file` (a repository path under test/) imports test/helpers/store.ts, directly or through other test files. */
function reachesStoreHelper(file, seen = new Set()) {
  if (file === STORE_HELPER) return true;
  if (seen.has(file) || !file.startsWith('test/')) return false;
  seen.add(file);
  const source = readFileSync(join(root, file), 'utf8');
  const relative = [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]);
  return relative.some((specifier) => reachesStoreHelper(normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts'), seen));
}

const only = process.env.IDFLOW_TEST_STORE;
if (only !== undefined && !(only in PASSES)) {
  console.error(`IDFLOW_TEST_STORE must be ${Object.keys(PASSES).join(' or ')} (or unset for both passes), not "${only}"`);
  process.exit(1);
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
const storeFiles = files.filter((file) => reachesStoreHelper(file));
// The whole suite always has store tests: none found means the detection broke, not that PostgreSQL has nothing to run.
if (filters.length === 0 && storeFiles.length === 0) {
  console.error(`no test file imports ${STORE_HELPER}: the PostgreSQL pass would be empty`);
  process.exit(1);
}
const passes = [
  { store: 'sqlite', files },
  { store: 'postgres', files: storeFiles },
].filter((pass) => (only === undefined || pass.store === only) && pass.files.length > 0);
if (passes.length === 0) {
  console.error(`no test file of ${files.join(', ')} opens a store: nothing to run on ${PASSES[only]}`);
  process.exit(1);
}

// One style, checked before anything slow: `npm run format` fixes what this finds.
const prettier = fileURLToPath(new URL('../node_modules/prettier/bin/prettier.cjs', import.meta.url));
stage('checking formatting (prettier --check)', process.execPath, [prettier, '--check', '--log-level=warn', '**/*.{ts,tsx,js,css}']);
stage('provisioning the Temporal binaries', process.execPath, ['--import', 'tsx', 'temporal/binaries.ts']);
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
stage('type-checking', process.execPath, [tsc, '--noEmit', '-p', '.']);
// The web console's browser code, with the DOM's types (console/tsconfig.json).
stage('type-checking the console', process.execPath, [tsc, '-p', 'console']);
// The example functions against the sandbox's own globals (functions/sdk.d.ts), as authors' editors see them.
stage('type-checking the example functions', process.execPath, [tsc, '-p', 'examples/functions']);
stage('type-checking the example provisioning function', process.execPath, [tsc, '-p', 'examples/connectors/provisioning']);
// Once, before test files start workers side by side (each would otherwise build it at the same time).
stage('building the workflow bundle', process.execPath, ['--import', 'tsx', 'app/workflow-bundle.ts']);

// The tests choose their stores through IDFLOW_TEST_*; a developer's own IDFLOW_DATABASE_URL must not reach
// the processes they spawn.
const baseEnv = { ...process.env };
delete baseEnv.IDFLOW_DATABASE_URL;

let cluster;
let running;
const cleanUp = () => {
  running?.kill('SIGTERM');
  cluster?.stop();
  cluster = undefined;
};
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]);
  });
}

let databaseUrl = process.env.IDFLOW_TEST_DATABASE_URL;
if (passes.some((pass) => pass.store === 'postgres')) {
  if (databaseUrl) {
    console.log(`\n== PostgreSQL: the server of IDFLOW_TEST_DATABASE_URL (${redact(databaseUrl)})`);
  } else {
    console.log('\n== starting a throwaway PostgreSQL cluster');
    try {
      cluster = await startPostgres();
    } catch (error) {
      console.error(`\nstarting PostgreSQL failed: ${error.message}`);
      process.exit(1);
    }
    databaseUrl = cluster.url;
    console.log(`PostgreSQL at ${databaseUrl} (${cluster.dir}), ready in ${(cluster.startedInMs / 1000).toFixed(1)} s`);
  }
}

function redact(url) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function runPass(pass, index) {
  const name = PASSES[pass.store];
  console.log(
    `\n== pass ${index + 1}/${passes.length}: ${pass.files.length} test file${pass.files.length === 1 ? '' : 's'} on the ${name} store`,
  );
  const env = { ...baseEnv, IDFLOW_TEST_STORE: pass.store };
  if (pass.store === 'postgres') env.IDFLOW_TEST_DATABASE_URL = databaseUrl;
  // Ten minutes a test: the 1,000-user fan-out takes ~2 min alone and came near five on a loaded 2-core machine.
  const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...pass.files];
  const started = Date.now();
  return new Promise((resolve) => {
    running = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env });
    running.on('exit', (code, signal) => {
      running = undefined;
      resolve({ name, status: code ?? 1, detail: signal ?? `exit ${code}`, seconds: (Date.now() - started) / 1000 });
    });
  });
}

// Both passes run even when the first fails, so one run shows every failure and which store it was on.
const results = [];
const testsStarted = Date.now();
for (const [index, pass] of passes.entries()) results.push(await runPass(pass, index));
cleanUp();
console.log('\n== summary');
for (const result of results) {
  console.log(`${result.name} pass: ${result.status === 0 ? 'passed' : `FAILED (${result.detail})`} in ${result.seconds.toFixed(0)} s`);
}
// The console's browser tests photograph every page, light and dark (test/helpers/browser.ts): say where to look.
const screenshots = join(root, 'test-output', 'screenshots');
const taken = existsSync(screenshots)
  ? readdirSync(screenshots).filter((file) => statSync(join(screenshots, file)).mtimeMs >= testsStarted).length
  : 0;
if (taken > 0) console.log(`screenshots of the console: ${taken} in ${screenshots}`);
process.exit(results.every((result) => result.status === 0) ? 0 : 1);
