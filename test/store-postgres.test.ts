/**
 * What the PostgreSQL store does that SQLite has no counterpart for: statements prepared once per
 * connection, and what happens to them when a newer idflow migrates a table under them.
 */
import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from '../store/index.js';
import { createTestDatabase, onlyOn, openTestStore, readRows } from './helpers/store.js';

const skip = onlyOn('postgres', 'prepared statements are PostgreSQL');

test('a connection prepares a statement once and reuses it', { skip }, async () => {
  const database = await createTestDatabase();
  const store = await openTestStore(database);
  const { db } = openDatabase(database.location);
  try {
    await db.connection().execute(async (connection) => {
      for (const runId of ['a', 'b', 'c']) await connection.selectFrom('runs').selectAll().where('run_id', '=', runId).execute();
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(connection);
      const runSelects = rows.filter((row) => row.statement.startsWith('select * from "runs"'));
      assert.equal(runSelects.length, 1, `one prepared statement for the three selects: ${JSON.stringify(rows)}`);
    });
  } finally {
    await db.destroy();
    await store.close();
  }
});

test('a statement prepared before a migration changed its table still runs after it', { skip }, async () => {
  const database = await createTestDatabase();
  const store = await openTestStore(database);
  const { db } = openDatabase(database.location);
  try {
    await db.connection().execute(async (connection) => {
      const select = () => connection.selectFrom('runs').selectAll().where('run_id', '=', 'a').execute();
      await select();
      // A newer idflow's migration, from another process: `select *` now returns another row type.
      await readRows(database, 'alter table runs add column added_later text');
      assert.deepEqual(await select(), []);
      assert.deepEqual(await select(), [], 'and again on the same connection');
    });
  } finally {
    await db.destroy();
    await store.close();
  }
});
