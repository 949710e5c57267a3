/**
 * The directory on its own (a real SQLite store, no Temporal): HR import with its per-line
 * errors, dry runs and no-op re-imports; Directory documents; the governance actions, each
 * idempotent under a step's key and each change written with its event.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { beforeEach, test } from 'node:test';
import { pino } from 'pino';
import { importFeed, parseFeed, parseMapping } from '../directory/import.js';
import { OutboxDispatcher } from '../directory/outbox.js';
import { DirectoryService } from '../directory/service.js';
import { DirectoryError } from '../directory/types.js';
import { openStore } from '../store/index.js';
import type { PendingDirectoryEvent, Store } from '../store/index.js';

let store: Store;
let directory: DirectoryService;

beforeEach(async () => {
  store = await openStore({ memory: true });
  directory = new DirectoryService(store.directory);
});

const day1 = () => readFile(new URL('../examples/hr/acme-day1.csv', import.meta.url), 'utf8');
const day2 = () => readFile(new URL('../examples/hr/acme-day2.csv', import.meta.url), 'utf8');

async function importCsv(content: string, options: { full?: boolean; dryRun?: boolean } = {}) {
  return importFeed(directory, await parseFeed('feed.csv', content), { source: 'test', ...options });
}

const pendingTypes = async (): Promise<string[]> => (await store.directory.pendingEvents(1000)).map((e) => e.type);

test('importing a feed creates everyone, with managers resolved by email and unknown columns kept as attributes', async () => {
  const report = await importCsv(await day1());
  assert.equal(report.created.length, 50);
  assert.equal(report.events, 50);
  assert.deepEqual(report.errors, []);
  const alan = await store.directory.getUser('u-003');
  assert.equal(alan?.managerId, 'u-002');
  assert.equal(alan?.manager, 'ada.lovelace@acme.example');
  assert.equal(alan?.displayName, 'Alan Turing');
  assert.deepEqual(alan?.attributes, { costCenter: 'CC-101' });
  const events = await store.directory.pendingEvents(1000);
  assert.equal(events.length, 50);
  assert.ok(events.every((e) => e.type === 'user.created' && (e.data.newUser as { id: string }).id));
});

test('re-importing the same file changes nothing and emits nothing', async () => {
  await importCsv(await day1());
  const before = (await store.directory.pendingEvents(1000)).length;
  const again = await importCsv(await day1());
  assert.equal(again.events, 0);
  assert.equal(again.unchanged, 50);
  assert.equal((await store.directory.pendingEvents(1000)).length, before);
});

test('the second day: joiners, movers (one event with all changes) and leavers (DISABLED or missing from a full feed)', async () => {
  await importCsv(await day1());
  await store.directory.markDelivered((await store.directory.pendingEvents(1000)).map((e) => e.seq));
  const report = await importCsv(await day2(), { full: true });
  assert.deepEqual(
    report.created.map((u) => u.id),
    ['u-051', 'u-052', 'u-053'],
  );
  assert.deepEqual(report.updated, [
    { id: 'u-015', changes: ['department', 'title', 'manager', 'managerId'] },
    { id: 'u-030', changes: ['department', 'title', 'manager', 'managerId'] },
  ]);
  assert.deepEqual(report.deactivated, [
    { id: 'u-010', reason: 'status DISABLED' },
    { id: 'u-025', reason: 'missing from the full feed' },
  ]);
  assert.deepEqual((await pendingTypes()).sort(), [
    'user.created',
    'user.created',
    'user.created',
    'user.deactivated',
    'user.deactivated',
    'user.updated',
    'user.updated',
  ]);
  const mover = (await store.directory.pendingEvents(1000)).find((e) => e.type === 'user.updated') as PendingDirectoryEvent;
  assert.equal((mover.data.oldUser as { department: string }).department, 'Engineering');
  assert.equal((mover.data.newUser as { department: string }).department, 'Finance');
  assert.equal((await store.directory.getUser('u-025'))?.status, 'DISABLED');
});

test('a dry run reports the changes and changes nothing', async () => {
  await importCsv(await day1());
  const events = (await store.directory.pendingEvents(1000)).length;
  const report = await importCsv(await day2(), { full: true, dryRun: true });
  assert.equal(report.dryRun, true);
  assert.equal(report.events, 7);
  assert.equal(await store.directory.getUser('u-051'), undefined);
  assert.equal((await store.directory.getUser('u-010'))?.status, 'ENABLED');
  assert.equal((await store.directory.pendingEvents(1000)).length, events);
});

test('bad rows are reported with their line and reason; the good rows are imported', async () => {
  const csv = [
    'id,email,firstName,lastName,managerEmail,startDate,status',
    'u-1,boss@acme.example,Big,Boss,,2024-01-01,',
    ',nobody@acme.example,No,Id,,,',
    'u-2,not-an-email,Bad,Email,,,',
    'u-3,ok@acme.example,Ok,Person,boss@acme.example,2024-02-30,',
    'u-4,lost@acme.example,Lost,Report,ghost@acme.example,,',
    'u-1,again@acme.example,Dup,Licate,,,',
    '"u-5","quoted, ""comma""@acme.example",Q,Uote,,,',
    'u-6,fine@acme.example,Fine,Person,boss@acme.example,2024-03-01,enabled',
    'u-7,odd@acme.example,Odd,Status,,,RETIRED',
  ].join('\n');
  const report = await importCsv(csv);
  assert.deepEqual(
    report.errors.map((e) => [e.line, e.message]),
    [
      [3, 'id is missing'],
      [4, 'email is not an email address'],
      [5, 'startDate: expected a date as YYYY-MM-DD'],
      [6, 'unknown manager "ghost@acme.example": no person with that email in the directory or this file'],
      [7, 'duplicate id "u-1" (first on line 2); this row is skipped'],
      [8, 'email is not an email address'],
      [10, 'status must be one of ENABLED, DISABLED, DELETED'],
    ],
  );
  assert.deepEqual(
    report.created.map((u) => u.id),
    ['u-1', 'u-6'],
  );
  assert.equal((await store.directory.getUser('u-6'))?.managerId, 'u-1');
});

test('a mapping file renames feed columns; JSON feeds report lines too', async () => {
  const mapping = parseMapping('columns:\n  Employee ID: id\n  Work Email: email\n  Dept: department\n', 'map.yaml');
  const feed = await parseFeed('feed.csv', 'Employee ID,Work Email,Dept,Badge\nE1,e1@acme.example,Sales,42\n', { mapping });
  const report = await importFeed(directory, feed, { source: 'workday' });
  assert.deepEqual(report.errors, []);
  const user = await store.directory.getUser('E1');
  assert.equal(user?.department, 'Sales');
  assert.deepEqual(user?.attributes, { Badge: '42' });

  const json = '[\n  { "id": "J1", "email": "j1@acme.example" },\n  { "id": "J2" }\n]';
  const jsonReport = await importFeed(directory, await parseFeed('feed.json', json), { source: 'json' });
  assert.deepEqual(jsonReport.errors, [{ line: 3, id: 'J2', message: 'email: Invalid input: expected string, received undefined' }]);
  await assert.rejects(parseFeed('feed.json', '{ "people": [] }'), /expected an array of people, or an object with a "users" array/);
});

test('a column named like an Object member is an attribute by its own name; "__proto__" is refused, not dropped', async () => {
  const report = await importCsv('id,email,constructor,toString\nu-1,a@acme.example,Tower A,yes\n');
  assert.deepEqual(report.errors, []);
  assert.deepEqual((await store.directory.getUser('u-1'))?.attributes, { constructor: 'Tower A', toString: 'yes' });
  // A mapping that does not mention "constructor" must not rename it (to Object's constructor function).
  const mapped = await parseFeed('feed.csv', 'id,email,constructor\nu-2,b@acme.example,x\n', {
    mapping: parseMapping('columns: { Dept: department }', 'map.yaml'),
  });
  assert.deepEqual(Object.keys(mapped.rows[0]?.values ?? {}), ['id', 'email', 'constructor']);

  await assert.rejects(
    parseFeed('feed.csv', 'id,email,__proto__\nu-3,c@acme.example,{}\n'),
    /^Error: feed\.csv:1: column 3: "__proto__" cannot be a column name$/,
  );
  await assert.rejects(
    parseFeed(
      'feed.json',
      '[\n  { "id": "u-3", "email": "c@acme.example" },\n  { "id": "u-4", "email": "d@acme.example", "__proto__": { "x": 1 } }\n]',
    ),
    /^Error: feed\.json:3: "__proto__" cannot be a column name$/,
  );
  await assert.rejects(
    parseFeed('feed.json', '[{ "id": "u-4", "email": "d@acme.example", "attributes": { "__proto__": { "x": 1 } } }]'),
    /^Error: feed\.json:1: attributes: "__proto__" cannot be a column name$/,
  );
  assert.throws(
    () => parseMapping('columns: { Badge: __proto__ }', 'map.yaml'),
    /^Error: map\.yaml: column "Badge": "__proto__" cannot be a column name$/,
  );
});

test('control characters in ids, names and emails are refused per row, naming the line and the column', async () => {
  const csv = [
    'id,email,First Name,lastName',
    'u-1,ok@acme.example,Ok,Person',
    'u-\u00002,nul-id@acme.example,Nul,Id',
    'u-3,nul-name@acme.example,Gr\u0000ace,Hopper',
    'u-4,nul\u0000@acme.example,Nul,Email',
    'u-5,esc@acme.example,Esc,\u001b[31mRed',
  ].join('\n');
  const report = await importFeed(directory, await parseFeed('feed.csv', csv, { mapping: new Map([['First Name', 'firstName']]) }), {
    source: 'test',
  });
  assert.deepEqual(
    report.errors.map((e) => [e.line, e.message]),
    [
      [3, 'id: contains the control character U+0000'],
      [4, '"First Name" (firstName): contains the control character U+0000'],
      [5, 'email: contains the control character U+0000'],
      [6, 'lastName: contains the control character U+001B'],
    ],
  );
  assert.deepEqual(
    report.created.map((u) => u.id),
    ['u-1'],
  );
});

test('every field has a length limit with an error that names it', async () => {
  const long = (n: number) => 'x'.repeat(n);
  const csv = [
    'id,email,firstName,costCenter',
    `u-1,ok@acme.example,${long(1024)},${long(1024)}`,
    `${long(257)},long-id@acme.example,A,`,
    `u-3,${long(250)}@acme.example,A,`,
    `u-4,name@acme.example,${long(1025)},`,
    `u-5,attribute@acme.example,A,${long(1025)}`,
  ].join('\n');
  const report = await importCsv(csv);
  assert.deepEqual(
    report.errors.map((e) => [e.line, e.message]),
    [
      [3, 'id: longer than 256 characters'],
      [4, 'email: longer than 254 characters'],
      [5, 'firstName: longer than 1024 characters'],
      [6, 'attributes.costCenter: longer than 1024 characters'],
    ],
  );
  assert.deepEqual(
    report.created.map((u) => u.id),
    ['u-1'],
  );
  await assert.rejects(
    parseFeed('feed.csv', `id,email,${long(257)}\nu-1,a@acme.example,x\n`),
    /^Error: feed\.csv:1: column 3: a column name is longer than 256 characters$/,
  );
});

test('a repeated column is refused as a whole, naming both positions, also when a mapping makes two columns one', async () => {
  await assert.rejects(
    parseFeed('feed.csv', 'id,email,firstName,email\nu-1,a@acme.example,A,b@acme.example\n'),
    /^Error: feed\.csv:1: columns 2 \("email"\) and 4 \("email"\) both give email; keep one$/,
  );
  const mapping = parseMapping('columns: { "Work Email": email }', 'map.yaml');
  await assert.rejects(
    parseFeed('feed.csv', 'id,Work Email,email\nu-1,a@acme.example,b@acme.example\n', { mapping }),
    /^Error: feed\.csv:1: columns 2 \("Work Email" → email\) and 3 \("email"\) both give email; keep one$/,
  );
  await assert.rejects(
    parseFeed('feed.json', '[\n  { "id": "u-1", "Work Email": "a@acme.example", "email": "b@acme.example" }\n]', { mapping }),
    /^Error: feed\.json:2: "Work Email" → email and "email" both give email; keep one$/,
  );
});

test('a feed without an id column is refused with the column it needs, its header and the mapping', async () => {
  await assert.rejects(
    parseFeed('feed.csv', 'Employee Number,email\nE1,a@acme.example\n'),
    /^Error: feed\.csv:1: no id column: the header has "Employee Number", "email"; name a column "id", or rename one with a mapping \(--map, e\.g\. columns: \{ "Employee ID": id \}\)$/,
  );
  const mapping = parseMapping('columns: { Employee ID: id }', 'map.yaml');
  await assert.rejects(
    parseFeed('feed.csv', 'Employee Number,email\nE1,a@acme.example\n', { mapping }),
    /^Error: feed\.csv:1: no id column: the header has "Employee Number", "email"; the mapping renames "Employee ID" to id, but the header has no such column$/,
  );
  await assert.rejects(parseFeed('feed.csv', 'id,mail\nu-1,a@acme.example\n'), /^Error: feed\.csv:1: no email column/);
  await assert.rejects(parseFeed('feed.csv', ''), /^Error: feed\.csv: the feed is empty; expected a header row/);
});

test('a feed of more people than an import takes is refused as a whole, before its rows are held', async () => {
  const people = (n: number) => ['id,email', ...Array.from({ length: n }, (_, i) => `u-${i},u${i}@acme.example`)].join('\n');
  assert.equal((await parseFeed('feed.csv', people(3), { maxRows: 3 })).rows.length, 3);
  await assert.rejects(
    parseFeed('feed.csv', people(4), { maxRows: 3 }),
    /^Error: feed\.csv: more than 3 people; an import takes at most that many$/,
  );
  await assert.rejects(
    parseFeed('feed.json', JSON.stringify(Array.from({ length: 4 }, (_, i) => ({ id: `u-${i}`, email: `u${i}@acme.example` }))), {
      maxRows: 3,
    }),
    /^Error: feed\.json: more than 3 people/,
  );
});

test('a large import gives the event loop turns while it parses, checks and writes, so the API keeps answering', async () => {
  const people = 5_000;
  const csv = ['id,email,firstName', ...Array.from({ length: people }, (_, i) => `u-${i},u${i}@acme.example,Person ${i}`)].join('\n');
  let turns = 0;
  let importing = true;
  const countTurn = (): void => {
    if (!importing) return;
    turns++;
    setImmediate(countTurn);
  };
  setImmediate(countTurn);
  const report = await importCsv(csv);
  importing = false;
  assert.equal(report.created.length, people);
  // One turn per 500 people in each of checking, comparing and writing (and per 256 KiB parsed); none when the import held the loop.
  assert.ok(turns >= (3 * people) / 500, `only ${turns} event-loop turns during the import`);
});

test("delivering a large import's events gives the event loop turns, so the API keeps answering", async () => {
  await importCsv(['id,email', ...Array.from({ length: 1_000 }, (_, i) => `u-${i},u${i}@acme.example`)].join('\n'));
  const dispatcher = new OutboxDispatcher(store.directory, store.leases, async () => {}, pino({ level: 'silent' }));
  let turns = 0;
  let delivering = true;
  const countTurn = (): void => {
    if (!delivering) return;
    turns++;
    setImmediate(countTurn);
  };
  setImmediate(countTurn);
  await dispatcher.drain();
  delivering = false;
  assert.deepEqual(await store.directory.pendingEvents(10), []);
  assert.ok(turns >= 1_000 / 20, `only ${turns} event-loop turns while 1,000 events were delivered`);
});

test('a YAML alias bomb as a mapping is refused with the file named', () => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++)
    levels.push(
      `l${i}: &l${i} [${Array(10)
        .fill(i === 1 ? '*a' : `*l${i - 1}`)
        .join(', ')}]`,
    );
  assert.throws(() => parseMapping(levels.join('\n'), 'map.yaml'), /^Error: map\.yaml: Excessive alias count/);
});

async function seedAccess(): Promise<void> {
  await importCsv(await day1());
  await directory.write(async (tx) => {
    await tx.ops.putApp({ id: 'github', slug: 'github', displayName: 'GitHub' });
    for (const slug of ['org-member', 'engineering'])
      await tx.ops.putEntitlement({ id: `github:${slug}`, appId: 'github', app: 'github', slug, displayName: slug });
    await tx.ops.putCampaignTemplate({ id: 'leaver-review', displayName: 'Leaver review', reviewer: 'manager', durationDays: 7 });
  });
}

test('governance actions are idempotent under a step key: a retry returns the first result and changes nothing', async () => {
  await seedAccess();
  const seen = (await store.directory.pendingEvents(1000)).length;
  const step = directory.forStep('joiner:evt-1.grant', { source: 'test' });
  const first = await step.grantEntitlements({
    user: 'alan.turing@acme.example',
    entitlements: ['github:org-member', 'github:engineering'],
  });
  assert.deepEqual(first, { user: 'u-003', granted: ['github:org-member', 'github:engineering'], alreadyHad: [], expiresAt: null });
  const retry = await directory
    .forStep('joiner:evt-1.grant', { source: 'test' })
    .grantEntitlements({ user: 'u-003', entitlements: ['github:org-member', 'github:engineering'] });
  assert.deepEqual(retry, first);
  assert.equal((await store.directory.listGrants({ userId: 'u-003' })).length, 2);
  assert.equal((await store.directory.pendingEvents(1000)).length, seen + 2, 'one grant.created per grant, none for the retry');

  const another = await directory
    .forStep('other:evt-2.grant', { source: 'test' })
    .grantEntitlements({ user: 'u-003', entitlements: ['github:engineering'] });
  assert.deepEqual(another.alreadyHad, ['github:engineering']);

  const campaign = directory.forStep('leaver:evt-3.review', { source: 'test' });
  const opened = await campaign.createCampaign({ template: 'leaver-review', user: 'u-003' });
  assert.deepEqual(await campaign.createCampaign({ template: 'leaver-review', user: 'u-003' }), opened);
  assert.equal(opened.campaign.reviewerId, 'u-002');
  assert.deepEqual(opened.campaign.items, ['github:engineering', 'github:org-member']);
  assert.equal((await store.directory.listCampaigns({ userId: 'u-003' })).length, 1);
});

test('a reference that is gone fails with an error that names it', async () => {
  await seedAccess();
  const step = directory.forStep('k1', { source: 'test' });
  await assert.rejects(step.grantEntitlements({ user: 'u-003', entitlements: ['github:nope'] }), (error: unknown) => {
    assert.ok(error instanceof DirectoryError);
    assert.equal(error.code, 'NOT_FOUND');
    assert.match(error.message, /entitlement "github:nope" is not in the directory/);
    return true;
  });
  await assert.rejects(
    step.modifyUserStatus({ user: 'ghost@acme.example', status: 'DISABLED' }),
    /user "ghost@acme.example" is not in the directory/,
  );
  await assert.rejects(step.createCampaign({ template: 'nope', user: 'u-003' }), /campaign template "nope" is not in the directory/);
  assert.equal(await store.directory.getEffect('k1'), undefined, 'a failed action records no result');
});

test('leaver actions: revoke all but exclusions, reassign tasks, remove delegations', async () => {
  await seedAccess();
  const actions = (key: string) => directory.forStep(key, { source: 'test' });
  await actions('g').grantEntitlements({ user: 'u-003', entitlements: ['github:org-member', 'github:engineering'] });
  await directory.write(async (tx) => {
    await tx.ops.putTask({
      id: 't1',
      type: 'access_review',
      assigneeId: 'u-003',
      title: 'Review',
      state: 'open',
      createdAt: 'x',
      updatedAt: 'x',
    });
    await tx.ops.putTask({
      id: 't2',
      type: 'access_request',
      assigneeId: 'u-003',
      title: 'Approve',
      state: 'completed',
      createdAt: 'x',
      updatedAt: 'x',
    });
    await tx.modifyDelegate({ user: 'u-004', delegate: 'u-003' });
    await tx.modifyDelegate({ user: 'u-003', delegate: 'u-005' });
  });
  const revoked = await actions('r').revokeEntitlements({ user: 'u-003', all: true, exclude: ['github:org-member'] });
  assert.deepEqual(revoked, { user: 'u-003', revoked: ['github:engineering'], notHeld: [], kept: ['github:org-member'] });
  const tasks = await actions('t').performTaskAction({ user: 'u-003', action: 'reassign', to: 'u-002' });
  assert.deepEqual(tasks, { user: 'u-003', action: 'reassign', tasks: ['t1'], to: 'u-002' });
  assert.equal((await store.directory.getTask('t1'))?.assigneeId, 'u-002');
  assert.equal((await store.directory.getTask('t2'))?.assigneeId, 'u-003', 'closed tasks stay');
  const delegations = await actions('d').modifyDelegate({ user: 'u-003', remove: true, removeAsDelegate: true });
  assert.deepEqual(delegations, { user: 'u-003', previousDelegate: 'u-005', delegate: null, removedAsDelegateOf: ['u-004'] });
  assert.deepEqual(await store.directory.listDelegates({}), []);
  const status = await actions('s').modifyUserStatus({ user: 'u-003', status: 'DISABLED' });
  assert.deepEqual(status, { user: 'u-003', previousStatus: 'ENABLED', status: 'DISABLED', changed: true });
  const types = await pendingTypes();
  assert.equal(types.at(-1), 'user.deactivated');
  assert.ok(types.includes('grant.revoked'));
});

test('the outbox delivers each committed event once, in order, and keeps undelivered ones for the next start', async () => {
  await importCsv('id,email\nu-1,a@acme.example\nu-2,b@acme.example\n');
  const delivered: string[] = [];
  let failNext = true;
  const dispatcher = new OutboxDispatcher(
    store.directory,
    store.leases,
    async (event) => {
      if (failNext) {
        failNext = false;
        throw new Error('Temporal is down');
      }
      delivered.push((event.data.newUser as { id: string }).id);
    },
    pino({ level: 'silent' }),
  );
  await assert.rejects(dispatcher.drain(), /Temporal is down/);
  assert.equal((await store.directory.pendingEvents(10)).length, 2, 'nothing is lost when delivery fails');
  await dispatcher.drain();
  assert.deepEqual(delivered, ['u-1', 'u-2']);
  assert.deepEqual(await store.directory.pendingEvents(10), []);
});
