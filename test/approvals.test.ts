/**
 * request_approval end to end: a real Temporal dev server and worker, the API on loopback, a real
 * SMTP server on loopback (the links parsed out of the received mail), and a Slack stand-in
 * speaking the Web API (chat.postMessage, users.info). Decisions through the emailed link, a
 * signed Slack interactivity request, the CLI and the API; the subject never approves; a second
 * decision counts once; timeouts reject, approve and escalate; quorum all; a worker restart while
 * a request is pending.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import { buildApiServer } from '../api/server.js';
import type { ApprovalOutcome } from '../steps/approval.js';
import type { ApprovalRecord } from '../store/types.js';
import { runCli } from './helpers/cli.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';
import { until } from './helpers/worker-process.js';

const SIGNING_SECRET = 'slack-signing-secret-for-tests';
const received: ParsedMail[] = [];
const slackPosts: Record<string, string>[] = [];
/** The Slack stand-in's users: id → email (users.info). */
const SLACK_USERS: Record<string, string> = { U0ALICE: 'alice@example.com', U0BOB: 'bob@example.com' };

let smtp: SMTPServer;
let slack: Server;
let idflow: TestEngine;
let api: FastifyInstance;
let apiUrl: string;
let adminToken: string;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  slack = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const method = (request.url ?? '').replace(/^\/api\//, '');
      const params = Object.fromEntries(new URLSearchParams(body));
      const answer = (json: object) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      if (method === 'conversations.list')
        return answer({ ok: true, channels: [{ id: 'C0APPROVE', name: 'approvals' }], response_metadata: { next_cursor: '' } });
      if (method === 'chat.postMessage') {
        slackPosts.push(params);
        return answer({ ok: true, channel: params.channel, ts: '1700000000.000100' });
      }
      if (method === 'users.info') {
        const email = SLACK_USERS[params.user];
        return answer(email ? { ok: true, user: { id: params.user, profile: { email } } } : { ok: false, error: 'user_not_found' });
      }
      answer({ ok: false, error: 'unknown_method' });
    });
  });
  const slackUrl = await listen(slack);

  const env: NodeJS.ProcessEnv = {
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    EMAIL_FROM: 'IT <it@example.com>',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_API_URL: `${slackUrl}/api/`,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
  };
  idflow = await startTestEngine({ env, worker: false });
  api = await buildApiServer({ engine: idflow.engine });
  apiUrl = await api.listen({ host: '127.0.0.1', port: 0 });
  // The worker mails links to this API.
  env.IDFLOW_PUBLIC_URL = apiUrl;
  await idflow.startWorker();
  adminToken = await idflow.store.tokens.create('admin', ['admin']);

  await idflow.apply(`
kind: Directory
apps:
  - slug: github
    entitlements: [{ slug: admins }, { slug: approvers }]
users:
  - { id: u-mia, email: mia@example.com, firstName: Mia }
  - { id: u-sam, email: sam@example.com, firstName: Sam, manager: mia@example.com }
  - { id: u-alice, email: alice@example.com, firstName: Alice }
  - { id: u-bob, email: bob@example.com, firstName: Bob }
grants:
  - { user: u-alice, entitlement: github:approvers }
  - { user: u-sam, entitlement: github:approvers }
---
kind: Automation
name: admin-grant
trigger: { type: manual }
steps:
  - name: approval
    type: request_approval
    with:
      approvers: manager
      title: "GitHub admin for {{ subject.firstName }}"
      message: "**{{ subject.firstName }}** asks for github:admins. <b>{{ ctx.trigger.reason }}</b>"
  - name: grant
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [github:admins] }
---
kind: Automation
name: slack-approval
trigger: { type: manual }
steps:
  - name: approval
    type: request_approval
    with: { approvers: "user:alice@example.com", message: "Sam wants admin", notify: slack, slackChannel: "#approvals" }
  - name: after
    type: grant_entitlements
    with: { user: "{{ subject.id }}", entitlements: [github:admins] }
---
kind: Automation
name: two-approvers
trigger: { type: manual }
steps:
  - name: approval
    type: request_approval
    with:
      approvers: "{{ ctx.trigger.approvers }}"
      quorum: "{{ ctx.trigger.quorum }}"
      escalateTo: "user:bob@example.com"
      message: "Please decide"
---
kind: Automation
name: timing-out
trigger: { type: manual }
steps:
  - name: approval
    type: request_approval
    with:
      approvers: "user:alice@example.com"
      escalateTo: "user:bob@example.com"
      timeout: "{{ ctx.trigger.timeout }}"
      onTimeout: "{{ ctx.trigger.onTimeout }}"
      message: "Decide soon"
`);
});

after(async () => {
  await api?.close();
  await idflow?.stop();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await new Promise<void>((resolve) => slack.close(() => resolve()));
});

const SAM = { user: { id: 'u-sam', email: 'sam@example.com', firstName: 'Sam' } };

async function startRun(automation: string, context: Record<string, unknown>): Promise<string> {
  return (await idflow.engine.runManually(automation, { ...SAM, ...context } as never, 'test')).runId;
}

async function pendingApproval(runId: string): Promise<ApprovalRecord> {
  let found: ApprovalRecord | undefined;
  await until(`the approval of ${runId} is recorded`, async () => {
    found = (await idflow.store.approvals.list({ limit: 500 })).find((approval) => approval.runId === runId);
    return found !== undefined;
  });
  return found as ApprovalRecord;
}

async function mailTo(email: string, approvalId: string): Promise<ParsedMail> {
  let mail: ParsedMail | undefined;
  await until(`a mail to ${email} about ${approvalId}`, () => {
    mail = received.find((m) => m.messageId?.includes(approvalId) && m.to !== undefined && JSON.stringify(m.to).includes(email));
    return mail !== undefined;
  });
  return mail as ParsedMail;
}

function linkIn(mail: ParsedMail): string {
  const match = /http:\/\/127\.0\.0\.1:\d+\/approvals\/[A-Za-z0-9_.-]+/.exec(mail.text ?? '');
  assert.ok(match, `the mail has a decision link: ${mail.text}`);
  return match[0];
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

async function decideWithToken(token: string, id: string, decision: 'approve' | 'reject', comment?: string) {
  return fetch(`${apiUrl}/v1/approvals/${id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision, ...(comment !== undefined && { comment }) }),
  });
}

function signedSlack(body: string, timestamp = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature,
    },
    body,
  };
}

const stepOutput = async (runId: string) =>
  (await idflow.finished(runId)).steps.find((step) => step.name === 'approval')?.output as ApprovalOutcome | undefined;

test('the manager approves through the emailed link: GET shows the request, POST decides once, the run goes on', async () => {
  const runId = await startRun('admin-grant', { reason: '[click](https://evil.example) <script>' });
  const approval = await pendingApproval(runId);
  assert.deepEqual(
    approval.approvers.map((a) => a.email),
    ['mia@example.com'],
  );
  const mail = await mailTo('mia@example.com', approval.id);
  assert.equal(mail.subject, 'GitHub admin for Sam');
  const link = linkIn(mail);
  // Values from the run are text in the mail, never markup.
  assert.ok(!(mail.html || '').includes('href="https://evil.example"'));

  const page = await fetch(link);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /asks for github:admins/);
  assert.match(html, /&lt;script&gt;/);
  assert.match(html, /<form method="post">/);

  // A link idflow did not sign: refused.
  const forged = link.replace(/.$/, (char) => (char === 'A' ? 'B' : 'A'));
  // Another approver's index with this approver's signature.
  const otherApprover = link.replace(/\.0\.0\.([^.]+)$/, '.0.1.$1');
  assert.notEqual(otherApprover, link);
  assert.equal((await fetch(forged)).status, 401);
  assert.equal((await fetch(forged, form({ decision: 'approve' }))).status, 401);
  assert.equal((await fetch(otherApprover, form({ decision: 'approve' }))).status, 401);

  const decided = await fetch(link, form({ decision: 'approve', comment: 'fine for a quarter' }));
  assert.equal(decided.status, 200, await decided.clone().text());
  assert.match(await decided.text(), /approved/);

  const run = await idflow.finished(runId);
  assert.equal(run.status, 'completed');
  const output = run.steps.find((step) => step.name === 'approval')?.output as ApprovalOutcome;
  assert.equal(output.decision, 'approved');
  assert.equal(output.by, 'mia@example.com');
  assert.equal(output.comment, 'fine for a quarter');
  assert.equal(run.steps.find((step) => step.name === 'grant')?.status, 'completed');

  // Used: the same link says so and decides nothing.
  const again = await fetch(link);
  assert.equal(again.status, 409);
  assert.match(await again.text(), /used already/);
  assert.equal((await fetch(link, form({ decision: 'reject' }))).status, 409);
  const stored = await idflow.store.approvals.get(approval.id);
  assert.equal(stored?.state, 'approved');
  assert.equal(stored?.decisions.length, 1);
  const audit = await idflow.store.audit.list({ target: `approval:${approval.id}` });
  assert.deepEqual(
    audit.map((entry) => [entry.action, entry.actor]),
    [['approval.approved', 'mia@example.com']],
  );
});

test('a signed Slack interactivity request rejects; a bad signature or a stale timestamp is refused 401', async () => {
  const runId = await startRun('slack-approval', {});
  const approval = await pendingApproval(runId);
  await until('the Slack request is posted', () => slackPosts.some((post) => post.blocks?.includes(approval.id)));
  const blocks = JSON.parse(slackPosts.find((post) => post.blocks?.includes(approval.id))?.blocks ?? '[]') as {
    type: string;
    elements?: { action_id?: string }[];
  }[];
  assert.deepEqual(
    blocks.find((block) => block.type === 'actions')?.elements?.map((element) => element.action_id),
    ['approve', 'reject'],
  );
  const payload = (user: string, action: string) =>
    new URLSearchParams({
      payload: JSON.stringify({ type: 'block_actions', user: { id: user }, actions: [{ action_id: action, value: approval.id }] }),
    }).toString();
  const url = `${apiUrl}/v1/slack/interactions`;

  assert.equal((await fetch(url, signedSlack(payload('U0ALICE', 'reject'), undefined, 'wrong-secret'))).status, 401);
  const stale = Math.floor(Date.now() / 1000) - 6 * 60;
  assert.equal((await fetch(url, signedSlack(payload('U0ALICE', 'reject'), stale))).status, 401);
  // A Slack user who is no approver: told so, nothing decided.
  const bob = await fetch(url, signedSlack(payload('U0BOB', 'approve')));
  assert.equal(bob.status, 200);
  assert.match(((await bob.json()) as { text: string }).text, /not an approver/);

  const alice = await fetch(url, signedSlack(payload('U0ALICE', 'reject')));
  assert.equal(alice.status, 200);
  assert.match(((await alice.json()) as { text: string }).text, /rejected/);

  const run = await idflow.finished(runId);
  assert.equal(run.status, 'rejected');
  const output = run.steps.find((step) => step.name === 'approval')?.output as ApprovalOutcome;
  assert.equal(output.decision, 'rejected');
  assert.equal(output.by, 'alice@example.com');
  assert.equal(output.decisions[0].via, 'slack');
  assert.notEqual(run.steps.find((step) => step.name === 'after')?.status, 'completed');
});

test('the CLI approves as the approver its token names; quorum all waits for every approver; a second decision counts once', async () => {
  const runId = await startRun('two-approvers', { approvers: ['user:alice@example.com', 'user:bob@example.com'], quorum: 'all' });
  const approval = await pendingApproval(runId);
  const alice = await idflow.store.tokens.create('alice@example.com', ['approvals:read', 'approvals:write']);
  const bob = await idflow.store.tokens.create('u-bob', ['approvals:write']);
  const saved = { url: process.env.IDFLOW_URL, token: process.env.IDFLOW_TOKEN };
  process.env.IDFLOW_URL = apiUrl;
  process.env.IDFLOW_TOKEN = alice;
  try {
    const approved = await runCli(['approvals', 'approve', approval.id, '--comment', 'ok by me']);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /the request is pending/);
    const twice = await runCli(['approvals', 'approve', approval.id]);
    assert.notEqual(twice.code, 0);
    assert.match(twice.stderr, /decided already/);
    const listed = await runCli(['approvals', 'list', '--state', 'pending']);
    assert.match(listed.stdout, new RegExp(`${approval.id}  pending`));
    assert.match(listed.stdout, /alice@example.com approved via api: ok by me/);
  } finally {
    process.env.IDFLOW_URL = saved.url;
    process.env.IDFLOW_TOKEN = saved.token;
    if (saved.url === undefined) delete process.env.IDFLOW_URL;
    if (saved.token === undefined) delete process.env.IDFLOW_TOKEN;
  }
  assert.equal((await idflow.store.runs.get(runId))?.status, 'running');
  assert.equal((await decideWithToken(bob, approval.id, 'approve')).status, 200);
  const output = await stepOutput(runId);
  assert.equal(output?.decision, 'approved');
  assert.deepEqual(
    output?.decisions.map((d) => d.approver),
    ['alice@example.com', 'bob@example.com'],
  );
  assert.equal((await idflow.store.approvals.get(approval.id))?.decisions.length, 2);
});

test('two decisions at once on a quorum-any request: one counts, the other is refused', async () => {
  const runId = await startRun('two-approvers', { approvers: ['user:alice@example.com', 'user:bob@example.com'], quorum: 'any' });
  const approval = await pendingApproval(runId);
  const link = linkIn(await mailTo('bob@example.com', approval.id));
  const alice = await idflow.store.tokens.create('u-alice', ['approvals:write']);
  const [byToken, byLink] = await Promise.all([decideWithToken(alice, approval.id, 'reject'), fetch(link, form({ decision: 'approve' }))]);
  assert.deepEqual([byToken.status, byLink.status].sort(), [200, 409]);
  const stored = await idflow.store.approvals.get(approval.id);
  assert.equal(stored?.decisions.length, 1);
  const run = await idflow.finished(runId);
  assert.equal(run.status, byToken.status === 200 ? 'rejected' : 'completed');
  assert.equal((await idflow.store.audit.list({ target: `approval:${approval.id}` })).length, 1);
});

test('the subject never approves: escalateTo stands in, and a token of the subject is refused even with admin', async () => {
  const runId = await startRun('two-approvers', { approvers: ['user:sam@example.com', 'entitlement:github:approvers'], quorum: 'any' });
  const approval = await pendingApproval(runId);
  // Sam holds github:approvers too: left out; bob (escalateTo) takes the subject's place.
  assert.deepEqual(approval.approvers.map((a) => a.email).sort(), ['alice@example.com', 'bob@example.com']);
  const sam = await idflow.store.tokens.create('sam@example.com', ['admin']);
  const refused = await decideWithToken(sam, approval.id, 'approve');
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /subject/);
  assert.equal((await idflow.store.approvals.get(approval.id))?.decisions.length, 0);
  // An admin token that is no approver overrides (recorded as the token).
  assert.equal((await decideWithToken(adminToken, approval.id, 'approve', 'on behalf of IT')).status, 200);
  const output = await stepOutput(runId);
  assert.equal(output?.decision, 'approved');
  assert.equal(output?.by, 'token:admin');
});

test('a timeout rejects, approves or escalates as onTimeout says', async () => {
  const rejecting = await startRun('timing-out', { timeout: '1s', onTimeout: 'reject' });
  const approving = await startRun('timing-out', { timeout: '1s', onTimeout: 'approve' });
  const escalating = await startRun('timing-out', { timeout: '2s', onTimeout: 'escalate' });

  const rejected = await idflow.finished(rejecting);
  assert.equal(rejected.status, 'rejected');
  assert.equal((rejected.steps[0].output as ApprovalOutcome).decision, 'timed_out');
  const approved = await idflow.finished(approving);
  assert.equal(approved.status, 'completed');
  assert.equal((approved.steps[0].output as ApprovalOutcome).decision, 'approved');
  assert.equal((approved.steps[0].output as ApprovalOutcome).by, null);

  const approval = await pendingApproval(escalating);
  await until('the request is escalated', async () => (await idflow.store.approvals.get(approval.id))?.round === 1, 20_000);
  // Alice's first-round link no longer decides; bob's escalation mail does.
  const aliceLink = linkIn(await mailTo('alice@example.com', approval.id));
  assert.equal((await fetch(aliceLink, form({ decision: 'approve' }))).status, 409);
  const bobLink = linkIn(await mailTo('bob@example.com', approval.id));
  assert.equal((await fetch(bobLink, form({ decision: 'approve' }))).status, 200);
  const output = await stepOutput(escalating);
  assert.equal(output?.decision, 'approved');
  assert.equal(output?.by, 'bob@example.com');
});

test('a request stays pending across a worker restart and is decided afterwards', async () => {
  const runId = await startRun('two-approvers', { approvers: ['user:alice@example.com'], quorum: 'any' });
  const approval = await pendingApproval(runId);
  await idflow.stopWorker();
  await idflow.startWorker();
  const alice = await idflow.store.tokens.create('alice-again', ['approvals:write']);
  // alice-again maps to no approver and holds no admin: refused.
  assert.equal((await decideWithToken(alice, approval.id, 'approve')).status, 403);
  assert.equal((await decideWithToken(adminToken, approval.id, 'approve')).status, 200);
  assert.equal((await stepOutput(runId))?.decision, 'approved');
});

test('a plan says whom a request would ask and until when, and opens nothing', async () => {
  const before = (await idflow.store.approvals.list({ limit: 500 })).length;
  const response = await fetch(`${apiUrl}/v1/plan/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ automation: 'admin-grant', context: { ...SAM, reason: 'audit' } }),
  });
  assert.equal(response.status, 200);
  const plan = (await response.json()) as {
    events: { automations: { steps: { name: string; effects: { kind: string; approvers?: string[] }[] }[] }[] }[];
  };
  const step = plan.events[0].automations[0].steps.find((planned) => planned.name === 'approval');
  assert.deepEqual(
    step?.effects.map((effect) => [effect.kind, effect.approvers]),
    [['approval', ['manager']]],
  );
  assert.equal((await idflow.store.approvals.list({ limit: 500 })).length, before);
});

test('a run cancelled while it waits for a decision closes its request: the link then refuses', async () => {
  const runId = await startRun('admin-grant', { reason: 'cancelled before anyone decides' });
  const approval = await pendingApproval(runId);
  const link = linkIn(await mailTo('mia@example.com', approval.id));
  await idflow.engine.cancelRun(runId, 'test');
  assert.equal((await idflow.finished(runId)).status, 'cancelled');
  await until('the request is closed', async () => (await idflow.store.approvals.get(approval.id))?.state === 'cancelled');
  assert.equal((await fetch(link, form({ decision: 'approve' }))).status, 409);
  assert.equal((await idflow.store.approvals.list({ state: 'pending', limit: 500 })).filter((a) => a.runId === runId).length, 0);
});
