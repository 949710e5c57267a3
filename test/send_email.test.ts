/**
 * send_email against a real SMTP server on loopback (smtp-server, the received MIME parsed with
 * mailparser), through the engine on a real Temporal server: templates, HTML and plain text,
 * to/cc/bcc, 421 retried, 550 final, no duplicate after acceptance, credentials never leaked,
 * values from events rendered as text (never as links, images or headings).
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { createMailer, mailSettingsFromEnv } from '../integrations/mail/adapter.js';
import { sendEmailStep } from '../steps/send_email.js';
import { capturingLogger, startTestEngine, type TestEngine } from './helpers/engine.js';
import { stepServicesFor } from './helpers/step-services.js';
import { openTestStore } from './helpers/store.js';

const PASSWORD = 'hunter2-smtp-secret';

interface Received {
  mail: ParsedMail;
  envelopeTo: string[];
}

/** What the server answers to the next DATA commands; afterwards it accepts. */
const plan: ('421' | '550')[] = [];
const received: Received[] = [];
let smtp: SMTPServer;
let smtpUrl: string;
let idflow: TestEngine;
const logs = capturingLogger();

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

before(async () => {
  smtp = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'idflow' && auth.password === PASSWORD) callback(null, { user: 'idflow' });
      else callback(smtpError(535, 'Authentication credentials invalid'));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const next = plan.shift();
          if (next === '421') return callback(smtpError(421, 'Service not available, try again later'));
          if (next === '550') return callback(smtpError(550, 'Mailbox unavailable: policy violation'));
          received.push({ mail, envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address) });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const { port } = smtp.server.address() as AddressInfo;
  smtpUrl = `smtp://idflow:${PASSWORD}@127.0.0.1:${port}`;
  idflow = await startTestEngine({ env: { SMTP_URL: smtpUrl, EMAIL_FROM: 'IT <it@example.com>' }, logger: logs.logger });
  await idflow.apply(`
kind: Automation
name: manager-notice
trigger: { type: user.created }
steps:
  - name: tell_manager
    type: send_email
    retry: { initialInterval: 100ms, maximumAttempts: 3 }
    with:
      to: "{{ ctx.trigger.newUser.manager }}"
      cc: ["it@example.com"]
      bcc: "audit@example.com"
      subject: "{{ ctx.trigger.newUser.firstName }} starts on {{ ctx.trigger.newUser.startDate }}"
      title: "Welcome {{ ctx.trigger.newUser.firstName }}"
      message: |
        **{{ ctx.trigger.newUser.firstName }}** joins *{{ ctx.trigger.newUser.department }}*.
        <script>alert(1)</script>
---
kind: Automation
name: profile-notice
trigger: { type: user.updated }
steps:
  - name: notify
    type: send_email
    with:
      to: grace@example.com
      subject: "Profile of {{ ctx.trigger.newUser.firstName }}"
      message: |
        Hello **{{ ctx.trigger.newUser.firstName }}**, see [your profile](https://id.example/me), [write to us](mailto:it@example.com) or [this](javascript:alert(2)) ![logo](data:image/png;base64,AA).

        Your code: \`{{ ctx.trigger.newUser.code }}\`
`);
});

after(async () => {
  await idflow?.stop();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

const newUser = { firstName: 'Ada', manager: 'grace@example.com', department: 'Engineering', startDate: '2026-12-01' };

test('renders the templates into an HTML and plain-text email to to/cc/bcc, with a Message-ID from run + step', async () => {
  const before = received.length;
  await idflow.engine.ingest({ id: 'mail-1', type: 'user.created', data: { newUser } }, 'test');
  const run = await idflow.finished('manager-notice:mail-1');
  assert.equal(run.status, 'completed', run.error);
  const { mail, envelopeTo } = received[before];
  assert.equal(mail.subject, 'Ada starts on 2026-12-01');
  assert.equal(mail.from?.text, '"IT" <it@example.com>');
  assert.equal((Array.isArray(mail.to) ? mail.to[0] : mail.to)?.text, 'grace@example.com');
  assert.equal((Array.isArray(mail.cc) ? mail.cc[0] : mail.cc)?.text, 'it@example.com');
  assert.equal(mail.bcc, undefined, 'bcc is not in the headers');
  assert.deepEqual(envelopeTo.sort(), ['audit@example.com', 'grace@example.com', 'it@example.com']);
  assert.match(mail.html || '', /<h1>Welcome Ada<\/h1>/);
  assert.match(mail.html || '', /<strong>Ada<\/strong> joins <em>Engineering<\/em>/);
  assert.match(mail.html || '', /&lt;script&gt;/, 'raw HTML in the message is shown, not injected');
  assert.match(mail.text ?? '', /^Welcome Ada\n\n\*\*Ada\*\* joins/);
  assert.equal(mail.messageId, '<manager-notice.mail-1.tell_manager@idflow>');
  assert.deepEqual(run.steps[0].output, {
    messageId: '<manager-notice.mail-1.tell_manager@idflow>',
    accepted: ['grace@example.com', 'it@example.com', 'audit@example.com'],
    rejected: [],
  });
});

test("values from the event are Markdown text: no link, image or heading from data; the author's Markdown stays live; the plain text shows them as sent", async () => {
  const before = received.length;
  const firstName = '[Reset your password](javascript:alert(1)) ![t](http://host/track.png)\n# BIG <b>&amp;</b>';
  await idflow.engine.ingest({ id: 'mail-markdown', type: 'user.updated', data: { newUser: { firstName, code: 'a*b_c.d[x]' } } }, 'test');
  const run = await idflow.finished('profile-notice:mail-markdown');
  assert.equal(run.status, 'completed', run.error);
  const { mail } = received[before];
  const html = mail.html || '';
  const hrefs = [...html.matchAll(/<a\b[^>]*\bhref="([^"]*)"/g)].map((match) => match[1]);
  assert.deepEqual(hrefs, ['https://id.example/me', 'mailto:it@example.com'], "only the author's http(s)/mailto links are links");
  assert.doesNotMatch(html, /<img\b/, 'no image from data, none from a data: URL');
  assert.doesNotMatch(html, /<h1\b/, 'a line break and # in data start no heading');
  assert.doesNotMatch(html, /<b>/);
  assert.match(
    html,
    /<strong>\[Reset your password\]\(javascript:alert\(1\)\) !\[t\]\(http:\/\/host\/track\.png\)<br>\s*# BIG &lt;b&gt;&amp;amp;&lt;\/b&gt;<\/strong>/,
    'the value is visible as the text it is',
  );
  assert.match(html, /<code>a\*b_c\.d\[x\]<\/code>/, 'in code, the value reads as sent');
  assert.match(html, / or this logo\.<\/p>/, "the author's javascript: link and data: image keep only their text");
  assert.ok((mail.text ?? '').startsWith(`Hello **${firstName}**, see [your profile](https://id.example/me)`), mail.text);
  assert.match(mail.text ?? '', /Your code: `a\*b_c\.d\[x\]`/);
});

test('a 421 is retried and the message is delivered once', async () => {
  const before = received.length;
  plan.push('421');
  await idflow.engine.ingest({ id: 'mail-421', type: 'user.created', data: { newUser } }, 'test');
  const run = await idflow.finished('manager-notice:mail-421');
  assert.equal(run.status, 'completed', run.error);
  assert.equal(run.steps[0].attempts, 2);
  assert.equal(received.length, before + 1);
});

test('a 550 fails at once, with the server reply in the error', async () => {
  plan.push('550');
  await idflow.engine.ingest({ id: 'mail-550', type: 'user.created', data: { newUser } }, 'test');
  const run = await idflow.finished('manager-notice:mail-550');
  assert.equal(run.status, 'failed');
  assert.equal(run.steps[0].attempts, 1);
  assert.match(run.steps[0].error ?? '', /550 Mailbox unavailable: policy violation/);
});

test('a retry after the server accepted the message does not send it again', async () => {
  const store = await openTestStore();
  const services = () => stepServicesFor({ store, stepType: 'send_email', env: { SMTP_URL: smtpUrl } });
  const input = sendEmailStep.with.parse({ to: 'grace@example.com', subject: 'once', message: 'only once' });
  const before = received.length;
  const first = await sendEmailStep.run(input, await services());
  const second = await sendEmailStep.run(input, await services()); // the same step of the same run, retried
  assert.deepEqual(second, first);
  assert.equal(received.length, before + 1);
  await store.close();
});

test('SMTP credentials are absent from errors, run records and logs', async () => {
  const wrong = 'wrong-password-do-not-log';
  const mailer = createMailer(mailSettingsFromEnv({ SMTP_URL: smtpUrl.replace(PASSWORD, wrong) }));
  await assert.rejects(
    mailer.send({ messageId: '<x@idflow>', to: ['a@example.com'], cc: [], bcc: [], subject: 's', html: 'h', text: 't' }),
    (error: Error) => {
      assert.match(error.message, /refused the credentials/);
      assert.doesNotMatch(error.message, new RegExp(wrong));
      return true;
    },
  );
  const runs = JSON.stringify(await idflow.store.runs.list({ automation: 'manager-notice' }));
  assert.doesNotMatch(runs, new RegExp(PASSWORD));
  assert.ok(logs.lines.length > 0, 'the engine logged something');
  assert.doesNotMatch(logs.lines.join('\n'), new RegExp(PASSWORD));
});
