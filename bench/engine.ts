/**
 * Engine benchmarks (a benchmark is not a test: it prints figures and gates nothing):
 * - time to match one event against 1,000 automations (target ≤ 2 ms);
 * - emit-to-first-step latency p50/p99 (event ingested → the first step's HTTP call arrives;
 *   target p50 ≤ 30 ms);
 * - completed runs/s of a one-step automation beside a bare Temporal workflow with one activity,
 *   on the same dev server in the same run (target ratio ≥ 0.9). Both do the same loopback HTTP
 *   POST in their activity, so the ratio measures idflow's own overhead. Both are warmed up by an
 *   uncounted round, then measured in rounds whose order alternates, so neither gains from
 *   running first or second. idflow's runs start eagerly (its worker shares the client's native
 *   connection, as in `idflow dev`); the bare workflows start as a plain client starts them.
 * - the CPU each run costs in this process and in the server: on a shared machine, where other
 *   load moves the runs/s, the steadier figure.
 */
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { IdflowEngine } from '../engine/engine.js';
import { loadDefinitions } from '../definitions/load.js';
import { openStore } from '../store/index.js';
import { findFreePort, startDevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { TriggerIndex, type IndexedAutomation } from '../triggers/trigger-index.js';
import { createIdflowWorker } from '../app/worker.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { bareBundle } from './baseline/bundle.js';
import { processCpuMs } from './proc.js';
import { bareWorkflow } from './baseline/workflows.js';
import { applyOneStep, completeRuns, emitToFirstStep, percentile } from './one-step.js';

const DEPARTMENTS = ['Engineering', 'Sales', 'Finance', 'Legal', 'Support', 'Marketing', 'HR', 'IT', 'Security', 'Design'];

/** 1,000 automations on user.updated with realistic mover/joiner conditions. */
export function benchMatch(): { automations: number; matchMsMedian: number; matchMsP99: number; matched: number } {
  const automations: IndexedAutomation[] = [];
  for (let i = 0; i < 1000; i++) {
    const department = DEPARTMENTS[i % DEPARTMENTS.length];
    const conditions = [
      `ctx.trigger.newUser.department == "${department}" && ctx.trigger.oldUser.department != ctx.trigger.newUser.department`,
      `ctx.trigger.newUser.title.startsWith("Senior") && ctx.trigger.newUser.department == "${department}"`,
      `"group-${i}" in ctx.trigger.newUser.groups`,
      `ctx.trigger.newUser.email.endsWith("@example.com") && ctx.trigger.newUser.location == "site-${i % 7}"`,
    ];
    const { documents } = loadDefinitions(
      [
        {
          path: 'bench.yaml',
          content: `kind: Automation\nname: a-${i}\ntrigger:\n  type: user.updated\n  condition: '${conditions[i % conditions.length]}'\nsteps:\n  - { name: w, type: wait, with: { duration: 1s } }\n`,
        },
      ],
      { webhooks: [], automations: [] },
    );
    const [document] = documents;
    if (document?.kind !== 'Automation') throw new Error(`bench automation ${i} did not load`);
    automations.push({ name: document.name, enabled: true, spec: document.spec });
  }
  const index = new TriggerIndex(automations);
  const user = {
    email: 'ada@example.com',
    department: 'Engineering',
    title: 'Senior Engineer',
    location: 'site-3',
    groups: ['group-1', 'group-40', 'everyone'],
  };
  const data = { oldUser: { ...user, department: 'Sales' }, newUser: user };
  const now = new Date();
  for (let i = 0; i < 200; i++) index.match('user.updated', data, now);
  const samples: number[] = [];
  let matched = 0;
  for (let i = 0; i < 2000; i++) {
    const started = process.hrtime.bigint();
    const outcomes = index.match('user.updated', data, now);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    matched = outcomes.filter((o) => o.matched).length;
  }
  samples.sort((a, b) => a - b);
  return { automations: automations.length, matchMsMedian: percentile(samples, 50), matchMsP99: percentile(samples, 99), matched };
}

export interface ThroughputRound {
  first: 'idflow' | 'bare';
  idflowRunsPerSecond: number;
  bareRunsPerSecond: number;
}

/** CPU ms per completed run, in this process (engine, worker, client) and in the Temporal server. */
export interface CpuPerRun {
  process: number;
  server: number;
}

export interface EngineBenchFigures {
  latencyMsP50: number;
  latencyMsP99: number;
  /** The same, for events about a person: their runs start through the person's queue (one at a time per person). */
  personLatencyMsP50: number;
  personLatencyMsP99: number;
  idflowRunsPerSecond: number;
  bareRunsPerSecond: number;
  ratio: number;
  rounds: ThroughputRound[];
  cpu: { idflow: CpuPerRun; bare: CpuPerRun };
}

/** Even, so each side runs first in as many rounds as the other. */
const MEASURED_ROUNDS = 4;

export async function benchEngine(options: { latencySamples?: number; runs?: number } = {}): Promise<EngineBenchFigures> {
  const latencySamples = options.latencySamples ?? 100;
  const runs = options.runs ?? 300;
  const logger = pino({ level: 'silent' });
  installTemporalRuntime();
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-bench-'));
  const server = await startDevServer({ dataDir, port: await findFreePort(), ui: false, quiet: true });
  const receiver = await startReceiver();
  const store = await openStore({ file: join(dataDir, 'idflow.sqlite') });
  // One native connection for the client and both workers, as `idflow dev` has: idflow's runs start eagerly.
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: native, namespace: server.namespace });
  const taskQueue = `bench-${randomUUID()}`;
  const engine = new IdflowEngine({ store, client, namespace: server.namespace, taskQueue, logger, eagerStart: true });
  const worker = await createIdflowWorker({ connection: native, namespace: server.namespace, taskQueue, store, logger, env: {} });
  const bareQueue = `${taskQueue}-bare`;
  const bareWorker = await Worker.create({
    connection: native,
    namespace: server.namespace,
    taskQueue: bareQueue,
    workflowBundle: await bareBundle(),
    activities: {
      async deliver(url: string, payload: unknown): Promise<number> {
        const response = await fetch(url, {
          method: 'POST',
          body: JSON.stringify(payload),
          headers: { 'content-type': 'application/json' },
        });
        await response.text();
        return response.status;
      },
    },
  });
  const running = [worker.run(), bareWorker.run()];
  try {
    await applyOneStep(engine, receiver);

    // Emit → first step: the time until the step's HTTP request reaches the receiver.
    // Interleaved with events about a person, whose runs start through the person's queue.
    const latencies: number[] = [];
    const personLatencies: number[] = [];
    for (let i = 0; i < latencySamples; i++) {
      latencies.push(await emitToFirstStep(engine, receiver, `lat-${i}`));
      personLatencies.push(await emitToFirstStep(engine, receiver, `lat-person-${i}`, true));
    }
    latencies.sort((a, b) => a - b);
    personLatencies.sort((a, b) => a - b);

    // Throughput, idflow and bare, interleaved in rounds so machine noise hits both alike.
    const perRound = Math.ceil(runs / MEASURED_ROUNDS);
    /** Completes `perRound` runs of one side, in ms. */
    const cpuMs = { idflow: { process: 0, server: 0 }, bare: { process: 0, server: 0 } };
    const timed = async (side: 'idflow' | 'bare', round: string): Promise<number> => {
      const started = performance.now();
      const processCpu = process.cpuUsage();
      const serverCpu = await processCpuMs(server.pid);
      if (side === 'idflow') {
        await completeRuns(
          engine,
          client,
          Array.from({ length: perRound }, (_, i) => `tp-${round}-${i}`),
        );
      } else {
        const handles = await Promise.all(
          Array.from({ length: perRound }, (_, i) =>
            client.workflow.start(bareWorkflow, {
              taskQueue: bareQueue,
              workflowId: `bare-${round}-${i}-${randomUUID()}`,
              args: [`${receiver.url}/bare`, { user: `t${i}@example.com` }],
            }),
          ),
        );
        await Promise.all(handles.map((handle) => handle.result()));
      }
      const used = process.cpuUsage(processCpu);
      cpuMs[side].process += (used.user + used.system) / 1000;
      cpuMs[side].server += (await processCpuMs(server.pid)) - serverCpu;
      return performance.now() - started;
    };
    await timed('bare', 'warm-up');
    await timed('idflow', 'warm-up');
    cpuMs.idflow = { process: 0, server: 0 };
    cpuMs.bare = { process: 0, server: 0 };
    let idflowMs = 0;
    let bareMs = 0;
    const rounds: ThroughputRound[] = [];
    for (let round = 0; round < MEASURED_ROUNDS; round++) {
      const order = round % 2 === 0 ? (['idflow', 'bare'] as const) : (['bare', 'idflow'] as const);
      const ms = { idflow: 0, bare: 0 };
      for (const side of order) ms[side] = await timed(side, String(round));
      idflowMs += ms.idflow;
      bareMs += ms.bare;
      rounds.push({ first: order[0], idflowRunsPerSecond: perRound / (ms.idflow / 1000), bareRunsPerSecond: perRound / (ms.bare / 1000) });
    }
    const measured = perRound * MEASURED_ROUNDS;
    const idflowRunsPerSecond = measured / (idflowMs / 1000);
    const bareRunsPerSecond = measured / (bareMs / 1000);
    return {
      latencyMsP50: percentile(latencies, 50),
      latencyMsP99: percentile(latencies, 99),
      personLatencyMsP50: percentile(personLatencies, 50),
      personLatencyMsP99: percentile(personLatencies, 99),
      idflowRunsPerSecond,
      bareRunsPerSecond,
      ratio: idflowRunsPerSecond / bareRunsPerSecond,
      rounds,
      cpu: {
        idflow: { process: cpuMs.idflow.process / measured, server: cpuMs.idflow.server / measured },
        bare: { process: cpuMs.bare.process / measured, server: cpuMs.bare.server / measured },
      },
    };
  } finally {
    worker.shutdown();
    bareWorker.shutdown();
    await Promise.allSettled(running);
    await native.close();
    await store.close();
    await receiver.close();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function describeMatch(match: ReturnType<typeof benchMatch>): string {
  return `match one event against ${match.automations} automations: median ${match.matchMsMedian.toFixed(3)} ms, p99 ${match.matchMsP99.toFixed(3)} ms (${match.matched} matched; target ≤ 2 ms)`;
}

function cpu(perRun: CpuPerRun): string {
  return `${perRun.process.toFixed(1)} + ${perRun.server.toFixed(1)}`;
}

export function describeEngine(figures: EngineBenchFigures): string {
  const rounds = figures.rounds.map(
    (r) =>
      `${r.first} first: ${r.idflowRunsPerSecond.toFixed(1)} vs ${r.bareRunsPerSecond.toFixed(1)} (${(r.idflowRunsPerSecond / r.bareRunsPerSecond).toFixed(2)})`,
  );
  return [
    `emit → first step latency: p50 ${figures.latencyMsP50.toFixed(1)} ms, p99 ${figures.latencyMsP99.toFixed(1)} ms (target p50 ≤ 30 ms)`,
    `  about a person (through their queue): p50 ${figures.personLatencyMsP50.toFixed(1)} ms, p99 ${figures.personLatencyMsP99.toFixed(1)} ms (p50 ratio ${(figures.personLatencyMsP50 / figures.latencyMsP50).toFixed(2)})`,
    `completed runs/s: idflow one-step ${figures.idflowRunsPerSecond.toFixed(1)}, bare Temporal ${figures.bareRunsPerSecond.toFixed(1)}, ratio ${figures.ratio.toFixed(2)} (target ≥ 0.9)`,
    `per round, idflow vs bare runs/s (ratio): ${rounds.join('; ')}`,
    `CPU ms per run, this process (engine, worker, client) + Temporal server: idflow ${cpu(figures.cpu.idflow)}, bare ${cpu(figures.cpu.bare)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  console.log(describeMatch(benchMatch()));
  console.log(describeEngine(await benchEngine()));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
