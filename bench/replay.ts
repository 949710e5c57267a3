/**
 * Replay benchmark (prints figures, gates nothing): 10,000 recorded user.created events of the
 * last 30 days — a third matched by the automation in force, each with a recorded two-step run —
 * replayed against one candidate (a file not yet applied) whose condition and templates changed,
 * through IdflowEngine.replay over a SQLite store in a file. Target: ≤ 10 s.
 *
 *   node --import tsx bench/replay.ts
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type { JsonObject } from '../core/json.js';
import { IdflowEngine } from '../engine/engine.js';
import { SQLITE_FILE, openStore } from '../store/index.js';
import type { Store } from '../store/types.js';

const EVENTS = 10_000;
const TARGET_SECONDS = 10;
const DEPARTMENTS = ['Engineering', 'Sales', 'Support'];

const automation = (condition: string, subject: string) => `kind: Automation
name: joiner
trigger:
  type: user.created
  condition: ${JSON.stringify(condition)}
steps:
  - name: welcome
    type: send_email
    with:
      to: "{{ subject.email }}"
      subject: ${JSON.stringify(subject)}
      message: "Hello **{{ ctx.trigger.newUser.firstName }}**, welcome to {{ ctx.trigger.newUser.department }}"
  - name: notify
    type: run_webhook
    with: { webhook: hook, payload: { user: "{{ ctx.trigger.user.email }}", sent: "{{ ctx.welcome.messageId }}" } }
`;
const IN_FORCE = automation('ctx.trigger.newUser.department == "Engineering"', 'Welcome {{ ctx.trigger.newUser.firstName }}');
const CANDIDATE = automation(
  'ctx.trigger.newUser.department in ["Engineering", "Support"] && ctx.trigger.newUser.country != "FR"',
  'Welcome, {{ ctx.trigger.newUser.firstName }}',
);

/** Records the events with the matches and runs the automation in force gave them. */
async function record(store: Store, now: number): Promise<number> {
  let runs = 0;
  for (let i = 0; i < EVENTS; i++) {
    const id = `evt-${i}`;
    const at = new Date(now - Math.floor((i * 30 * 86_400_000) / EVENTS) - 60_000).toISOString();
    const user = {
      id: `u-${i}`,
      email: `person${i}@example.com`,
      firstName: `Ada${i}`,
      department: DEPARTMENTS[i % 3] as string,
      country: i % 4 === 0 ? 'FR' : 'US',
    };
    const data: JsonObject = { newUser: user };
    await store.events.insert({ id, type: 'user.created', occurredAt: at, receivedAt: at, data });
    if (user.department !== 'Engineering') {
      await store.events.setMatches(id, [{ automation: 'joiner', version: 1, matched: false, reason: 'condition is false' }]);
      continue;
    }
    const runId = `joiner:${id}`;
    await store.events.setMatches(id, [{ automation: 'joiner', version: 1, matched: true, runId }]);
    const steps = [
      { name: 'welcome', type: 'send_email' },
      { name: 'notify', type: 'run_webhook' },
    ];
    await store.runs.start({ runId, automation: 'joiner', version: 1, trigger: data, eventId: id, startedAt: at, steps });
    const message = `Hello **${user.firstName}**, welcome to ${user.department}`;
    await store.runs.stepStarted(runId, 'welcome', { to: user.email, subject: `Welcome ${user.firstName}`, message }, 1);
    await store.runs.stepFinished(runId, 'welcome', { status: 'completed', output: { messageId: `<${id}@mail>` } });
    await store.runs.stepStarted(runId, 'notify', { webhook: 'hook', payload: { user: user.email, sent: `<${id}@mail>` } }, 1);
    await store.runs.lastStepCompleted(runId, 'notify', { status: 200 });
    runs++;
  }
  return runs;
}

export interface ReplayBenchFigures {
  events: number;
  recordedRuns: number;
  seconds: number;
  eventsPerSecond: number;
  newlyMatched: number;
  noLongerMatched: number;
  runsCompared: number;
  inputsDiffer: number;
}

export async function benchReplay(): Promise<ReplayBenchFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bench-replay-'));
  const store = await openStore({ file: join(dir, SQLITE_FILE) });
  try {
    const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: pino({ level: 'silent' }) });
    const files = [
      { path: 'hook.yaml', content: 'kind: Webhook\nname: hook\nurl: https://hooks.example.com/in\n' },
      { path: 'joiner.yaml', content: IN_FORCE },
    ];
    const applied = await engine.apply(files, { dryRun: false, actor: 'bench' });
    if (!applied.ok) throw new Error(`apply failed: ${JSON.stringify(applied.errors)}`);
    const recordedRuns = await record(store, Date.now());
    const started = performance.now();
    const { replays } = await engine.replay({ file: { path: 'joiner.yaml', content: CANDIDATE }, since: '30d' }, 'bench');
    const seconds = (performance.now() - started) / 1000;
    const report = replays[0];
    if (report?.summary.seen !== EVENTS) throw new Error(`the replay saw ${report?.summary.seen} events, not ${EVENTS}`);
    const { summary } = report;
    return {
      events: summary.seen,
      recordedRuns,
      seconds,
      eventsPerSecond: summary.seen / seconds,
      newlyMatched: summary.newlyMatched,
      noLongerMatched: summary.noLongerMatched,
      runsCompared: summary.runsCompared,
      inputsDiffer: summary.inputsDiffer,
    };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function describeReplay(figures: ReplayBenchFigures): string {
  return [
    `replay ${figures.events} recorded events (${figures.recordedRuns} runs) against one candidate: ${figures.seconds.toFixed(2)} s, ${Math.round(figures.eventsPerSecond)} events/s (target ≤ ${TARGET_SECONDS} s)`,
    `  ${figures.newlyMatched} newly matched, ${figures.noLongerMatched} no longer matched, ${figures.inputsDiffer} of ${figures.runsCompared} runs compared with other inputs`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(describeReplay(await benchReplay()));
}
