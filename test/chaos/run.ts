/**
 * One chaos run, shared by test/chaos.test.ts (bounded) and `npm run chaos` (as large as asked):
 * the Temporal dev server, one store, 2 `idflow api` and 3 `idflow worker` processes, loopback
 * SMTP, Slack and webhook services; a directory of people loaded, then a feed of lifecycle
 * changes sent through both APIs (HR imports, and access reviews as direct events) while a
 * chaos loop SIGKILLs a random API or worker every 2–5 s — each time while that process
 * provably has work in flight — and starts it again. Then everything must settle, and
 * verify.ts compares the result with the feed's model.
 */
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceFile } from '../../definitions/types.js';
import { createStore, describeStoreLocation, openDatabase, storeLocation } from '../../store/index.js';
import { migrateToLatest } from '../../store/migrations.js';
import type { Database } from '../../store/db.js';
import { startTestTemporal } from '../helpers/temporal.js';
import { chaosDefinitions, directoryDefinitions, WEBHOOK_SECRET_ENV } from './automations.js';
import { startCluster, type Cluster, type IdflowProcess } from './cluster.js';
import {
  CSV_HEADER,
  csvRow,
  importCsv,
  planFeed,
  seededRandom,
  BIRTHRIGHT,
  DEPARTMENT_ACCESS,
  type ChaosFeed,
  type Delivery,
} from './feed.js';
import { retryCauses } from './retries.js';
import { startSinks } from './sinks.js';
import { verify, type Verdict } from './verify.js';

export interface ChaosOptions {
  /** Lifecycle changes to feed. */
  events: number;
  /** People in the directory before the feed (at least 1,000). */
  population: number;
  /** How long feeding the changes takes; the kills go on as long, and as long again while the runs finish. */
  feedMs: number;
  seed: number;
  apis: number;
  workers: number;
  /** Pause between kills, drawn uniformly from this range. */
  killEveryMs: [number, number];
  /** How long everything may take to settle once the feed and the kills stop. */
  settleMs: number;
  /** An empty PostgreSQL database for the store; unset: a SQLite file in a temporary data dir. */
  databaseUrl?: string;
  log(line: string): void;
}

export interface Kill {
  process: string;
  atMs: number;
  /** What it was doing: activities it had started, or requests it was answering. */
  inFlight: number;
  what: string;
}

export interface ChaosReport extends Verdict {
  /** Why steps were retried, in a sample of the runs that retried one (retries.ts). */
  retryCauses: [string, number][];
  options: Omit<ChaosOptions, 'log' | 'databaseUrl'> & { store: string };
  kills: Kill[];
  wallMs: number;
  feedMs: number;
  settleMs: number;
}

const API_RETRY_MS = 250;
const API_GIVE_UP_MS = 120_000;
/** How long a kill waits for its target to have work in flight before choosing another. */
const IN_FLIGHT_WAIT_MS = 10_000;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls to the API processes, retried on the other API while one is down; counts requests in flight per API. */
class ApiClient {
  readonly inFlight = new Map<string, number>();
  #next = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly token: string,
  ) {}

  /** Sends to the APIs in turn; a refused connection, a cut-off answer or a 5xx is sent again (the routes are idempotent). */
  async request(method: string, path: string, body: string, contentType: string): Promise<unknown> {
    const deadline = Date.now() + API_GIVE_UP_MS;
    for (;;) {
      const api = this.cluster.apis[this.#next++ % this.cluster.apis.length];
      this.inFlight.set(api.name, (this.inFlight.get(api.name) ?? 0) + 1);
      try {
        const response = await fetch(`${api.url}${path}`, {
          method,
          body,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': contentType },
        });
        const text = await response.text();
        if (response.status < 500) {
          if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
          return JSON.parse(text) as unknown;
        }
        if (Date.now() > deadline) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      } catch (error) {
        if (!(error instanceof TypeError) || Date.now() > deadline) throw error; // fetch's TypeError: the connection failed
      } finally {
        this.inFlight.set(api.name, (this.inFlight.get(api.name) ?? 1) - 1);
      }
      await sleep(API_RETRY_MS);
    }
  }

  apply(files: SourceFile[]): Promise<unknown> {
    return this.request(
      'POST',
      '/v1/apply',
      JSON.stringify({ files: files.map((f) => ({ path: f.path, content: f.content })), dryRun: false }),
      'application/json',
    );
  }

  importFeed(csv: string, source: string): Promise<unknown> {
    return this.request('POST', `/v1/directory/import?source=${source}&file=${source}.csv`, csv, 'text/csv');
  }

  deliver(delivery: Delivery, index: number): Promise<unknown> {
    if (delivery.kind === 'import') return this.importFeed(importCsv(delivery.changes), `chaos-${index}`);
    const { person, eventId, revoke } = delivery.change;
    const event = { id: eventId, type: 'review.completed', data: { user: { id: person.id, email: person.email }, revoke } };
    return this.request('POST', '/v1/events', JSON.stringify(event), 'application/json');
  }
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting until ${what}`);
    await sleep(250);
  }
}

const undelivered = async (db: Kysely<Database>): Promise<number> =>
  (
    await db
      .selectFrom('directory_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow()
  ).n;

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
async function chaosLoop(
  options: ChaosOptions,
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

/** The directory before the feed: Acme's apps, the people (one HR import) and their access. */
async function loadDirectory(api: ApiClient, feed: ChaosFeed): Promise<void> {
  await api.apply(await directoryDefinitions());
  await api.importFeed([CSV_HEADER, ...feed.people.map(csvRow)].join('\n') + '\n', 'chaos-initial');
  const grants = feed.people.flatMap((p) =>
    [...BIRTHRIGHT, ...DEPARTMENT_ACCESS[p.department]].map((entitlement) => ({ user: p.id, entitlement })),
  );
  await api.apply([{ path: 'chaos-initial-access.yaml', content: JSON.stringify({ kind: 'Directory', grants }) }]);
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const { log } = options;
  const feed = planFeed({ population: options.population, events: options.events, seed: options.seed });
  const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
  const sinks = await startSinks(webhookSecret);
  const temporalServer = await startTestTemporal();
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-chaos-'));
  const location = storeLocation({ dataDir, databaseUrl: options.databaseUrl, env: {} });
  const { db, dialect } = openDatabase(location);
  let cluster: Cluster | undefined;
  const connection = await Connection.connect({ address: temporalServer.address });
  try {
    await migrateToLatest(db, describeStoreLocation(location));
    const token = await createStore(db, dialect).tokens.create('chaos', ['admin']);
    log(`store: ${describeStoreLocation(location)}`);
    cluster = await startCluster({
      store: { dataDir, databaseUrl: options.databaseUrl },
      temporalAddress: temporalServer.address,
      namespace: temporalServer.namespace,
      apis: options.apis,
      workers: options.workers,
      env: {
        SMTP_URL: sinks.smtpUrl,
        SLACK_BOT_TOKEN: 'xoxb-chaos',
        SLACK_API_URL: sinks.slackApiUrl,
        [WEBHOOK_SECRET_ENV]: webhookSecret,
      },
    });
    log(`cluster up: ${cluster.all.map((p) => p.name).join(', ')} (${Math.round((Date.now() - started) / 1000)} s)`);
    const api = new ApiClient(cluster, token);
    await loadDirectory(api, feed);
    await until('the initial load is delivered', 120_000, async () => (await undelivered(db)) === 0);
    const baseline = await db
      .selectFrom('directory_outbox')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirstOrThrow();
    await api.apply(await chaosDefinitions(sinks.webhookUrl));
    log(`directory of ${feed.people.length} people loaded; feeding ${options.events} changes in ${feed.deliveries.length} deliveries`);

    const client = new Client({ connection, namespace: temporalServer.namespace });
    const expectedRuns = Object.values(feed.expected.runs).reduce((a, b) => a + b, 0);
    const settled = async (): Promise<boolean> => {
      const count = (running: boolean) =>
        db
          .selectFrom('runs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .$if(running, (query) => query.where('status', '=', 'running'))
          .executeTakeFirstOrThrow();
      return (await count(true)).n === 0 && (await count(false)).n >= expectedRuns && (await undelivered(db)) === 0;
    };

    // The kills go on while the feed is sent, then while its runs finish for at most as long again
    // (each kill cuts off work that waits out its step timeout: endless kills would never settle).
    const feedStarted = Date.now();
    let chaos = true;
    const kills = chaosLoop(options, cluster, api, db, client, () => !chaos, started);
    const pace = options.feedMs / feed.deliveries.length;
    const sent = feed.deliveries.map(async (delivery, index) => {
      await sleep(index * pace);
      await api.deliver(delivery, index);
    });
    const fed = await Promise.all(sent).then(
      () => undefined,
      (error: unknown) => error,
    );
    const feedMs = Date.now() - feedStarted;
    const settleStarted = Date.now();
    if (fed === undefined) {
      log(`feed delivered in ${Math.round(feedMs / 1000)} s; the kills go on while the runs finish`);
      await until('every run has finished with kills going on', options.feedMs, settled).catch(() => undefined);
    }
    chaos = false;
    // The kill loop ends (its restarts done) before a failed feed tears the cluster down.
    const killed = await kills;
    if (fed !== undefined) throw fed;
    // The last kill's work is retried after it: settled again.
    await until('every run has finished after the last kill', options.settleMs, settled).catch((error: Error) => log(error.message));
    const settleMs = Date.now() - settleStarted;

    const verdict = await verify(db, feed, sinks, baseline.seq ?? 0);
    const retried = await db.selectFrom('run_steps').select('run_id').distinct().where('attempts', '>', 1).execute();
    const causes = await retryCauses(
      client,
      retried.map((row) => row.run_id),
    );
    verdict.problems.push(...cluster.all.flatMap((p) => p.unexpectedExits));
    const { log: _log, databaseUrl: _url, ...figures } = options;
    return {
      ...verdict,
      options: { ...figures, store: dialect.name },
      kills: killed,
      retryCauses: causes,
      wallMs: Date.now() - started,
      feedMs,
      settleMs,
    };
  } finally {
    await cluster?.stop();
    await connection.close();
    await db.destroy();
    await temporalServer.stop();
    await sinks.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
