/**
 * The README's quick start: `npm start` (idflow dev --demo) brings up Temporal, the worker and
 * the API with the examples, and the example event's run completes; Ctrl-C stops it all.
 * The examples' webhooks target the dev sink on the default API port, so this test takes 8484.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { findFreePort } from '../temporal/dev-server.js';
import { createTestDatabase } from './helpers/store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('idflow dev --demo applies the examples, runs the example event to completion, and stops cleanly', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idflow-quickstart-'));
  const database = await createTestDatabase();
  const [temporalPort, uiPort] = [await findFreePort(), await findFreePort()];
  const child = spawn(
    process.execPath,
    ['bin/idflow.js', 'dev', '--demo', '--data-dir', dataDir, '--temporal-port', String(temporalPort), '--ui-port', String(uiPort)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...database.env, TEMPORAL_ADDRESS: '' },
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    const deadline = Date.now() + 120_000;
    while (!output.includes('Try:') && child.exitCode === null && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.match(output, /✓ applied {3}Automation\/engineering-joiner v1/);
    // examples/connectors/ need their counterparts (a SCIM server, an HR system): the demo leaves them out,
    // or its joiners would try to reach an app that is not there.
    assert.doesNotMatch(output, /ScimService\/|EventSource\/|provisioning-joiner/, output);
    assert.match(output, /ready/);
    assert.match(output, /run engineering-joiner:demo-new-engineer {2}completed/, output);
    assert.match(output, /✓ secondary +run_automation/);
    // What the example sent is in the outbox: the manager's email and the Slack welcome.
    const outbox = spawnSync(process.execPath, ['bin/idflow.js', 'outbox', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, IDFLOW_DATA_DIR: dataDir, IDFLOW_URL: '' },
    });
    const items = JSON.parse(outbox.stdout) as { channel: string; to: string; body: { subject?: string; text?: string } }[];
    const email = items.find((item) => item.channel === 'email');
    assert.equal(email?.to, 'grace.hopper@example.com');
    assert.equal(email?.body.subject, 'Ada Lovelace joins Engineering');
    const slack = items.find((item) => item.channel === 'slack');
    assert.equal(slack?.to, '#new-employees');
    assert.match(slack?.body.text ?? '', /Please welcome Ada Lovelace/);
  } finally {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, `idflow dev exits cleanly on SIGTERM:\n${output}`);
    assert.match(output, /stopped/);
    await database.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
