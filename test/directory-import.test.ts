/**
 * HR feeds at the size of a real company, through the CLI and a running `idflow api` process
 * (a real Temporal server, a real store): the feed is streamed to the import route, which
 * has its own limit, so a feed far over the API's body limit imports; a feed over the import
 * limit is refused with a 413 that says how to raise it; nothing is read before the token is checked.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { ImportReport } from '../directory/import.js';
import type { Store } from '../store/types.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { createTestDatabase, openTestStore } from './helpers/store.js';
import { until } from './helpers/worker-process.js';
import { startTestTemporal, type TestTemporal } from './helpers/temporal.js';

const BIN = fileURLToPath(new URL('../bin/idflow.js', import.meta.url));
const PEOPLE = 20_000;
const BODY_LIMIT = 64 * 1024;
const IMPORT_LIMIT = 8 * 1024 * 1024;

let temporal: TestTemporal;
let dataDir: string;
let store: Store;
let api: ChildProcess;
let apiOutput = '';
let apiUrl: string;
let writeToken: string;

/** One person per line, p-1 … p-N on lines 2 … N+1; `edit` may rewrite or drop (return undefined) a line. */
function feed(people: number, edit: (i: number, line: string) => string | undefined = (_, line) => line): string {
  const lines = ['id,email,firstName,lastName,department,title,managerEmail,employmentType,status,startDate,location,costCenter'];
  for (let i = 1; i <= people; i++) {
    const line = edit(
      i,
      `p-${i},person${i}@acme.example,First${i},Last${i},Engineering,Engineer,${i === 1 ? '' : 'person1@acme.example'},FULL_TIME,ENABLED,2024-01-15,London,CC-${i % 40}`,
    );
    if (line !== undefined) lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

async function writeFeed(name: string, content: string): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, content);
  return path;
}

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

const enabledPeople = async (): Promise<number> => (await store.directory.listUsers({ status: 'ENABLED' })).length;

before(async () => {
  temporal = await startTestTemporal();
  dataDir = await mkdtemp(join(tmpdir(), 'idflow-import-'));
  const database = await createTestDatabase({ dir: dataDir });
  store = await openTestStore(database);
  writeToken = await store.tokens.create('hr-feed', ['directory:read', 'directory:write']);
  api = spawn(process.execPath, [BIN, 'api', '--data-dir', dataDir, '--port', '0', '--body-limit', '64kb', '--import-limit', '8mb'], {
    env: { ...process.env, ...database.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout?.on('data', (chunk: Buffer) => (apiOutput += chunk.toString()));
  api.stderr?.on('data', (chunk: Buffer) => (apiOutput += chunk.toString()));
  await until('idflow api listens', () => {
    if (api.exitCode !== null) throw new Error(`idflow api exited with ${api.exitCode}:\n${apiOutput}`);
    return /API listening on (http:\S+)/.test(apiOutput);
  });
  apiUrl = /API listening on (http:\S+)/.exec(apiOutput)?.[1] as string;
  process.env.IDFLOW_URL = apiUrl;
  process.env.IDFLOW_TOKEN = writeToken;
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await once(api, 'exit');
  }
  await store?.close();
  await temporal?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test(`a ${PEOPLE.toLocaleString('en')}-person feed, far over the API's body limit, imports through the CLI; importing it again changes nothing`, async (t) => {
  const file = await writeFeed('people.csv', feed(PEOPLE));
  const { size } = await stat(file);
  assert.ok(
    size > 1024 * 1024 && size > BODY_LIMIT,
    `the feed (${size} bytes) must be over the default 1 MiB and the API's ${BODY_LIMIT}-byte body limit`,
  );

  let started = performance.now();
  const first = await cli('directory', 'import', file, '--source', 'workday', '--json');
  t.diagnostic(
    `import of ${PEOPLE} people (${(size / 1024 / 1024).toFixed(1)} MiB): ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as ImportReport;
  assert.equal(report.rows, PEOPLE);
  assert.equal(report.created.length, PEOPLE);
  assert.deepEqual(report.errors, []);
  assert.equal(await enabledPeople(), PEOPLE);
  assert.equal((await store.directory.getUser(`p-${PEOPLE}`))?.managerId, 'p-1');

  started = performance.now();
  const again = await cli('directory', 'import', file, '--source', 'workday', '--json');
  t.diagnostic(`re-import: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as ImportReport;
  assert.equal(second.events, 0);
  assert.equal(second.unchanged, PEOPLE);
});

test('a full feed: a dry run changes nothing; then the missing person leaves, and bad rows are reported by line (exit 2)', async () => {
  const file = await writeFeed(
    'people-day2.csv',
    feed(PEOPLE, (i, line) => {
      if (i === 7) return undefined; // a leaver: missing from the full feed
      if (i === 10) return line.replace('First10', 'First\u000010'); // line 10 (line 8 is gone)
      if (i === 11) return line.replace('person11@acme.example', 'person11-at-acme');
      if (i === 12) return line.replace('Engineering', 'Finance'); // a mover
      return line;
    }),
  );
  const dryRun = await cli('directory', 'import', file, '--full', '--dry-run', '--json');
  assert.equal(dryRun.code, 2, dryRun.stderr);
  const planned = JSON.parse(dryRun.stdout) as ImportReport;
  assert.equal(planned.dryRun, true);
  assert.deepEqual(planned.deactivated, [{ id: 'p-7', reason: 'missing from the full feed' }]);
  assert.equal((await store.directory.getUser('p-7'))?.status, 'ENABLED');
  assert.equal((await store.directory.getUser('p-12'))?.department, 'Engineering');

  const day2 = await cli('directory', 'import', file, '--full');
  assert.equal(day2.code, 2);
  assert.match(
    day2.stdout,
    new RegExp(`^${PEOPLE - 1} rows from hr: create 0, update 1, deactivate 1, ${PEOPLE - 4} unchanged, 2 bad rows$`, 'm'),
  );
  assert.match(day2.stderr, /^line 10 \(p-10\): firstName: contains the control character U\+0000$/m);
  assert.match(day2.stderr, /^line 11 \(p-11\): email is not an email address$/m);
  assert.equal((await store.directory.getUser('p-7'))?.status, 'DISABLED');
  assert.equal((await store.directory.getUser('p-12'))?.department, 'Finance');
  assert.equal((await store.directory.getUser('p-10'))?.firstName, 'First10');
});

test('a feed over the import limit is refused with a 413 that names the limit and how to raise it; nothing is written', async () => {
  const before = await store.directory.listUsers();
  const file = await writeFeed(
    'too-big.csv',
    feed(Math.ceil(IMPORT_LIMIT / 120) + 10_000, (i, line) => line.replace(`person${i}@`, `big${i}@`).replace(`p-${i},`, `big-${i},`)),
  );
  assert.ok((await stat(file)).size > IMPORT_LIMIT);
  const result = await cli('directory', 'import', file, '--full');
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    'idflow: the feed is larger than the import limit of 8 MiB; raise it with `idflow api --import-limit` (IDFLOW_IMPORT_LIMIT)',
  );
  assert.deepEqual(await store.directory.listUsers(), before);
});

/**
 * One request on a connection of its own, answered as { status, json }: pooled keep-alive
 * connections can be closed by the API (its keep-alive timeout, or the close after a 413) just as
 * the next request is written, which fails that request with ECONNRESET. `declaredLength` without
 * a body declares a body the request never sends.
 */
function postOnce(path: string, token: string | undefined, contentType: string, body: string | Buffer, declaredLength?: number) {
  return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    const length = declaredLength ?? Buffer.byteLength(body);
    const headers = { 'content-type': contentType, 'content-length': length, ...(token && { authorization: `Bearer ${token}` }) };
    const sent = request(`${apiUrl}${path}`, { method: 'POST', agent: false, headers }, (response) => {
      const chunks: Buffer[] = [];
      response
        .on('data', (chunk: Buffer) => chunks.push(chunk))
        .on('end', () => {
          resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
          sent.destroy();
        });
    });
    sent.on('error', reject);
    if (declaredLength === undefined) sent.end(body);
    else sent.flushHeaders();
  });
}

test("the API's own body limit is --body-limit; the import route reads nothing before the token is checked", async () => {
  const admin = await store.tokens.create('admin', ['admin']);
  const event = (padding: number) =>
    JSON.stringify({ type: 'user.created', id: `limit-${padding}`, data: { padding: 'x'.repeat(padding) } });

  // Declares a body over the limit and sends none of it: the API must answer from the declared
  // length alone (413, connection closed). Sending the body would race the API's close, which
  // resets a connection holding unread bytes (ECONNRESET before the answer could be read).
  const over = await postOnce('/v1/events', admin, 'application/json', '', Buffer.byteLength(event(BODY_LIMIT)));
  assert.equal(over.status, 413);
  assert.equal((over.json as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
  assert.notEqual((await postOnce('/v1/events', admin, 'application/json', event(BODY_LIMIT / 2))).status, 413);

  const people = await enabledPeople();
  const csv = 'id,email\nintruder,intruder@evil.example\n';
  const anonymous = await postOnce('/v1/directory/import', undefined, 'text/csv', csv);
  assert.equal(anonymous.status, 401);
  const reader = await postOnce('/v1/directory/import', await store.tokens.create('reader', ['directory:read']), 'text/csv', csv);
  assert.equal(reader.status, 403);
  assert.equal(await enabledPeople(), people);
  assert.equal(await store.directory.getUser('intruder'), undefined);

  const xml = await postOnce('/v1/directory/import', writeToken, 'application/xml', '<people/>');
  assert.equal(xml.status, 415);
  const notUtf8 = await postOnce('/v1/directory/import', writeToken, 'text/csv', Buffer.from([0x69, 0x64, 0x2c, 0xff, 0xfe, 0x0a]));
  assert.equal(notUtf8.status, 400);
  assert.deepEqual(notUtf8.json, { error: { code: 'INVALID', message: 'the feed is not UTF-8 text' } });
});

test("a JSON feed with a mapping file imports through the CLI, its errors naming the feed's own columns", async () => {
  const mapping = await writeFeed('map.yaml', 'columns:\n  Employee ID: id\n  Work Email: email\n  Dept: department\n');
  const file = await writeFeed(
    'people.json',
    JSON.stringify(
      {
        users: [
          { 'Employee ID': 'j-1', 'Work Email': 'j1@acme.example', Dept: 'Sales', constructor: 'Tower B' },
          { 'Employee ID': 'j-2', 'Work Email': 'j2@acme.example', Dept: 'Sa\u0000les' },
        ],
      },
      null,
      2,
    ),
  );
  const result = await cli('directory', 'import', file, '--map', mapping, '--source', 'payroll');
  assert.equal(result.code, 2);
  assert.match(result.stdout, /^2 rows from payroll: create 1, update 0, deactivate 0, 0 unchanged, 1 bad rows$/m);
  assert.match(result.stderr, /^line 9 \(j-2\): "Dept" \(department\): contains the control character U\+0000$/m);
  const created = await store.directory.getUser('j-1');
  assert.equal(created?.department, 'Sales');
  assert.deepEqual(created?.attributes, { constructor: 'Tower B' });
});
