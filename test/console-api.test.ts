/**
 * The API the web console reads: runs by person, time range and cursor; events and the audit log
 * by time and cursor (and the audit log as JSON lines); the directory searched; a person's
 * timeline; the overview, part by part as the token's scopes allow; automations with their last
 * runs; versions with their source. Over a real store (both dialects) and real HTTP handling;
 * the timeline's cause chain through a real leaver run on Temporal.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { buildApiServer } from '../api/server.js';
import type { JsonObject } from '../core/json.js';
import { diffUser } from '../directory/service.js';
import type { User } from '../directory/types.js';
import type { RunSummary, Scope, Store } from '../store/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { openDatabase, openStore } from '../store/index.js';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';
import { createTestDatabase } from './helpers/store.js';

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

let api: OfflineApi;
let app: FastifyInstance;
let store: Store;
let admin: string;

before(async () => {
  api = await startOfflineApi();
  ({ app, store } = api);
  admin = await store.tokens.create('console-admin', ['admin']);
});

after(() => api.close());

async function get<T>(url: string, token = admin, headers: Record<string, string> = {}): Promise<T> {
  const response = await app.inject({ url, headers: { authorization: `Bearer ${token}`, ...headers } });
  assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
  return response.json() as T;
}

async function refused(url: string): Promise<string> {
  const response = await app.inject({ url, headers: { authorization: `Bearer ${admin}` } });
  assert.equal(response.statusCode, 400, `${url} should be refused: ${response.body}`);
  const { error } = response.json() as { error: { code: string; message: string } };
  assert.equal(error.code, 'VALIDATION');
  return error.message;
}

/** Every page of a list, following nextCursor; `between` runs before each next page is asked for. */
async function allPages<T>(url: string, key: string, between: () => Promise<void> = async () => {}): Promise<T[]> {
  const rows: T[] = [];
  for (let cursor: string | undefined, pages = 0; ; pages++) {
    assert.ok(pages < 100, 'the pages end');
    const page = await get<Record<string, unknown>>(cursor === undefined ? url : `${url}&cursor=${encodeURIComponent(cursor)}`);
    rows.push(...(page[key] as T[]));
    cursor = page.nextCursor as string | undefined;
    if (cursor === undefined) return rows;
    await between();
  }
}

/** A finished run in the store, started at `startedAt`, about `user` when given. */
async function recordRun(
  runId: string,
  options: { automation?: string; startedAt: string; user?: JsonObject; status?: 'completed' | 'failed' },
) {
  const trigger: JsonObject = options.user === undefined ? {} : { user: options.user };
  await store.runs.start({
    runId,
    automation: options.automation ?? 'joiner',
    version: 1,
    trigger,
    startedAt: options.startedAt,
    steps: [],
  });
  await store.runs.finish(runId, options.status ?? 'completed', options.status === 'failed' ? 'it broke' : undefined);
}

const ada: User = {
  id: 'u-ada',
  email: 'Ada.Lovelace@Example.com',
  firstName: 'Ada',
  lastName: 'Lovelace',
  displayName: 'Countess of Lovelace',
  status: 'ENABLED',
  attributes: {},
  createdAt: minutesAgo(600),
  updatedAt: minutesAgo(600),
};

describe('GET /v1/runs', () => {
  before(async () => {
    // 30 runs a minute apart about Ada (by id), 5 about her by email only, 10 about Bob, 5 about nobody.
    for (let i = 0; i < 30; i++) await recordRun(`joiner:ada-${i}`, { startedAt: minutesAgo(100 + i), user: { id: 'u-ada' } });
    for (let i = 0; i < 5; i++)
      await recordRun(`manual:ada-mail-${i}`, {
        automation: 'manual',
        startedAt: minutesAgo(200 + i),
        user: { email: 'ADA.lovelace@example.com' },
      });
    for (let i = 0; i < 10; i++)
      await recordRun(`joiner:bob-${i}`, {
        startedAt: minutesAgo(300 + i),
        user: { id: 'u-bob' },
        status: i % 2 === 0 ? 'failed' : 'completed',
      });
    for (let i = 0; i < 5; i++) await recordRun(`report:${i}`, { automation: 'report', startedAt: minutesAgo(400 + i) });
    await store.directory.putUser(ada);
  });

  test('person: the runs about them, by id or email (runs filed under the email alone too), and nobody else', async () => {
    const byId = await allPages<RunSummary>('/v1/runs?person=u-ada&limit=7', 'runs');
    assert.equal(byId.length, 35);
    assert.ok(byId.every((run) => run.runId.includes('ada')));
    const byEmail = await allPages<RunSummary>(`/v1/runs?person=${encodeURIComponent('ada.LOVELACE@example.com')}&limit=200`, 'runs');
    assert.deepEqual(
      byEmail.map((run) => run.runId),
      byId.map((run) => run.runId),
    );
    assert.equal((await get<{ runs: unknown[] }>('/v1/runs?person=u-bob&limit=200')).runs.length, 10);
    assert.deepEqual((await get<{ runs: unknown[] }>('/v1/runs?person=u-nobody')).runs, []);
  });

  test('since and until bound the start, both ends included; with status and automation', async () => {
    const { runs } = await get<{ runs: RunSummary[] }>(
      `/v1/runs?since=${minutesAgo(304.5)}&until=${minutesAgo(295)}&status=failed&automation=joiner&limit=200`,
    );
    assert.deepEqual(
      runs.map((run) => run.runId),
      ['joiner:bob-0', 'joiner:bob-2', 'joiner:bob-4'],
    );
  });

  test('pages: newest first, no run twice and none missed while new runs are recorded between pages', async () => {
    const before = await store.runs.list({ limit: 500 });
    let added = 0;
    const paged = await allPages<RunSummary>('/v1/runs?limit=6', 'runs', async () => {
      // Newer runs arrive at the top while the client pages; they must not shift what comes next.
      await recordRun(`joiner:new-${added++}`, { startedAt: new Date().toISOString(), user: { id: 'u-new' } });
    });
    assert.ok(added > 5);
    const ids = paged.map((run) => run.runId);
    assert.equal(new Set(ids).size, ids.length, 'no run twice');
    assert.deepEqual(
      ids.filter((id) => !id.startsWith('joiner:new-')),
      before.map((run) => run.runId),
      'every run that was there, in order',
    );
    const starts = paged.map((run) => run.startedAt);
    assert.deepEqual(starts, [...starts].sort().reverse(), 'newest first');
  });

  test('a bad cursor, time, range or limit is a 400 naming the field', async () => {
    assert.match(await refused('/v1/runs?cursor=bm90LWEtY3Vyc29y'), /querystring\.cursor: not a cursor of the runs list/);
    const eventsCursor = Buffer.from(JSON.stringify(['events', minutesAgo(1), 'evt'])).toString('base64url');
    assert.match(await refused(`/v1/runs?cursor=${eventsCursor}`), /querystring\.cursor/);
    assert.match(await refused('/v1/runs?since=yesterday'), /querystring\.since/);
    assert.match(await refused(`/v1/runs?since=${minutesAgo(1)}&until=${minutesAgo(2)}`), /querystring\.until: until .* is before since/);
    assert.match(await refused('/v1/runs?limit=201'), /querystring\.limit/);
    assert.match(await refused(`/v1/runs?person=${'x'.repeat(257)}`), /querystring\.person/);
  });
});

describe('GET /v1/events', () => {
  before(async () => {
    for (let i = 0; i < 25; i++) {
      const at = minutesAgo(50 + i);
      await store.events.insert({
        id: `evt-${i}`,
        type: i % 5 === 0 ? 'user.deactivated' : 'user.created',
        occurredAt: at,
        receivedAt: at,
        data: {},
      });
      await store.events.setMatches(`evt-${i}`, [{ automation: 'joiner', version: 1, matched: false, reason: 'the condition is false' }]);
    }
  });

  test('by type and time, newest first, in pages with their matches', async () => {
    const events = await allPages<{ id: string; matches: { reason?: string }[] }>('/v1/events?type=user.created&limit=4', 'events');
    assert.equal(events.length, 20);
    assert.equal(events[0]?.id, 'evt-1');
    assert.equal(events[0]?.matches[0]?.reason, 'the condition is false');
    const ranged = await get<{ events: { id: string }[] }>(`/v1/events?since=${minutesAgo(56.5)}&until=${minutesAgo(53.5)}`);
    assert.deepEqual(
      ranged.events.map((event) => event.id),
      ['evt-4', 'evt-5', 'evt-6'],
    );
    assert.match(await refused('/v1/events?cursor=%7B%7D'), /querystring\.cursor/);
  });
});

describe('GET /v1/directory/users', () => {
  before(async () => {
    const person = (id: string, email: string, firstName: string, lastName: string): User => ({
      id,
      email,
      firstName,
      lastName,
      status: 'ENABLED',
      attributes: {},
      createdAt: minutesAgo(10),
      updatedAt: minutesAgo(10),
    });
    await store.directory.putUser(person('u-grace', 'grace@example.com', 'Grace', 'Hopper'));
    await store.directory.putUser(person('u-100%', 'percent@example.com', 'Per', 'Cent'));
    await store.directory.putUser(person('u-élodie', 'elodie@example.com', 'Élodie', 'Durand'));
    for (let i = 0; i < 12; i++)
      await store.directory.putUser(person(`u-p${String(i).padStart(2, '0')}`, `p${i}@example.org`, 'Pat', `Number${i}`));
  });

  const ids = (users: { id: string }[]) => users.map((user) => user.id);

  test('q: a case-insensitive part of the id, email or name; % and _ are themselves', async () => {
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=LOVELACE')).users), ['u-ada']);
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=countess')).users), ['u-ada'], 'the display name');
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=ada%20lovelace')).users), ['u-ada'], 'first and last name');
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=GRACE%40EXAMPLE')).users), ['u-grace'], 'the email');
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=%25')).users), ['u-100%'], 'a literal %');
    assert.deepEqual(ids((await get<{ users: User[] }>('/v1/directory/users?q=%C3%89LODIE')).users), ['u-élodie'], 'beyond ASCII');
    assert.deepEqual((await get<{ users: User[] }>('/v1/directory/users?q=example.comu')).users, [], 'never across two fields');
    assert.match(await refused('/v1/directory/users?q=a%0Ab'), /querystring\.q: no control characters/);
  });

  test('pages in id order, every person once', async () => {
    const paged = await allPages<User>('/v1/directory/users?q=pat&limit=5', 'users');
    assert.deepEqual(
      ids(paged),
      Array.from({ length: 12 }, (_, i) => `u-p${String(i).padStart(2, '0')}`),
    );
  });
});

describe('GET /v1/audit', () => {
  before(async () => {
    for (let i = 0; i < 1_200; i++)
      await store.audit.record({
        actor: i % 3 === 0 ? 'ci-bot' : 'alice',
        action: i % 2 === 0 ? 'run.cancel' : 'run.retry',
        target: `Run/r-${i}`,
        details: { i },
      });
  });

  test('filters by actor, action and target, newest first, in pages', async () => {
    const entries = await allPages<{ id: number; actor: string; action: string }>(
      '/v1/audit?actor=ci-bot&action=run.cancel&limit=200',
      'entries',
    );
    assert.equal(entries.length, 200, 'i divisible by 6');
    assert.ok(entries.every((entry) => entry.actor === 'ci-bot' && entry.action === 'run.cancel'));
    const entryIds = entries.map((entry) => entry.id);
    assert.deepEqual(
      entryIds,
      [...entryIds].sort((a, b) => b - a),
    );
    const [target] = (await get<{ entries: { details: { i: number } }[] }>('/v1/audit?target=Run%2Fr-42')).entries;
    assert.equal(target?.details.i, 42);
    assert.deepEqual((await get<{ entries: unknown[] }>(`/v1/audit?until=${minutesAgo(60)}`)).entries, []);
    assert.match(await refused('/v1/audit?cursor=WyJhdWRpdCIsLTFd'), /querystring\.cursor/);
  });

  test('format=jsonl streams every matching entry as JSON lines, past the store page', async () => {
    for (const [url, headers] of [
      ['/v1/audit?format=jsonl&actor=alice', {}],
      ['/v1/audit?actor=alice', { accept: 'application/x-ndjson' }],
    ] as const) {
      const response = await app.inject({ url, headers: { authorization: `Bearer ${admin}`, ...headers } });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/x-ndjson/);
      const lines = response.body.trimEnd().split('\n');
      assert.equal(lines.length, 800, 'every entry of alice, not a page of them');
      const parsed = lines.map((line) => JSON.parse(line) as { id: number; actor: string });
      assert.ok(parsed.every((entry) => entry.actor === 'alice'));
      assert.equal(new Set(parsed.map((entry) => entry.id)).size, 800);
    }
  });
});

describe('GET /v1/overview', () => {
  const token = (name: string, scopes: Scope[]) => store.tokens.create(name, scopes);

  test('counts since a time by status, the newest failures, and each part only for its scope', async () => {
    const since = minutesAgo(330);
    const full = await get<Record<string, unknown>>(`/v1/overview?since=${since}`);
    const counts = full.runs as { total: number; byStatus: Record<string, number> };
    const inRange = await store.runs.list({ since, limit: 500 });
    assert.equal(counts.total, inRange.length);
    assert.deepEqual(counts.byStatus, {
      running: 0,
      completed: inRange.length - 5,
      failed: 5,
      cancelled: 0,
      terminated: 0,
      timed_out: 0,
      rejected: 0,
    });
    assert.deepEqual(
      (full.failures as RunSummary[]).map((run) => run.runId),
      ['joiner:bob-0', 'joiner:bob-2', 'joiner:bob-4', 'joiner:bob-6', 'joiner:bob-8'],
    );
    assert.equal((full.failures as Record<string, unknown>[])[0]?.steps, undefined, 'summaries, not whole runs');
    assert.deepEqual(full.guard, { trips: 0, held: 0 });
    assert.deepEqual(full.approvals, { pending: 0 });
    assert.deepEqual(full.schedules, []);

    const runsOnly = await get<Record<string, unknown>>('/v1/overview', await token('runs-only', ['runs:read']));
    assert.ok('guard' in runsOnly && 'failures' in runsOnly);
    assert.ok(!('approvals' in runsOnly) && !('schedules' in runsOnly), 'no part the token may not read');
    const approver = await get<Record<string, unknown>>('/v1/overview', await token('runs-approvals', ['runs:read', 'approvals:read']));
    assert.ok('approvals' in approver && !('schedules' in approver));
    const definitions = await get<Record<string, unknown>>('/v1/overview', await token('runs-defs', ['runs:read', 'definitions:read']));
    assert.ok('schedules' in definitions && !('approvals' in definitions));
    const forbidden = await app.inject({
      url: '/v1/overview',
      headers: { authorization: `Bearer ${await token('approvals-only', ['approvals:read'])}` },
    });
    assert.equal(forbidden.statusCode, 403);
    assert.match(
      await refused(`/v1/overview?since=${new Date(Date.now() - 401 * 86_400_000).toISOString()}`),
      /querystring\.since: since: at most 400 days back/,
    );
  });
});

describe('GET /v1/automations and versions', () => {
  test('each automation with its newest 5 runs, newest first', async () => {
    const spec = (name: string) => ({
      kind: 'Automation',
      name,
      trigger: { type: 'user.created' },
      steps: [{ name: 'wait', type: 'wait', with: { duration: '1s' } }],
    });
    for (const name of ['joiner', 'report', 'quiet'])
      await store.definitions.put({ kind: 'Automation', name, spec: spec(name), enabled: name !== 'quiet', source: 'test', actor: 'test' });
    const { automations } = await get<{
      automations: { name: string; enabled: boolean; lastRuns: { runId: string; status: string; startedAt: string }[] }[];
    }>('/v1/automations');
    const byName = new Map(automations.map((automation) => [automation.name, automation]));
    const joinerRuns = await store.runs.list({ automation: 'joiner', limit: 5 });
    assert.deepEqual(
      byName.get('joiner')?.lastRuns,
      joinerRuns.map(({ runId, status, startedAt }) => ({ runId, status, startedAt })),
    );
    assert.deepEqual(
      byName.get('report')?.lastRuns.map((run) => run.runId),
      ['report:0', 'report:1', 'report:2', 'report:3', 'report:4'],
    );
    assert.deepEqual(byName.get('quiet')?.lastRuns, []);
    assert.equal(byName.get('quiet')?.enabled, false);

    const { versions } = await get<{ versions: { yaml: string }[] }>('/v1/automations/joiner/versions');
    assert.match(versions[0]?.yaml ?? '', /^kind: Automation\nname: joiner\n/);
    assert.match(versions[0]?.yaml ?? '', /type: user\.created/);
  });
});

describe('GET /v1/directory/users/:user/timeline', () => {
  test('runs, changes and (for admin) audit entries about the person, newest first, in pages without gaps', async () => {
    const user: User = { ...ada, id: 'u-tl', email: 'tl@example.com' };
    const at = minutesAgo(5);
    // Runs, changes and audit entries at the same instant too: the order must still page exactly.
    for (let i = 0; i < 4; i++) await recordRun(`joiner:tl-${i}`, { startedAt: i < 2 ? at : minutesAgo(6 + i), user: { id: 'u-tl' } });
    await api.engine.directory.applyUserChanges([diffUser(undefined, user, at) as NonNullable<ReturnType<typeof diffUser>>]);
    await api.engine.directory.applyUserChanges([
      diffUser({ ...user, createdAt: at, updatedAt: at }, { ...user, title: 'Analyst', department: 'Maths' }, at) as NonNullable<
        ReturnType<typeof diffUser>
      >,
    ]);
    await store.audit.record({ actor: 'alice', action: 'run.cancel', target: 'Run/joiner:tl-1', details: {} });
    await store.audit.record({ actor: 'alice', action: 'run.cancel', target: 'Run/joiner:someone-else', details: {} });

    type Entry = {
      at: string;
      kind: string;
      run?: { runId: string };
      event?: { type: string; summary: string; fields?: string[] };
      entry?: { target: string };
    };
    const whole = await get<{ user: User; entries: Entry[] }>('/v1/directory/users/tl%40example.com/timeline?limit=200');
    assert.equal(whole.user.id, 'u-tl');
    const kinds = whole.entries.map((entry) => entry.kind);
    assert.deepEqual(kinds.filter((kind) => kind === 'run').length, 4);
    assert.deepEqual(
      whole.entries.filter((entry) => entry.kind === 'change').map((entry) => entry.event?.summary),
      ['user.updated: department, title', 'user.created'],
    );
    assert.deepEqual(
      whole.entries.filter((entry) => entry.kind === 'audit').map((entry) => entry.entry?.target),
      ['Run/joiner:tl-1'],
    );
    const times = whole.entries.map((entry) => entry.at);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');

    const paged = await allPages<Entry>('/v1/directory/users/u-tl/timeline?limit=1', 'entries');
    assert.deepEqual(paged, whole.entries, 'page by page: the same entries, none twice, none missed');

    const reader = await store.tokens.create('timeline-reader', ['directory:read', 'runs:read']);
    const forReader = await get<{ entries: Entry[] }>('/v1/directory/users/u-tl/timeline?limit=200', reader);
    assert.deepEqual(
      forReader.entries,
      whole.entries.filter((entry) => entry.kind !== 'audit'),
      'the audit log is the admin’s',
    );
    for (const scopes of [['directory:read'], ['runs:read']] as Scope[][]) {
      const response = await app.inject({
        url: '/v1/directory/users/u-tl/timeline',
        headers: { authorization: `Bearer ${await store.tokens.create(`only-${scopes[0]}`, scopes)}` },
      });
      assert.equal(response.statusCode, 403, `${scopes[0]} alone`);
    }
  });
});

test('a database from before the console (migration 0011) gets its runs’ subjects, search keys and changes’ subjects filled in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-console-migration-'));
  const database = await createTestDatabase({ dir });
  try {
    const older = await openStore(database.location);
    await older.runs.start({
      runId: 'r-1',
      automation: 'joiner',
      version: 1,
      trigger: { newUser: { id: 'u-zed' } },
      startedAt: minutesAgo(5),
      steps: [],
    });
    await older.runs.start({
      runId: 'r-2',
      automation: 'joiner',
      version: 1,
      trigger: { user: { email: 'Zed@Example.com' } },
      startedAt: minutesAgo(4),
      steps: [],
    });
    const zed: User = { ...ada, id: 'u-zed', email: 'zed@example.com', firstName: 'Zed', lastName: 'Quux', displayName: undefined };
    await older.directory.transaction(async (tx) => {
      await tx.putUser(zed);
      await tx.emit({ id: 'dir-1', type: 'user.created', data: { newUser: zed as unknown as JsonObject } });
    });
    await older.close();
    // Back to how 0009 left it: no new column, index or record of 0011.
    const { db } = openDatabase(database.location);
    for (const index of ['runs_subject_started_at', 'directory_outbox_subject', 'audit_log_actor', 'audit_log_action'])
      await sql`drop index ${sql.ref(index)}`.execute(db);
    for (const [table, column] of [
      ['runs', 'subject'],
      ['directory_outbox', 'subject'],
      ['directory_outbox', 'run_id'],
      ['directory_outbox', 'step_name'],
      ['dir_users', 'search_key'],
    ])
      await sql`alter table ${sql.table(table as string)} drop column ${sql.ref(column as string)}`.execute(db);
    await sql`delete from kysely_migration where name = '0011_console_queries'`.execute(db);
    await db.destroy();

    const upgraded = await openStore(database.location);
    try {
      assert.deepEqual(
        (await upgraded.runs.list({ subjects: ['u-zed'] })).map((run) => run.runId),
        ['r-1'],
      );
      assert.deepEqual(
        (await upgraded.runs.list({ subjects: ['zed@example.com'] })).map((run) => run.runId),
        ['r-2'],
        'an email alone, in lower case',
      );
      assert.deepEqual(
        (await upgraded.directory.listUsers({ q: 'zed quux' })).map((user) => user.id),
        ['u-zed'],
      );
      const timeline = await upgraded.timeline.about({ subjects: ['u-zed'], userId: 'u-zed' }, { audit: false });
      assert.deepEqual(timeline.map((row) => row.kind).sort(), ['change', 'run']);
    } finally {
      await upgraded.close();
    }
  } finally {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
});

describe('a person’s timeline says which run and step revoked their access (real Temporal)', () => {
  let idflow: TestEngine;
  let server: FastifyInstance;

  before(async () => {
    idflow = await startTestEngine();
    server = await buildApiServer({ engine: idflow.engine });
  });

  after(async () => {
    await server.close();
    await idflow.stop();
  });

  test('grant.revoked github:org-member ← the leaver run, step revoke_access', async () => {
    const example = (path: string) => readFile(new URL(`../examples/${path}`, import.meta.url), 'utf8');
    await idflow.apply(await example('directory/acme.yaml'));
    await idflow.apply(`kind: Directory
users:
  - { id: u-grace, email: grace@acme.example, firstName: Grace, lastName: Hopper }
  - { id: u-ada, email: ada@acme.example, firstName: Ada, lastName: Lovelace, manager: grace@acme.example }
grants:
  - { user: u-ada, entitlement: github:org-member }
  - { user: u-ada, entitlement: google:workspace }
`);
    await idflow.apply(await example('leaver-access.yaml'));
    // Ada leaves: the HR side deactivates her (a change no run made), and the leaver flow runs on its event.
    await idflow.apply(`kind: Directory
users:
  - { id: u-ada, email: ada@acme.example, firstName: Ada, lastName: Lovelace, manager: grace@acme.example, status: DISABLED }
`);
    let leaverRun: string | undefined;
    for (const deadline = Date.now() + 60_000; leaverRun === undefined && Date.now() < deadline;) {
      leaverRun = (await idflow.store.runs.list({ automation: 'leaver-access', limit: 1 }))[0]?.runId;
      if (leaverRun === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(leaverRun, 'the leaver flow started');
    assert.equal((await idflow.finished(leaverRun)).status, 'completed');

    const token = await idflow.store.tokens.create('people-reader', ['directory:read', 'runs:read']);
    const response = await server.inject({
      url: '/v1/directory/users/ada%40acme.example/timeline',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.statusCode, 200, response.body);
    type Change = { type: string; summary: string; entitlement?: string; runId?: string; stepName?: string };
    const { entries } = response.json() as { entries: { kind: string; event?: Change; run?: { runId: string } }[] };
    const changes = entries.flatMap((entry) => (entry.kind === 'change' && entry.event ? [entry.event] : []));
    const revoked = changes.find((change) => change.type === 'grant.revoked');
    assert.deepEqual(
      revoked && { summary: revoked.summary, entitlement: revoked.entitlement, runId: revoked.runId, stepName: revoked.stepName },
      { summary: 'grant.revoked github:org-member', entitlement: 'github:org-member', runId: leaverRun, stepName: 'revoke_access' },
    );
    assert.ok(
      entries.some((entry) => entry.kind === 'run' && entry.run?.runId === leaverRun),
      'the leaver run itself',
    );
    const deactivated = changes.find((change) => change.type === 'user.deactivated');
    assert.equal(deactivated?.runId, undefined, 'the deactivation came from HR, not from a run');
    const granted = changes.find((change) => change.type === 'grant.created' && change.entitlement === 'github:org-member');
    assert.equal(granted?.runId, undefined, 'the grant came from a Directory document');
  });
});
