/**
 * send_slack against a loopback HTTP server speaking the Slack Web API (conversations.list,
 * chat.postMessage), with @slack/web-api pointed at it through SLACK_API_URL, through the
 * engine on a real Temporal server. Values from events stay text in mrkdwn (no mention, no link).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { capturingLogger, startTestEngine, type TestEngine } from './helpers/engine.js';

const TOKEN = 'xoxb-test-token-do-not-log';

interface SlackCall {
  method: string;
  at: number;
  authorization?: string;
  params: Record<string, string>;
}

/** The next answers of chat.postMessage, as [HTTP status, body, headers]; afterwards ok. */
const postPlan: [number, object, Record<string, string>?][] = [];
const calls: SlackCall[] = [];
let slack: Server;
let idflow: TestEngine;
const logs = capturingLogger();

before(async () => {
  slack = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const method = (request.url ?? '').replace(/^\/api\//, '');
      calls.push({
        method,
        at: Date.now(),
        authorization: request.headers.authorization,
        params: Object.fromEntries(new URLSearchParams(body)),
      });
      const answer = (status: number, json: object, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(json));
      };
      if (method === 'conversations.list')
        return answer(200, {
          ok: true,
          channels: [
            { id: 'C0NEWEMP', name: 'new-employees' },
            { id: 'C0ITOPS1', name: 'it-ops' },
          ],
          response_metadata: { next_cursor: '' },
        });
      if (method === 'chat.postMessage') {
        const planned = postPlan.shift();
        if (planned) return answer(...planned);
        return answer(200, { ok: true, channel: calls.at(-1)?.params.channel, ts: '1700000000.000100' });
      }
      answer(200, { ok: false, error: 'unknown_method' });
    });
  });
  await new Promise<void>((resolve) => slack.listen(0, '127.0.0.1', resolve));
  const { port } = slack.address() as AddressInfo;
  idflow = await startTestEngine({ env: { SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: `http://127.0.0.1:${port}/api/` }, logger: logs.logger });
  await idflow.apply(`
kind: Automation
name: welcome
trigger: { type: user.created }
steps:
  - name: post
    type: send_slack
    retry: { initialInterval: 100ms, maximumAttempts: 3 }
    with:
      channel: "{{ ctx.trigger.channel }}"
      message: "Welcome {{ ctx.trigger.newUser.firstName }}!"
      blocks: [{ type: section, text: { type: mrkdwn, text: "*{{ ctx.trigger.newUser.firstName }}* joined" } }]
---
kind: Automation
name: announce
trigger: { type: user.updated }
steps:
  - name: post
    type: send_slack
    with:
      channel: C0ITOPS1
      message: "<@U123> meet {{ ctx.trigger.newUser.firstName }}: <https://wiki.example/people|profile>"
      blocks:
        - { type: section, text: { type: mrkdwn, text: "<!here> {{ ctx.trigger.newUser.firstName }}" } }
        - { type: header, text: { type: plain_text, text: "{{ ctx.trigger.newUser.firstName }}" } }
`);
});

after(async () => {
  await idflow?.stop();
  await new Promise<void>((resolve) => slack.close(() => resolve()));
});

async function post(id: string, channel: string) {
  await idflow.engine.ingest({ id, type: 'user.created', data: { channel, newUser: { firstName: 'Ada' } } }, 'test');
  return idflow.finished(`welcome:${id}`);
}

test('posts the rendered message and blocks to the channel id its name resolves to, resolving once', async () => {
  const first = await post('slack-1', '#new-employees');
  assert.equal(first.status, 'completed', first.error);
  assert.deepEqual(first.steps[0].output, { channel: 'C0NEWEMP', ts: '1700000000.000100' });
  const message = calls.filter((call) => call.method === 'chat.postMessage').at(-1);
  assert.equal(message?.params.channel, 'C0NEWEMP');
  assert.equal(message?.params.text, 'Welcome Ada!');
  assert.deepEqual(JSON.parse(message?.params.blocks ?? 'null'), [{ type: 'section', text: { type: 'mrkdwn', text: '*Ada* joined' } }]);
  assert.equal(message?.authorization, `Bearer ${TOKEN}`);

  await post('slack-2', 'new-employees');
  assert.equal(calls.filter((call) => call.method === 'conversations.list').length, 1, 'channel names are cached');
});

test("mentions and links from event data stay text (& < > escaped); the author's own stay live", async () => {
  const firstName = '<!channel> <https://evil.example|click> & co';
  await idflow.engine.ingest({ id: 'slack-escape', type: 'user.updated', data: { newUser: { firstName } } }, 'test');
  const run = await idflow.finished('announce:slack-escape');
  assert.equal(run.status, 'completed', run.error);
  const message = calls.filter((call) => call.method === 'chat.postMessage').at(-1);
  const escaped = '&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co';
  assert.equal(message?.params.text, `<@U123> meet ${escaped}: <https://wiki.example/people|profile>`);
  assert.deepEqual(JSON.parse(message?.params.blocks ?? 'null'), [
    { type: 'section', text: { type: 'mrkdwn', text: `<!here> ${escaped}` } },
    { type: 'header', text: { type: 'plain_text', text: firstName } },
  ]);
});

test('a 429 becomes a Temporal retry after Retry-After, not a failure', async () => {
  postPlan.push([429, { ok: false, error: 'ratelimited' }, { 'retry-after': '1' }]);
  const run = await post('slack-429', 'C0ITOPS1');
  assert.equal(run.status, 'completed', run.error);
  assert.equal(run.steps[0].attempts, 2);
  const attempts = calls.filter((call) => call.method === 'chat.postMessage').slice(-2);
  assert.ok(attempts[1].at - attempts[0].at >= 950, `retried after ${attempts[1].at - attempts[0].at} ms, Retry-After was 1 s`);
});

test('an unknown channel fails at once, saying how to fix it', async () => {
  const run = await post('slack-unknown', '#nowhere');
  assert.equal(run.status, 'failed');
  assert.equal(run.steps[0].attempts, 1);
  assert.match(run.steps[0].error ?? '', /Slack has no channel named "#nowhere" that the bot can see: .*invite the bot/);

  postPlan.push([200, { ok: false, error: 'not_in_channel' }]);
  const notIn = await post('slack-not-in', 'C0ITOPS1');
  assert.equal(notIn.steps[0].attempts, 1);
  assert.match(notIn.steps[0].error ?? '', /Slack answered not_in_channel: invite the bot to the channel/);

  postPlan.push([200, { ok: false, error: 'invalid_auth' }]);
  const badAuth = await post('slack-auth', 'C0ITOPS1');
  assert.match(badAuth.steps[0].error ?? '', /SLACK_BOT_TOKEN is not a valid token/);
});

test('the bot token is absent from run records and logs', async () => {
  assert.ok(logs.lines.length > 0);
  assert.doesNotMatch(logs.lines.join('\n'), new RegExp(TOKEN));
  assert.doesNotMatch(JSON.stringify(await idflow.store.runs.list({ automation: 'welcome' })), new RegExp(TOKEN));
});
