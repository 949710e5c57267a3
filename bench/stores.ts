/**
 * The PostgreSQL store beside the SQLite store, in one run (target: PostgreSQL ≥ 0.9× SQLite):
 * one Temporal dev server, one idflow engine and worker per store on task queues of their own,
 * the one-step automation on each. Latency samples alternate between the stores, and throughput
 * rounds alternate which store goes first, so machine noise hits both alike. PostgreSQL is a
 * throwaway local cluster (scripts/postgres.js) with PostgreSQL's default durability (fsync,
 * synchronous commit), beside SQLite in WAL with synchronous=NORMAL.
 * `node --import tsx bench/stores.ts`
 */
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createIdflowWorker } from '../app/worker.js';
import { IdflowEngine } from '../engine/engine.js';
import { startPostgres } from '../scripts/postgres.js';
import { openStore, type StoreLocation } from '../store/index.js';
import type { Store } from '../store/types.js';
import { findFreePort, startDevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { startReceiver } from '../test/helpers/receiver.js';
import { applyOneStep, completeRuns, emitToFirstStep, percentile } from './one-step.js';
import { processCpuMs, processTreeCpuMs } from './proc.js';

const STORES = ['sqlite', 'postgres'] as const;
type StoreName = (typeof STORES)[number];
const ROUNDS = 4;

export interface StoreFigures {
  latencyMsP50: number;
  latencyMsP99: number;
  runsPerSecond: number;
  rounds: number[];
  /** CPU ms per completed run in the measured rounds: this process, the Temporal server, the PostgreSQL cluster. */
  cpuMsPerRun: { process: number; temporal: number; postgres: number };
}

export type StoresBenchFigures = Record<StoreName, StoreFigures>;

interface Side {
  store: Store;
  engine: IdflowEngine;
  worker: Worker;
  running: Promise<void>;
}

export async function benchStores(options: { latencySamples?: number; runs?: number } = {}): Promise<StoresBenchFigures> {
  const latencySamples = options.latencySamples ?? 60;
  const perRound = Math.ceil((options.runs ?? 240) / ROUNDS);
  const logger = pino({ level: 'silent' });
  installTemporalRuntime();
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-bench-stores-'));
  const postgres = await startPostgres({ durable: true });
  const server = await startDevServer({ dataDir, port: await findFreePort(), ui: false, quiet: true });
  const receiver = await startReceiver();
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: native, namespace: server.namespace });
  const locations: Record<StoreName, StoreLocation> = { sqlite: { file: join(dataDir, 'idflow.sqlite') }, postgres: { url: postgres.url } };
  const sides = {} as Record<StoreName, Side>;
  try {
    for (const name of STORES) {
      const store = await openStore(locations[name]);
      const taskQueue = `bench-${name}-${randomUUID()}`;
      const engine = new IdflowEngine({ store, client, namespace: server.namespace, taskQueue, logger, eagerStart: true });
      const worker = await createIdflowWorker({ connection: native, namespace: server.namespace, taskQueue, store, logger, env: {} });
      sides[name] = { store, engine, worker, running: worker.run() };
      await applyOneStep(engine, receiver);
    }

    const latencies: Record<StoreName, number[]> = { sqlite: [], postgres: [] };
    for (let i = 0; i < latencySamples; i++)
      for (const name of i % 2 === 0 ? STORES : [...STORES].reverse())
        latencies[name].push(await emitToFirstStep(sides[name].engine, receiver, `lat-${name}-${i}`));

    const postmaster = Number((await readFile(join(postgres.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const cpu = async (): Promise<{ process: number; temporal: number; postgres: number }> => {
      const own = process.cpuUsage();
      return {
        process: (own.user + own.system) / 1000,
        temporal: await processCpuMs(server.pid),
        postgres: await processTreeCpuMs(postmaster),
      };
    };
    const cpuUsed: Record<StoreName, { process: number; temporal: number; postgres: number }> = {
      sqlite: { process: 0, temporal: 0, postgres: 0 },
      postgres: { process: 0, temporal: 0, postgres: 0 },
    };
    const timedRound = async (name: StoreName, round: string): Promise<number> => {
      const started = performance.now();
      const before = await cpu();
      // Ids of its own: both engines start workflows in one namespace, where an id runs once.
      const ids = Array.from({ length: perRound }, (_, i) => `tp-${name}-${round}-${i}`);
      await completeRuns(sides[name].engine, client, ids);
      const rate = perRound / ((performance.now() - started) / 1000);
      const after = await cpu();
      for (const key of ['process', 'temporal', 'postgres'] as const) cpuUsed[name][key] += after[key] - before[key];
      return rate;
    };
    for (const name of STORES) await timedRound(name, 'warm-up');
    cpuUsed.sqlite = { process: 0, temporal: 0, postgres: 0 };
    cpuUsed.postgres = { process: 0, temporal: 0, postgres: 0 };
    const rounds: Record<StoreName, number[]> = { sqlite: [], postgres: [] };
    for (let round = 0; round < ROUNDS; round++)
      for (const name of round % 2 === 0 ? STORES : [...STORES].reverse()) rounds[name].push(await timedRound(name, String(round)));

    const figures = {} as StoresBenchFigures;
    for (const name of STORES) {
      const sorted = [...latencies[name]].sort((a, b) => a - b);
      // Equal rounds: the mean of their rates is the rate over all of them only if their times are equal, so use the harmonic mean.
      const runsPerSecond = rounds[name].length / rounds[name].reduce((sum, rate) => sum + 1 / rate, 0);
      const measured = perRound * ROUNDS;
      figures[name] = {
        latencyMsP50: percentile(sorted, 50),
        latencyMsP99: percentile(sorted, 99),
        runsPerSecond,
        rounds: rounds[name],
        cpuMsPerRun: {
          process: cpuUsed[name].process / measured,
          temporal: cpuUsed[name].temporal / measured,
          postgres: cpuUsed[name].postgres / measured,
        },
      };
    }
    return figures;
  } finally {
    for (const side of Object.values(sides)) side.worker.shutdown();
    await Promise.allSettled(Object.values(sides).map((side) => side.running));
    for (const side of Object.values(sides)) await side.store.close();
    await native.close();
    await receiver.close();
    await server.stop();
    postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export function describeStores(figures: StoresBenchFigures): string {
  const { sqlite, postgres } = figures;
  const line = (name: string, f: StoreFigures): string =>
    `${name}: ${f.runsPerSecond.toFixed(1)} runs/s (rounds ${f.rounds.map((r) => r.toFixed(1)).join(', ')}), emit → first step p50 ${f.latencyMsP50.toFixed(1)} ms, p99 ${f.latencyMsP99.toFixed(1)} ms; CPU ms per run: this process ${f.cpuMsPerRun.process.toFixed(1)}, Temporal ${f.cpuMsPerRun.temporal.toFixed(1)}, PostgreSQL ${f.cpuMsPerRun.postgres.toFixed(1)}`;
  return [
    line('SQLite    ', sqlite),
    line('PostgreSQL', postgres),
    `PostgreSQL / SQLite: runs/s ${(postgres.runsPerSecond / sqlite.runsPerSecond).toFixed(2)} (target ≥ 0.9), p50 latency ${(postgres.latencyMsP50 / sqlite.latencyMsP50).toFixed(2)}×`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  benchStores()
    .then((figures) => console.log(describeStores(figures)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
