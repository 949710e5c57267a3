/**
 * Many processes, one store: what must hold when several API and worker processes share a
 * database. Each "process" here is a Store of its own over the same database (its own pool on
 * PostgreSQL, its own connection on SQLite), so the databases' locking is what is tested.
 * Runs on both stores (npm test's two passes).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { sql } from 'kysely';
import { LEASE_TTL_MS, OutboxDispatcher } from '../directory/outbox.js';
import { DirectoryService } from '../directory/service.js';
import { createStore, openDatabase, openStore } from '../store/index.js';
import type { StoreDialect } from '../store/dialect.js';
import type { PendingDirectoryEvent, Store } from '../store/index.js';
import { createTestDatabase, onlyOn, openTestStore, readRows, type TestDatabase } from './helpers/store.js';

const PROCESSES = 4;
const silent = pino({ level: 'silent' });
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A fresh database that several stores can share (a file on SQLite, not memory). */
async function sharedDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-concurrency-'));
  dirs.push(dir);
  return createTestDatabase({ dir });
}

/** `count` stores over one database; the first one drops it when closed. */
async function processes(database: TestDatabase, count = PROCESSES): Promise<Store[]> {
  const first = await openTestStore(database);
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => openStore(database.location)));
  return [first, ...rest];
}

async function closeAll(stores: Store[]): Promise<void> {
  for (const store of [...stores].reverse()) await store.close();
}

test('processes that open a new database at the same moment migrate it once', async () => {
  const database = await sharedDatabase();
  const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(database.location)));
  try {
    const rows = await readRows(database, 'select name from kysely_migration order by name');
    const names = rows.map((row) => row.name as string);
    assert.ok(names.length >= 6, `migrations recorded: ${names.join(', ')}`);
    assert.equal(new Set(names).size, names.length, `a migration recorded twice: ${names.join(', ')}`);
  } finally {
    for (const store of stores) await store.close();
    await database.drop();
  }
});

test('a store migrated by a newer idflow is refused with a message that says so', async () => {
  const database = await sharedDatabase();
  const store = await openTestStore(database);
  const { db } = openDatabase(database.location);
  try {
    await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', ${new Date().toISOString()})`.execute(db);
    await assert.rejects(
      openStore(database.location),
      /migrated by a newer idflow \(it has 9999_from_the_future.*run that idflow version or a later one/,
    );
  } finally {
    await db.destroy();
    await store.close();
  }
});

/** Every process retries the same grant step (same effect key) several times at once. */
async function raceOneGrantStep(stores: Store[]): Promise<void> {
  await new DirectoryService(stores[0].directory).write(async (tx) => {
    await tx.ops.putApp({ id: 'github', slug: 'github', displayName: 'GitHub' });
    for (const slug of ['org-member', 'engineering', 'admins'])
      await tx.ops.putEntitlement({ id: `github:${slug}`, appId: 'github', app: 'github', slug, displayName: slug });
    const now = new Date().toISOString();
    await tx.ops.putUser({
      id: 'u-1',
      email: 'ada@acme.example',
      displayName: 'Ada',
      status: 'ENABLED',
      attributes: {},
      createdAt: now,
      updatedAt: now,
    });
  });
  const before = (await stores[0].directory.pendingEvents(1000)).length;
  const attempts = stores.flatMap((store) =>
    Array.from({ length: 3 }, () =>
      new DirectoryService(store.directory)
        .forStep('joiner:evt-1.grant', { source: 'test' })
        .grantEntitlements({ user: 'u-1', entitlements: ['github:org-member', 'github:engineering', 'github:admins'] }),
    ),
  );
  const results = await Promise.all(attempts);
  for (const result of results) assert.deepEqual(result, results[0], 'every attempt returns the first result');
  assert.deepEqual(results[0].granted, ['github:org-member', 'github:engineering', 'github:admins']);
  const events = (await stores[0].directory.pendingEvents(1000)).slice(before);
  assert.deepEqual(
    events.map((event) => event.type),
    ['grant.created', 'grant.created', 'grant.created'],
    'one grant.created per entitlement, however many attempts raced',
  );
}

test('concurrent retries of one governance step on different processes apply it once', async () => {
  const stores = await processes(await sharedDatabase());
  try {
    await raceOneGrantStep(stores);
  } finally {
    await closeAll(stores);
  }
});

test(
  "without the directory's write lock, the effect's primary key still keeps a raced step to one application",
  { skip: onlyOn('postgres', 'SQLite has one writer at a time whatever idflow locks') },
  async () => {
    const database = await sharedDatabase();
    const owner = await openTestStore(database);
    const unlocked: StoreDialect = { name: 'postgres', writeTransaction: (db, _lock, work) => db.transaction().execute(work) };
    const stores = Array.from({ length: PROCESSES }, () => createStore(openDatabase(database.location).db, unlocked));
    try {
      await raceOneGrantStep(stores);
    } finally {
      await closeAll(stores);
      await owner.close();
    }
  },
);

test('concurrent applies of one definition on different processes get consecutive versions', async () => {
  const stores = await processes(await sharedDatabase());
  try {
    const puts = stores.flatMap((store, p) =>
      Array.from({ length: 5 }, (_, i) =>
        store.definitions.put({ kind: 'Automation', name: 'joiner', spec: { p, i }, enabled: true, source: 'test', actor: `p${p}` }),
      ),
    );
    const versions = (await Promise.all(puts)).map((result) => result.version.version).sort((a, b) => a - b);
    assert.deepEqual(
      versions,
      Array.from({ length: versions.length }, (_, i) => i + 1),
    );
    assert.equal((await stores[0].definitions.head('Automation', 'joiner'))?.version, versions.length);
  } finally {
    await closeAll(stores);
  }
});

/** Emits `count` user events spread over `people`, in one transaction each, from alternating processes. */
async function emitEvents(stores: Store[], count: number, people: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const store = stores[i % stores.length];
    await store.directory.transaction((ops) =>
      ops.emit({ id: `evt-${String(i).padStart(4, '0')}`, type: 'user.updated', data: { person: `p-${i % people}`, n: i } }),
    );
  }
}

test('several API processes deliver the directory outbox once and in order', async () => {
  const stores = await processes(await sharedDatabase());
  const delivered: { holder: string; event: PendingDirectoryEvent }[] = [];
  const dispatchers = stores.map(
    (store) =>
      new OutboxDispatcher(
        store.directory,
        store.leases,
        async (event) => {
          delivered.push({ holder: dispatchers[stores.indexOf(store)].holder, event });
        },
        silent,
      ),
  );
  try {
    for (const dispatcher of dispatchers) dispatcher.start();
    await emitEvents(stores, 300, 25);
    const deadline = Date.now() + 60_000;
    while ((await stores[0].directory.pendingEvents(1)).length > 0 && Date.now() < deadline) {
      for (const dispatcher of dispatchers) dispatcher.wake();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const dispatcher of dispatchers) await dispatcher.stop();
    const ids = delivered.map((entry) => entry.event.id);
    assert.equal(ids.length, 300, 'every event delivered');
    assert.equal(new Set(ids).size, 300, 'no event delivered twice');
    assert.deepEqual(ids, [...ids].sort(), 'delivered in the order they were written');
  } finally {
    for (const dispatcher of dispatchers) await dispatcher.stop();
    await closeAll(stores);
  }
});

test('a holder that dies mid-delivery leaves nothing stuck: another process takes over when the lease runs out', async () => {
  const stores = await processes(await sharedDatabase(), 2);
  const [dying, survivor] = stores;
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const byFirst: string[] = [];
  const bySecond: string[] = [];
  // The first process hangs forever on its 5th delivery: from outside it looks like a process that died mid-batch.
  const first = new OutboxDispatcher(
    dying.directory,
    dying.leases,
    async (event) => {
      if (byFirst.length === 4) {
        holding();
        await new Promise(() => undefined);
      }
      byFirst.push(event.id);
    },
    silent,
  );
  const second = new OutboxDispatcher(
    survivor.directory,
    survivor.leases,
    async (event) => {
      bySecond.push(event.id);
    },
    silent,
  );
  try {
    await emitEvents(stores, 10, 3);
    first.start();
    await held;
    const stuckAt = Date.now();
    second.start();
    const deadline = Date.now() + LEASE_TTL_MS + 30_000;
    while ((await survivor.directory.pendingEvents(1)).length > 0 && Date.now() < deadline) {
      second.wake();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tookOver = Date.now() - stuckAt;
    const all = Array.from({ length: 10 }, (_, i) => `evt-000${i}`);
    assert.deepEqual(byFirst, all.slice(0, 4));
    // The batch the holder never marked is delivered again, in order: ingest knows the first four by their ids.
    assert.deepEqual(bySecond, all, 'the survivor delivers everything not marked delivered, in order');
    assert.ok(tookOver >= LEASE_TTL_MS - 1_000, `taken over after ${tookOver} ms, before the lease ran out`);
  } finally {
    await second.stop();
    await closeAll(stores);
  }
});

test(
  "the URL's TLS options reach the driver: sslmode=require against a server without TLS is refused, naming the store",
  { skip: onlyOn('postgres', 'sslmode is a PostgreSQL URL option') },
  async () => {
    const database = await createTestDatabase();
    try {
      const url = new URL((database.location as { url: string }).url);
      url.searchParams.set('sslmode', 'require');
      await assert.rejects(
        openStore({ url: url.toString() }),
        /store: cannot read postgres:\/\/.*sslmode=require: The server does not support SSL connections/,
      );
    } finally {
      await database.drop();
    }
  },
);

test(
  "writers queued behind another process's directory write do not hold the store's connections: its reads still answer",
  { skip: onlyOn('postgres', 'SQLite writers wait on the file lock, not on pooled connections') },
  async () => {
    const [worker, other] = await processes(await sharedDatabase(), 2);
    let finishHolding!: () => void;
    const holding = new Promise<void>((resolve) => (finishHolding = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    // Another process holds the directory's write lock until this test lets go.
    const holder = other.directory.transaction(async (ops) => {
      await ops.emit({ id: 'held', type: 'user.updated', data: {} });
      locked();
      await holding;
    });
    try {
      await lockTaken;
      // More governance writes at once than the pool has connections (10), all waiting for that lock.
      const writes = Array.from({ length: 30 }, (_, i) =>
        worker.directory.transaction((ops) => ops.emit({ id: `queued-${i}`, type: 'user.updated', data: {} })),
      );
      // While they wait, the same process records a run, as a worker does between steps.
      const read = await worker.runs.get('no-such-run');
      assert.equal(read, undefined);
      finishHolding();
      await Promise.all(writes);
      assert.equal((await worker.directory.pendingEvents(100)).length, 31);
    } finally {
      finishHolding();
      await holder;
      await closeAll([worker, other]);
    }
  },
);
