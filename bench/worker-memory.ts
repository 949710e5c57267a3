/**
 * Worker memory with many runs in flight (a benchmark: it prints figures and gates nothing):
 * RUNS (10,000 by default) runs of an automation that calls a webhook and then waits two hours,
 * all started, on a real dev server with the worker in its own process (`idflow worker`, as in
 * production). Once every run has made its call and sits on its timer, it prints the worker's
 * peak RSS (VmHWM, which includes bundling the workflows at start) and its RSS then (target: peak
 * ≤ 300 MB). `node --import tsx bench/worker-memory.ts`; RUNS=2000 makes a quicker run;
 * WORKER_NODE_OPTIONS (e.g. "--max-old-space-size=128") is the worker's NODE_OPTIONS alone, and
 * MALLOC_ARENA_MAX=2 (as the image sets it) reaches the worker through the environment.
 */
import { pathToFileURL } from 'node:url';
import { startTestEngine } from '../test/helpers/engine.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { kill, startWorkerProcess, until } from '../test/helpers/worker-process.js';
import { processMemoryMb } from './proc.js';

const RUNS = Number(process.env.RUNS ?? 10_000);
/** Events ingested at once. */
const CONCURRENCY = 50;
/** The worker's NODE_OPTIONS (heap limits), when set: only the worker's, not this process's. */
const WORKER_NODE_OPTIONS = process.env.WORKER_NODE_OPTIONS;

export interface WorkerMemoryFigures {
  runs: number;
  startSeconds: number;
  peakRssMb: number;
  rssMb: number;
}

export async function benchWorkerMemory(): Promise<WorkerMemoryFigures> {
  const receiver = await startReceiver();
  const idflow = await startTestEngine({ worker: false });
  const worker = startWorkerProcess(idflow, WORKER_NODE_OPTIONS ? { NODE_OPTIONS: WORKER_NODE_OPTIONS } : {});
  try {
    await idflow.apply(`kind: Webhook
name: sink
url: ${receiver.url}/sink
---
kind: Automation
name: joiner-waits
trigger: { type: user.created }
steps:
  - { name: notify, type: run_webhook, with: { webhook: sink, payload: { user: "{{ ctx.trigger.newUser.email }}" } } }
  - { name: pause, type: wait, with: { duration: 2h } }
`);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) {
          const i = next++;
          await idflow.engine.ingest({ id: `mem-${i}`, type: 'user.created', data: { newUser: { email: `u${i}@example.com` } } }, 'bench');
        }
      }),
    );
    await until('every run made its call', () => receiver.requests.length >= RUNS, 60 * 60_000, 500);
    // The last runs to call are the last to reach their timer: wait until they record the wait.
    await until(
      'the runs wait on their timers',
      async () => {
        const runs = await Promise.all(Array.from({ length: 20 }, (_, k) => idflow.store.runs.get(`joiner-waits:mem-${RUNS - 1 - k}`)));
        return runs.every((run) => run?.steps.find((step) => step.name === 'pause')?.status === 'running');
      },
      10 * 60_000,
      500,
    );
    const startSeconds = (performance.now() - started) / 1000;
    const pid = worker.pid as number;
    return { runs: RUNS, startSeconds, peakRssMb: await processMemoryMb(pid, 'VmHWM'), rssMb: await processMemoryMb(pid, 'VmRSS') };
  } finally {
    await kill(worker);
    await idflow.stop();
    await receiver.close();
  }
}

export function describeWorkerMemory(figures: WorkerMemoryFigures): string {
  const settings = `worker NODE_OPTIONS ${WORKER_NODE_OPTIONS ? `"${WORKER_NODE_OPTIONS}"` : 'unset'}, MALLOC_ARENA_MAX ${process.env.MALLOC_ARENA_MAX ?? 'unset'}`;
  return `${figures.runs} runs waiting on timers (all started in ${figures.startSeconds.toFixed(0)} s; ${settings}): worker peak RSS ${figures.peakRssMb.toFixed(0)} MB, RSS ${figures.rssMb.toFixed(0)} MB (target: peak ≤ 300 MB)`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchWorkerMemory()
    .then((figures) => console.log(describeWorkerMemory(figures)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
