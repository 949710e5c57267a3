/**
 * `forEachUser` at scale: one scheduled tick over 10,000 directory users, each getting a child run
 * with one directory step, on a real dev server with the worker in its own process. Reports the
 * wall time from trigger to the tick's end, the worker process's peak memory (VmHWM) and the
 * largest history among the tick's continue-as-new chain. FAN_USERS=2000 makes a quicker run.
 *
 * Peak RSS is mostly V8 growing its heap lazily under a 4 GB default limit: measured with 2,000
 * users, the same run peaked at 963 MB by default and 597 MB with NODE_OPTIONS=--max-old-space-size=384,
 * at the same throughput. An idle worker holds 250–270 MB since it loads a prebuilt workflow bundle
 * (app/workflow-bundle.ts); 10,000 users: 268 s wall, 488 MB peak with the default heap.
 */
import type { User } from '../directory/types.js';
import { FAN_OUT_STEP } from '../workflows/for-each-user.js';
import { startTestEngine } from '../test/helpers/engine.js';
import { kill, startWorkerProcess, until } from '../test/helpers/worker-process.js';
import { processMemoryMb } from './proc.js';

const USERS = Number(process.env.FAN_USERS ?? 10_000);
const CONCURRENCY = 50;

export interface FanOutBenchFigures {
  users: number;
  concurrency: number;
  wallSeconds: number;
  runsPerSecond: number;
  workerPeakRssMb: number;
  histories: number;
  largestHistoryEvents: number;
  largestHistoryKb: number;
}

export async function benchFanOut(): Promise<FanOutBenchFigures> {
  const idflow = await startTestEngine({ worker: false });
  const worker = startWorkerProcess(idflow);
  try {
    // Written straight to the store: this measures the fan-out, not the import and its events.
    await idflow.store.directory.transaction(async (tx) => {
      for (let i = 1; i <= USERS; i++) {
        const id = `p-${String(i).padStart(5, '0')}`;
        const user: User = {
          id,
          email: `${id}@acme.example`,
          firstName: `First${i}`,
          lastName: `Last${i}`,
          displayName: `First${i} Last${i}`,
          status: 'ENABLED',
          department: 'Engineering',
          employmentType: 'CONTRACTOR',
          attributes: {},
          createdAt: new Date().toISOString(),
          updatedAt: new Date().toISOString(),
        };
        await tx.putUser(user);
      }
    });
    await idflow.apply(`kind: Automation
name: recertify-contractors
trigger:
  type: schedule
  cron: "0 9 1 1 *"
  forEachUser: subject.employmentType == "CONTRACTOR" && subject.status == UserStatus.ENABLED
  forEachUserConcurrency: ${CONCURRENCY}
steps:
  - { name: keep_enabled, type: modify_user_status, with: { user: "{{ subject.id }}", status: ENABLED } }
`);
    const started = performance.now();
    await idflow.engine.schedules.trigger('recertify-contractors');
    let tickId = '';
    await until('the tick starts', async () => {
      tickId =
        (await idflow.store.runs.list({ automation: 'recertify-contractors', limit: 10 })).find((run) => run.parentRunId === undefined)
          ?.runId ?? '';
      return tickId !== '';
    });
    const tick = await idflow.engine.waitForRun(tickId, 60 * 60_000);
    const wallSeconds = (performance.now() - started) / 1000;
    const tally = tick.steps.find((step) => step.name === FAN_OUT_STEP)?.output as { completed: number } | undefined;
    if (tick.status !== 'completed' || tally?.completed !== USERS)
      throw new Error(`the tick ended ${tick.status}: ${tick.error ?? JSON.stringify(tally)}`);
    const workerPeakRssMb = await processMemoryMb(worker.pid as number, 'VmHWM');

    let histories = 0;
    let largestHistoryEvents = 0;
    let largestHistoryKb = 0;
    for await (const execution of idflow.client.workflow.list({ query: `WorkflowId = "${tickId}"` })) {
      const history = await idflow.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
      histories++;
      largestHistoryEvents = Math.max(largestHistoryEvents, history.events?.length ?? 0);
      largestHistoryKb = Math.max(largestHistoryKb, JSON.stringify(history).length / 1024);
    }
    return {
      users: USERS,
      concurrency: CONCURRENCY,
      wallSeconds,
      runsPerSecond: USERS / wallSeconds,
      workerPeakRssMb,
      histories,
      largestHistoryEvents,
      largestHistoryKb,
    };
  } finally {
    await kill(worker);
    await idflow.stop();
  }
}

/** The fan-out figures as `npm run bench` prints them; also `node --import tsx bench/fan-out.ts` alone (it takes minutes). */
export function describeFanOut(figures: FanOutBenchFigures): string {
  return [
    `fan-out over ${figures.users} users, ${figures.concurrency} at once: ${figures.wallSeconds.toFixed(0)} s wall (${figures.runsPerSecond.toFixed(1)} user runs/s)`,
    `worker peak RSS ${figures.workerPeakRssMb.toFixed(0)} MB; ${figures.histories} histories (continue-as-new), largest ${figures.largestHistoryEvents} events / ${figures.largestHistoryKb.toFixed(0)} KB`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(describeFanOut(await benchFanOut()));
