/**
 * `node --import tsx bench/plan.ts`: what plans cost. A 1,000-person directory (three grants
 * each) under the leaver automations of the examples; then (a) the plan of an HR feed that
 * deactivates 800 of them by mistake — the plan an operator should read before importing it — and
 * (b) plans of one leaver event, one after the other. No Temporal: plans never reach it.
 */
import { Client, Connection } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { importFeed, parseFeed } from '../directory/import.js';
import { IdflowEngine } from '../engine/engine.js';
import { openStore } from '../store/index.js';

const PEOPLE = 1_000;
const WRONGLY_DEACTIVATED = 800;
const SINGLE_PLANS = 200;

const DIRECTORY = `kind: Directory
apps:
  - slug: google
    entitlements: [{ slug: workspace }]
  - slug: github
    entitlements: [{ slug: engineering }]
  - slug: jira
    entitlements: [{ slug: user }]
campaignTemplates:
  - { id: leaver-review, displayName: Leaver review, reviewer: manager, durationDays: 7 }
`;

const AUTOMATIONS = `kind: Webhook
name: hr-system
url: https://hr.example.com/hooks/leavers
---
kind: Automation
name: leaver-access
trigger: { type: user.deactivated }
steps:
  - name: disable
    type: modify_user_status
    with: { user: "{{ subject.id }}", status: DISABLED }
  - name: revoke_access
    type: revoke_entitlements
    with: { user: "{{ subject.id }}", all: true, exclude: [google:workspace] }
  - name: hand_over_tasks
    type: perform_task_action
    with: { user: "{{ subject.id }}", action: reassign, to: "{{ subject.?managerId.orValue('p-1') }}" }
  - name: review_remaining_access
    type: create_campaign
    with: { template: leaver-review, user: "{{ subject.id }}" }
---
kind: Automation
name: leaver
trigger: { type: user.deactivated }
steps:
  - name: notify_hr
    type: run_webhook
    with: { webhook: hr-system, payload: { event: leaver, user: "{{ ctx.trigger.newUser.email }}" } }
  - name: later
    type: wait
    with: { duration: 1d }
`;

function feed(deactivated: number): string {
  const lines = ['id,email,firstName,lastName,department,managerEmail,status'];
  for (let i = 1; i <= PEOPLE; i++)
    lines.push(
      `p-${i},person${i}@acme.example,First${i},Last${i},Engineering,${i === 1 ? '' : 'person1@acme.example'},${i > 1 && i <= deactivated + 1 ? 'DISABLED' : 'ENABLED'}`,
    );
  return lines.join('\n');
}

export interface PlanBenchFigures {
  people: number;
  importPlanMs: number;
  events: number;
  steps: number;
  summary: string;
  singlePlanMsMedian: number;
}

export async function benchPlans(): Promise<PlanBenchFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'idflow-bench-plan-'));
  const store = await openStore({ file: join(dir, 'idflow.sqlite') });
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
  const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'bench', logger: pino({ level: 'silent' }), env: {} });
  try {
    const applied = await engine.apply([{ path: 'directory.yaml', content: DIRECTORY }], { dryRun: false, actor: 'bench' });
    if (applied.errors.length > 0) throw new Error(JSON.stringify(applied.errors));
    await importFeed(engine.directory, await parseFeed('people.csv', feed(0)), { source: 'bench' });
    for (const user of await store.directory.listUsers())
      for (const entitlement of await store.directory.listEntitlements())
        await store.directory.putGrant({
          userId: user.id,
          entitlementId: entitlement.id,
          entitlement: `${entitlement.app}:${entitlement.slug}`,
          source: 'bench',
          grantedAt: new Date().toISOString(),
        });
    await store.directory.markDelivered((await store.directory.pendingEvents(PEOPLE * 2)).map((e) => e.seq));
    const automations = await engine.apply([{ path: 'automations.yaml', content: AUTOMATIONS }], { dryRun: false, actor: 'bench' });
    if (automations.errors.length > 0) throw new Error(JSON.stringify(automations.errors));
    const asker = { actor: 'bench', runFunctions: false, webhookUrls: true };

    const started = performance.now();
    const plan = await engine.plans.import(
      await parseFeed('mistake.csv', feed(WRONGLY_DEACTIVATED)),
      { source: 'bench', full: false },
      asker,
    );
    const importPlanMs = performance.now() - started;

    const leaver = (id: string) => ({
      type: 'user.deactivated',
      data: {
        oldUser: { id, email: `${id}@acme.example`, status: 'ENABLED' },
        newUser: { id, email: `${id}@acme.example`, status: 'DISABLED' },
      },
    });
    const times: number[] = [];
    for (let i = 0; i < SINGLE_PLANS; i++) {
      const t = performance.now();
      await engine.plans.event(leaver(`p-${2 + (i % (PEOPLE - 1))}`), asker);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return {
      people: PEOPLE,
      importPlanMs,
      events: plan.events.length,
      steps: plan.summary.steps,
      summary: plan.summary.text,
      singlePlanMsMedian: times[Math.floor(times.length / 2)] as number,
    };
  } finally {
    engine.functions.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function describePlans(figures: PlanBenchFigures): string {
  return [
    `plan of an HR feed deactivating ${WRONGLY_DEACTIVATED} of ${figures.people} people: ${(figures.importPlanMs / 1000).toFixed(2)} s for ${figures.events} events and ${figures.steps} steps`,
    `  ${figures.summary}`,
    `plan of one leaver event (2 automations, 6 steps): median ${figures.singlePlanMsMedian.toFixed(1)} ms over ${SINGLE_PLANS}`,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(describePlans(await benchPlans()));
