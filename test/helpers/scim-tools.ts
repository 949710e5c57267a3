/**
 * The third-party SCIM 2.0 tools the tests measure idflow against, installed on first use from
 * pinned, hash-checked PyPI wheels (test/helpers/scim-requirements.txt) into .tools/scim-venv:
 * python-scim's reference server `scim2-server` (an app idflow provisions into) and the
 * compliance checker `scim2-tester`, driven by `scim2-cli` (`scim2 … test`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOLS_DIR, installPinnedWheels, isExecutable, withLock } from '../../temporal/binaries.js';

const VENV = join(TOOLS_DIR, 'scim-venv');
const REQUIREMENTS = fileURLToPath(new URL('./scim-requirements.txt', import.meta.url));
const BIN = { server: join(VENV, 'bin', 'scim2-server'), cli: join(VENV, 'bin', 'scim2') };

/** Paths of `scim2-server` and `scim2`, installing them once (parallel test files wait for each other). */
export function scimTools(): { server: string; cli: string } {
  if (isExecutable(BIN.server) && isExecutable(BIN.cli)) return BIN;
  return withLock(() => {
    if (!(isExecutable(BIN.server) && isExecutable(BIN.cli))) installPinnedWheels(VENV, REQUIREMENTS, 'the SCIM test tools');
    return BIN;
  });
}

/** A port free on loopback now (the server started next binds it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ScimServer {
  /** The SCIM base URL, e.g. http://127.0.0.1:PORT (Users at `${url}/Users`). */
  url: string;
  token: string;
  process: ChildProcess;
  /** Stops the server; its resources are in memory and go with it. */
  stop(): Promise<void>;
}

/** Starts `scim2-server` on a free loopback port with a fresh bearer token, once it answers. */
export async function startScimServer(): Promise<ScimServer> {
  const { server } = scimTools();
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const child = spawn(server, ['--hostname', '127.0.0.1', '--port', String(port), '--bearer-token', token], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`scim2-server exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${url}/ServiceProviderConfig`, { headers: { authorization: `Bearer ${token}` } });
      if (response.ok) return { url, token, process: child, stop };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`scim2-server did not answer on ${url} within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
