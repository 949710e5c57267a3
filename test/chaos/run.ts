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
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createStore, describeStoreLocation, openDatabase, storeLocation } from '../../store/index.js';
import { migrateToLatest } from '../../store/migrations.js';
import type { Database } from '../../store/db.js';
import { startTestTemporal } from '../helpers/temporal.js';
import { until } from '../helpers/worker-process.js';
import { chaosDefinitions, directoryDefinitions, WEBHOOK_SECRET_ENV } from './automations.js';
import { ApiClient } from './api-client.js';
import { startCluster, type Cluster } from './cluster.js';
import { killLoop, type Kill, type KillLoopOptions } from './kills.js';
import { CSV_HEADER, csvRow, planFeed, BIRTHRIGHT, DEPARTMENT_ACCESS, type ChaosFeed } from './feed.js';
import { retryCauses } from './retries.js';
import { startSinks } from './sinks.js';
import { verify, type Verdict } from './verify.js';

export interface ChaosOptions extends KillLoopOptions {
  /** Lifecycle changes to feed. */
  events: number;
  /** People in the directory before the feed (at least 1,000). */
  population: number;
  /** How long feeding the changes takes; the kills go on as long, and as long again while the runs finish. */
  feedMs: number;
  apis: number;
  workers: number;
  /** How long everything may take to settle once the feed and the kills stop. */
  settleMs: number;
  /** An empty PostgreSQL database for the store; unset: a SQLite file in a temporary data dir. */
  databaseUrl?: string;
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

const undelivered = async (db: Kysely<Database>): Promise<number> =>
  (
    await db
      .selectFrom('directory_outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('delivered_at', 'is', null)
      .executeTakeFirstOrThrow()
  ).n;

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
    await until('the initial load is delivered', async () => (await undelivered(db)) === 0, 120_000, 250);
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
    const kills = killLoop(options, cluster, api, db, client, () => !chaos, started);
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
      await until('every run has finished with kills going on', settled, options.feedMs, 250).catch(() => undefined);
    }
    chaos = false;
    // The kill loop ends (its restarts done) before a failed feed tears the cluster down.
    const killed = await kills;
    if (fed !== undefined) throw fed;
    // The last kill's work is retried after it: settled again.
    await until('every run has finished after the last kill', settled, options.settleMs, 250).catch((error: Error) => log(error.message));
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
