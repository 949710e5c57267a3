/**
 * A plan is exact, and planning has no side effects. On a real engine (Temporal, a worker, a real
 * SMTP server, Slack and webhook receivers on loopback): an HR import with joiners, a mover and a
 * leaver is planned — while nothing reaches SMTP, Slack, a webhook, a SCIM app or Temporal, and
 * the store changes by one audit entry — then imported for real; the directory changes and the
 * step effects that really happened equal the plan's, field by field.
 */
import type { Client } from '@temporalio/client';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { createServer, type Server } from 'node:http';
import type { AutomationPlan, Plan, PlanEffect, PlannedEvent } from '../core/plan.js';
import type { User } from '../directory/types.js';
import { buildApiServer } from '../api/server.js';
import type { FastifyInstance } from 'fastify';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

let idflow: TestEngine;
let api: FastifyInstance;
let smtp: SMTPServer;
let smtpConnections = 0;
const mails: ParsedMail[] = [];
let slack: Server;
const slackPosts: { channel: string; text: string }[] = [];
let slackRequests = 0;
let hooks: Receiver;
let scimApp: Receiver;

const DIRECTORY = (scimUrl: string) => `kind: Directory
apps:
  - slug: google
    entitlements: [{ slug: workspace }]
  - slug: github
    entitlements: [{ slug: engineering }]
  - slug: jira
    entitlements: [{ slug: user }]
  - slug: salesforce
    entitlements: [{ slug: user }]
  - slug: figma
    provisioning:
      scim: { baseUrl: "${scimUrl}", token: { env: FIGMA_SCIM_TOKEN } }
    entitlements: [{ slug: editors }]
`;

const AUTOMATIONS = (hookUrl: string) => `kind: Webhook
name: hr
url: ${hookUrl}/hr
---
kind: Automation
name: joiner
trigger: { type: user.created, condition: has(ctx.trigger.newUser.manager) }
steps:
  - name: birthright
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [google:workspace] }
  - name: tell_manager
    type: send_email
    with:
      to: "{{ ctx.trigger.newUser.manager }}"
      subject: "{{ ctx.trigger.newUser.firstName }} joins {{ ctx.trigger.newUser.department }}"
      message: "Granted: {{ ctx.birthright.granted[0] }}"
---
kind: Automation
name: engineering-joiner
trigger: { type: user.created, condition: ctx.trigger.newUser.department == "Engineering" }
steps:
  - name: tools
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [github:engineering, jira:user] }
  - name: account
    type: create_account
    with: { app: github, user: "{{ subject.id }}" }
  - name: welcome
    type: send_slack
    with: { channel: "#new-employees", message: "Welcome {{ ctx.trigger.newUser.firstName }} ({{ ctx.account.account.username }})" }
---
kind: Automation
name: sales-joiner
trigger: { type: user.created, condition: ctx.trigger.newUser.department == "Sales" }
steps:
  - name: crm
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [salesforce:user] }
---
kind: Automation
name: mover
trigger: { type: user.updated, condition: '"department" in ctx.trigger.changes' }
steps:
  - name: strip
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", all: true, exclude: [google:workspace] }
  - name: crm
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [salesforce:user] }
  - name: tell_hr
    type: run_webhook
    with: { webhook: hr, payload: { mover: "{{ subject.id }}", revoked: "{{ ctx.strip.revoked }}", to: "{{ ctx.trigger.newUser.department }}" } }
---
kind: Automation
name: leaver
trigger: { type: user.deactivated }
steps:
  - name: disable
    type: modify_user_status
    with: { user: "{{ subject.id }}", status: DISABLED }
  - name: revoke
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", all: true, exclude: [google:workspace] }
  - name: tell_hr
    type: run_webhook
    with: { webhook: hr, payload: { leaver: "{{ subject.email }}", revoked: "{{ ctx.revoke.revoked }}", kept: "{{ ctx.revoke.kept }}" } }
---
kind: Automation
name: design-access
trigger: { type: manual }
steps:
  - name: figma
    type: grant_entitlements
    with: { user: "{{ ctx.trigger.user }}", entitlements: [figma:editors] }
`;

const HEADER = 'id,email,firstName,lastName,department,title,managerEmail,status';
const DAY1 = [
  HEADER,
  'u-1,ada@acme.example,Ada,Lovelace,Engineering,CTO,,ENABLED',
  'u-2,bob@acme.example,Bob,Byte,Sales,AE,ada@acme.example,ENABLED',
  'u-3,cy@acme.example,Cy,Press,Engineering,SWE,ada@acme.example,ENABLED',
  'u-4,dee@acme.example,Dee,Dot,Engineering,SWE,ada@acme.example,ENABLED',
].join('\n');
const DAY2 = [
  HEADER,
  'u-1,ada@acme.example,Ada,Lovelace,Engineering,CTO,,ENABLED',
  'u-2,bob@acme.example,Bob,Byte,Sales,Senior AE,ada@acme.example,ENABLED',
  'u-3,cy@acme.example,Cy,Press,Sales,AE,bob@acme.example,ENABLED',
  'u-4,dee@acme.example,Dee,Dot,Engineering,SWE,ada@acme.example,DISABLED',
  'u-5,eve@acme.example,Eve,Ion,Engineering,SWE,ada@acme.example,ENABLED',
  'u-6,fay@acme.example,Fay,Lin,Sales,AE,bob@acme.example,ENABLED',
].join('\n');

let adminToken: string;

async function importFeed(url: string, feed: string, token = adminToken) {
  const response = await api.inject({
    method: 'POST',
    url,
    payload: feed,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv' },
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** Waits until every directory event is delivered and no run is running, twice in a row. */
async function settled(): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < 600 && quiet < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const backlog = await idflow.store.directory.outboxBacklog();
    const running = (await idflow.store.runs.list({ limit: 500 })).filter((run) => run.status === 'running');
    quiet = backlog.pending === 0 && running.length === 0 ? quiet + 1 : 0;
  }
  assert.equal(quiet, 2, 'the runs settle');
}

async function workflowCount(client: Client): Promise<number> {
  return (await client.workflow.count(`TaskQueue = "${idflow.taskQueue}"`)).count;
}

const stripTimes = (user: User) => {
  const { createdAt: _c, updatedAt: _u, ...rest } = user;
  return rest;
};

/** Every matched automation of the plan, nested ones with them. */
function matchedRuns(plan: Plan): { event: PlannedEvent; automation: AutomationPlan }[] {
  return plan.events.flatMap((event) => event.automations.filter((a) => a.matched).map((automation) => ({ event, automation })));
}

/** The id of the person a run's trigger is about. */
function subjectId(trigger: unknown): string | undefined {
  return (trigger as { newUser?: { id?: string } } | null)?.newUser?.id;
}

function effects(plan: Plan): PlanEffect[] {
  return matchedRuns(plan).flatMap(({ automation }) => automation.steps.flatMap((step) => step.effects));
}

before(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      smtpConnections++;
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  slack = createServer((request, response) => {
    slackRequests++;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      response.writeHead(200, { 'content-type': 'application/json' });
      if (request.url?.endsWith('conversations.list'))
        return response.end(
          JSON.stringify({ ok: true, channels: [{ id: 'C0NEW', name: 'new-employees' }], response_metadata: { next_cursor: '' } }),
        );
      slackPosts.push({ channel: params.channel ?? '', text: params.text ?? '' });
      response.end(JSON.stringify({ ok: true, channel: params.channel, ts: '1700000000.000100' }));
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  hooks = await startReceiver();
  scimApp = await startReceiver();
  idflow = await startTestEngine({
    env: {
      SMTP_URL: `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`,
      EMAIL_FROM: 'IT <it@acme.example>',
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_API_URL: `http://127.0.0.1:${(slack.address() as AddressInfo).port}/api/`,
      FIGMA_SCIM_TOKEN: 'scim-token',
      IDFLOW_WEBHOOKS_PRIVATE_NETWORKS: '127.0.0.0/8',
    },
  });
  api = await buildApiServer({ engine: idflow.engine });
  adminToken = await idflow.store.tokens.create('admin', ['admin']);
  await idflow.apply(DIRECTORY(`${scimApp.url}/scim/v2`));
  await idflow.apply(AUTOMATIONS(hooks.url));
  await importFeed('/v1/directory/import?file=day1.csv', DAY1);
  await settled();
});

after(async () => {
  await api?.close();
  await idflow?.stop();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await new Promise((resolve) => slack.close(resolve));
  await hooks.close();
  await scimApp.close();
});

test('an HR import planned, then performed: the directory changes and step effects are the plan, and planning touched nothing', async () => {
  const { store } = idflow;
  const usersBefore = new Map((await store.directory.listUsers()).map((user) => [user.id, user]));
  const grantsBefore = (await store.directory.listGrants({})).map((g) => `${g.userId} ${g.entitlement}`);
  const accountsBefore = (await store.directory.listAccounts({})).map((a) => a.id);
  const runsBefore = new Set((await store.runs.list({ limit: 500 })).map((run) => run.runId));
  const seen = {
    smtp: smtpConnections,
    mails: mails.length,
    slack: slackRequests,
    hooks: hooks.requests.length,
    scim: scimApp.requests.length,
  };
  const slackPostsBefore = slackPosts.length;
  const workflows = await workflowCount(idflow.client);
  const auditBefore = (await store.audit.list({ limit: 500 })).length;
  const eventsBefore = (await store.events.list({ limit: 500 })).length;

  const planToken = await store.tokens.create('planner', ['plan', 'directory:read']);
  const plan = (await importFeed('/v1/plan/imports?file=day2.csv', DAY2, planToken)) as Plan;

  // Nothing happened: no mail server, Slack, webhook or SCIM app reached, no workflow, no write but the audit entry.
  assert.deepEqual(
    { smtp: smtpConnections, mails: mails.length, slack: slackRequests, hooks: hooks.requests.length, scim: scimApp.requests.length },
    seen,
  );
  assert.equal(await workflowCount(idflow.client), workflows);
  assert.deepEqual(new Map((await store.directory.listUsers()).map((user) => [user.id, user])), usersBefore);
  assert.deepEqual(
    (await store.directory.listGrants({})).map((g) => `${g.userId} ${g.entitlement}`),
    grantsBefore,
  );
  assert.equal((await store.events.list({ limit: 500 })).length, eventsBefore);
  assert.equal((await store.directory.outboxBacklog()).pending, 0);
  const audit = await store.audit.list({ limit: 500 });
  assert.equal(audit.length, auditBefore + 1);
  assert.deepEqual([audit[0]?.action, audit[0]?.actor], ['plan', 'planner']);

  // The plan says what a reader expects of this feed.
  assert.deepEqual(
    plan.directory?.created.map((c) => c.id),
    ['u-5', 'u-6'],
  );
  assert.deepEqual(
    plan.directory?.deactivated.map((d) => d.id),
    ['u-4'],
  );
  assert.deepEqual(plan.directory?.updated.map((u) => u.id).sort(), ['u-2', 'u-3']);
  assert.deepEqual(
    matchedRuns(plan)
      .map(({ event, automation }) => `${event.event.type} ${(event.event.data.newUser as unknown as User).id} ${automation.name}`)
      .sort(),
    [
      'user.created u-5 engineering-joiner',
      'user.created u-5 joiner',
      'user.created u-6 joiner',
      'user.created u-6 sales-joiner',
      'user.deactivated u-4 leaver',
      'user.updated u-3 mover',
    ],
  );
  assert.equal(plan.summary.unknownSteps, 5, 'two emails, a Slack message and two webhooks answer only when sent');

  // Now for real.
  const report = await importFeed('/v1/directory/import?file=day2.csv', DAY2);
  await settled();

  // The directory's changes, field by field.
  const usersAfter = new Map((await store.directory.listUsers()).map((user) => [user.id, user]));
  assert.deepEqual(
    report.created.map((c: { id: string }) => c.id),
    plan.directory?.created.map((c) => c.id),
  );
  for (const created of plan.directory?.created ?? [])
    assert.deepEqual(stripTimes(created.fields as unknown as User), stripTimes(usersAfter.get(created.id) as User), created.id);
  for (const change of [...(plan.directory?.updated ?? []), ...(plan.directory?.deactivated ?? [])]) {
    const [was, now] = [usersBefore.get(change.id) as User, usersAfter.get(change.id) as User];
    const real = Object.keys({ ...was, ...now })
      .filter(
        (field) =>
          !['createdAt', 'updatedAt'].includes(field) &&
          JSON.stringify(was[field as keyof User]) !== JSON.stringify(now[field as keyof User]),
      )
      .sort();
    assert.deepEqual(change.changes.map((c) => c.field).sort(), real, change.id);
    for (const c of change.changes) assert.deepEqual(c.to, now[c.field as keyof User] ?? null, `${change.id}.${c.field}`);
  }

  // Every planned run ran, completed, and rendered the same inputs.
  const newRuns = (await store.runs.list({ limit: 500 })).filter((run) => !runsBefore.has(run.runId));
  assert.equal(newRuns.length, matchedRuns(plan).length, 'as many runs as the plan said');
  for (const { event, automation } of matchedRuns(plan)) {
    const user = (event.event.data.newUser as unknown as User).id;
    const run = newRuns.find((r) => r.automation === automation.name && subjectId(r.trigger) === user);
    assert.ok(run, `${automation.name} ran for ${user}`);
    assert.equal(run.status, 'completed', `${automation.name} for ${user}: ${run.error}`);
    assert.deepEqual(
      run.steps.map((s) => s.input),
      automation.steps.map((s) => s.input),
      `${automation.name} for ${user}: the step inputs`,
    );
  }

  // Grants added and revoked, accounts created, statuses changed: exactly the planned effects.
  const planned = effects(plan);
  const grantsAfter = (await store.directory.listGrants({})).map((g) => `${g.userId} ${g.entitlement}`);
  assert.deepEqual(
    planned.flatMap((e) => (e.kind === 'grant' ? [`${e.user} ${e.entitlement}`] : [])).sort(),
    grantsAfter.filter((g) => !grantsBefore.includes(g)).sort(),
  );
  assert.deepEqual(
    planned.flatMap((e) => (e.kind === 'revoke' ? [`${e.user} ${e.entitlement}`] : [])).sort(),
    grantsBefore.filter((g) => !grantsAfter.includes(g)).sort(),
  );
  const accountsAfter = await store.directory.listAccounts({});
  assert.deepEqual(
    planned.flatMap((e) => (e.kind === 'account' ? [{ user: e.user, app: e.app, username: e.username, email: e.email }] : [])),
    accountsAfter
      .filter((a) => !accountsBefore.includes(a.id))
      .map((a) => ({ user: a.userId, app: a.app, username: a.username, email: a.email })),
  );
  assert.deepEqual(
    planned.filter((e) => e.kind === 'status'),
    [],
    'the import disabled Dee already: the leaver changes no status',
  );

  // What reached the outside: the planned messages, word for word.
  const newMails = mails.slice(seen.mails);
  assert.deepEqual(
    planned
      .flatMap((e) => (e.kind === 'email' ? [{ to: e.to.join(','), subject: e.subject, text: e.text.trim() }] : []))
      .sort((a, b) => a.subject.localeCompare(b.subject)),
    newMails
      .map((m) => ({
        to: [m.to ?? []]
          .flat()
          .flatMap((a) => a.value.map((v) => v.address))
          .join(','),
        subject: m.subject ?? '',
        text: (m.text ?? '').trim(),
      }))
      .sort((a, b) => a.subject.localeCompare(b.subject)),
  );
  assert.deepEqual(
    planned.flatMap((e) => (e.kind === 'slack' ? [e.text] : [])),
    slackPosts.slice(slackPostsBefore).map((p) => p.text),
  );
  assert.deepEqual(
    planned.flatMap((e) => (e.kind === 'webhook' ? [JSON.stringify(e.payload)] : [])).sort(),
    hooks.requests
      .slice(seen.hooks)
      .map((r) => JSON.stringify(JSON.parse(r.body)))
      .sort(),
  );
});

test('a grant in an app provisioned over SCIM is planned as the requests the app would get, and none is sent', async () => {
  const token = await idflow.store.tokens.create('run-planner', ['plan', 'runs:read']);
  const response = await api.inject({
    method: 'POST',
    url: '/v1/plan/runs',
    payload: { automation: 'design-access', context: { user: 'u-5' } },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.statusCode, 200, response.body);
  const plan = response.json() as Plan;
  assert.deepEqual(plan.events[0]?.automations[0]?.steps[0]?.effects, [
    { kind: 'provision', app: 'figma', via: 'scim', action: 'createAccount', user: 'u-5' },
    { kind: 'provision', app: 'figma', via: 'scim', action: 'addToGroup editors', user: 'u-5' },
    { kind: 'account', user: 'u-5', app: 'figma', username: 'eve', email: 'eve@acme.example' },
    { kind: 'grant', user: 'u-5', entitlement: 'figma:editors' },
  ]);
  assert.equal(scimApp.requests.length, 0, 'the SCIM app saw no request');
});
