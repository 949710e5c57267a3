/**
 * docker-compose.yml, the production topology: a valid Compose file (`docker compose config`, or
 * docker-compose v1 — skipped on a developer's machine without one, a failure under CI, which
 * installs it) that refuses to start without its passwords; and the topology itself — Temporal's
 * current self-hosting layout on one PostgreSQL that also holds idflow's database, migrations
 * before any API or worker, 2 API and 3 worker replicas with no volume for idflow state, secrets
 * from files and the environment, pinned images and a health check on every long-running service.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

const COMPOSE_FILE = fileURLToPath(new URL('../docker-compose.yml', import.meta.url));
const readRepoFile = (path: string) => readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8');
const PASSWORDS = { POSTGRES_PASSWORD: 'p', TEMPORAL_DB_PASSWORD: 't', IDFLOW_DB_PASSWORD: 'i' };

function composeCommand(): string[] | undefined {
  const candidates = [['docker', 'compose'], ['docker-compose']];
  return candidates.find(([command, ...args]) => spawnSync(command, [...args, 'version'], { stdio: 'ignore' }).status === 0);
}

const compose = composeCommand();
const underCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const MISSING =
  "neither `docker compose` nor `docker-compose` is installed: install one (`apt-get install docker-compose`, or Docker's compose plugin)";

/** `compose config -q` with exactly these variables beside PATH and HOME. */
function composeConfig(variables: Record<string, string>): { status: number | null; stderr: string } {
  assert.ok(compose, `${MISSING}; under CI this check must run, not be skipped`);
  const [command, ...args] = compose;
  return spawnSync(command, [...args, '-f', COMPOSE_FILE, 'config', '-q'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...variables },
  });
}

describe('docker compose config', { skip: compose || underCi ? false : MISSING }, () => {
  test('docker-compose.yml passes `docker compose config`', () => {
    const result = composeConfig(PASSWORDS);
    assert.equal(result.status, 0, result.stderr);
  });

  test('without a password it refuses, naming the variable', () => {
    for (const missing of Object.keys(PASSWORDS)) {
      const result = composeConfig(Object.fromEntries(Object.entries(PASSWORDS).filter(([name]) => name !== missing)));
      assert.notEqual(result.status, 0, `${missing} unset`);
      assert.match(result.stderr, new RegExp(`set ${missing}`));
    }
  });
});

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  secrets?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
}

describe('the topology', () => {
  const file = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    secrets: Record<string, { file?: string }>;
    volumes: Record<string, unknown>;
  };
  const { services } = file;
  const idflowServices = ['migrate', 'api', 'worker'];

  test("Temporal's current layout: temporalio/server after an admin-tools schema job, on PostgreSQL, and its UI", () => {
    assert.deepEqual(Object.keys(services).sort(), [
      'api',
      'migrate',
      'postgres',
      'temporal',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'worker',
    ]);
    assert.ok(!readFileSync(COMPOSE_FILE, 'utf8').includes('auto-setup'), 'the retired temporalio/auto-setup image');
    const { temporal } = services;
    const version = temporal.image?.replace('temporalio/server:', '');
    assert.match(temporal.image ?? '', /^temporalio\/server:\d+\.\d+\.\d+$/);
    for (const job of ['temporal-schema', 'temporal-namespace']) {
      assert.equal(services[job].image, `temporalio/admin-tools:${version}`, `${job}: admin-tools of the server's version`);
    }
    assert.deepEqual(temporal.depends_on?.['temporal-schema'], { condition: 'service_completed_successfully' });
    assert.equal(temporal.environment?.DB, 'postgres12');
    assert.equal(temporal.environment?.POSTGRES_SEEDS, 'postgres');
    assert.match(services['temporal-ui'].image ?? '', /^temporalio\/ui:\d+\.\d+\.\d+$/);
  });

  test("one PostgreSQL 15 holds Temporal's databases and idflow's, each with its own user", () => {
    const postgres = Object.entries(services).filter(([, service]) => service.image?.startsWith('postgres:'));
    assert.deepEqual(
      postgres.map(([name]) => name),
      ['postgres'],
    );
    assert.match(services.postgres.image ?? '', /^postgres:15\.\d+$/);
    assert.ok(services.postgres.volumes?.includes('./deploy/postgres-init.sh:/docker-entrypoint-initdb.d/10-databases.sh:ro'));
    const init = readRepoFile('deploy/postgres-init.sh');
    for (const statement of [
      /CREATE ROLE temporal LOGIN/,
      /CREATE DATABASE temporal OWNER temporal;/,
      /CREATE DATABASE temporal_visibility OWNER temporal;/,
      /CREATE ROLE idflow LOGIN/,
      /CREATE DATABASE idflow OWNER idflow;/,
    ])
      assert.match(init, statement);
    assert.equal(services.temporal.environment?.POSTGRES_USER, 'temporal');
    for (const name of idflowServices)
      assert.match(
        services[name].environment?.IDFLOW_DATABASE_URL ?? '',
        /^postgres:\/\/idflow:\$\{IDFLOW_DB_PASSWORD:\?[^}]*\}@postgres:5432\/idflow$/,
        name,
      );
  });

  test('migrations run once before any API or worker; 2 API and 3 worker replicas keep no state on a volume', () => {
    assert.deepEqual(services.migrate.command, ['db', 'migrate']);
    for (const name of ['api', 'worker'])
      assert.deepEqual(services[name].depends_on?.migrate, { condition: 'service_completed_successfully' }, name);
    assert.equal(services.api.deploy?.replicas, 2);
    assert.equal(services.worker.deploy?.replicas, 3);
    assert.equal(services.api.command?.[0], 'api');
    assert.deepEqual(services.worker.command?.slice(0, 1), ['worker']);
    assert.ok(services.worker.command?.includes('--metrics-port'), "the worker's metrics port");
    for (const name of idflowServices) assert.equal(services[name].volumes, undefined, `${name} mounts no volume`);
    assert.deepEqual(Object.keys(file.volumes), ['postgres-data'], "the only named volume is PostgreSQL's");
  });

  test('the master key comes from a secret file, passwords from the environment, never from the file itself', () => {
    assert.equal(file.secrets.idflow_master_key.file, './secrets/idflow-master.key');
    for (const name of ['api', 'worker']) {
      const { environment = {}, secrets = [] } = services[name];
      assert.ok(secrets.includes('idflow_master_key'), name);
      assert.equal(environment.IDFLOW_MASTER_KEY_FILE, '/run/secrets/idflow_master_key');
      assert.equal(environment.IDFLOW_MASTER_KEY, undefined);
    }
    for (const [name, service] of Object.entries(services))
      for (const [variable, value] of Object.entries(service.environment ?? {}))
        if (/PASSWORD|PWD|TOKEN|SECRET|KEY$/.test(variable) && variable !== 'IDFLOW_MASTER_KEY_FILE')
          assert.match(value, /^\$\{\w+(:\?[^}]*|:-)\}$/, `${name}: ${variable} comes from the environment`);
    for (const ignore of ['.gitignore', '.dockerignore'])
      assert.match(readRepoFile(ignore), /^\/?secrets\/?$/m, `${ignore} keeps secrets/ out of git and the image`);
  });

  test('every image is pinned, and every long-running service has a health check; one-shot jobs are awaited to completion', () => {
    for (const [name, service] of Object.entries(services)) {
      if (service.build !== undefined) assert.equal(service.image, 'idflow:local', `${name} is built here`);
      else assert.match(service.image ?? '', /^[\w./-]+:\d+(\.\d+)+$/, `${name}: a pinned version, not a moving tag`);
      if (service.restart === 'unless-stopped') assert.ok(service.healthcheck?.test.length, `${name} has a health check`);
      else {
        assert.match(service.restart ?? '', /^on-failure:\d+$/, `${name}: a one-shot job retried a few times`);
        const awaited = Object.values(services).some((other) => other.depends_on?.[name]?.condition === 'service_completed_successfully');
        assert.ok(awaited, `${name} is awaited with service_completed_successfully`);
      }
    }
  });
});
