/**
 * The web console in headless Chromium (test/helpers/browser.ts) against idflow as `idflow dev`
 * wires it: the runtime with the API serving the built console, the worker, the dev outbox and its
 * receivers on loopback, the examples applied, on a real Temporal dev server and a real store (SQLite, then PostgreSQL). A
 * person signs in with the printed link and does the tasks in the browser alone; each page
 * passes axe-core and is photographed light and dark (test-output/screenshots/).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startRuntime, type Runtime } from '../app/runtime.js';
import { selfContainedExamples, sendDemoEvent } from '../cli/commands/dev.js';
import { diffUser } from '../directory/service.js';
import type { RunRecord } from '../store/types.js';
import { checkPage, launchChromium, signInWithLink, type ColorScheme } from './helpers/browser.js';
import { silentLogger } from './helpers/engine.js';
import { createTestDatabase, type TestDatabase } from './helpers/store.js';
import { startTestTemporal, type TestTemporal } from './helpers/temporal.js';

const ADA = 'u-1001';
const JOINER_RUN = 'engineering-joiner:demo-new-engineer';

let temporal: TestTemporal;
let dataDir: string;
let database: TestDatabase;
let runtime: Runtime;
let apiUrl: string;
let browser: Browser;
/** The dev admin, signed in with the link the runtime printed (light). */
let admin: Page;

/** A call to the API as the dev admin's token (what the CLI on this machine uses), or as `token`. */
async function call<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const response = await fetch(`${apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${init.token ?? runtime.apiToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${init.method ?? 'GET'} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A one-time sign-in link for `token`, as `idflow console link` asks for it. */
const linkFor = async (token: string) => (await call<{ url: string }>('/v1/console/links', { method: 'POST', body: {}, token })).url;

/** A run page's step by its name. */
const stepItem = (page: Page, name: string) =>
  page.locator('li.step').filter({ has: page.locator('.step-name', { hasText: new RegExp(`^${name}$`) }) });

/** Navigates as a person does: the sidebar's link, then waits for the page's heading. */
async function openFromSidebar(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: label, exact: true }).click();
  await page.locator('main h1').first().waitFor();
}

async function finished(runId: string): Promise<RunRecord> {
  const run = await runtime.engine.waitForRun(runId, 60_000);
  assert.notEqual(run.status, 'running', `run ${runId} did not finish in time`);
  return run;
}

/** The run an event started for `automation`. */
async function runOf(eventId: string, automation: string): Promise<string> {
  const event = await runtime.store.events.get(eventId);
  const runId = event?.matches.find((match) => match.automation === automation)?.runId;
  assert.ok(runId, `event ${eventId} started ${automation}: ${JSON.stringify(event?.matches)}`);
  return runId;
}

before(async () => {
  temporal = await startTestTemporal();
  dataDir = await mkdtemp(join(tmpdir(), 'idflow-console-browser-'));
  database = await createTestDatabase({ dir: dataDir });
  runtime = await startRuntime({
    dataDir,
    store: database.location,
    logger: silentLogger,
    temporal: { address: temporal.address, namespace: temporal.namespace },
    worker: true,
    apiPort: 0,
    devOutbox: true,
    apiDiscovery: true,
    apply: selfContainedExamples(),
    onApplied: (result) => assert.deepEqual(result.errors, [], 'the examples apply'),
  });
  apiUrl = runtime.apiUrl as string;
  // The examples' webhooks point at the dev sink on idflow dev's default port; this API has its own.
  const webhooks = await readFile('examples/webhooks.yaml', 'utf8');
  const applied = await runtime.engine.apply([{ path: 'webhooks.yaml', content: webhooks.replaceAll('http://127.0.0.1:8484', apiUrl) }], {
    dryRun: false,
    actor: 'test',
  });
  assert.deepEqual(applied.errors, []);
  // idflow dev --demo: the new engineer joins.
  const demo = await sendDemoEvent(runtime.engine);
  for (const match of demo.matches) if (match.runId) assert.equal((await finished(match.runId)).status, 'completed', match.runId);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await runtime?.stop();
  await temporal?.stop();
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the console in Chromium', () => {
  test('signs in with the link idflow dev printed, once: the overview shows the demo run; the link does not work twice', async () => {
    assert.match(runtime.consoleSignInUrl ?? '', /\/console\/signin\/[A-Za-z0-9_-]{43}$/);
    admin = await signInWithLink(browser, runtime.consoleSignInUrl as string);
    // The demo's runs: the joiner, the access joiner and the joiner's child run.
    const runs = await runtime.store.runs.list({ limit: 100 });
    assert.equal(runs.length, 3);
    await admin.locator('.tile', { hasText: 'runs' }).first().getByText('3', { exact: true }).waitFor();
    await checkPage(admin, 'overview-signed-in');

    const context = await browser.newContext();
    const again = await (await context.newPage()).goto(runtime.consoleSignInUrl as string);
    assert.equal(again?.status(), 410);
    assert.match((await again?.text()) ?? '', /This sign-in link was used at/);
    await context.close();
  });

  test("the demo run: in the runs list, its step timeline, and a step's output", async () => {
    await openFromSidebar(admin, 'Runs');
    await admin.getByRole('link', { name: JOINER_RUN, exact: true }).click();
    await admin.getByRole('heading', { level: 1, name: 'engineering-joiner' }).waitFor();
    const stored = await runtime.engine.getRun(JOINER_RUN);
    assert.ok(stored);
    const steps = admin.locator('ol.timeline > li');
    assert.deepEqual(
      await steps.locator('.step-name').allTextContents(),
      stored.steps.map((step) => step.name),
    );
    for (const step of await steps.all()) assert.match((await step.locator('.status').first().textContent()) ?? '', /completed/);
    await admin.locator('summary', { hasText: 'notify_ticketing' }).click();
    const output = admin.getByRole('region', { name: 'Steps' }).getByLabel('Output of notify_ticketing');
    const expected = stored.steps.find((step) => step.name === 'notify_ticketing')?.output;
    assert.ok(expected !== undefined, 'the step has an output');
    assert.equal(await output.textContent(), JSON.stringify(expected, null, 2));
    assert.ok(await output.isVisible(), 'the opened step shows its output');
    // Its child run, and the email it sent in the dev outbox.
    await admin
      .getByRole('region', { name: 'Child runs' })
      .getByRole('link', { name: /^joiner-secondary/ })
      .waitFor();
    await checkPage(admin, 'run-timeline');
  });

  test("plans an event from an automation's page: what it would do, and nothing done", async () => {
    const runsBefore = (await runtime.store.runs.list({ limit: 500 })).length;
    await openFromSidebar(admin, 'Automations');
    await admin.getByRole('link', { name: 'engineering-joiner', exact: true }).click();
    await admin.getByRole('tab', { name: 'Plan', exact: true }).click();
    const newUser = {
      id: 'u-2002',
      email: 'alan.turing@example.com',
      firstName: 'Alan',
      lastName: 'Turing',
      department: 'Engineering',
      title: 'Researcher',
      status: 'ENABLED',
      manager: 'grace.hopper@example.com',
      attributes: { groups: ['engineering'] },
    };
    await admin.getByLabel('Event type').fill('user.created');
    await admin.getByLabel('Event data (JSON)').fill(JSON.stringify({ newUser }));
    await admin.getByRole('button', { name: 'Plan', exact: true }).click();
    const plan = admin.locator('.plan-automation', { hasText: 'engineering-joiner' });
    await plan.getByText('matches', { exact: true }).waitFor();
    await plan.getByText('email “Alan Turing joins Engineering” to grace.hopper@example.com').waitFor();
    await plan.getByText(/Slack to #new-employees: :wave: Please welcome Alan Turing/).waitFor();
    await checkPage(admin, 'automation-plan');
    assert.equal((await runtime.store.runs.list({ limit: 500 })).length, runsBefore, 'a plan starts no run');
    assert.equal(await runtime.store.directory.getUser('u-2002'), undefined, 'nor changes the directory');
  });

  test('disables and re-enables an automation', async () => {
    const enabled = async () => (await call<{ enabled: boolean }>('/v1/automations/engineering-joiner')).enabled;
    await admin.goto(`${apiUrl}/automations/engineering-joiner`);
    const subtitle = admin.locator('main header p');
    admin.once('dialog', (dialog) => void dialog.accept());
    await admin.getByRole('button', { name: 'Disable' }).click();
    await admin.getByRole('button', { name: 'Enable' }).waitFor();
    assert.match((await subtitle.textContent()) ?? '', /^disabled/);
    assert.equal(await enabled(), false);
    await checkPage(admin, 'automation-disabled');
    await admin.getByRole('button', { name: 'Enable' }).click();
    await admin.getByRole('button', { name: 'Disable' }).waitFor();
    assert.match((await subtitle.textContent()) ?? '', /^enabled/);
    assert.equal(await enabled(), true);
  });

  test('runs a function from the editor: its output, logs and duration', async () => {
    await openFromSidebar(admin, 'Functions');
    await admin.getByRole('link', { name: 'username', exact: true }).click();
    await admin.locator('.cm-editor').waitFor(); // the lazy editor chunk loaded
    assert.match((await admin.locator('.cm-content').textContent()) ?? '', /export default async function/);
    // Ada holds alovelace since the demo's joiner: the function reads the directory and moves on.
    await admin.getByLabel('Input (JSON)').fill(JSON.stringify({ firstName: 'Ada', lastName: 'Lovelace' }));
    await admin.getByRole('button', { name: 'Run', exact: true }).click();
    const result = admin.locator('.result');
    await result.getByText('ok', { exact: true }).waitFor();
    assert.deepEqual(JSON.parse((await result.getByLabel('Output').textContent()) ?? ''), { username: 'alovelace1', attempts: 2 });
    assert.equal(await result.getByLabel('Logs').textContent(), `alovelace is taken by ${ADA}\nalovelace1 is free after 1 taken`);
    assert.match((await result.locator('p').first().textContent()) ?? '', /in \d/);
    await checkPage(admin, 'function-run');
  });

  describe('an approval decided in the console resumes its run', () => {
    let runId: string;
    let reader: Page;

    test("the admin starts sensitive-grant from its Run tab: the run waits for Ada's manager", async () => {
      await openFromSidebar(admin, 'Automations');
      await admin.getByRole('link', { name: 'sensitive-grant', exact: true }).click();
      await admin.getByRole('tab', { name: 'Run', exact: true }).click();
      await admin.getByLabel('Context (JSON)').fill(
        JSON.stringify({
          user: { id: ADA, email: 'ada.lovelace@example.com', firstName: 'Ada', lastName: 'Lovelace' },
          reason: 'on-call',
        }),
      );
      await admin.getByRole('button', { name: 'Run now' }).click();
      await admin.waitForURL(/\/runs\//, { timeout: 10_000 }).catch(async () => {
        assert.fail(`no run started: ${await admin.getByRole('alert').allTextContents()}`);
      });
      runId = decodeURIComponent(new URL(admin.url()).pathname.replace(/^\/runs\//, ''));
      await stepItem(admin, 'manager_approval').locator('.status', { hasText: 'running' }).waitFor();
      assert.equal((await runtime.engine.getRun(runId))?.status, 'running');
    });

    test('a read-only token sees the pending request but no write button anywhere, and a forged write with its session and CSRF token gets 403', async () => {
      const token = await runtime.store.tokens.create('auditor', [
        'runs:read',
        'events:read',
        'definitions:read',
        'directory:read',
        'functions:read',
        'approvals:read',
      ]);
      reader = await signInWithLink(browser, await linkFor(token));
      const writeButtons = () =>
        reader
          .locator('main')
          .getByRole('button', { name: /^(Disable|Enable|Run|Run now|Plan|Publish|Approve|Reject|Cancel|Retry.*|Roll back.*|Set secret)$/ })
          .count();
      await openFromSidebar(reader, 'Approvals');
      await reader.locator('main li.card', { hasText: 'sensitive-grant' }).getByText('asks for').waitFor();
      assert.equal(await writeButtons(), 0, 'approvals');
      for (const [page, path] of [
        ['automation', '/automations/engineering-joiner'],
        ['function', '/functions/username'],
        ['running run', `/runs/${encodeURIComponent(runId)}`],
      ]) {
        await reader.goto(`${apiUrl}${path}`);
        await reader.locator('main h1').first().waitFor();
        await reader.waitForLoadState('networkidle');
        assert.equal(await writeButtons(), 0, page);
      }
      assert.equal(await reader.getByRole('tab', { name: 'Plan', exact: true }).count(), 0, 'no Plan tab without the plan scope');
      await checkPage(reader, 'run-read-only');

      // What a page script could forge with the session's cookie and its CSRF token: the server says no.
      const forged = await reader.evaluate(async (run) => {
        const { csrfToken } = (await (await fetch('/v1/console/session')).json()) as { csrfToken: string };
        const answers: { status: number; body: { error?: { code: string; message: string } } }[] = [];
        for (const [path, body] of [
          ['/v1/automations/engineering-joiner/disable', {}],
          [`/v1/runs/${encodeURIComponent(run)}/cancel`, {}],
          ['/v1/functions/username/runs', { input: {} }],
        ] as const) {
          const response = await fetch(path, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
            body: JSON.stringify(body),
          });
          answers.push({ status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } });
        }
        return answers;
      }, runId);
      for (const answer of forged) {
        assert.equal(answer.status, 403, JSON.stringify(answer.body));
        assert.equal(answer.body.error?.code, 'FORBIDDEN');
        assert.match(answer.body.error?.message ?? '', /^token "auditor" lacks the scope/);
      }
      assert.equal((await call<{ enabled: boolean }>('/v1/automations/engineering-joiner')).enabled, true);
      assert.equal((await runtime.engine.getRun(runId))?.status, 'running');
      await reader.context().close();
    });

    test("Ada's manager approves it in the console with a comment: the run resumes and grants the access", async () => {
      const grace = await signInWithLink(
        browser,
        await linkFor(await runtime.store.tokens.create('grace.hopper@example.com', ['approvals:read', 'approvals:write', 'runs:read'])),
      );
      await openFromSidebar(grace, 'Approvals');
      const request = grace.locator('main li.card', { hasText: 'sensitive-grant' });
      await request.waitFor();
      await checkPage(grace, 'approvals-pending');
      await request.getByLabel('Comment').fill('fine for the on-call week');
      await request.getByRole('button', { name: 'Approve' }).click();
      const run = await finished(runId);
      assert.equal(run.status, 'completed');
      assert.deepEqual(
        run.steps.map((step) => [step.name, step.status]),
        [
          ['manager_approval', 'completed'],
          ['grant', 'completed'],
          ['tell_requester', 'skipped'],
        ],
      );
      const { grants } = await call<{ grants: { entitlement: string }[] }>(`/v1/directory/grants?user=${ADA}`);
      assert.ok(
        grants.some((grant) => grant.entitlement === 'github:platform-admins'),
        'the approval granted platform-admins',
      );
      const [decided] = (
        await call<{ approvals: { state: string; decisions: { approver: string; comment?: string }[] }[] }>('/v1/approvals?state=approved')
      ).approvals;
      assert.equal(decided.state, 'approved');
      assert.deepEqual(
        decided.decisions.map((decision) => [decision.approver, decision.comment]),
        [['grace.hopper@example.com', 'fine for the on-call week']],
      );
      await grace.goto(`${apiUrl}/runs/${encodeURIComponent(runId)}`);
      await stepItem(grace, 'manager_approval').locator('summary').click();
      await grace.locator('.decision', { hasText: 'approved' }).waitFor();
      await checkPage(grace, 'run-approved');
      await grace.context().close();
    });
  });

  test('answers why Ada lost GitHub access from her page: the leaver run and its step', async () => {
    // HR deactivates Ada (a change no run made); the leaver flow runs on its event.
    const ada = await runtime.store.directory.getUser(ADA);
    assert.ok(ada);
    const { createdAt: _created, updatedAt: _updated, ...fields } = ada;
    const change = diffUser(ada, { ...fields, status: 'DISABLED' }, new Date().toISOString());
    assert.ok(change);
    await runtime.engine.directory.write((tx) => tx.saveUser(change, 'hr-ada-leaves'));
    await runtime.engine.outbox.drain();
    const leaverRun = await runOf('hr-ada-leaves', 'leaver-access');
    assert.equal((await finished(leaverRun)).status, 'completed');

    await openFromSidebar(admin, 'People');
    await admin.getByLabel('Search').fill('lovelace');
    await admin.getByLabel('Search').press('Enter');
    await admin
      .getByRole('link', { name: /Ada Lovelace/ })
      .first()
      .click();
    await admin.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    const revoked = admin.locator('.person-timeline li', { hasText: 'grant.revoked github:org-member' });
    await revoked.waitFor();
    assert.match(
      (await revoked.textContent()) ?? '',
      new RegExp(`← run ${leaverRun.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} step revoke_access`),
    );
    await checkPage(admin, 'person-timeline');
    await revoked.getByRole('link', { name: `run ${leaverRun}` }).click();
    await admin.getByRole('heading', { level: 1, name: 'leaver-access' }).waitFor();
    await stepItem(admin, 'revoke_access').waitFor();
  });

  test('every page, light and dark, passes axe and is photographed', async () => {
    const pages: [string, string][] = [
      ['overview', '/'],
      ['runs', '/runs'],
      ['run', `/runs/${encodeURIComponent(JOINER_RUN)}`],
      ['events', '/events'],
      ['event', '/events/demo-new-engineer'],
      ['automations', '/automations'],
      ['automation', '/automations/engineering-joiner'],
      ['people', '/people'],
      ['person', `/people/${ADA}`],
      ['functions', '/functions'],
      ['function', '/functions/username'],
      ['approvals', '/approvals?state=all'],
      ['guard', '/guard'],
      ['schedules', '/schedules'],
      ['audit', '/audit'],
      ['outbox', '/outbox'],
    ];
    for (const scheme of ['light', 'dark'] as ColorScheme[]) {
      const page = await signInWithLink(browser, await linkFor(runtime.apiToken as string), scheme);
      for (const [name, path] of pages) {
        await page.goto(`${apiUrl}${path}`);
        await checkPage(page, name);
      }
      // Signed out: the token form.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to idflow' }).waitFor();
      await checkPage(page, 'signin');
      await page.context().close();
    }
  });
});
