/**
 * docker-compose.yml, the production topology, is a valid Compose file. Checked with
 * `docker compose config` (or docker-compose v1): skipped on a developer's machine without one,
 * a failure under CI (.ci/run installs it), so CI never passes without checking the file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

const COMPOSE_FILE = fileURLToPath(new URL('../docker-compose.yml', import.meta.url));

function composeCommand(): string[] | undefined {
  const candidates = [['docker', 'compose'], ['docker-compose']];
  return candidates.find(([command, ...args]) => spawnSync(command, [...args, 'version'], { stdio: 'ignore' }).status === 0);
}

const compose = composeCommand();
const underCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const MISSING =
  "neither `docker compose` nor `docker-compose` is installed: install one (`apt-get install docker-compose`, or Docker's compose plugin)";

test('docker-compose.yml passes `docker compose config`', { skip: compose || underCi ? false : MISSING }, () => {
  assert.ok(compose, `${MISSING}; under CI this check must run, not be skipped`);
  const [command, ...args] = compose;
  const result = spawnSync(command, [...args, '-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
});

test('the topology has Temporal on PostgreSQL, its UI, a scalable worker and the API', () => {
  const file = parse(readFileSync(COMPOSE_FILE, 'utf8')) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string>; deploy?: { replicas?: number } }>;
  };
  assert.deepEqual(Object.keys(file.services).sort(), ['api', 'postgresql', 'temporal', 'temporal-ui', 'worker']);
  assert.equal(file.services.temporal.environment?.DB, 'postgres12');
  assert.deepEqual(file.services.worker.command, ['worker']);
  assert.ok((file.services.worker.deploy?.replicas ?? 1) >= 2);
  assert.equal(file.services.api.command?.[0], 'api');
});
