/**
 * Joiner / mover / leaver end to end, as an admin runs it: the example directory and
 * automations applied with the CLI, a 50-person HR feed imported, then a second day's feed with
 * 3 joiners, 2 movers and 2 leavers. The example automations must leave grants, accounts,
 * statuses, tasks, delegates and campaigns exactly as expected, read back through the CLI's
 * JSON output — and the same when the worker process is SIGKILLed while a leaver step is in
 * flight: the leaver flow then also notifies IT by webhook, whose requests a loopback receiver
 * holds unanswered until the kill, so the step is retried by the next worker, and nothing that
 * had completed runs again.
 */
import type { FastifyInstance } from 'fastify';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { buildApiServer } from '../api/server.js';
import { main } from '../cli/main.js';
import type { ImportReport } from '../directory/import.js';
import type { Account, Campaign, Delegate, Enrollment, Grant, Task, User } from '../directory/types.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { startReceiver, type ReceivedRequest, type Receiver } from './helpers/receiver.js';
import { kill, startWorkerProcess, until } from './helpers/worker-process.js';

const example = (path: string): string => fileURLToPath(new URL(`../examples/${path}`, import.meta.url));

async function cli<T>(...args: string[]): Promise<T> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (text) => out.push(text), err: (text) => err.push(text) });
  assert.equal(code, 0, `idflow ${args.join(' ')} failed: ${err.join('\n')}`);
  return (args.includes('--json') ? JSON.parse(out.join('\n')) : out.join('\n')) as T;
}

/** Tasks and delegations of the day-2 leavers, so the leaver flow has work to hand over. */
const LEAVERS_WORK = `kind: Directory
tasks:
  - { id: review-1, type: access_review, assignee: frances.allen@acme.example, title: Review GitHub admins }
  - { id: request-1, type: access_request, assignee: u-010, title: Approve Jira access, state: completed }
  - { id: review-2, type: access_review, assignee: u-025, title: Review Salesforce }
delegates:
  - { user: u-004, delegate: u-010 }
  - { user: u-010, delegate: u-003 }
accessProfiles:
  - { id: engineering-on-call, entitlements: [github:platform-admins] }
enrollments:
  - { user: u-010, profile: engineering-on-call }
`;

const ENGINEERING = ['github:engineering', 'github:org-member', 'jira:engineering', 'jira:user'];
const BIRTHRIGHT = ['google:workspace', 'slack:member'];
const sorted = (list: string[]): string[] => [...list].sort();

/**
 * The example leaver flow with IT notified by webhook between revoking access and the rest: a
 * step the test can hold in flight (the receiver answers when told) to kill the worker under it.
 * The step's timeout is how long Temporal takes to notice the dead worker and retry; the
 * webhook's is longer, so a held request is never given up on while the worker lives.
 */
async function leaverFlowNotifyingIt(file: string, receiver: Receiver): Promise<void> {
  const flow = parse(await readFile(example('leaver-access.yaml'), 'utf8')) as { steps: { name: string }[] };
  const notify = {
    name: 'notify_it',
    type: 'run_webhook',
    timeout: '15s',
    retry: { initialInterval: '100ms' },
    with: { webhook: 'it-offboarding', payload: { user: '{{ subject.id }}' } },
  };
  flow.steps.splice(flow.steps.findIndex((step) => step.name === 'revoke_access') + 1, 0, notify);
  const webhook = { kind: 'Webhook', name: 'it-offboarding', url: `${receiver.url}/offboarding`, timeout: '60s' };
  await writeFile(file, `${stringify(flow)}---\n${stringify(webhook)}`);
}

const notifiedUsers = (requests: ReceivedRequest[]): string[] =>
  requests.map((request) => (JSON.parse(request.body) as { user: string }).user);

async function completed(idflow: TestEngine, automation: string, count: number): Promise<void> {
  await until(
    `${count} ${automation} runs completed`,
    async () => {
      const runs = await idflow.store.runs.list({ automation, limit: 500 });
      const failed = runs.find((run) => run.status !== 'running' && run.status !== 'completed');
      assert.equal(failed, undefined, `run ${failed?.runId} ${failed?.status}: ${failed?.error}`);
      return runs.length === count && runs.every((run) => run.status === 'completed');
    },
    120_000,
  );
}

async function scenario(options: { killWorkerDuringLeavers: boolean }): Promise<void> {
  const idflow = await startTestEngine({ worker: !options.killWorkerDuringLeavers });
  const workers: ChildProcess[] = [];
  let api: FastifyInstance | undefined;
  let receiver: Receiver | undefined;
  let releaseHeldRequests = (): void => {};
  const scratch = await mkdtemp(join(tmpdir(), 'idflow-governance-'));
  try {
    let leaverFlow = example('leaver-access.yaml');
    if (options.killWorkerDuringLeavers) {
      receiver = await startReceiver();
      const held = new Promise<void>((resolve) => (releaseHeldRequests = resolve));
      // Every notification before the kill is held (two leavers, and room for a slow machine's retries); later ones are answered.
      receiver.script(...Array.from({ length: 10 }, () => ({ status: 200, hold: held })));
      leaverFlow = join(scratch, 'leaver-access.yaml');
      await leaverFlowNotifyingIt(leaverFlow, receiver);
      workers.push(startWorkerProcess(idflow));
    }
    api = await buildApiServer({ engine: idflow.engine });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const address = api.server.address();
    process.env.IDFLOW_URL = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    process.env.IDFLOW_TOKEN = await idflow.store.tokens.create('governance-test', ['admin']);

    await cli(
      'apply',
      example('directory/acme.yaml'),
      example('functions/username.yaml'),
      example('joiner-access.yaml'),
      example('mover-access.yaml'),
      leaverFlow,
    );

    const day1 = await cli<ImportReport>('directory', 'import', example('hr/acme-day1.csv'), '--source', 'workday', '--json');
    assert.equal(day1.created.length, 50);
    await completed(idflow, 'joiner-access', 50);
    assert.equal((await cli<Account[]>('directory', 'accounts', 'list', '--json')).length, 50);

    const work = join(scratch, 'leavers-work.yaml');
    await writeFile(work, LEAVERS_WORK);
    await cli('directory', 'apply', work);

    const dryRun = await cli<ImportReport>('directory', 'import', example('hr/acme-day2.csv'), '--full', '--dry-run', '--json');
    assert.equal(dryRun.events, 7);
    assert.equal((await cli<User>('directory', 'users', 'get', 'u-010', '--json')).status, 'ENABLED', 'a dry run changes nothing');

    const day2 = await cli<ImportReport>('directory', 'import', example('hr/acme-day2.csv'), '--full', '--source', 'workday', '--json');
    assert.deepEqual(
      {
        created: day2.created.map((u) => u.id),
        updated: day2.updated.map((u) => u.id),
        deactivated: day2.deactivated.map((u) => u.id),
        errors: day2.errors,
      },
      { created: ['u-051', 'u-052', 'u-053'], updated: ['u-015', 'u-030'], deactivated: ['u-010', 'u-025'], errors: [] },
    );

    let notifiedBeforeKill = 0;
    if (options.killWorkerDuringLeavers) {
      const notifications = (receiver as Receiver).requests;
      await until('both leaver runs are in their IT notification step', () => new Set(notifiedUsers(notifications)).size === 2, 120_000);
      await kill(workers[0] as ChildProcess);
      notifiedBeforeKill = notifications.length;
      releaseHeldRequests(); // answers no one: the connections died with the worker
      workers.push(startWorkerProcess(idflow));
    }
    await completed(idflow, 'joiner-access', 53);
    await completed(idflow, 'mover-access', 2);
    await completed(idflow, 'leaver-access', 2);

    const grantsOf = async (user: string): Promise<string[]> =>
      sorted((await cli<Grant[]>('directory', 'grants', 'list', '--user', user, '--json')).map((g) => g.entitlement));
    // Joiners: birthright + their department's access, and one Google account.
    assert.deepEqual(await grantsOf('hal.abelson@acme.example'), sorted([...BIRTHRIGHT, ...ENGINEERING]));
    assert.deepEqual(await grantsOf('u-053'), sorted([...BIRTHRIGHT, 'salesforce:sales-team', 'salesforce:user']));
    assert.deepEqual(
      (await cli<Account[]>('directory', 'accounts', 'list', '--user', 'u-052', '--json')).map((a) => [a.app, a.username, a.status]),
      [['google', 'gsussman', 'APP_USER_STATUS_ENABLED']],
    );
    // Movers: the old department's access gone (app access kept), the new one's granted.
    assert.deepEqual(await grantsOf('u-015'), sorted([...BIRTHRIGHT, 'github:org-member', 'jira:user', 'netsuite:finance']));
    assert.deepEqual(await grantsOf('u-030'), sorted([...BIRTHRIGHT, ...ENGINEERING]));
    // Leavers: disabled, everything but the mailbox revoked, profiles removed, open tasks with
    // their manager, no delegations, one review campaign of what they still hold.
    for (const [leaver, manager] of [
      ['u-010', 'u-002'],
      ['u-025', 'u-022'],
    ] as const) {
      assert.equal((await cli<User>('directory', 'users', 'get', leaver, '--json')).status, 'DISABLED');
      assert.deepEqual(await grantsOf(leaver), ['google:workspace']);
      const campaigns = await cli<Campaign[]>('directory', 'campaigns', 'list', '--user', leaver, '--json');
      assert.deepEqual(
        campaigns.map((c) => [c.templateId, c.reviewerId, c.items, c.state]),
        [['leaver-review', manager, ['google:workspace'], 'open']],
      );
    }
    const tasks = await cli<Task[]>('directory', 'tasks', 'list', '--json');
    assert.deepEqual(
      tasks.map((t) => [t.id, t.assigneeId, t.state]),
      [
        ['request-1', 'u-010', 'completed'],
        ['review-1', 'u-002', 'open'],
        ['review-2', 'u-022', 'open'],
      ],
    );
    assert.deepEqual(
      (await cli<Delegate[]>('directory', 'delegates', 'list', '--json')).map((d) => [d.userId, d.delegateId]),
      [],
    );
    assert.deepEqual(await cli<Enrollment[]>('directory', 'enrollments', 'list', '--user', 'u-010', '--json'), []);
    if (options.killWorkerDuringLeavers) {
      // The cut-off step was retried by the new worker; the steps the old one had completed were not run again.
      const afterKill = notifiedUsers((receiver as Receiver).requests.slice(notifiedBeforeKill));
      assert.deepEqual([...new Set(afterKill)].sort(), ['u-010', 'u-025'], 'each leaver was notified again after the kill');
      for (const run of await idflow.store.runs.list({ automation: 'leaver-access', limit: 10 })) {
        const attempts = Object.fromEntries(run.steps.map((step) => [step.name, step.attempts]));
        assert.ok(attempts.notify_it >= 2, `${run.runId}: notify_it ran ${attempts.notify_it} time(s)`);
        assert.deepEqual(
          { ...attempts, notify_it: 'retried' },
          {
            disable: 1,
            revoke_access: 1,
            notify_it: 'retried',
            remove_profiles: 1,
            hand_over_tasks: 1,
            remove_delegations: 1,
            review_remaining_access: 1,
          },
        );
      }
    }
    // Nothing duplicated: one Google account per person, one run per event.
    assert.equal((await cli<Account[]>('directory', 'accounts', 'list', '--json')).length, 53);
    assert.equal((await idflow.store.runs.list({ automation: 'joiner-access', limit: 500 })).length, 53);

    // Re-importing the same feed emits nothing and starts nothing.
    const again = await cli<ImportReport>('directory', 'import', example('hr/acme-day2.csv'), '--full', '--json');
    assert.equal(again.events, 0);
  } finally {
    delete process.env.IDFLOW_URL;
    delete process.env.IDFLOW_TOKEN;
    releaseHeldRequests();
    for (const worker of workers) await kill(worker);
    await receiver?.close();
    await api?.close();
    await idflow.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

test('the example joiner, mover and leaver automations keep access right across two HR imports', () =>
  scenario({ killWorkerDuringLeavers: false }));

test('the same with the worker SIGKILLed during the leaver flow: nothing lost, nothing duplicated', () =>
  scenario({ killWorkerDuringLeavers: true }));
