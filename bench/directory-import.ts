/**
 * `node --import tsx bench/directory-import.ts [people]`: an HR feed of 100,000 people (13 MB)
 * through `idflow directory import` and the HTTP API, as an operator runs it: the API (with its
 * engine and a local Temporal dev server) and the CLI in this process. Prints the time of the
 * first import, of a re-import (a no-op), with the CPU time of the process (which also delivers
 * the joiners' events to the triggers meanwhile), the slowest /healthz answer during the import,
 * and the process's peak RSS. Targets: < 60 s of CPU, /healthz < 1 s, < 1.5 GB.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { main } from '../cli/main.js';
import type { ImportReport } from '../directory/import.js';
import { startRuntime } from '../app/runtime.js';
import { findFreePort } from '../temporal/dev-server.js';

const PEOPLE = Number(process.argv[2] ?? 100_000);

function feed(): string {
  const lines = ['id,email,firstName,lastName,department,title,managerEmail,employmentType,status,startDate,location,costCenter'];
  for (let i = 1; i <= PEOPLE; i++) {
    lines.push(
      `p-${i},person${i}@acme.example,First${i},Last${i},Engineering,Engineer,${i === 1 ? '' : 'person1@acme.example'},FULL_TIME,ENABLED,2024-01-15,London,CC-${i % 40}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Polls GET /healthz every 50 ms from a child process (its timers do not wait on this process's
 * event loop) until stopped; resolves with the slowest answer in ms.
 */
function probeHealth(apiUrl: string): { stop(): Promise<number> } {
  const script = `let slowest = 0;
process.on('SIGTERM', () => { process.stdout.write(String(slowest)); process.exit(0); });
(async () => { for (;;) { const started = Date.now(); await fetch(${JSON.stringify(`${apiUrl}/healthz`)}).catch(() => {}); slowest = Math.max(slowest, Date.now() - started); await new Promise((resolve) => setTimeout(resolve, 50)); } })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
      return Number(output);
    },
  };
}

/** Runs `idflow directory import FILE --json` in this process; returns the report, the seconds it took and the CPU seconds of the process meanwhile. */
async function timedImport(file: string): Promise<{ report: ImportReport; seconds: number; cpuSeconds: number }> {
  const out: string[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const code = await main(['directory', 'import', file, '--json'], { out: (text) => out.push(text), err: (text) => console.error(text) });
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  if (code !== 0) throw new Error(`idflow directory import exited with ${code}`);
  return { report: JSON.parse(out.join('\n')) as ImportReport, seconds, cpuSeconds: (user + system) / 1e6 };
}

async function benchImportThroughApi(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-bench-import-'));
  const runtime = await startRuntime({
    dataDir,
    logger: pino({ level: 'silent' }),
    devServer: { port: await findFreePort(), uiPort: await findFreePort(), ui: false },
    worker: false,
    apiPort: 0,
  });
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    process.env.IDFLOW_URL = runtime.apiUrl;
    process.env.IDFLOW_TOKEN = await runtime.store.tokens.create('bench', ['directory:write']);
    const file = join(dataDir, 'people.csv');
    await writeFile(file, feed());
    const { size } = await stat(file);
    const health = probeHealth(runtime.apiUrl as string);
    const first = await timedImport(file);
    const slowestHealthMs = await health.stop();
    if (first.report.created.length !== PEOPLE) throw new Error(`created ${first.report.created.length} of ${PEOPLE}`);
    const again = await timedImport(file);
    if (again.report.events !== 0) throw new Error(`the re-import emitted ${again.report.events} events`);
    console.log(
      `import ${PEOPLE} people (${(size / 1024 / 1024).toFixed(1)} MiB) through the CLI and the API: ${first.seconds.toFixed(1)} s (CPU ${first.cpuSeconds.toFixed(1)} s), /healthz meanwhile at most ${slowestHealthMs} ms; ` +
        `re-import (no changes): ${again.seconds.toFixed(1)} s (CPU ${again.cpuSeconds.toFixed(1)} s); peak RSS ${(peak / 1024 / 1024).toFixed(0)} MB (targets: < 60 s of CPU, /healthz < 1 s, < 1.5 GB)`,
    );
  } finally {
    clearInterval(sampler);
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

benchImportThroughApi().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
