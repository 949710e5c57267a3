/**
 * A plan's summary (plan/summary.ts) and its tree for a terminal (cli/plan-tree.ts), over plans
 * built by hand: every effect kind, a run_automation's nested plan, an import's directory changes,
 * unknown and failing steps, and a plan too long to print whole.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_LISTED, renderPlan } from '../cli/plan-tree.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import type { JsonObject } from '../core/json.js';
import type { AutomationPlan, Plan, PlanEffect, PlannedEvent, StepPlan } from '../core/plan.js';
import { summarize } from '../plan/summary.js';

const DAY_MS = 86_400_000;
const inDays = (days: number): string => new Date(Date.now() + days * DAY_MS).toISOString();

const step = (name: string, type: string, effects: PlanEffect[] = [], more: Partial<StepPlan> = {}): StepPlan => ({
  name,
  type,
  input: {},
  effects,
  unknown: false,
  ...more,
});
const matched = (name: string, steps: StepPlan[], version = 1): AutomationPlan => ({ name, version, matched: true, steps });
const notMatched = (name: string, reason: string): AutomationPlan => ({ name, version: 2, matched: false, reason, steps: [] });
const event = (type: string, data: JsonObject, automations: AutomationPlan[], cause?: PlannedEvent['cause']): PlannedEvent => ({
  event: { type, data },
  ...(cause && { cause }),
  automations,
});
const planOf = (plan: Omit<Plan, 'summary'>): Plan => ({ summary: summarize(plan), ...plan });

const ada = { id: 'u-ada', email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace', status: 'ENABLED' };
const bob = { id: 'u-bob', email: 'bob@acme.example', displayName: 'Bob Byte', status: 'ENABLED' };
const settleUntil = inDays(7);
const grantUntil = inDays(30);
const body = ['Hi Ada,', '', 'welcome to Acme.', 'Your manager is Bob.', 'Your desk is 4.12.', 'See you Monday,', 'HR'].join('\n');
const payload = { user: 'u-ada', groups: Array.from({ length: 40 }, (_, i) => `group-${i}`) };

/** Every effect kind: a joiner's automation with a nested one (which stops a cycle), a leaver's, and an event a step emits. */
const everyKind = planOf({
  events: [
    event('user.created', { newUser: ada }, [
      matched(
        'onboarding',
        [
          step('grant-base', 'grant_entitlements', [
            { kind: 'grant', user: 'u-ada', entitlement: 'github:engineering' },
            { kind: 'grant', user: 'u-ada', entitlement: 'slack:general', expiresAt: grantUntil },
          ]),
          step('enable', 'modify_user_status', [{ kind: 'status', user: 'u-ada', from: 'STAGED', to: 'ENABLED' }]),
          step('account', 'create_account', [
            { kind: 'account', user: 'u-ada', app: 'github', username: 'ada.l', email: 'ada@acme.example' },
          ]),
          step('welcome', 'send_email', [
            {
              kind: 'email',
              to: ['ada@acme.example', 'bob@acme.example'],
              cc: ['hr@acme.example'],
              bcc: [],
              subject: 'Welcome, Ada',
              text: body,
            },
          ]),
          step('announce', 'send_slack', [{ kind: 'slack', channel: '#new-employees', text: 'Ada joins engineering\nsay hi!' }]),
          step('notify-hr', 'run_webhook', [{ kind: 'webhook', webhook: 'hr-sync', url: 'http://127.0.0.1:9/hooks/hr', payload }]),
          step('username', 'call_function', [
            { kind: 'function', function: 'username-generator', ran: true, output: { username: 'ada.l' } },
          ]),
          step('lookup', 'call_function', [{ kind: 'function', function: 'badge-lookup', ran: false, reason: 'not planSafe' }]),
          step('badge', 'send_slack', [], { unknown: true, reason: 'reads ctx.lookup, the output of a function not run' }),
          step('settle', 'wait', [{ kind: 'wait', until: settleUntil, ms: 7 * DAY_MS }]),
          step('laptop', 'run_automation', [
            {
              kind: 'run_automation',
              automation: 'provision-laptop',
              wait: true,
              plan: matched(
                'provision-laptop',
                [
                  step('order', 'perform_connector_action', [
                    { kind: 'connector_action', app: 'jamf', action: 'order-laptop', input: { model: 'mbp-14' } },
                  ]),
                  step('provision', 'create_account', [
                    { kind: 'provision', app: 'jamf', via: 'webhook', action: 'create', user: 'u-ada' },
                  ]),
                  step('again', 'run_automation', [
                    {
                      kind: 'run_automation',
                      automation: 'onboarding',
                      wait: false,
                      stopped: 'cycle onboarding → provision-laptop → onboarding',
                    },
                  ]),
                ],
                4,
              ),
            },
          ]),
          step('review', 'create_campaign', [
            { kind: 'campaign', user: 'u-ada', template: 'new-hire-review', reviewer: 'u-bob', items: ['g-1', 'g-2', 'g-3'] },
          ]),
        ],
        3,
      ),
      notMatched('offboarding', 'false'),
    ]),
    event('user.updated', { oldUser: bob, newUser: { ...bob, status: 'DISABLED' } }, [
      matched('leaver', [
        step('disable', 'modify_user_status', [{ kind: 'status', user: 'u-bob', from: 'ENABLED', to: 'DISABLED' }]),
        step('revoke-all', 'revoke_entitlements', [
          { kind: 'revoke', user: 'u-bob', entitlement: 'github:engineering' },
          { kind: 'revoke', user: 'u-bob', entitlement: 'slack:general' },
        ]),
        step('delegate', 'modify_delegate', [
          { kind: 'delegate', user: 'u-bob', from: 'u-carol', to: null, removedAsDelegateOf: ['u-dan'] },
        ]),
        step('profiles', 'remove_access_profiles', [{ kind: 'access_profiles', user: 'u-bob', removed: ['p-eng', 'p-ops'] }]),
        step('tasks', 'perform_task_action', [{ kind: 'tasks', user: 'u-bob', action: 'reassign', tasks: ['t-1', 't-2'], to: 'u-carol' }]),
        step('suspend', 'perform_connector_action', [
          { kind: 'account_status', user: 'u-bob', app: 'github', from: 'ACTIVE', to: 'SUSPENDED' },
        ]),
        step('reconcile', 'reconcile_app', [{ kind: 'reconcile', app: 'github', apply: true }]),
        step('archive', 'modify_user_status', [{ kind: 'status', user: 'u-bob', from: 'DISABLED', to: 'DELETED' }]),
        step('farewell', 'send_email', [], { error: 'SMTP_FAILED: 554 relay refused' }),
      ]),
    ]),
    event(
      'grant.revoked',
      { user: bob, entitlement: { app: 'github', slug: 'engineering' } },
      [matched('audit', [step('note', 'send_slack')])],
      { source: 'step', automation: 'leaver', step: 'revoke-all' },
    ),
  ],
});

test('the summary counts every matched automation, a nested one too, their steps and effects by kind', () => {
  const { text, ...counts } = everyKind.summary;
  assert.deepEqual(counts, {
    automations: 4,
    steps: 25,
    effects: {
      grant: 2,
      status: 3,
      account: 1,
      email: 1,
      slack: 1,
      webhook: 1,
      function: 2,
      wait: 1,
      run_automation: 2,
      connector_action: 1,
      provision: 1,
      campaign: 1,
      revoke: 2,
      delegate: 1,
      access_profiles: 1,
      tasks: 1,
      account_status: 1,
      reconcile: 1,
    },
    usersCreated: 0,
    usersUpdated: 0,
    usersDeactivated: 0,
    unknownSteps: 1,
    failingSteps: 1,
  });
  assert.equal(
    text,
    '4 automations, 25 steps: +2 grants, −2 grants, 1 user disabled, 1 user enabled, 1 status change, 1 account, 1 account status change, ' +
      '1 delegate change, 1 access profile removal, 1 task action, 1 campaign, 1 app request, 1 connector action, 1 reconciliation, ' +
      '1 email, 1 Slack message, 1 webhook, 1 function run, 1 function not run, 1 wait, 1 chained run stopped, 1 unknown, 1 would fail',
  );
});

test("the one line reads like the issue's example, nested automations counted", () => {
  const grants = (user: string, ...entitlements: string[]): PlanEffect[] =>
    entitlements.map((entitlement) => ({ kind: 'grant', user, entitlement }));
  const email: PlanEffect = { kind: 'email', to: ['a@acme.example'], cc: [], bcc: [], subject: 'Hi', text: 'Hello' };
  const idle = (count: number) => Array.from({ length: count }, (_, i) => step(`check-${i}`, 'call_function'));
  const plan = planOf({
    events: [
      event('user.created', { newUser: ada }, [
        matched('joiner', [
          step('grant', 'grant_entitlements', grants('u-ada', 'a:1', 'a:2', 'a:3')),
          step('welcome', 'send_email', [email]),
          step('more-access', 'run_automation', [
            {
              kind: 'run_automation',
              automation: 'engineering-access',
              wait: true,
              plan: matched('engineering-access', [
                step('grant', 'grant_entitlements', grants('u-ada', 'b:1', 'b:2')),
                step('tell', 'run_webhook', [{ kind: 'webhook', webhook: 'it', url: 'http://127.0.0.1:9/', payload: {} }]),
              ]),
            },
          ]),
          ...idle(6),
        ]),
      ]),
      event('user.deactivated', { oldUser: bob }, [
        matched('leaver', [
          step('revoke', 'revoke_entitlements', [
            { kind: 'revoke', user: 'u-bob', entitlement: 'a:1' },
            { kind: 'revoke', user: 'u-bob', entitlement: 'a:2' },
          ]),
          step('disable', 'modify_user_status', [{ kind: 'status', user: 'u-bob', from: 'ENABLED', to: 'DISABLED' }]),
          step('tell-manager', 'send_email', [email]),
        ]),
      ]),
    ],
  });
  assert.equal(plan.summary.text, '3 automations, 14 steps: +5 grants, −2 grants, 1 user disabled, 2 emails, 1 webhook');
  assert.deepEqual(plan.summary.effects, { grant: 5, email: 2, run_automation: 1, webhook: 1, revoke: 2, status: 1 });
});

test('plural and singular words; a run_automation shows as the automations it runs, one not matched counts none', () => {
  const twice = (effect: PlanEffect): PlanEffect[] => [effect, effect];
  const plan = planOf({
    events: [
      event('user.updated', { newUser: ada }, [
        matched('busy', [
          step('everything', 'call_function', [
            ...twice({ kind: 'status', user: 'u-ada', from: 'ENABLED', to: 'DISABLED' }),
            ...twice({ kind: 'status', user: 'u-ada', from: 'DISABLED', to: 'ENABLED' }),
            ...twice({ kind: 'status', user: 'u-ada', from: 'ENABLED', to: 'DELETED' }),
            ...twice({ kind: 'account', user: 'u-ada', app: 'github', username: 'ada' }),
            ...twice({ kind: 'slack', channel: '#x', text: 'hi' }),
            ...twice({ kind: 'function', function: 'f', ran: true }),
            ...twice({ kind: 'function', function: 'g', ran: false }),
            ...twice({ kind: 'wait', until: inDays(1), ms: DAY_MS }),
            ...twice({ kind: 'run_automation', automation: 'busy', wait: true, stopped: 'cycle busy → busy' }),
            { kind: 'run_automation', automation: 'quiet', wait: true, plan: { ...notMatched('quiet', 'false'), version: 1 } },
          ]),
          step('guess-1', 'send_slack', [], { unknown: true, reason: 'reads ctx.everything' }),
          step('guess-2', 'send_slack', [], { unknown: true, reason: 'reads ctx.everything' }),
          step('fail', 'send_email', [], { error: 'no address' }),
        ]),
      ]),
    ],
  });
  assert.equal(
    plan.summary.text,
    '1 automation, 4 steps: 2 users disabled, 2 users enabled, 2 status changes, 2 accounts, 2 Slack messages, 2 functions run, ' +
      '2 functions not run, 2 waits, 2 chained runs stopped, 2 unknown, 1 would fail',
  );
  assert.equal(plan.summary.effects.run_automation, 3);
});

test('"no changes" when nothing would change', () => {
  assert.equal(summarize({ events: [] }).text, '0 automations, 0 steps: no changes');
  const onlyNotMatched = summarize({ events: [event('user.created', { newUser: ada }, [notMatched('onboarding', 'false')])] });
  assert.equal(onlyNotMatched.text, '0 automations, 0 steps: no changes');
  assert.equal(onlyNotMatched.automations, 0);
  const idle = summarize({ events: [event('user.created', { newUser: ada }, [matched('onboarding', [step('check', 'call_function')])])] });
  assert.equal(idle.text, '1 automation, 1 step: no changes');
});

const nia = { id: 'u-nia', email: 'nia@acme.example', firstName: 'Nia', lastName: 'New' };
const importPlan = planOf({
  directory: {
    created: [
      { id: 'u-nia', email: 'nia@acme.example', fields: nia },
      { id: 'u-otto', email: 'otto@acme.example', fields: { id: 'u-otto', email: 'otto@acme.example' } },
    ],
    updated: [
      {
        id: 'u-bob',
        changes: [
          { field: 'department', from: 'Sales', to: 'Engineering' },
          { field: 'manager', from: null, to: 'carol@acme.example' },
        ],
      },
      { id: 'u-carol', changes: [{ field: 'title', from: 'Engineer', to: 'Lead' }] },
      { id: 'u-dan', changes: [{ field: 'location', from: 'Berlin', to: 'Paris' }] },
    ],
    deactivated: [{ id: 'u-eve', reason: 'missing from the full feed', changes: [{ field: 'status', from: 'ENABLED', to: 'DISABLED' }] }],
    unchanged: 4,
    errors: [{ line: 7, id: 'u-x', message: 'email: email is not an email address' }],
  },
  events: [
    event(
      'user.created',
      { newUser: nia },
      [matched('onboarding', [step('grant', 'grant_entitlements', [{ kind: 'grant', user: 'u-nia', entitlement: 'github:engineering' }])])],
      { source: 'import' },
    ),
    event('user.created', { newUser: { id: 'u-otto', email: 'otto@acme.example' } }, [], { source: 'import' }),
    event(
      'user.deactivated',
      { oldUser: { id: 'u-eve', email: 'eve@acme.example', displayName: 'Eve' } },
      [notMatched('leaver', 'false')],
      {
        source: 'import',
      },
    ),
  ],
});

test("an import's summary starts with the directory's changes", () => {
  const { text, usersCreated, usersUpdated, usersDeactivated } = importPlan.summary;
  assert.deepEqual({ usersCreated, usersUpdated, usersDeactivated }, { usersCreated: 2, usersUpdated: 3, usersDeactivated: 1 });
  assert.equal(text, '+2 people, 3 updated, 1 deactivated, 1 row refused; 1 automation, 1 step: +1 grant');
  const oneJoiner = summarize({
    directory: { created: [importPlan.directory!.created[0]], updated: [], deactivated: [], unchanged: 0, errors: [] },
    events: [],
  });
  assert.equal(oneJoiner.text, '+1 person; 0 automations, 0 steps');
  const nothing = summarize({ directory: { created: [], updated: [], deactivated: [], unchanged: 9, errors: [] }, events: [] });
  assert.equal(nothing.text, '0 automations, 0 steps: no changes');
});

test('a plan that stopped early says what it left out', () => {
  const summary = summarize({ events: [] }, '300 of 800 events not planned (limit 500)');
  assert.equal(summary.truncated, '300 of 800 events not planned (limit 500)');
  assert.equal(summary.text, '0 automations, 0 steps: no changes; stopped early: 300 of 800 events not planned (limit 500)');
  assert.equal('truncated' in summarize({ events: [] }), false);
});

/** Asserts that each of `expected` is a whole line of `text`, in this order. */
function assertLinesInOrder(text: string, expected: string[]): void {
  const lines = text.split('\n');
  let from = 0;
  for (const line of expected) {
    const at = lines.indexOf(line, from);
    assert.ok(at >= 0, `line ${JSON.stringify(line)} not found after line ${from} of:\n${text}`);
    from = at + 1;
  }
}

test('the tree shows each event, its automations, their steps and every effect, in the order they would happen', () => {
  const tree = renderPlan(everyKind);
  assertLinesInOrder(tree, [
    'user.created u-ada (Ada Lovelace)',
    '  ● onboarding v3',
    '    grant-base (grant_entitlements)',
    '      + grant github:engineering to u-ada',
    `      + grant slack:general to u-ada until ${grantUntil}`,
    '    enable (modify_user_status)',
    '      status u-ada STAGED → ENABLED',
    '      + account ada.l in github for u-ada <ada@acme.example>',
    '      email to ada@acme.example, bob@acme.example; cc hr@acme.example: "Welcome, Ada"',
    '        Hi Ada,',
    '',
    '        welcome to Acme.',
    '        Your manager is Bob.',
    '        Your desk is 4.12.',
    '        …',
    '      slack #new-employees: Ada joins engineering',
    '        say hi!',
    '      webhook hr-sync → http://127.0.0.1:9/hooks/hr',
    '      function username-generator ran',
    '        → {"username":"ada.l"}',
    '      function badge-lookup not run: not planSafe',
    '    badge (send_slack)',
    '      ? unknown: reads ctx.lookup, the output of a function not run',
    `      wait until ${settleUntil} (7d)`,
    '    laptop (run_automation)',
    '      run_automation provision-laptop v4',
    '        order (perform_connector_action)',
    '          connector action order-laptop in jamf',
    '            {"model":"mbp-14"}',
    '          app request: create u-ada in jamf via webhook',
    '          run_automation onboarding (not waited for)',
    '            stopped: cycle onboarding → provision-laptop → onboarding',
    '      + campaign new-hire-review reviewing u-ada, reviewer u-bob, 3 items',
    '  ○ offboarding v2 not matched: false',
    'user.updated u-bob (Bob Byte)',
    '  ● leaver v1',
    '      status u-bob ENABLED → DISABLED',
    '      − revoke github:engineering from u-bob',
    '      − revoke slack:general from u-bob',
    '      delegate of u-bob: u-carol → none; u-bob no longer delegate of u-dan',
    '      − access profiles of u-bob: p-eng, p-ops',
    '      tasks of u-bob: reassign 2 tasks to u-carol (t-1, t-2)',
    '      account of u-bob in github: ACTIVE → SUSPENDED',
    '      reconcile github, fixing its drift',
    '      status u-bob DISABLED → DELETED',
    '    farewell (send_email)',
    '      ✗ would fail: SMTP_FAILED: 554 relay refused',
    'grant.revoked u-bob (Bob Byte) github:engineering ← step revoke-all of leaver',
    '  ● audit v1',
    '    note (send_slack)',
    '      no change',
    everyKind.summary.text,
  ]);
  // A body shows its first five lines, then "…".
  assert.equal(tree.includes('See you Monday'), false);
  // The summary ends the tree, whole however long.
  assert.equal(tree.split('\n').at(-1), everyKind.summary.text);
  // A payload is one compact line, cut.
  const payloadLine = tree.split('\n').find((line) => line.startsWith('        {"user":"u-ada"')) ?? '';
  assert.ok(payloadLine.endsWith('…'), payloadLine);
  assert.equal(Array.from(payloadLine.trim()).length, 200);
});

test("an import's tree shows the directory's changes first, then the events they emit", () => {
  assert.equal(
    renderPlan(importPlan),
    [
      'directory',
      '  + u-nia nia@acme.example (Nia New)',
      '  + u-otto otto@acme.example',
      '  ~ u-bob',
      '    department: "Sales" → "Engineering"',
      '    manager: null → "carol@acme.example"',
      '  ~ u-carol',
      '    title: "Engineer" → "Lead"',
      '  ~ u-dan',
      '    location: "Berlin" → "Paris"',
      '  − u-eve deactivated: missing from the full feed',
      '    status: "ENABLED" → "DISABLED"',
      '  ✗ line 7 (u-x): email: email is not an email address',
      '  4 people unchanged',
      '',
      'user.created u-nia (Nia New)',
      '  ● onboarding v1',
      '    grant (grant_entitlements)',
      '      + grant github:engineering to u-nia',
      '',
      'user.created u-otto',
      '  no automation for this event',
      '',
      'user.deactivated u-eve (Eve)',
      '  ○ leaver v2 not matched: false',
      '',
      '+2 people, 3 updated, 1 deactivated, 1 row refused; 1 automation, 1 step: +1 grant',
    ].join('\n'),
  );
});

test('colors only when asked; without them no escape sequence at all, whatever the data holds', () => {
  const plain = renderPlan(everyKind);
  assert.equal(plain.includes('\u001b'), false);
  assert.equal(renderPlan(everyKind, { color: false }), plain);
  const colored = renderPlan(everyKind, { color: true });
  assert.ok(colored.includes('      \u001b[32m+ grant github:engineering to u-ada\u001b[0m'));
  assert.ok(colored.includes('\u001b[1;31m✗ would fail: SMTP_FAILED: 554 relay refused\u001b[0m'));
  assert.equal(colored.replace(/\u001b\[[0-9;]*m/g, ''), plain);

  const hostile = planOf({
    events: [
      event('user.created', { newUser: { id: 'u-eve', email: 'eve@acme.example', displayName: 'Eve\u001b[2J\u001b]0;pwned\u0007' } }, [
        matched('greet', [
          step('mail', 'send_email', [
            { kind: 'email', to: ['eve@acme.example'], cc: [], bcc: [], subject: 'Hi \u202egnp.exe', text: 'line\rover\u0000written' },
          ]),
        ]),
      ]),
    ],
  });
  for (const tree of [renderPlan(hostile), renderPlan(hostile, { color: true })]) {
    assert.equal(/[\u0000-\u0009\u000b-\u001a\u001c-\u001f\u202e]/.test(tree), false, JSON.stringify(tree));
    assert.equal(tree.includes('\u001b[2J') || tree.includes('\u001b]'), false);
    assert.ok(tree.includes('user.created u-eve (Eve\\u001b[2J\\u001b]0;pwned\\u0007)'), tree);
    assert.ok(tree.includes('line\\u000dover\\u0000written'), tree);
  }
  assert.ok(renderPlan(hostile).includes('email to eve@acme.example: "Hi \\u202egnp.exe"'));
});

test('a long plan stays readable: 50 events, then how many more; long lists cut', () => {
  const recipients = Array.from({ length: 25 }, (_, i) => `p${i}@acme.example`);
  const events = Array.from({ length: 800 }, (_, i) =>
    event('user.created', { newUser: { id: `u-${i}`, email: `p${i}@acme.example` } }, [
      matched('onboarding', [
        step('welcome', 'send_email', [{ kind: 'email', to: recipients, cc: [], bcc: [], subject: 'Welcome', text: 'Hello' }]),
      ]),
    ]),
  );
  const plan = planOf({ events });
  assert.equal(plan.summary.text, '800 automations, 800 steps: 800 emails');
  const lines = renderPlan(plan).split('\n');
  assert.equal(MAX_LISTED, 50);
  assert.equal(lines.filter((line) => line.startsWith('user.created ')).length, 50);
  assert.equal(lines.filter((line) => line.startsWith('user.created ')).at(-1), 'user.created u-49');
  assertLinesInOrder(lines.join('\n'), ['… and 750 more events (use --json for all)', '800 automations, 800 steps: 800 emails']);
  assert.ok(
    lines.includes(`      email to ${recipients.slice(0, 10).join(', ')}, … +15 more: "Welcome"`),
    'recipients past the tenth are counted, not listed',
  );
  // Six lines an event, then "… and 750 more", a blank line and the summary.
  assert.equal(lines.length, 50 * 6 + 3);

  const people = Array.from({ length: 60 }, (_, i) => ({ id: `u-${i}`, email: `p${i}@acme.example`, fields: {} }));
  const tree = renderPlan(planOf({ directory: { created: people, updated: [], deactivated: [], unchanged: 0, errors: [] }, events: [] }));
  assertLinesInOrder(tree, [
    '  + u-49 p49@acme.example',
    '  … and 10 more people created (use --json for all)',
    '+60 people; 0 automations, 0 steps',
  ]);
  assert.equal(tree.includes('u-50'), false);
});

test('formatDuration writes what parseDuration reads, largest units first', () => {
  assert.equal(formatDuration(7 * DAY_MS), '7d');
  assert.equal(formatDuration(90 * 60_000), '1h30m');
  assert.equal(formatDuration(500), '500ms');
  assert.equal(formatDuration(0), '0s');
  for (const ms of [1, 999, 1000, 61_000, 3_600_000, 7 * DAY_MS + 5, 400 * DAY_MS]) assert.equal(parseDuration(formatDuration(ms)), ms);
});
