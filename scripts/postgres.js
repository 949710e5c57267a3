// A throwaway PostgreSQL cluster for the test suite: initdb in a temporary directory, pg_ctl start on a
// free 127.0.0.1 port (socket in that directory, durability off: nothing in it outlives the run), and
// stop() that shuts it down and deletes the directory. PostgreSQL refuses to run as root, so as root
// the cluster belongs to an unprivileged user (the package's `postgres`, else `nobody`).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The role initdb creates; with trust auth on loopback it needs no password. */
const SUPERUSER = 'idflow';
const START_TIMEOUT_SECONDS = 60;

/** The directory holding initdb and pg_ctl: on PATH, else Debian's /usr/lib/postgresql/<version>/bin (newest first). */
export function findPostgresBin() {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  // Through the link to the real directory: a symlinked initdb (/usr/local/bin) may have no pg_ctl beside it.
  if (onPath.status === 0 && onPath.stdout.trim() !== '') return dirname(realpathSync(onPath.stdout.trim()));
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((version) => existsSync(join(debian, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(debian, versions[0], 'bin') : undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The unprivileged account to run the cluster as when we are root. */
function clusterUser() {
  for (const name of ['postgres', 'nobody']) {
    const found = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (found.status === 0)
      return { name, uid: Number(found.stdout.trim()), gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()) };
  }
  throw new Error('running as root and neither a "postgres" nor a "nobody" user exists to own the test cluster');
}

/**
 * Starts a cluster and returns `{ url, stop }`: `url` connects as a superuser to the `postgres`
 * database (a role that may CREATE DATABASE). stop() is synchronous so that exit handlers can call it.
 * `durable: true` keeps PostgreSQL's own durability settings (benchmarks); by default they are off.
 */
export async function startPostgres({ durable = false } = {}) {
  const bin = findPostgresBin();
  if (!bin)
    throw new Error(
      'PostgreSQL not found (no initdb on PATH or in /usr/lib/postgresql/*/bin): install postgresql-15, or set IDFLOW_TEST_DATABASE_URL',
    );
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'idflow-pg-'));
  const data = join(dir, 'data');
  const user = process.getuid?.() === 0 ? clusterUser() : undefined;
  if (user) chownSync(dir, user.uid, user.gid);
  // As root through runuser; cwd is the cluster's directory, which the user can enter (root's home it cannot).
  const run = (tool, args) => {
    const command = user ? ['runuser', ['-u', user.name, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    const result = spawnSync(command[0], command[1], { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0)
      throw new Error(`${tool} failed (exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}${result.error ?? ''}`);
  };
  const stop = () => {
    // postmaster.pid exists from the server's start (even a failed or timed-out one) until it stops.
    if (existsSync(join(data, 'postmaster.pid'))) {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } catch (error) {
        console.error(`could not stop the test PostgreSQL in ${dir}: ${error.message}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('initdb', ['-D', data, '--locale=C', '--encoding=UTF8', '--auth=trust', `--username=${SUPERUSER}`, '--no-sync']);
    // A port taken between freePort() and the server's bind fails the start: try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const options = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-k ${dir}`,
        // Throwaway: nothing here must survive a crash, so skip the work that makes it durable.
        ...(durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
        // Each test file opens a few pools at once, two files at a time, on both passes.
        '-c max_connections=300',
      ].join(' ');
      try {
        run('pg_ctl', ['start', '-D', data, '-l', join(dir, 'postgres.log'), '-o', options, '-w', '-t', String(START_TIMEOUT_SECONDS)]);
        return { url: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`, dir, startedInMs: Date.now() - started, stop };
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    stop();
    throw error;
  }
}
