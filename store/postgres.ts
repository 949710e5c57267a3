/**
 * Everything PostgreSQL-specific lives here: the pool, how column types come back, and how
 * writers are serialised across processes. The repositories only see a Kysely<Database> and a
 * StoreDialect, as they do with SQLite (store/sqlite.ts).
 */
import {
  Kysely,
  OperationNodeTransformer,
  PostgresDialect,
  sql,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type Transaction,
  type UnknownRow,
  type ValueNode,
} from 'kysely';
import pg from 'pg';
import { createHash } from 'node:crypto';
import type { Database } from './db.js';
import { Mutex } from './mutex.js';
import type { StoreDialect, WriteLock } from './dialect.js';

/** Connections per process: the API and a worker each hold one pool. */
const POOL_SIZE = 10;
/** A connection attempt that takes longer fails, so a wrong host does not hang start-up. */
const CONNECT_TIMEOUT_MS = 10_000;
const INT8_OID = 20;

/**
 * bigint (identity columns, count()) comes back as a JavaScript number: the store's ids and
 * counts stay far below 2^53, and both dialects then hand the repositories the same types.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

const NUL = /\u0000/g;
const withoutNul = (value: unknown): unknown =>
  typeof value === 'string' && value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value;

/**
 * PostgreSQL's text cannot hold U+0000, which SQLite stores as given. JSON columns never carry one
 * (JSON.stringify escapes it), but a plain text value can (an error message quoting a remote
 * server's answer): it becomes U+FFFD rather than failing the write that records a run.
 */
class NulFreeText extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return { ...node, value: withoutNul(node.value) };
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return { ...node, values: node.values.map(withoutNul) };
  }
}

const nulFreeText: KyselyPlugin = {
  transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => new NulFreeText().transformNode(args.node),
  transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => args.result,
};

/** Statement names by SQL text; texts beyond the bound (queries with long IN lists) run unnamed. */
const statementNames = new Map<string, string>();
const MAX_NAMED_STATEMENTS = 500;

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < MAX_NAMED_STATEMENTS) {
    name = `idflow_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

/** PostgreSQL refusing a prepared `select *` whose table a migration changed since (SQLSTATE 0A000). */
function isStalePlan(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === '0A000' && error.message.includes('cached plan');
}

/**
 * Kysely sends the same SQL text for the same query: naming it lets each connection parse and
 * plan it once and only bind and execute it afterwards (pg keeps the names it prepared per
 * connection), which was a third of PostgreSQL's CPU per run (bench/stores.ts: 2.6 → 1.8 ms).
 * A statement whose table a newer idflow migrated meanwhile runs unnamed on that connection.
 */
function preparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (text: unknown, values?: unknown) => Promise<pg.QueryResult>;
  const stale = new Set<string>();
  const named = async (text: unknown, values?: unknown): Promise<pg.QueryResult> => {
    const name = typeof text === 'string' && !stale.has(text) ? statementName(text) : undefined;
    if (name === undefined) return query(text, values);
    try {
      return await query({ name, text, values });
    } catch (error) {
      if (!isStalePlan(error)) throw error;
      stale.add(text as string);
      return query(text, values);
    }
  };
  Object.assign(client, { query: named });
}

/** The URL without its password, for messages and logs. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable PostgreSQL URL';
  }
}

/**
 * A pool over `url` (libpq-style: `postgres://user:pass@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem`,
 * as `pg` documents). Nothing connects until the first query.
 */
export function openPostgres(url: string): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'idflow',
    types,
  });
  // An idle connection that the server drops (restart, failover) emits 'error' on the pool; without a
  // listener Node would crash the process. The next query opens a fresh connection.
  pool.on('error', () => undefined);
  pool.on('connect', preparedStatements);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [nulFreeText] });
}

/**
 * Writers of one kind take a transaction-scoped advisory lock, released at commit or rollback.
 * This gives PostgreSQL the order SQLite's single writer gives for free: a governance step's
 * "effect recorded? else apply and record" cannot interleave with its own retry on another
 * worker, and directory events commit in `seq` order, so the outbox never delivers a later
 * change before an earlier one still in flight.
 */
const LOCK_KEYS: Record<WriteLock, number> = {
  directory: 0x1df1_0001,
  definitions: 0x1df1_0002,
};

/**
 * The dialect for one store (one pool). Its writers queue in the process before they take a
 * connection: a connection waiting on the advisory lock is one the pool cannot lend, and a worker
 * running many governance steps at once would otherwise tie up its whole pool waiting (its run
 * records then time out asking for one).
 */
export function postgresDialect(): StoreDialect {
  const queues: Record<WriteLock, Mutex> = { directory: new Mutex(), definitions: new Mutex() };
  return { name: 'postgres', writeTransaction: (db, lock, work) => writeTransaction(db, queues[lock], lock, work) };
}

async function writeTransaction<T>(
  db: Kysely<Database>,
  queue: Mutex,
  lock: WriteLock,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  const release = await queue.lock();
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${LOCK_KEYS[lock]})`.execute(trx);
      return work(trx);
    });
  } finally {
    release();
  }
}
