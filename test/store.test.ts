/**
 * The store, specified by example against real databases: SQLite files in a temporary directory, or
 * PostgreSQL databases (test/helpers/store.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/index.js';
import type { RunRecord, Store } from '../store/types.js';
import { TEST_STORE, createTestDatabase, onlyOn, readRows, type TestDatabase } from './helpers/store.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const storeEntry = new URL('../store/index.ts', import.meta.url).href;

let dir: string;
let fileCount = 0;
const open: Store[] = [];
const databases: TestDatabase[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'idflow-store-'));
});

after(async () => {
  await Promise.all(open.map((store) => store.close()));
  await Promise.all(databases.map((database) => database.drop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A new database in the dialect under test; on SQLite a file in a directory of its own that does not exist yet. */
async function freshDatabase(): Promise<TestDatabase> {
  fileCount += 1;
  const database = await createTestDatabase({ dir: join(dir, `nested-${fileCount}`) });
  databases.push(database);
  return database;
}

async function openOn(database: TestDatabase): Promise<Store> {
  const store = await openStore(database.location);
  open.push(store);
  return store;
}

async function freshStore(): Promise<Store> {
  return openOn(await freshDatabase());
}

const joiner = {
  trigger: { event: 'hr.joiner' },
  steps: [{ name: 'create', type: 'http', with: { url: 'https://x', body: { a: 1, b: 2 } } }],
};

function startInput(runId: string, overrides: Partial<Omit<RunRecord, 'steps'>> = {}) {
  return {
    runId,
    automation: 'joiner',
    version: 1,
    trigger: { event: { id: `evt-${runId}` } },
    startedAt: '2025-01-01T00:00:00.000Z',
    steps: [
      { name: 'create', type: 'http' },
      { name: 'notify', type: 'slack' },
      { name: 'wait', type: 'wait' },
    ],
    ...overrides,
  };
}

it('is the store of this pass (IDFLOW_TEST_STORE)', async () => {
  assert.equal((await freshStore()).dialect, TEST_STORE);
});

describe('definitions', () => {
  it('writes a version only when the content changes, and keeps history', async () => {
    const store = await freshStore();
    const base = { kind: 'Automation' as const, name: 'joiner', enabled: true, source: 'examples/joiner.yaml', actor: 'alice' };
    assert.equal(await store.definitions.generation(), 0);

    const first = await store.definitions.put({ ...base, spec: joiner });
    assert.equal(first.created, true);
    assert.equal(first.version.version, 1);
    assert.match(first.version.hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(first.version.spec, joiner);
    assert.equal(first.version.createdBy, 'alice');
    assert.equal(await store.definitions.generation(), 1);

    // The same content with keys in another order is the same definition.
    const reordered = {
      steps: [{ with: { body: { b: 2, a: 1 }, url: 'https://x' }, type: 'http', name: 'create' }],
      trigger: { event: 'hr.joiner' },
    };
    const same = await store.definitions.put({ ...base, spec: reordered, source: 'elsewhere.yaml', actor: 'bob' });
    assert.equal(same.created, false);
    assert.deepEqual(same.version, first.version);
    assert.equal(await store.definitions.generation(), 1);

    const changed = { ...joiner, trigger: { event: 'hr.rehire' } };
    const second = await store.definitions.put({ ...base, spec: changed });
    assert.equal(second.created, true);
    assert.equal(second.version.version, 2);
    assert.notEqual(second.version.hash, first.version.hash);
    assert.equal(await store.definitions.generation(), 2);

    // Back to v1's content: compared with the head only, so it is a new version 3.
    const third = await store.definitions.put({ ...base, spec: joiner, source: 'rollback of v1' });
    assert.equal(third.created, true);
    assert.equal(third.version.version, 3);
    assert.equal(third.version.hash, first.version.hash);

    const history = await store.definitions.history('Automation', 'joiner');
    assert.deepEqual(
      history.map((v) => [v.version, v.source]),
      [
        [1, 'examples/joiner.yaml'],
        [2, 'examples/joiner.yaml'],
        [3, 'rollback of v1'],
      ],
    );
    assert.deepEqual(await store.definitions.get('Automation', 'joiner', 2), second.version);
    assert.equal(await store.definitions.get('Automation', 'joiner', 9), undefined);
    assert.equal(await store.definitions.get('Webhook', 'joiner', 1), undefined);

    const head = await store.definitions.head('Automation', 'joiner');
    assert.equal(head?.version, 3);
    assert.equal(head?.enabled, true);
    const current = await store.definitions.current('Automation', 'joiner');
    assert.deepEqual(current, { ...third.version, enabled: true });
    assert.equal(await store.definitions.current('Automation', 'missing'), undefined);
    assert.equal(await store.definitions.head('Automation', 'missing'), undefined);
  });

  it('keeps enabled on an unchanged put, and setEnabled bumps the generation and audits', async () => {
    const store = await freshStore();
    const base = { kind: 'Automation' as const, name: 'leaver', source: 'leaver.yaml', actor: 'alice', spec: joiner };
    await store.definitions.put({ ...base, enabled: true });
    await store.definitions.setEnabled('Automation', 'leaver', false, 'bob');
    assert.equal(await store.definitions.generation(), 2);
    assert.equal((await store.definitions.head('Automation', 'leaver'))?.enabled, false);

    // Re-applying the same file must not re-enable what an operator disabled.
    const again = await store.definitions.put({ ...base, enabled: true });
    assert.equal(again.created, false);
    assert.equal((await store.definitions.head('Automation', 'leaver'))?.enabled, false);
    assert.equal(await store.definitions.generation(), 2);

    // A changed spec takes enabled from the input.
    await store.definitions.put({ ...base, spec: { ...joiner, steps: [] }, enabled: true });
    assert.equal((await store.definitions.current('Automation', 'leaver'))?.enabled, true);
    assert.equal(await store.definitions.generation(), 3);

    await assert.rejects(store.definitions.setEnabled('Automation', 'nobody', true, 'bob'), /Automation "nobody"/);
    assert.equal(await store.definitions.generation(), 3);

    const audit = await store.audit.list({ target: 'Automation/leaver' });
    assert.deepEqual(
      audit.map((entry) => [entry.action, entry.actor, entry.details]),
      [
        ['definition.put', 'alice', { version: 2, source: 'leaver.yaml' }],
        ['definition.disable', 'bob', { version: 1, enabled: false }],
        ['definition.put', 'alice', { version: 1, source: 'leaver.yaml' }],
      ],
    );
  });

  it('lists heads of one kind by name with their current spec', async () => {
    const store = await freshStore();
    const put = (kind: 'Automation' | 'Webhook', name: string, spec: typeof joiner | { url: string }, enabled = true) =>
      store.definitions.put({ kind, name, spec, enabled, source: 's', actor: 'a' });
    await put('Automation', 'mover', joiner);
    await put('Automation', 'joiner', joiner, false);
    await put('Automation', 'joiner', { ...joiner, steps: [] }, false);
    await put('Webhook', 'hris', { url: 'https://hris' });

    const automations = await store.definitions.list('Automation');
    assert.deepEqual(
      automations.map((a) => [a.name, a.version, a.enabled, a.spec.steps]),
      [
        ['joiner', 2, false, []],
        ['mover', 1, true, joiner.steps],
      ],
    );
    const webhooks = await store.definitions.list('Webhook');
    assert.deepEqual(
      webhooks.map((w) => [w.kind, w.name, w.spec]),
      [['Webhook', 'hris', { url: 'https://hris' }]],
    );
  });
});

describe('runs', () => {
  it('starts idempotently with pending steps in order', async () => {
    const store = await freshStore();
    await store.runs.start(startInput('run-1', { eventId: 'evt-1' }));
    // A replayed start with different content changes nothing.
    await store.runs.start({ ...startInput('run-1'), version: 7, steps: [{ name: 'other', type: 'x' }] });

    const run = await store.runs.get('run-1');
    assert.deepEqual(run, {
      runId: 'run-1',
      automation: 'joiner',
      version: 1,
      status: 'running',
      trigger: { event: { id: 'evt-run-1' } },
      eventId: 'evt-1',
      startedAt: '2025-01-01T00:00:00.000Z',
      steps: [
        { index: 0, name: 'create', type: 'http', status: 'pending', attempts: 0 },
        { index: 1, name: 'notify', type: 'slack', status: 'pending', attempts: 0 },
        { index: 2, name: 'wait', type: 'wait', status: 'pending', attempts: 0 },
      ],
    });
    assert.equal(await store.runs.get('nope'), undefined);

    await store.runs.start({ ...startInput('child', { parentRunId: 'run-1' }), steps: [] });
    const child = await store.runs.get('child');
    assert.equal(child?.parentRunId, 'run-1');
    assert.deepEqual(child?.steps, []);
  });

  it('records steps from pending to running to completed or failed, counting attempts', async () => {
    const store = await freshStore();
    await store.runs.start(startInput('run-2'));

    await store.runs.stepStarted('run-2', 'create', { url: 'https://x' }, 1);
    let step = (await store.runs.get('run-2'))?.steps[0];
    assert.equal(step?.status, 'running');
    assert.equal(step?.attempts, 1);
    assert.deepEqual(step?.input, { url: 'https://x' });
    const firstStart = step?.startedAt;
    assert.ok(firstStart);

    await new Promise((resolve) => setTimeout(resolve, 5));
    await store.runs.stepStarted('run-2', 'create', { url: 'https://x' }, 3);
    // A late retry of an earlier attempt's record does not lower the count.
    await store.runs.stepStarted('run-2', 'create', { url: 'https://x' }, 2);
    step = (await store.runs.get('run-2'))?.steps[0];
    assert.equal(step?.attempts, 3);
    assert.equal(step?.startedAt, firstStart, 'the first start is kept');

    await store.runs.stepFinished('run-2', 'create', { status: 'completed', output: { id: 42, ok: null } });
    await store.runs.stepStarted('run-2', 'notify', null, 1);
    await store.runs.stepFinished('run-2', 'notify', { status: 'failed', error: 'slack said no' });

    const run = await store.runs.get('run-2');
    const [create, notify, wait] = run?.steps ?? [];
    assert.equal(create.status, 'completed');
    assert.deepEqual(create.output, { id: 42, ok: null });
    assert.equal(create.error, undefined);
    assert.ok(create.endedAt && create.endedAt >= create.startedAt!);
    assert.equal(notify.status, 'failed');
    assert.equal(notify.error, 'slack said no');
    assert.equal(notify.input, null, 'a JSON null input is kept as null');
    assert.equal(notify.output, undefined);
    assert.equal(notify.attempts, 1);
    assert.deepEqual(wait, { index: 2, name: 'wait', type: 'wait', status: 'pending', attempts: 0 });

    await assert.rejects(store.runs.stepStarted('run-2', 'ghost', {}, 1), /run "run-2" has no step "ghost"/);
    await assert.rejects(store.runs.stepFinished('missing-run', 'create', { status: 'cancelled', error: 'x' }), /no run "missing-run"/);
  });

  it('finishes once: the first terminal status wins', async () => {
    const store = await freshStore();
    await store.runs.start(startInput('run-3'));
    await store.runs.finish('run-3', 'failed', 'step notify failed');
    const finished = await store.runs.get('run-3');
    assert.equal(finished?.status, 'failed');
    assert.equal(finished?.error, 'step notify failed');
    assert.ok(finished?.endedAt);

    await store.runs.finish('run-3', 'completed');
    await store.runs.finish('run-3', 'failed', 'a retried write');
    assert.deepEqual(await store.runs.get('run-3'), finished);

    await store.runs.start(startInput('run-4'));
    await store.runs.finish('run-4', 'completed');
    const completed = await store.runs.get('run-4');
    assert.equal(completed?.status, 'completed');
    assert.equal(completed?.error, undefined);

    await assert.rejects(store.runs.finish('ghost', 'completed'), /run "ghost"/);
  });

  it("ends a run with its last step's write, and lets only the workflow's own failure replace that completion", async () => {
    const store = await freshStore();
    await store.runs.start(startInput('run-5'));
    assert.deepEqual(await store.runs.lastStepCompleted('run-5', 'wait', { waited: true }), { automation: 'joiner' });
    const completed = await store.runs.get('run-5');
    assert.equal(completed?.status, 'completed');
    assert.ok(completed?.endedAt);
    assert.equal(completed?.steps[2].status, 'completed');
    assert.deepEqual(completed?.steps[2].output, { waited: true });
    // A retried last step completing again ends nothing twice.
    assert.equal(await store.runs.lastStepCompleted('run-5', 'wait', { waited: true }), undefined);

    // A retry of that step then failed: a plain finish (a reconciler, a retried write) keeps the completion...
    assert.equal(await store.runs.finish('run-5', 'failed', 'late'), undefined);
    assert.equal((await store.runs.get('run-5'))?.status, 'completed');
    // ...the workflow's own ending replaces it, and a completion never replaces a failure.
    assert.deepEqual(await store.runs.finish('run-5', 'failed', 'step "wait" failed', { overCompleted: true }), { automation: 'joiner' });
    assert.equal(await store.runs.finish('run-5', 'completed', undefined, { overCompleted: true }), undefined);
    const failed = await store.runs.get('run-5');
    assert.equal(failed?.status, 'failed');
    assert.equal(failed?.error, 'step "wait" failed');
  });

  it('lists newest first with filters and a bounded limit', async () => {
    const store = await freshStore();
    const at = (minute: number) => `2025-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
    await store.runs.start(startInput('a1', { startedAt: at(1), eventId: 'e1' }));
    await store.runs.start(startInput('b1', { automation: 'leaver', startedAt: at(2), eventId: 'e1' }));
    await store.runs.start(startInput('a2', { startedAt: at(3), eventId: 'e2' }));
    await store.runs.start(startInput('a3', { startedAt: at(4) }));
    await store.runs.finish('a2', 'completed');

    const ids = (runs: RunRecord[]) => runs.map((run) => run.runId);
    const all = await store.runs.list({});
    assert.deepEqual(ids(all), ['a3', 'a2', 'b1', 'a1']);
    assert.deepEqual(
      all[0].steps.map((s) => s.name),
      ['create', 'notify', 'wait'],
      'listed runs carry their steps',
    );
    assert.deepEqual(ids(await store.runs.list({ automation: 'joiner' })), ['a3', 'a2', 'a1']);
    assert.deepEqual(ids(await store.runs.list({ status: 'running' })), ['a3', 'b1', 'a1']);
    assert.deepEqual(ids(await store.runs.list({ status: 'completed' })), ['a2']);
    assert.deepEqual(ids(await store.runs.list({ eventId: 'e1' })), ['b1', 'a1']);
    assert.deepEqual(ids(await store.runs.list({ automation: 'joiner', status: 'running', eventId: 'e1' })), ['a1']);
    assert.deepEqual(ids(await store.runs.list({ limit: 2 })), ['a3', 'a2']);
    assert.deepEqual(ids(await store.runs.list({ limit: 0 })), ['a3'], 'a limit below 1 is raised to 1');
    assert.deepEqual(await store.runs.list({ automation: 'nobody' }), []);
  });

  it('defaults the list limit to 50 and caps it at 500', async () => {
    const store = await freshStore();
    for (let i = 0; i < 510; i += 1) {
      await store.runs.start({ ...startInput(`r${String(i).padStart(3, '0')}`), steps: [] });
    }
    assert.equal((await store.runs.list({})).length, 50);
    assert.equal((await store.runs.list({ limit: 10_000 })).length, 500);
  });
  it("reads runs by ids with their steps, an automation's root runs of a window a page at a time, and a run's children", async () => {
    const store = await freshStore();
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const start = (runId: string, minutesAgo: number, extra: { eventId?: string; parentRunId?: string; automation?: string } = {}) =>
      store.runs.start({ ...startInput(runId), ...extra, startedAt: at(minutesAgo) });
    await start('tick-1', 50);
    await start('tick-2', 40);
    await start('tick-3', 40);
    await start('tick-4', 10);
    await start('old', 90);
    await start('of-event', 20, { eventId: 'evt-1' });
    await start('tick-4.u1', 10, { parentRunId: 'tick-4' });
    await start('tick-4.u2', 10, { parentRunId: 'tick-4' });
    await start('other', 20, { automation: 'leaver' });
    const pages: string[][] = [];
    let before: RunRecord | undefined;
    for (;;) {
      const page = await store.runs.listRoots({ automation: 'joiner', from: at(60), to: at(0), before, limit: 2 });
      if (page.length === 0) break;
      pages.push(page.map((run) => run.runId));
      before = page.at(-1);
    }
    assert.deepEqual(
      pages,
      [
        ['tick-4', 'tick-3'],
        ['tick-2', 'tick-1'],
      ],
      "neither an event's nor a child run, nor outside the window",
    );
    assert.deepEqual((await store.runs.childIds('tick-4')).sort(), ['tick-4.u1', 'tick-4.u2']);
    assert.deepEqual(await store.runs.childIds('tick-1'), []);
    await store.runs.stepStarted('tick-2', 'create', { n: 2 }, 1);
    const found = await store.runs.getMany(['tick-2', 'nope', 'of-event']);
    assert.deepEqual(found.map((run) => run.runId).sort(), ['of-event', 'tick-2']);
    const tick = found.find((run) => run.runId === 'tick-2');
    assert.deepEqual(
      tick?.steps.map((step) => [step.name, step.input]),
      [
        ['create', { n: 2 }],
        ['notify', undefined],
        ['wait', undefined],
      ],
    );
  });
});

describe('events', () => {
  it('refuses a duplicate id and records matches', async () => {
    const store = await freshStore();
    const event = {
      id: 'evt-1',
      type: 'hr.joiner',
      occurredAt: '2025-01-01T00:00:00.000Z',
      receivedAt: '2025-01-01T00:00:01.000Z',
      data: { employee: { id: 7 } },
    };
    assert.equal(await store.events.insert(event), true);
    assert.equal(await store.events.insert({ ...event, type: 'changed' }), false);
    assert.deepEqual(await store.events.get('evt-1'), { ...event, matches: [] });

    const matches = [
      { automation: 'joiner', version: 2, matched: true, runId: 'joiner-evt-1' },
      { automation: 'leaver', version: 1, matched: false, reason: 'condition false' },
    ];
    await store.events.setMatches('evt-1', matches);
    const processed = await store.events.get('evt-1');
    assert.deepEqual(processed?.matches, matches);
    assert.ok(processed?.processedAt);
    assert.equal(await store.events.get('evt-2'), undefined);
    await assert.rejects(store.events.setMatches('evt-2', []), /event "evt-2"/);
  });

  it('lists newest first, optionally by type', async () => {
    const store = await freshStore();
    const insert = (id: string, type: string, second: number) =>
      store.events.insert({ id, type, occurredAt: '2025-01-01T00:00:00.000Z', receivedAt: `2025-01-01T00:00:0${second}.000Z`, data: {} });
    await insert('e1', 'hr.joiner', 1);
    await insert('e2', 'hr.leaver', 2);
    await insert('e3', 'hr.joiner', 3);
    assert.deepEqual(
      (await store.events.list({})).map((e) => e.id),
      ['e3', 'e2', 'e1'],
    );
    assert.deepEqual(
      (await store.events.list({ type: 'hr.joiner' })).map((e) => e.id),
      ['e3', 'e1'],
    );
    assert.deepEqual(
      (await store.events.list({ limit: 1 })).map((e) => e.id),
      ['e3'],
    );
  });
  it("pages a type's events of a received window newest first, ties by id, and reads events by ids", async () => {
    const store = await freshStore();
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const insert = (id: string, type: string, minutesAgo: number) =>
      store.events.insert({ id, type, occurredAt: at(minutesAgo), receivedAt: at(minutesAgo), data: { id } });
    await insert('too-old', 'user.created', 120);
    for (const [id, minutesAgo] of [
      ['a', 50],
      ['b', 40],
      ['c', 40],
      ['d', 30],
      ['e', 10],
    ] as const)
      await insert(id, 'user.created', minutesAgo);
    await insert('other', 'user.updated', 20);
    await insert('too-new', 'user.created', -5);
    const window = { type: 'user.created', from: at(60), to: at(0) };
    const pages: string[][] = [];
    let before: { receivedAt: string; id: string } | undefined;
    for (;;) {
      const page = await store.events.listReceived({ ...window, before, limit: 2 });
      if (page.length === 0) break;
      pages.push(page.map((event) => event.id));
      before = page.at(-1);
    }
    assert.deepEqual(pages, [['e', 'd'], ['c', 'b'], ['a']], 'c before b: same time, ids descending');
    assert.deepEqual(
      (await store.events.listReceived({ ...window, from: at(40), to: at(30) })).map((e) => e.id),
      ['d', 'c', 'b'],
      'both ends included',
    );
    const found = await store.events.getMany(['e', 'missing', 'a', 'e']);
    assert.deepEqual(found.map((event) => event.id).sort(), ['a', 'e']);
    assert.deepEqual(found.find((event) => event.id === 'a')?.data, { id: 'a' });
    assert.deepEqual(await store.events.getMany([]), []);
  });
});

describe('audit', () => {
  it('records entries and lists them newest first, optionally by target', async () => {
    const store = await freshStore();
    await store.audit.record({ actor: 'alice', action: 'run.manual', target: 'Automation/joiner', details: { runId: 'r1' } });
    await store.audit.record({ actor: 'bob', action: 'run.cancel', target: 'Run/r1', details: {} });
    const all = await store.audit.list({});
    assert.deepEqual(
      all.map((e) => e.action),
      ['run.cancel', 'run.manual'],
    );
    assert.ok(all[0].id > all[1].id);
    assert.match(all[0].at, /^\d{4}-\d{2}-\d{2}T/);
    assert.deepEqual(
      (await store.audit.list({ target: 'Automation/joiner' })).map((e) => [e.actor, e.details]),
      [['alice', { runId: 'r1' }]],
    );
    assert.equal((await store.audit.list({ limit: 1 })).length, 1);
  });
});

describe('tokens', () => {
  it('creates an idf_ token, stores only its hash, and verifies it', async () => {
    const database = await freshDatabase();
    const store = await openOn(database);
    const token = await store.tokens.create('ci', ['definitions:write', 'runs:read']);
    assert.match(token, /^idf_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await store.tokens.verify(token), { valid: true, token: { name: 'ci', scopes: ['definitions:write', 'runs:read'] } });

    const unknown = { valid: false, reason: 'unknown' };
    assert.deepEqual(await store.tokens.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), unknown);
    assert.deepEqual(await store.tokens.verify(''), unknown);
    assert.deepEqual(await store.tokens.verify(token.slice(4)), unknown);
    await assert.rejects(store.tokens.create('ci', ['admin']), /token "ci"/);
    const other = await store.tokens.create('admin', ['admin']);
    assert.notEqual(other, token);
    assert.deepEqual(await store.tokens.verify(other), { valid: true, token: { name: 'admin', scopes: ['admin'] } });

    const rows = await readRows(database, 'select * from tokens');
    assert.equal(JSON.stringify(rows).includes(token.slice(4)), false, 'the plain token is not stored');
  });
});

describe('the database', () => {
  it('persists across a close and reopen (SQLite: in WAL mode)', async () => {
    const database = await freshDatabase();
    const first = await openStore(database.location);
    await first.definitions.put({ kind: 'Webhook', name: 'hris', spec: { url: 'https://hris' }, enabled: true, source: 's', actor: 'a' });
    await first.runs.start(startInput('persisted'));
    await first.events.insert({ id: 'e', type: 't', occurredAt: 'o', receivedAt: 'r', data: {} });
    const token = await first.tokens.create('ci', ['admin']);
    await first.close();

    const second = await openOn(database);
    assert.equal((await second.definitions.current('Webhook', 'hris'))?.version, 1);
    assert.equal(await second.definitions.generation(), 1);
    assert.equal((await second.runs.get('persisted'))?.steps.length, 3);
    assert.equal((await second.events.get('e'))?.type, 't');
    assert.deepEqual(await second.tokens.verify(token), { valid: true, token: { name: 'ci', scopes: ['admin'] } });

    if (TEST_STORE === 'sqlite') assert.deepEqual(await readRows(database, 'pragma journal_mode'), [{ journal_mode: 'wal' }]);
  });

  it('lets two store instances in one process write concurrently', async () => {
    const database = await freshDatabase();
    const [a, b] = await Promise.all([openOn(database), openOn(database)]);
    const work = (store: Store, tag: string) =>
      Array.from({ length: 40 }, async (_, i) => {
        // Same name from both: the put transactions race for the head.
        await store.definitions.put({
          kind: 'Automation',
          name: `shared-${i % 5}`,
          spec: { n: i % 5 },
          enabled: true,
          source: tag,
          actor: tag,
        });
        await store.runs.start(startInput(`${tag}-${i}`));
        await store.runs.stepStarted(`${tag}-${i}`, 'create', { i }, 1);
        await store.runs.stepFinished(`${tag}-${i}`, 'create', { status: 'completed', output: i });
        await store.events.insert({ id: `evt-${i}`, type: 't', occurredAt: 'o', receivedAt: 'r', data: { tag } });
        await store.runs.finish(`${tag}-${i}`, 'completed');
      });
    await Promise.all([...work(a, 'a'), ...work(b, 'b')]);

    assert.equal((await a.runs.list({ status: 'completed', limit: 500 })).length, 80);
    assert.equal((await b.events.list({ limit: 500 })).length, 40);
    assert.equal((await a.definitions.list('Automation')).length, 5);
    for (let i = 0; i < 5; i += 1) {
      assert.equal((await b.definitions.history('Automation', `shared-${i}`)).length, 1, 'equal content made one version');
    }
    assert.equal(await a.definitions.generation(), 5);
  });

  it('lets three processes create and write the same database concurrently (SQLite: without SQLITE_BUSY)', async () => {
    // A new database: the children also race to create (SQLite) and migrate it.
    const database = await freshDatabase();
    // The children load first and open together at openAt, so their migrations really race.
    const openAt = Date.now() + 2000;
    const child = (tag: string) => `
      const { openStore } = await import(${JSON.stringify(storeEntry)});
      await new Promise((resolve) => setTimeout(resolve, ${openAt} - Date.now()));
      const store = await openStore(${JSON.stringify(database.location)});
      for (let i = 0; i < 150; i += 1) {
        await store.definitions.put({ kind: 'Automation', name: 'shared-' + (i % 10), spec: { n: i }, enabled: true, source: '${tag}', actor: '${tag}' });
        await store.runs.start({ runId: '${tag}-' + i, automation: 'x', version: 1, trigger: {}, startedAt: new Date().toISOString(), steps: [{ name: 's', type: 't' }] });
        await store.runs.stepStarted('${tag}-' + i, 's', { i }, 1);
        await store.runs.stepFinished('${tag}-' + i, 's', { status: 'completed', output: i });
        await store.events.insert({ id: 'evt-' + i, type: 't', occurredAt: 'o', receivedAt: 'r', data: {} });
        await store.runs.finish('${tag}-' + i, 'completed');
      }
      await store.close();
    `;
    const run = (tag: string) =>
      new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child(tag)], {
          cwd: repoRoot,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        proc.on('error', reject);
        proc.on('close', (code) => resolve({ code, stderr }));
      });
    const results = await Promise.all([run('p'), run('q'), run('r')]);
    for (const result of results) assert.equal(result.code, 0, result.stderr);

    const store = await openOn(database);
    assert.equal((await store.runs.list({ status: 'completed', limit: 500 })).length, 450);
    assert.equal((await store.events.list({ limit: 500 })).length, 150);
    const versions = await Promise.all(Array.from({ length: 10 }, (_, i) => store.definitions.history('Automation', `shared-${i}`)));
    const total = versions.reduce((sum, history) => sum + history.length, 0);
    assert.equal(await store.definitions.generation(), total, 'every new version bumped the generation once');
    for (const history of versions)
      assert.deepEqual(
        history.map((v) => v.version),
        history.map((_, i) => i + 1),
        'versions are gapless',
      );
  });

  it('reports where it failed when the file cannot be opened', { skip: onlyOn('sqlite', 'a file path') }, async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'x');
    await assert.rejects(openStore({ file: join(blocker, 'idflow.db') }), /not-a-dir/);
    assert.equal(readFileSync(blocker, 'utf8'), 'x');
  });
});
