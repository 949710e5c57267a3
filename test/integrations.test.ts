/**
 * The integrations' adapters as a worker loads them (integrations/adapters.ts): found through the
 * keys the step types list, a missing, malformed or failing adapter stopping the start with an
 * error that names its file; and services.integration giving a step only what its type lists.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createActivities } from '../activities/index.js';
import { StepError } from '../core/step-error.js';
import { loadIntegrations } from '../integrations/adapters.js';
import { mail } from '../integrations/mail/types.js';
import { slack } from '../integrations/slack/types.js';
import { integrationKey } from '../integrations/types.js';
import type { Store } from '../store/types.js';
import { silentLogger } from './helpers/engine.js';
import { stepServicesFor } from './helpers/step-services.js';
import { openTestStore } from './helpers/store.js';

let store: Store;
let folders: string;

before(async () => {
  store = await openTestStore();
  folders = await mkdtemp(join(tmpdir(), 'idflow-integrations-'));
  const adapter = async (name: string, source: string): Promise<void> => {
    await mkdir(join(folders, name));
    await writeFile(join(folders, name, 'adapter.ts'), source);
  };
  await adapter('unnamed', 'export const adapter = { key: { name: "unnamed" }, create: () => ({}) };\n');
  await adapter('misnamed', 'export default { key: { name: "other" }, create: () => ({}) };\n');
  await adapter(
    'failing',
    'export default { key: { name: "failing" }, create: () => { throw new Error("FAILING_TOKEN is not set"); } };\n',
  );
  await adapter(
    'working',
    'export default { key: { name: "working" }, create: ({ env }: { env: Record<string, string> }) => ({ greeting: env.GREETING }) };\n',
  );
});

after(async () => {
  await store.close();
  await rm(folders, { recursive: true, force: true });
});

test('a worker does not start when an adapter fails, and the error names the adapter file', async () => {
  await assert.rejects(createActivities({ store, logger: silentLogger, env: { SMTP_URL: 'not a url' } }), {
    message: /^integration "mail": the adapter in \/.*\/integrations\/mail\/adapter\.ts failed to start: Invalid URL$/,
  });
});

test('an integration without a folder, or whose adapter is malformed or fails, is an error naming the file', async () => {
  const context = { env: {}, store };
  await assert.rejects(loadIntegrations([integrationKey('teams')], context), {
    message: /^integration "teams": cannot load \/.*\/integrations\/teams\/adapter\.ts: /,
  });
  const local = pathToFileURL(`${folders}/`);
  await assert.rejects(loadIntegrations([integrationKey('unnamed')], context, local), {
    message: `integration "unnamed": ${join(folders, 'unnamed', 'adapter.ts')} must export default defineAdapter(<the key named "unnamed">, create)`,
  });
  await assert.rejects(loadIntegrations([integrationKey('misnamed')], context, local), {
    message: /misnamed\/adapter\.ts must export default defineAdapter/,
  });
  await assert.rejects(loadIntegrations([integrationKey('failing')], context, local), {
    message: `integration "failing": the adapter in ${join(folders, 'failing', 'adapter.ts')} failed to start: FAILING_TOKEN is not set`,
  });
  await assert.rejects(loadIntegrations([integrationKey('../failing')], context, local), {
    message: /its name must be the name of its folder/,
  });

  const working = integrationKey<{ greeting: string }>('working');
  const services = await loadIntegrations([working, working], { env: { GREETING: 'hello' }, store }, local);
  assert.deepEqual([...services], [['working', { greeting: 'hello' }]], 'built once, from the context');
});

test('a step reaches the integrations its type lists, and no other', async () => {
  const services = await stepServicesFor({ store, stepType: 'send_slack', env: { SLACK_BOT_TOKEN: 'xoxb-test' } });
  assert.equal(typeof services.integration(slack).postMessage, 'function');
  assert.throws(
    () => services.integration(mail),
    (error: unknown) =>
      error instanceof StepError &&
      error.code === 'INTEGRATION_NOT_LISTED' &&
      !error.retryable &&
      error.message === 'step type "send_slack" uses the mail integration without listing it in its integrations',
  );
});
