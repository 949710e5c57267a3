/**
 * The console's runs page (prints figures, gates nothing): 10,000 recorded runs of 3 steps each
 * (inputs and outputs), over 10 automations and 2,000 people, in a SQLite file and in PostgreSQL
 * (a throwaway local cluster). Times the store's first page of 50 (target well under 50 ms), a
 * page deep in the list (page 100, reached by its cursor), the first page of one person's runs and
 * of one automation's failures, and `GET /v1/runs` through the HTTP API (Fastify, no network).
 *
 *   node --import tsx bench/runs-list.ts
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { buildApiServer } from '../api/server.js';
import { IdflowEngine } from '../engine/engine.js';
import { startPostgres } from '../scripts/postgres.js';
import { SQLITE_FILE, openStore, type StoreLocation } from '../store/index.js';
import type { RunFilter, Store } from '../store/types.js';
import { percentile } from './one-step.js';

const RUNS = 10_000;
const PEOPLE = 2_000;
const AUTOMATIONS = 10;
const PAGE = 50;
const DEEP_PAGE = 100;
const REPEATS = 25;
const TARGET_MS = 50;

/** RUNS runs a minute apart, newest now; every 7th failed (bench/console.ts records them too). */
export async function record(store: Store, now: number): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const runId = `automation-${i % AUTOMATIONS}:evt-${i}`;
    const user = { id: `u-${i % PEOPLE}`, email: `person${i % PEOPLE}@example.com`, department: 'Engineering' };
    const steps = ['grant', 'notify', 'review'].map((name) => ({ name, type: 'run_webhook' }));
    const startedAt = new Date(now - i * 60_000).toISOString();
    await store.runs.start({
      runId,
      automation: `automation-${i % AUTOMATIONS}`,
      version: 1,
      trigger: { newUser: user },
      startedAt,
      steps,
    });
    for (const step of steps) {
      await store.runs.stepStarted(runId, step.name, { webhook: 'hook', payload: { user: user.email, step: step.name } }, 1);
      await store.runs.stepFinished(runId, step.name, { status: 'completed', output: { status: 200, body: { ok: true } } });
    }
    await store.runs.finish(runId, i % 7 === 0 ? 'failed' : 'completed', i % 7 === 0 ? 'the app said no' : undefined);
  }
}

/** Median milliseconds of `REPEATS` calls. */
async function median(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

export interface RunsListFigures {
  store: string;
  firstPageMs: number;
  deepPageMs: number;
  personPageMs: number;
  failuresPageMs: number;
  apiFirstPageMs: number;
}

async function benchOne(name: string, location: StoreLocation): Promise<RunsListFigures> {
  const store = await openStore(location);
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: pino({ level: 'silent' }) });
  const app = await buildApiServer({ engine });
  try {
    await record(store, Date.now());
    const list = (filter: RunFilter) => store.runs.list({ ...filter, limit: PAGE + 1 });
    // The cursor of page DEEP_PAGE: the last run of the page before it.
    let before: RunFilter['before'];
    for (let page = 1; page < DEEP_PAGE; page++) {
      const runs = await list({ before });
      const last = runs[PAGE - 1];
      if (!last) throw new Error(`page ${page} is short`);
      before = { startedAt: last.startedAt, runId: last.runId };
    }
    const token = await store.tokens.create('bench', ['runs:read']);
    const apiFirstPageMs = await median(async () => {
      const response = await app.inject({ url: `/v1/runs?limit=${PAGE}`, headers: { authorization: `Bearer ${token}` } });
      if (response.statusCode !== 200) throw new Error(`GET /v1/runs: ${response.statusCode} ${response.body}`);
    });
    return {
      store: name,
      firstPageMs: await median(() => list({})),
      deepPageMs: await median(() => list({ before })),
      personPageMs: await median(() => engine.listRuns({ person: 'u-42', limit: PAGE + 1 })),
      failuresPageMs: await median(() => list({ automation: 'automation-3', status: 'failed' })),
      apiFirstPageMs,
    };
  } finally {
    await app.close();
    await store.close();
  }
}

export async function benchRunsList(): Promise<RunsListFigures[]> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bench-runs-'));
  const postgres = await startPostgres();
  try {
    return [await benchOne('SQLite', { file: join(dir, SQLITE_FILE) }), await benchOne('PostgreSQL', { url: postgres.url })];
  } finally {
    postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function describeRunsList(figures: RunsListFigures[]): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return figures
    .map(
      (f) =>
        `${f.store}, ${RUNS} runs: first page of ${PAGE} ${ms(f.firstPageMs)} (target ≤ ${TARGET_MS} ms), page ${DEEP_PAGE} by cursor ${ms(f.deepPageMs)}, ` +
        `one person's ${ms(f.personPageMs)}, one automation's failures ${ms(f.failuresPageMs)}; GET /v1/runs first page ${ms(f.apiFirstPageMs)} (medians of ${REPEATS})`,
    )
    .join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(describeRunsList(await benchRunsList()));
}
