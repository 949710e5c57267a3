/**
 * The guard's counting, shared by processes: admissions from several stores over one database
 * (each its own connection or pool) never exceed the limit, the last slot goes to exactly one of
 * two racing admissions, a retried admission finds its own slot, and a hold trips the automation
 * once until every held run is decided. Runs on both stores (npm test's two passes).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore, type Store } from '../store/index.js';
import { createTestDatabase, openTestStore, type TestDatabase } from './helpers/store.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function processes(count: number): Promise<{ stores: Store[]; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-guard-'));
  dirs.push(dir);
  const database: TestDatabase = await createTestDatabase({ dir });
  const first = await openTestStore(database);
  const rest = await Promise.all(Array.from({ length: count - 1 }, () => openStore(database.location)));
  const stores = [first, ...rest];
  return {
    stores,
    async close() {
      for (const store of [...stores].reverse()) await store.close();
    },
  };
}

const thisHour = (): string => {
  const start = new Date();
  start.setUTCMinutes(0, 0, 0);
  return start.toISOString();
};

test('two processes admitting for the last slot: exactly one gets it, whichever', async () => {
  const { stores, close } = await processes(2);
  try {
    const window = thisHour();
    const admission = (subject: string) => ({ automation: 'leaver', counter: 'runs' as const, subject, window, limit: 5 });
    for (let i = 1; i <= 4; i++) assert.equal(await stores[0]!.guard.admit(admission(`run-${i}`)), true);
    for (let round = 0; round < 20; round++) {
      const last = await Promise.all([stores[0]!.guard.admit(admission(`a-${round}`)), stores[1]!.guard.admit(admission(`b-${round}`))]);
      if (round === 0) assert.equal(last.filter(Boolean).length, 1, `exactly one of the two took the last slot: ${last}`);
      else assert.deepEqual(last, [false, false], 'the window is full');
    }
    assert.equal(await stores[1]!.guard.admit(admission('run-2')), true, 'a retried admission finds its own slot');
  } finally {
    await close();
  }
});

test('many admissions from four processes at once never exceed the limit', async () => {
  const { stores, close } = await processes(4);
  try {
    const window = thisHour();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        stores[i % stores.length]!.guard.admit({
          automation: 'leaver',
          counter: 'step:revoke_entitlements',
          subject: `r-${i}`,
          window,
          limit: 17,
        }),
      ),
    );
    assert.equal(results.filter(Boolean).length, 17);
    const other = await stores[0]!.guard.admit({ automation: 'leaver', counter: 'runs', subject: 'r-0', window, limit: 1 });
    assert.equal(other, true, 'each counter and automation counts on its own');
    const older = new Date(Date.parse(window) - 3_600_000).toISOString();
    assert.equal(await stores[0]!.guard.admit({ automation: 'leaver', counter: 'runs', subject: 'r-1', window: older, limit: 1 }), true);
  } finally {
    await close();
  }
});

test('holds trip the automation once, and deciding on every held run clears the trip', async () => {
  const { stores, close } = await processes(1);
  const store = stores[0]!;
  try {
    const first = await store.guard.hold({ runId: 'leaver:e1', automation: 'leaver', reason: 'more than 1 runs' });
    const second = await store.guard.hold({ runId: 'leaver:e2', automation: 'leaver', reason: 'the automation is tripped' });
    assert.equal(second.trippedAt, first.trippedAt, 'one trip for both held runs');
    assert.equal(second.reason, 'more than 1 runs');
    const claims = await Promise.all([1, 2, 3].map(() => store.guard.claimNotification('leaver', first.trippedAt)));
    assert.deepEqual(claims.filter(Boolean).length, 1, 'one of the held runs tells the admins');
    assert.ok((await store.guard.trip('leaver'))?.notifiedAt);
    assert.deepEqual(
      (await store.guard.pendingHolds('leaver')).map((hold) => hold.runId),
      ['leaver:e1', 'leaver:e2'],
    );
    await store.guard.decide('leaver', ['leaver:e1'], 'released', 'admin');
    assert.ok(await store.guard.trip('leaver'), 'still tripped while a run is held');
    assert.equal(await store.guard.pendingHold('leaver:e1'), undefined);
    await store.guard.decide('leaver', ['leaver:e2'], 'discarded', 'admin');
    assert.equal(await store.guard.trip('leaver'), undefined);
    assert.deepEqual(await store.guard.trips(), []);
  } finally {
    await close();
  }
});
