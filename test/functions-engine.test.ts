/**
 * Functions inside idflow, end to end on a real dev server: `kind: Function` documents applied
 * with their TypeScript, immutable versions (publish, NAME@VERSION, rollback), secrets sealed at
 * rest and redacted, the call_function step (output in ctx, logs and duration in the step record,
 * a function error failing the step at once with its code), manual runs and test cases through
 * the API, and `idflow function run FILE` as a process of its own: one JSON object, no server.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildApiServer } from '../api/server.js';
import { FunctionService } from '../functions/service.js';
import { callFunctionStep } from '../steps/call_function.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver } from './helpers/receiver.js';
import { readRows } from './helpers/store.js';
import { stepServicesFor } from './helpers/step-services.js';

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const BIN = fileURLToPath(new URL('../bin/idflow.js', import.meta.url));

let idflow: TestEngine;
let api: FastifyInstance;
let token: string;

const greeter = (greeting: string) => `import type { FunctionContext } from '../functions/sdk.js';
export default async function (input: { name: string }, ctx: FunctionContext) {
  const key = ctx.getConfig('API_KEY');
  ctx.log('greeting', input.name, 'with key', key);
  const trigger = ctx.trigger as { user?: { id: string } } | null;
  if (input.name === 'boom') throw new Error('cannot greet boom (key ' + key + ')');
  return { message: '${greeting}, ' + input.name + '!', userId: trigger?.user?.id ?? null };
}
`;

const functionDocument = `kind: Function
name: greeter
description: Says hello
file: greeter.ts
timeout: 2s
memoryMb: 64
`;

const automation = `kind: Automation
name: greet-joiners
trigger:
  type: user.created
steps:
  - name: greet
    type: call_function
    with:
      function: greeter
      input: { name: "{{ subject.firstName }}" }
  - name: pinned
    type: call_function
    with:
      function: greeter@1
      input: { name: "{{ ctx.greet.output.message }}" }
`;

before(async () => {
  idflow = await startTestEngine({ env: { IDFLOW_MASTER_KEY: MASTER_KEY } });
  const result = await idflow.engine.apply(
    [
      { path: 'defs/greeter.yaml', content: functionDocument },
      { path: 'defs/greeter.ts', content: greeter('Hello') },
    ],
    { dryRun: false, actor: 'test' },
  );
  assert.deepEqual(result.errors, []);
  await idflow.engine.functions.setSecret('greeter', 'API_KEY', 'sk-live-4242', 'test');
  api = await buildApiServer({ engine: idflow.engine });
  token = await idflow.store.tokens.create('runner', ['functions:read', 'functions:write', 'functions:run']);
});

after(async () => {
  await api?.close();
  await idflow?.stop();
});

const call = (method: 'GET' | 'POST', url: string, payload?: object) =>
  api.inject({ method, url, payload, headers: { authorization: `Bearer ${token}` } });

test('apply compiles the source into version 1; publish makes version 2; versions lists both with hash, author and message', async () => {
  const published = await call('POST', '/v1/functions/greeter/versions', {
    source: greeter('Welcome'),
    filename: 'defs/greeter.ts',
    message: 'warmer greeting',
  });
  assert.equal(published.statusCode, 201, published.body);
  assert.equal(published.json().version, 2);
  const again = await call('POST', '/v1/functions/greeter/versions', {
    source: greeter('Welcome'),
    filename: 'defs/greeter.ts',
    message: 'same code',
  });
  assert.equal(again.json().created, false, 'the same code is not a new version');

  const { current, versions } = (await call('GET', '/v1/functions/greeter/versions')).json() as {
    current: number;
    versions: { version: number; codeHash: string; createdBy: string; message: string; file: string; source: string }[];
  };
  assert.equal(current, 2);
  // Each version with the source it was published from: what the console's editor opens and diffs.
  assert.deepEqual(
    versions.map((v) => [v.file, v.source]),
    [
      ['defs/greeter.ts', greeter('Hello')],
      ['defs/greeter.ts', greeter('Welcome')],
    ],
  );
  assert.deepEqual(
    versions.map((v) => [v.version, v.createdBy, v.message]),
    [
      [1, 'test', 'defs/greeter.yaml:1'],
      [2, 'runner', 'warmer greeting'],
    ],
  );
  assert.notEqual(versions[0].codeHash, versions[1].codeHash);
  assert.match(versions[0].codeHash, /^[0-9a-f]{64}$/);
});

test('call_function: the output is ctx.<step>.output, NAME@VERSION pins a version, logs and duration are in the step record, secrets redacted', async () => {
  await idflow.apply(automation);
  const result = await idflow.engine.ingest(
    {
      id: 'evt-greet',
      type: 'user.created',
      data: { newUser: { id: 'u-7', email: 'linus@acme.example', firstName: 'Linus', status: 'ENABLED' } },
    },
    'test',
  );
  const run = await idflow.finished(result.runs[0].runId);
  assert.equal(run.status, 'completed', run.error);
  const [greet, pinned] = run.steps;
  const greetOutput = greet.output as { output: { message: string; userId: string }; version: number; logs: string[]; durationMs: number };
  assert.deepEqual(greetOutput.output, { message: 'Welcome, Linus!', userId: 'u-7' }, 'the current version (2) ran, with ctx.trigger');
  assert.equal(greetOutput.version, 2);
  assert.deepEqual(greetOutput.logs, ['greeting Linus with key [REDACTED]']);
  assert.ok(greetOutput.durationMs >= 0);
  assert.deepEqual(
    (pinned.output as { output: { message: string }; version: number }).output.message,
    'Hello, Welcome, Linus!!',
    'greeter@1 ran version 1',
  );
  assert.ok(!JSON.stringify(run).includes('sk-live-4242'), 'the secret appears nowhere in the run record');
  // Room for long functions, with heartbeats so a dead worker is noticed in seconds.
  const history = await idflow.client.workflow.getHandle(run.runId).fetchHistory();
  // The step's activity (the guard's admission is an activity of its own).
  const scheduled = history.events?.find(
    (event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'runStep',
  )?.activityTaskScheduledEventAttributes;
  assert.equal(Number(scheduled?.startToCloseTimeout?.seconds), 16 * 60);
  assert.equal(Number(scheduled?.heartbeatTimeout?.seconds), 10);
});

test('a function error fails the step at once with its code and message, redacted', async () => {
  await idflow.apply(
    automation
      .replace('input: { name: "{{ subject.firstName }}" }', 'input: { name: boom }')
      .replace('name: greet-joiners', 'name: greet-boom'),
  );
  const result = await idflow.engine.ingest(
    { id: 'evt-boom', type: 'user.created', data: { newUser: { id: 'u-8', email: 'x@acme.example', status: 'ENABLED' } } },
    'test',
  );
  const run = await idflow.finished(result.runs.find((r) => r.automation === 'greet-boom')?.runId as string);
  assert.equal(run.status, 'failed');
  assert.equal(run.steps[0].attempts, 1, 'code errors are not retried');
  assert.match(run.steps[0].error ?? '', /function greeter@2: RUNTIME_ERROR: .*cannot greet boom \(key \[REDACTED\]\)/);
  assert.ok(!JSON.stringify(run).includes('sk-live-4242'));
});

test('secrets are sealed at rest (AES-256-GCM) and listed by name only', async () => {
  const rows = (await readRows(idflow.database, 'select * from function_secrets')) as { key: string; sealed: string }[];
  assert.deepEqual(
    rows.map((row) => row.key),
    ['API_KEY'],
  );
  assert.match(rows[0].sealed, /^v1:/);
  assert.ok(!rows[0].sealed.includes('sk-live') && !Buffer.from(rows[0].sealed.slice(3), 'base64').toString('latin1').includes('sk-live'));
  const listed = (await call('GET', '/v1/functions/greeter/secrets')).json() as { secrets: { key: string }[] };
  assert.deepEqual(
    listed.secrets.map((s) => s.key),
    ['API_KEY'],
  );
  assert.ok(!JSON.stringify(listed).includes('sk-live'));
});

test('manual runs and test cases through the API; rollback makes an old version current', async () => {
  const ran = (await call('POST', '/v1/functions/greeter/runs', { input: { name: 'Ada' } })).json();
  assert.deepEqual([ran.ok, ran.output, ran.version], [true, { message: 'Welcome, Ada!', userId: null }, 2]);
  const tests = (
    await call('POST', '/v1/functions/greeter/tests', {
      cases: [
        { name: 'greets', input: { name: 'Ada' }, expect: { message: 'Welcome, Ada!', userId: null } },
        { name: 'wrong on purpose', input: { name: 'Ada' }, expect: { message: 'Hi' } },
      ],
    })
  ).json() as { results: { name: string; passed: boolean; problem?: string }[] };
  assert.deepEqual(
    tests.results.map((r) => [r.name, r.passed]),
    [
      ['greets', true],
      ['wrong on purpose', false],
    ],
  );
  assert.match(tests.results[1].problem ?? '', /expected \{"message":"Hi"\}, got/);

  const rolled = (await call('POST', '/v1/functions/greeter/rollback', { version: 1 })).json();
  assert.equal(rolled.version, 3);
  const after = (await call('POST', '/v1/functions/greeter/runs', { input: { name: 'Ada' } })).json();
  assert.deepEqual([after.output.message, after.version], ['Hello, Ada!', 3]);
  const audit = await idflow.store.audit.list({ target: 'Function/greeter' });
  assert.deepEqual([...new Set(audit.map((entry) => entry.action))].sort(), [
    'definition.put',
    'function.publish',
    'function.rollback',
    'function.run',
    'function.secret.set',
    'function.test',
  ]);
});

test('apply refuses a function that does not compile, with file, line and column, and applies nothing', async () => {
  const result = await idflow.engine.apply(
    [
      { path: 'defs/broken.yaml', content: functionDocument.replace('name: greeter', 'name: broken').replace('greeter.ts', 'broken.ts') },
      {
        path: 'defs/broken.ts',
        content: "import fs from 'node:fs';\nexport default async () => fs.readFileSync('/etc/passwd', 'utf8');\n",
      },
    ],
    { dryRun: false, actor: 'test' },
  );
  assert.equal(result.ok, false);
  assert.equal(result.errors[0].file, 'defs/broken.ts');
  assert.equal(result.errors[0].line, 1);
  assert.match(result.errors[0].message, /node:fs.*npm:date-fns/s);
  assert.equal(await idflow.store.definitions.current('Function', 'broken'), undefined);
  const missing = await idflow.engine.apply(
    [{ path: 'defs/lonely.yaml', content: functionDocument.replace('name: greeter', 'name: lonely') }],
    { dryRun: false, actor: 'test' },
  );
  assert.match(missing.errors[0].message, /defs\/greeter\.ts was not given with this document/);
  assert.equal(missing.errors[0].path, 'file');
});

test('`idflow function run FILE` needs no server, prints one JSON object, exits 0 or 1, and returns by itself after a timeout', async () => {
  const dir = idflow.dataDir;
  await writeFile(
    join(dir, 'hello.ts'),
    'export default async (input: { n: number }, ctx: { log(...a: unknown[]): void }) => { ctx.log("n is", input.n); return { next: input.n + 1 }; };\n',
  );
  await writeFile(join(dir, 'spin.ts'), 'export default async () => { for (;;) {} };\n');
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'function', 'run', ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, IDFLOW_URL: '', IDFLOW_DATA_DIR: join(dir, 'none') },
      timeout: 30_000,
    });

  const ok = run('hello.ts', '--input', '{"n": 41}');
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout), {
    ok: true,
    output: { next: 42 },
    logs: ['n is 41'],
    durationMs: JSON.parse(ok.stdout).durationMs,
  });
  assert.equal(ok.stdout.trim().split('\n').length, 1, 'exactly one line of JSON');

  // Once it has printed the TIMEOUT it exits by itself: no sandbox process or timer keeps it alive.
  // (Measured from the output, not from the start, which a busy machine makes take seconds.)
  const spinning = spawn(process.execPath, [BIN, 'function', 'run', 'spin.ts', '--timeout-ms', '300'], {
    cwd: dir,
    env: { ...process.env, IDFLOW_URL: '', IDFLOW_DATA_DIR: join(dir, 'none') },
  });
  const stuck = setTimeout(() => spinning.kill('SIGKILL'), 60_000);
  let spunOutput = '';
  let printedAt = 0;
  spinning.stdout.on('data', (chunk: Buffer) => {
    spunOutput += chunk.toString();
    printedAt ||= Date.now();
  });
  const [spunStatus] = (await once(spinning, 'close')) as [number | null];
  const exitedAt = Date.now();
  clearTimeout(stuck);
  assert.equal(spunStatus, 1);
  assert.equal(JSON.parse(spunOutput).error.code, 'TIMEOUT');
  assert.ok(exitedAt - printedAt < 2_000, `the command exited ${exitedAt - printedAt} ms after printing its result`);

  const denied = run('hello.ts', '--input', 'not json');
  assert.equal(denied.status, 2);
  assert.equal(JSON.parse(denied.stdout).error.code, 'INVALID_REQUEST');

  // Run from outside the project, a compile error still names the file as given, with line:column.
  await writeFile(join(dir, 'broken.ts'), 'export default async (\n');
  const broken = run('broken.ts');
  assert.equal(broken.status, 1);
  assert.deepEqual(JSON.parse(broken.stdout).error, { code: 'COMPILE_ERROR', message: 'broken.ts:2:1: Unexpected end of file' });

  // A kind: Function document beside the file lends its settings; an invalid one is refused with its file and field.
  await writeFile(join(dir, 'hello.yaml'), 'kind: Function\nname: hello\nfile: hello.ts\ntimeout: 20m\n');
  const invalid = run('hello.ts', '--input', '{"n": 1}');
  assert.equal(invalid.status, 2);
  assert.match(JSON.parse(invalid.stdout).error.message, /^hello\.yaml: timeout: at most 15m/);
});

test('the CLI through the API: `secret set` reads the value from stdin, `secret list` shows names only, `function run NAME` and `versions` use the engine', async () => {
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const admin = await idflow.store.tokens.create('cli', ['functions:read', 'functions:write', 'functions:run']);
  // Asynchronous: the API answering the CLI runs in this process.
  const cli = (input: string | undefined, ...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, IDFLOW_URL: url, IDFLOW_TOKEN: admin } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(input ?? '');
    });

  const set = await cli('tok-from-stdin-77\n', 'secret', 'set', 'greeter', 'OTHER_KEY');
  assert.equal(set.status, 0, set.stderr);
  const listed = await cli(undefined, 'secret', 'list', 'greeter');
  assert.match(listed.stdout, /API_KEY/);
  assert.match(listed.stdout, /OTHER_KEY .* by cli/);
  assert.ok(!listed.stdout.includes('tok-from-stdin') && !listed.stdout.includes('sk-live'));
  const empty = await cli('', 'secret', 'set', 'greeter', 'EMPTY');
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /no value on stdin/);

  const ran = await cli(undefined, 'function', 'run', 'greeter', '--input', '{"name":"Grace"}');
  assert.equal(ran.status, 0, ran.stderr);
  const result = JSON.parse(ran.stdout) as { ok: boolean; output: { message: string }; version: number };
  assert.equal(result.output.message, 'Hello, Grace!');
  const versions = await cli(undefined, 'function', 'versions', 'greeter');
  assert.match(versions.stdout, /● v3 /);
  assert.match(versions.stdout, /rollback to v1/);

  const source = join(idflow.dataDir, 'greeter-v4.ts');
  await writeFile(source, greeter('Howdy'));
  const published = await cli(undefined, 'function', 'publish', 'greeter', source, '-m', 'friendlier');
  assert.equal(published.status, 0, published.stderr);
  assert.match(published.stdout, /✓ greeter v4 published \([0-9a-f]{12}\)/);
  const functionList = await cli(undefined, 'function', 'list');
  assert.match(functionList.stdout, /greeter +v4 .*secrets: API_KEY, OTHER_KEY +Says hello/);
  const missing = await cli(undefined, 'function', 'publish', 'nope', source);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /function "nope" does not exist: apply a kind: Function document named "nope"/);
});

test('a retried call_function step returns the recorded result instead of calling the function again', async () => {
  const receiver = await startReceiver();
  try {
    const port = new URL(receiver.url).port;
    await idflow.engine.apply(
      [
        { path: 'defs/ticket.yaml', content: `kind: Function\nname: opener\nfile: opener.ts\nallowedHosts: ["127.0.0.1:${port}"]\n` },
        {
          path: 'defs/opener.ts',
          content: `export default async (input: { url: string }, ctx: { fetch(url: string, init?: object): Promise<{ status: number }> }) => ({ status: (await ctx.fetch(input.url, { method: 'POST' })).status });\n`,
        },
      ],
      { dryRun: false, actor: 'test' },
    );
    const env = { IDFLOW_FUNCTIONS_PRIVATE_NETWORKS: '127.0.0.1/32', IDFLOW_MASTER_KEY: MASTER_KEY };
    const functions = new FunctionService({ store: idflow.store, env });
    const services = () => stepServicesFor({ store: idflow.store, stepType: 'call_function', functions, env });
    const input = callFunctionStep.with.parse({ function: 'opener', input: { url: `${receiver.url}/tickets` } });
    const first = await callFunctionStep.run(input, await services());
    const second = await callFunctionStep.run(input, await services()); // the same step of the same run, retried
    functions.close();
    assert.deepEqual((first as { output: unknown }).output, { status: 200 });
    assert.deepEqual(second, first);
    assert.equal(receiver.requests.length, 1, 'one ticket, not two');
  } finally {
    await receiver.close();
  }
});
