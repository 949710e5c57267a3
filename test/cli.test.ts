/**
 * The CLI against a real API, engine and Temporal server: JSON outputs have the documented
 * shape, exit codes say whether things worked, and errors say what to do.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { DevOutbox } from '../dev/outbox.js';
import { devRoutes } from '../dev/routes.js';
import { buildApiServer } from '../api/server.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { runCli, type CliResult } from './helpers/cli.js';

const BIN = fileURLToPath(new URL('../bin/idflow.js', import.meta.url));

let idflow: TestEngine;
let api: FastifyInstance;
let receiver: Receiver;
let apiUrl: string;
let token: string;
let definitions: string;

const cli = (...args: string[]): Promise<CliResult> => runCli(args);

before(async () => {
  receiver = await startReceiver();
  idflow = await startTestEngine();
  api = await buildApiServer({ engine: idflow.engine, routes: [devRoutes(new DevOutbox())] });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const address = api.server.address();
  apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  token = await idflow.store.tokens.create('cli-test', ['admin']);
  process.env.IDFLOW_URL = apiUrl;
  process.env.IDFLOW_TOKEN = token;
  definitions = await mkdtemp(join(tmpdir(), 'idflow-cli-'));
  await writeFile(
    join(definitions, 'flows.yaml'),
    `kind: Webhook
name: hook
url: ${receiver.url}/hook
---
kind: Automation
name: greeter
description: Greets engineers
trigger:
  type: user.created
  condition: ctx.trigger.newUser.department == "Engineering"
steps:
  - name: greet
    type: run_webhook
    with: { webhook: hook, payload: { hello: "{{ ctx.trigger.newUser.firstName }}" } }
`,
  );
});

after(async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  await api?.close();
  await idflow?.stop();
  await receiver?.close();
});

test('apply reports versions; applying again changes nothing', async () => {
  const first = await cli('apply', definitions);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /✓ applied Automation\/greeter v1/);
  const again = await cli('apply', definitions);
  assert.match(again.stdout, /= unchanged Automation\/greeter v1/);
  const list = JSON.parse((await cli('automations', 'list', '--json')).stdout) as { name: string; enabled: boolean }[];
  assert.deepEqual(
    list.map((a) => [a.name, a.enabled]),
    [['greeter', true]],
  );
});

test('emit --wait --json prints one object: the event and its runs with their steps', async () => {
  const result = await cli(
    'emit',
    'user.created',
    '--data',
    '{"newUser":{"firstName":"Ada","department":"Engineering"}}',
    '--id',
    'cli-evt-1',
    '--wait',
    '--json',
  );
  assert.equal(result.code, 0, result.stderr);
  const printed = JSON.parse(result.stdout) as {
    event: { id: string };
    runs: {
      runId: string;
      automation: string;
      version: number;
      status: string;
      steps: { name: string; type: string; status: string; attempts: number; output: unknown }[];
    }[];
  };
  assert.equal(printed.event.id, 'cli-evt-1');
  assert.equal(printed.runs.length, 1);
  const [run] = printed.runs;
  assert.deepEqual(
    { ...run, steps: undefined },
    { runId: 'greeter:cli-evt-1', automation: 'greeter', version: 1, status: 'completed', steps: undefined },
  );
  assert.deepEqual(run.steps, [
    { name: 'greet', type: 'run_webhook', status: 'completed', attempts: 1, output: { status: 200, body: { ok: true } } },
  ]);
});

test('events show says why an automation did not match; runs show prints a timeline', async () => {
  await cli('emit', 'user.created', '--data', '{"newUser":{"department":"Sales"}}', '--id', 'cli-evt-sales');
  const shown = await cli('events', 'show', 'cli-evt-sales');
  assert.match(shown.stdout, /greeter v1: condition is false/);
  const timeline = await cli('runs', 'show', 'greeter:cli-evt-1');
  assert.match(timeline.stdout, /run greeter:cli-evt-1 {2}completed/);
  assert.match(timeline.stdout, /✓ greet +run_webhook +1 attempt/);
  assert.match(timeline.stdout, /Temporal Web UI: http:\/\/127\.0\.0\.1:8233\/namespaces\/default\/workflows\/greeter%3Acli-evt-1/);
});

test('a failed run makes `run --wait` exit non-zero with the reason', async () => {
  receiver.script({ status: 400, body: 'nope' });
  const result = await cli('run', 'greeter', '--context', '{"newUser":{"firstName":"Bo"}}', '--wait');
  assert.equal(result.code, 1);
  assert.match(result.stdout, /✗ greet/);
  assert.match(result.stderr, /is failed/);
});

test('history, rollback, disable and enable', async () => {
  const file = join(definitions, 'flows.yaml');
  await writeFile(file, (await readFile(file, 'utf8')).replace('Greets engineers', 'Greets engineers warmly'));
  assert.equal((await cli('apply', definitions)).code, 0);
  const history = JSON.parse((await cli('automations', 'history', 'greeter', '--json')).stdout) as { version: number }[];
  assert.deepEqual(history.map((v) => v.version).sort(), [1, 2]);
  assert.match((await cli('automations', 'rollback', 'greeter', '1')).stdout, /greeter is now v3 \(the content of v1\)/);
  assert.match((await cli('automations', 'disable', 'greeter')).stdout, /greeter disabled/);
  const disabled = await cli('run', 'greeter');
  assert.equal(disabled.code, 1);
  assert.match(disabled.stderr, /disabled: enable it with `idflow automations enable greeter`/);
  assert.equal((await cli('automations', 'enable', 'greeter')).code, 0);
});

test('cel eval prints JSON with ctx.trigger as runs see it, and a bad expression exits 1 with where it went wrong', async () => {
  assert.equal((await cli('cel', 'eval', 'ctx.trigger.n * 2', '--vars', '{"ctx":{"trigger":{"n":21}}}')).stdout, '42');
  // As in runs: snake_case aliases, and subject is the trigger's user.
  const aliased = await cli(
    'cel',
    'eval',
    'subject.first_name + " " + ctx.trigger.new_user.lastName',
    '--vars',
    '{"ctx":{"trigger":{"newUser":{"firstName":"Ada","lastName":"Lovelace"}}}}',
  );
  assert.equal(aliased.stdout, '"Ada Lovelace"');
  const bad = await cli('cel', 'eval', 'ctx.trigger.n *');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /CEL syntax error: .* at column/);
});

test('validate reports every error with file:line:column and applies nothing', async () => {
  const broken = join(definitions, 'broken');
  await mkdir(broken);
  await writeFile(join(broken, 'a.yaml'), 'kind: Automation\nname: b\ntrigger: { type: manual }\nsteps:\n  - { name: s, type: sleep }\n');
  const result = await cli('validate', broken);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /a\.yaml:5:22: steps\[0\]\.type: unknown step type "sleep"/);
  assert.match(result.stderr, /1 error; nothing was applied/);
});

test('without an API, commands say how to get one; a stopped API is named', async () => {
  delete process.env.IDFLOW_URL;
  delete process.env.IDFLOW_TOKEN;
  const previous = process.env.IDFLOW_DATA_DIR;
  process.env.IDFLOW_DATA_DIR = join(definitions, 'no-data-dir');
  try {
    const none = await cli('runs', 'list');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no idflow API found: start one with `idflow dev`, or set IDFLOW_URL and IDFLOW_TOKEN/);
    process.env.IDFLOW_URL = 'http://127.0.0.1:1';
    process.env.IDFLOW_TOKEN = 'idf_x';
    const refused = await cli('runs', 'list');
    assert.match(refused.stderr, /cannot reach the idflow API at http:\/\/127\.0\.0\.1:1/);
  } finally {
    process.env.IDFLOW_URL = apiUrl;
    process.env.IDFLOW_TOKEN = token;
    if (previous === undefined) delete process.env.IDFLOW_DATA_DIR;
    else process.env.IDFLOW_DATA_DIR = previous;
  }
});

test('the idflow bin runs as a real process', () => {
  const result = spawnSync(process.execPath, [BIN, 'cel', 'eval', '1 + 2'], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), '3');
});
