/**
 * The blast-radius guard end to end (a real Temporal server, a real store, a real worker, an SMTP
 * server on loopback): the scenario — an HR import deactivates 800 of 1,000 people by
 * mistake, and the leaver automation acts for no more than its limit; the rest are held, the
 * admins get one email, a held run's plan is visible, discard leaves everyone else's access, and
 * the right file's re-import leaves the 800 enabled. Then release: held runs wait through a worker
 * restart and go on when an admin lets them, one by one or all.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApiServer } from '../api/server.js';
import { importFeed, parseFeed } from '../directory/import.js';
import { startSmtpCatcher } from '../dev/outbox.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { readRows } from './helpers/store.js';
import { until } from './helpers/worker-process.js';

const PEOPLE = 1000;
const MISTAKEN = 800;
const LIMIT = 50;
const ADMIN = 'secops@acme.example';

let idflow: TestEngine;
let api: FastifyInstance | undefined;
let smtp: { url: string; close(): Promise<void> };
const mails: { to?: string; body?: unknown }[] = [];

before(async () => {
  smtp = await startSmtpCatcher({ add: (item) => mails.push(item) });
  idflow = await startTestEngine({ env: { SMTP_URL: smtp.url, EMAIL_FROM: 'idflow@acme.example', IDFLOW_ADMIN_EMAIL: ADMIN } });
});

after(async () => {
  await api?.close();
  await idflow?.stop();
  await smtp?.close();
});

/** One person per line, p-1 … p-N; the first `disabled` of them marked DISABLED. */
function feed(disabled: number): string {
  const lines = ['id,email,firstName,lastName,status'];
  for (let i = 1; i <= PEOPLE; i++)
    lines.push(`p-${i},person${i}@acme.example,First${i},Last${i},${i <= disabled ? 'DISABLED' : 'ENABLED'}`);
  return `${lines.join('\n')}\n`;
}

async function importHr(disabled: number) {
  return importFeed(idflow.engine.directory, await parseFeed('hr.csv', feed(disabled)), { source: 'hr' });
}

const outboxDrained = () =>
  until('the directory outbox is delivered', async () => (await idflow.store.directory.pendingEvents(1)).length === 0, 60_000);

/** People who still hold their grant of app:access. */
async function holders(): Promise<Set<string>> {
  return new Set((await idflow.store.directory.listGrants({ entitlementId: 'ent-access' })).map((grant) => grant.userId));
}

/** The leaver's runs by status, counted in the database (a run list stops at 500). */
async function leaverRuns(): Promise<Record<string, number>> {
  const rows = await readRows(idflow.database, "select status, count(*) as n from runs where automation = 'leaver' group by status");
  return Object.fromEntries(rows.map((row) => [row.status as string, Number(row.n)]));
}
const total = (counts: Record<string, number>): number => Object.values(counts).reduce((sum, n) => sum + n, 0);

test('a mistaken HR import deactivating 800 of 1,000 people: the leaver acts for 50, holds 750, tells the admins once; discard and re-import leave everyone else as they were', async () => {
  assert.equal((await importHr(0)).created.length, PEOPLE);
  await idflow.store.directory.transaction(async (ops) => {
    await ops.putApp({ id: 'app-access', slug: 'access', displayName: 'Access' });
    await ops.putEntitlement({ id: 'ent-access', appId: 'app-access', app: 'access', slug: 'all', displayName: 'Everything' });
    const grantedAt = new Date().toISOString();
    for (let i = 1; i <= PEOPLE; i++)
      await ops.putGrant({ userId: `p-${i}`, entitlementId: 'ent-access', entitlement: 'access:all', source: 'test', grantedAt });
  });
  await outboxDrained();
  await idflow.apply(`
kind: Automation
name: leaver
trigger: { type: user.deactivated }
guard: { maxRunsPerHour: ${LIMIT} }
steps:
  - name: revoke_access
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", all: true }
`);

  const mistaken = await importHr(MISTAKEN);
  assert.equal(mistaken.deactivated.length, MISTAKEN);
  await until(
    'every leaver run acted or is held',
    async () => {
      const runs = await leaverRuns();
      const held = await idflow.store.guard.pendingHolds('leaver');
      return total(runs) === MISTAKEN && (runs.completed ?? 0) + held.length === MISTAKEN;
    },
    // 800 events through the outbox, each run started by its person's queue: minutes on a loaded 2-core machine.
    240_000,
  );
  const runs = await leaverRuns();
  assert.deepEqual(runs, { completed: LIMIT, running: MISTAKEN - LIMIT }, 'the limit’s worth of leaver runs acted; the rest exist, held');
  assert.equal((await holders()).size, PEOPLE - LIMIT, 'only the admitted runs revoked anything');
  const heldRecords = await idflow.store.runs.list({ automation: 'leaver', status: 'running', limit: 500 });
  for (const run of heldRecords)
    assert.ok(
      run.steps.every((step) => step.status === 'pending'),
      `held before its first side effect: ${run.runId}`,
    );

  const status = await idflow.engine.guard.status({ limit: 1000 });
  assert.equal(status.trips.length, 1);
  assert.equal(status.trips[0]?.automation, 'leaver');
  assert.equal(status.trips[0]?.held, MISTAKEN - LIMIT);
  assert.match(status.trips[0]?.reason ?? '', /more than 50 runs in the hour/);
  assert.equal(status.held.length, MISTAKEN - LIMIT);
  await until('the admins are told', () => mails.length > 0);
  assert.equal(mails.length, 1, 'one email per trip, not per held run');
  assert.equal(mails[0]?.to, ADMIN);
  assert.match(JSON.stringify(mails[0]?.body), /automation \\"leaver\\" tripped/);

  // A held run's plan: what it would revoke, nothing done.
  const heldRun = status.held[0]!;
  const subject = ((await idflow.store.runs.get(heldRun.runId))?.trigger as { newUser: { id: string } }).newUser.id;
  const plan = await idflow.engine.guard.plan(heldRun.runId, { actor: 'test', runFunctions: false, webhookUrls: false });
  assert.deepEqual(plan.events[0]?.automations[0]?.steps[0]?.effects, [{ kind: 'revoke', user: subject, entitlement: 'access:all' }]);
  assert.ok((await holders()).has(subject), 'planning changed nothing');

  const discarded = await idflow.engine.guard.discard('leaver', undefined, 'admin');
  assert.equal(discarded.runIds.length, MISTAKEN - LIMIT);
  await until('the held runs end', async () => (await leaverRuns()).running === undefined, 60_000);
  assert.deepEqual(await leaverRuns(), { completed: LIMIT, cancelled: MISTAKEN - LIMIT });
  const [cancelled] = await idflow.store.runs.list({ automation: 'leaver', status: 'cancelled', limit: 1 });
  assert.match(cancelled?.error ?? '', /^discarded by admin while held by the guard: /);
  assert.equal((await holders()).size, PEOPLE - LIMIT, 'nobody else lost access');
  assert.deepEqual(await idflow.store.guard.trips(), [], 'the trip is cleared');

  const corrected = await importHr(0);
  assert.equal(corrected.updated.length, MISTAKEN, 'the right file enables the 800 again');
  await outboxDrained();
  assert.equal((await idflow.store.directory.listUsers({ status: 'ENABLED' })).length, PEOPLE, 'the 800 stay enabled');
  assert.equal(total(await leaverRuns()), MISTAKEN, 'the re-import started no leaver');
  assert.equal(mails.length, 1);
});

test('held runs wait through a worker restart; an admin releases them one by one or all; a runs:write token may discard but not release', async () => {
  api = await buildApiServer({ engine: idflow.engine });
  const admin = `Bearer ${await idflow.store.tokens.create('guard-admin', ['admin'])}`;
  const operator = `Bearer ${await idflow.store.tokens.create('guard-operator', ['runs:read', 'runs:write'])}`;
  const call = async (method: 'GET' | 'POST', url: string, token: string, payload?: object) => {
    const response = await api!.inject({ method, url, headers: { authorization: token }, ...(payload && { payload }) });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  };
  await idflow.store.directory.transaction((ops) =>
    ops.putEntitlement({ id: 'ent-extra', appId: 'app-access', app: 'access', slug: 'extra', displayName: 'Extra' }),
  );
  await idflow.apply(`
kind: Automation
name: extra
trigger: { type: user.updated }
guard: { maxRunsPerHour: 1 }
steps:
  - name: grant
    type: grant_entitlements
    with: { user: "{{ ctx.trigger.person }}", entitlements: [access:extra] }
`);
  const extraHolders = async () =>
    (await idflow.store.directory.listGrants({ entitlementId: 'ent-extra' })).map((grant) => grant.userId).sort();
  const mailsBefore = mails.length;
  const runs: string[] = [];
  for (const person of ['p-901', 'p-902', 'p-903']) runs.push((await idflow.engine.runManually('extra', { person }, 'test')).runId);
  // Up to two minutes: the worker may still be finishing the previous test's 1,600 workflows (800 runs and their person queues).
  assert.equal((await idflow.engine.waitForRun(runs[0]!, 120_000)).status, 'completed');
  await until('two runs held', async () => (await idflow.store.guard.pendingHolds('extra')).length === 2);
  assert.deepEqual(await extraHolders(), ['p-901']);
  const status = await call('GET', '/v1/guard?automation=extra', operator);
  assert.equal(status.status, 200);
  assert.deepEqual((status.body.held as { runId: string }[]).map((hold) => hold.runId).sort(), [runs[1], runs[2]].sort());

  assert.equal((await call('POST', '/v1/guard/extra/release', operator, {})).status, 403, 'releasing is an admin’s override');
  const notHeld = await call('POST', '/v1/guard/extra/release', admin, { runs: [runs[0]] });
  assert.equal(notHeld.status, 400);
  assert.match(JSON.stringify(notHeld.body), /not held runs of automation \\"extra\\": extra:manual-/);
  assert.equal((await call('POST', '/v1/guard/nothing-here/discard', operator, {})).status, 404);

  // Held durably: the wait is a Temporal signal wait, not a worker's memory.
  await idflow.stopWorker();
  await idflow.startWorker();
  const one = await call('POST', '/v1/guard/extra/release', admin, { runs: [runs[1]] });
  assert.deepEqual(one.body, { automation: 'extra', decision: 'released', runIds: [runs[1]] });
  assert.equal((await idflow.finished(runs[1]!)).status, 'completed');
  assert.deepEqual(await extraHolders(), ['p-901', 'p-902'], 'released past the limit');
  assert.ok(await idflow.store.guard.trip('extra'), 'still tripped while a run is held');
  await call('POST', '/v1/guard/extra/release', admin, {});
  assert.equal((await idflow.finished(runs[2]!)).status, 'completed');
  assert.deepEqual((await call('GET', '/v1/guard', operator)).body, { trips: [], held: [] });
  assert.equal(mails.length, mailsBefore + 1, 'one email for the trip');

  // The hour is still full: the next run trips the automation again, a new trip and a new email; an operator may discard it.
  const fourth = (await idflow.engine.runManually('extra', { person: 'p-904' }, 'test')).runId;
  await until('the fourth run is held', async () => (await idflow.store.guard.pendingHold(fourth)) !== undefined);
  await until('the admins are told of the new trip', () => mails.length === mailsBefore + 2);
  assert.equal((await call('POST', '/v1/guard/extra/discard', operator, {})).status, 200);
  const discarded = await idflow.finished(fourth);
  assert.equal(discarded.status, 'cancelled');
  assert.match(discarded.error ?? '', /^discarded by guard-operator while held by the guard: the automation is tripped|more than 1 runs/);
  assert.deepEqual(await extraHolders(), ['p-901', 'p-902', 'p-903']);
  const audit = await idflow.store.audit.list({ target: 'Automation/extra' });
  assert.deepEqual(
    audit
      .filter((entry) => entry.action.startsWith('guard.'))
      .map((entry) => `${entry.action} by ${entry.actor}`)
      .sort(),
    ['guard.discard by guard-operator', 'guard.release by guard-admin', 'guard.release by guard-admin'],
  );
});
