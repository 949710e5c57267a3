/**
 * `idflow dev` as a real process: its data dir is owner-only (0700, the files idflow and the
 * Temporal server create in it 0600), and a SIGTERM to its process group — what Ctrl-C in a
 * terminal does — stops it in seconds with exit code 0, even in the middle of the demo, and
 * leaves no Temporal server behind.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { openStore } from '../store/index.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { findFreePort } from '../temporal/dev-server.js';
import { TEST_STORE, createTestDatabase, onlyOn } from './helpers/store.js';
import { until } from './helpers/worker-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Measured about 2 s (before the fix: 43 s and exit code 1); generous for a busy 2-core machine. */
const STOP_WITHIN_MS = 15_000;

const modeOf = async (path: string): Promise<string> => ((await stat(path)).mode & 0o777).toString(8);

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test(
  'the store creates its database 0600 in folders it creates 0700; an existing data dir open to others is tightened to 0700',
  { skip: onlyOn('sqlite', 'file modes') },
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'idflow-private-'));
    try {
      const store = await openStore({ file: join(root, 'new', 'data', 'idflow.sqlite') });
      await store.close();
      assert.equal(await modeOf(join(root, 'new')), '700');
      assert.equal(await modeOf(join(root, 'new', 'data')), '700');
      assert.equal(await modeOf(join(root, 'new', 'data', 'idflow.sqlite')), '600');

      const shared = join(root, 'shared');
      await mkdir(shared);
      await chmod(shared, 0o755);
      assert.equal(ensurePrivateDir(shared), 0o755, 'reports the mode it replaced');
      assert.equal(await modeOf(shared), '700');
      assert.equal(ensurePrivateDir(shared), undefined, 'an owner-only dir is left as it is');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  },
);

test('idflow dev keeps its data dir owner-only and stops in seconds on SIGTERM to its process group, even during the demo', async () => {
  const root = await mkdtemp(join(tmpdir(), 'idflow-dev-process-'));
  const dataDir = join(root, 'data');
  const database = await createTestDatabase();
  const [temporalPort, apiPort] = [await findFreePort(), await findFreePort()];
  // Its own process group, as a shell gives a foreground job; the test signals the whole group.
  const child = spawn(
    process.execPath,
    [
      'bin/idflow.js',
      'dev',
      '--demo',
      '--no-ui',
      '--data-dir',
      dataDir,
      '--temporal-port',
      String(temporalPort),
      '--api-port',
      String(apiPort),
    ],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...database.env, TEMPORAL_ADDRESS: '', LOG_LEVEL: 'silent' },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    await until(
      'idflow dev is ready and the demo started',
      () => output.includes('demo: a new engineer joins') || child.exitCode !== null,
      180_000,
    );
    assert.equal(child.exitCode, null, output);

    assert.equal(await modeOf(dataDir), '700', 'the data dir');
    const storeFiles = TEST_STORE === 'sqlite' ? ['idflow.sqlite', 'idflow.sqlite-wal'] : [];
    for (const file of [...storeFiles, 'temporal.sqlite', 'temporal.log', 'api.json']) {
      assert.equal(await modeOf(join(dataDir, file)), '600', file);
    }
    if (TEST_STORE === 'postgres') assert.ok(!existsSync(join(dataDir, 'idflow.sqlite')), 'IDFLOW_DATABASE_URL chose PostgreSQL');
    assert.ok(await listening(temporalPort), 'the Temporal server is up');

    // The web console on the API's port, and the sign-in link printed for the dev admin token.
    const link = new RegExp(`^  Console   (http://127\\.0\\.0\\.1:${apiPort}/console/signin/[\\w-]{43}) `, 'm').exec(output)?.[1];
    assert.ok(link, `a Console line:\n${output}`);
    const signIn = await fetch(link, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    const cookie = signIn.headers.getSetCookie()[0].split(';')[0];
    const session = await fetch(`http://127.0.0.1:${apiPort}/v1/console/session`, { headers: { cookie } });
    assert.deepEqual(((await session.json()) as { scopes: string[] }).scopes, ['admin']);
    const page = await fetch(`http://127.0.0.1:${apiPort}/runs`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /src="\/assets\/[^"]+\.js"/, 'the built console');

    // The demo's run is in progress (its webhook targets the default API port, not this one, and retries).
    const signalledAt = Date.now();
    process.kill(-(child.pid as number), 'SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(resolve, STOP_WITHIN_MS, 'timeout').unref());
    const result = await Promise.race([exited, timeout]);
    const tookMs = Date.now() - signalledAt;
    assert.notEqual(result, 'timeout', `idflow dev still running ${STOP_WITHIN_MS} ms after SIGTERM:\n${output}`);
    assert.deepEqual(result, [0, null], `exit code 0 after ${tookMs} ms:\n${output}`);
    // The demo may still print a line between the two (its runs end as the worker stops).
    assert.match(output, /SIGTERM received: stopping\n(?:.*\n)*?stopped$/m);
    assert.equal(await listening(temporalPort), false, 'the Temporal server stopped with it');
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
    // The Temporal server runs in its own process group: after a failure, end it by its pid.
    const left = spawnSync('pgrep', ['-f', join(dataDir, 'temporal.sqlite')], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean);
    for (const pid of left) process.kill(Number(pid), 'SIGKILL');
    await database.drop();
    await rm(root, { recursive: true, force: true });
  }
});
