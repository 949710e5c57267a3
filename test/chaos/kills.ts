/**
 * The kill loop of the chaos run: every 2–5 s a random ready process is SIGKILLed while it
 * provably has work in flight (a worker: activities it started, per Temporal; an API: requests it
 * is answering), and started again.
 */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Kysely } from 'kysely';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../store/db.js';
import type { ApiClient } from './api-client.js';
import type { Cluster, IdflowProcess } from './cluster.js';
import { seededRandom } from './feed.js';

/** How long a kill waits for its target to have work in flight before choosing another. */
const IN_FLIGHT_WAIT_MS = 10_000;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

export interface Kill {
  process: string;
  atMs: number;
  /** What it was doing: activities it had started, or requests it was answering. */
  inFlight: number;
  what: string;
}

export interface KillLoopOptions {
  seed: number;
  /** Pause between kills, drawn uniformly from this range. */
  killEveryMs: [number, number];
  log(line: string): void;
}

/** Activities the worker process has started and not finished, per Temporal (its identity is pid@host). */
async function activitiesHeldBy(worker: IdflowProcess, db: Kysely<Database>, client: Client): Promise<number> {
  const identity = `${worker.pid}@${hostname()}`;
  const running = await db.selectFrom('runs').select('run_id').where('status', '=', 'running').limit(100).execute();
  const held = await Promise.all(
    running.map(async ({ run_id }) => {
      const description = await client.workflow
        .getHandle(run_id)
        .describe()
        .catch(() => undefined);
      return (description?.raw.pendingActivities ?? []).filter((a) => a.state === STARTED && a.lastWorkerIdentity === identity).length;
    }),
  );
  return held.reduce((a, b) => a + b, 0);
}

/**
 * Kills a random ready process while it has work in flight (a worker: activities it started;
 * an API: requests it is answering), starts it again, and pauses 2–5 s; until `stop` resolves.
 */
export async function killLoop(
  options: KillLoopOptions,
  cluster: Cluster,
  api: ApiClient,
  db: Kysely<Database>,
  client: Client,
  stopped: () => boolean,
  started: number,
): Promise<Kill[]> {
  const random = seededRandom(options.seed + 1);
  const kills: Kill[] = [];
  const restarts: Promise<void>[] = [];
  const failedRestarts: string[] = [];
  while (!stopped()) {
    const [min, max] = options.killEveryMs;
    await sleep(min + random() * (max - min));
    if (stopped()) break;
    const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
    let victim: { process: IdflowProcess; inFlight: number; what: string } | undefined;
    while (!victim && !stopped() && Date.now() < deadline) {
      // Never the last ready process of its kind: the service stays up, as through a rolling
      // failure, and the feed is not stalled for the seconds a restart takes on a busy machine.
      const isApi = (process: IdflowProcess): boolean => cluster.apis.some((a) => a.name === process.name);
      const ready = cluster.all.filter((p) => p.ready);
      const killable = ready.filter((p) => ready.filter((other) => isApi(other) === isApi(p)).length > 1);
      const candidate = killable[Math.floor(random() * killable.length)];
      if (candidate) {
        const inFlight = isApi(candidate) ? (api.inFlight.get(candidate.name) ?? 0) : await activitiesHeldBy(candidate, db, client);
        if (inFlight > 0) victim = { process: candidate, inFlight, what: isApi(candidate) ? 'requests' : 'activities' };
      }
      if (!victim) await sleep(250);
    }
    if (!victim) continue;
    await victim.process.kill();
    kills.push({ process: victim.process.name, atMs: Date.now() - started, inFlight: victim.inFlight, what: victim.what });
    options.log(`  kill #${kills.length}: ${victim.process.name} with ${victim.inFlight} ${victim.what} in flight`);
    const restarted = victim.process;
    restarts.push(restarted.start().catch((error: Error) => void failedRestarts.push(`${restarted.name}: ${error.message}`)));
  }
  await Promise.all(restarts);
  if (failedRestarts.length > 0) throw new Error(`processes did not start again after a kill: ${failedRestarts.join('\n')}`);
  return kills;
}
