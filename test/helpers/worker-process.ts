/** Worker processes for durability tests: `idflow worker` children that can be SIGKILLed. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestEngine } from './engine.js';

const BIN = fileURLToPath(new URL('../../bin/idflow.js', import.meta.url));

/** Starts `idflow worker` on the test engine's data dir, store, Temporal server and task queue. */
export function startWorkerProcess(idflow: TestEngine, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--data-dir', idflow.dataDir, '--task-queue', idflow.taskQueue], {
    env: {
      ...process.env,
      ...idflow.database.env,
      TEMPORAL_ADDRESS: idflow.address,
      TEMPORAL_NAMESPACE: idflow.namespace,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && signal !== 'SIGTERM' && code !== 0) console.error(`worker exited with ${code}:\n${output}`);
  });
  return child;
}

export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
