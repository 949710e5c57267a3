/**
 * The Temporal binaries are provisioned offline and the dev server keeps its state in a SQLite
 * file in the data dir (in WAL mode): a workflow started before a restart is still there after it.
 */
import { Client, Connection } from '@temporalio/client';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { resolveTemporalCli, resolveTestServer } from '../temporal/binaries.js';
import { temporalSettingsFromEnv } from '../temporal/connection.js';
import { findFreePort, startDevServer } from '../temporal/dev-server.js';

test('the pinned Temporal CLI and test server are found', () => {
  const cli = resolveTemporalCli({ quiet: true });
  const version = spawnSync(cli, ['--version'], { encoding: 'utf8' }).stdout;
  assert.match(version, process.env.TEMPORAL_CLI ? /temporal version/ : /temporal version 1\.9\.1/);
  assert.ok(resolveTestServer({ quiet: true }).endsWith('temporal-test-server'));
});

test('the dev server keeps workflows across a restart, and stop() ends the process', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-devserver-'));
  const port = await findFreePort();
  try {
    let server = await startDevServer({ dataDir, port, ui: false, quiet: true });
    let connection = await Connection.connect({ address: server.address });
    // No worker polls this queue: the workflow simply stays running.
    await new Client({ connection }).workflow.start('neverPolled', { taskQueue: 'nobody', workflowId: 'survives-restart' });
    await connection.close();
    const firstPid = server.pid;
    await server.stop();
    assert.throws(() => process.kill(firstPid, 0), 'the server process is gone after stop()');
    // The header's read/write format versions (bytes 18 and 19) are 2 once the file is in WAL mode.
    const header = await readFile(join(dataDir, 'temporal.sqlite'));
    assert.deepEqual([header[18], header[19]], [2, 2], 'the server database runs with journal_mode=wal');

    server = await startDevServer({ dataDir, port, ui: false, quiet: true });
    connection = await Connection.connect({ address: server.address });
    const description = await new Client({ connection }).workflow.getHandle('survives-restart').describe();
    assert.equal(description.status.name, 'RUNNING');
    await connection.close();
    await server.stop();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a port already in use is refused up front, naming the flag to change', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-devserver-'));
  const blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  const { port } = blocker.address() as AddressInfo;
  try {
    await assert.rejects(
      startDevServer({ dataDir, port, ui: false, quiet: true }),
      new RegExp(`port 127\\.0\\.0\\.1:${port} is already in use .*--temporal-port`),
    );
  } finally {
    blocker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('TEMPORAL_ADDRESS selects an existing cluster; API keys imply TLS; a missing cert file is named', () => {
  assert.equal(temporalSettingsFromEnv({}), undefined);
  assert.deepEqual(temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'temporal:7233' }), {
    address: 'temporal:7233',
    namespace: 'default',
    tls: undefined,
    apiKey: undefined,
  });
  const cloud = temporalSettingsFromEnv({
    TEMPORAL_ADDRESS: 'ns.tmprl.cloud:7233',
    TEMPORAL_NAMESPACE: 'ns.acct',
    TEMPORAL_API_KEY: 'key',
  });
  assert.equal(cloud?.namespace, 'ns.acct');
  assert.ok(cloud?.tls);
  assert.throws(
    () => temporalSettingsFromEnv({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CERT: '/nope.crt', TEMPORAL_TLS_KEY: '/nope.key' }),
    /TEMPORAL_TLS_CERT=\/nope\.crt: cannot read the file/,
  );
});
