/**
 * Apply benchmark (prints figures, gates nothing): `IdflowEngine.apply` of growing file sets,
 * into an in-memory store, so linearity shows in the time per step and per document staying
 * flat as the size doubles. Apply used to grow quadratically with the steps of an automation
 * (each step copied the names of all steps before it). Target: the largest size costs at most
 * 1.5× per unit what the smallest does.
 *
 *   node --import tsx bench/apply.ts
 */
import type { SourceFile } from '../definitions/types.js';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { pathToFileURL } from 'node:url';
import { MAX_DOCUMENTS, MAX_STEPS } from '../definitions/limits.js';
import { IdflowEngine } from '../engine/engine.js';
import { openStore } from '../store/index.js';

/** A step that reads the trigger and the step before it: each template compiles on its own. */
function step(automation: number, index: number): string {
  const previous = index === 0 ? 'trigger.newUser' : `s${index - 1}`;
  return `  - name: s${index}\n    type: run_webhook\n    with: { webhook: hook, payload: { user: "{{ ctx.trigger.newUser.email }}", note: "{{ string(ctx.${previous}) }} ${automation}" } }\n`;
}

function automation(number: number, steps: number): string {
  const body = Array.from({ length: steps }, (_, index) => step(number, index)).join('');
  return `kind: Automation\nname: a-${number}\ntrigger:\n  type: user.created\n  condition: ctx.trigger.newUser.department == "D${number}"\nsteps:\n${body}`;
}

const WEBHOOK = 'kind: Webhook\nname: hook\nurl: https://hooks.example.com/idflow\n';

/** `count` automations of `steps` steps, 50 to a file (files stay under the size limit). */
function fileSet(count: number, steps: number): SourceFile[] {
  const files: SourceFile[] = [{ path: 'hook.yaml', content: WEBHOOK }];
  for (let first = 0; first < count; first += 50) {
    const documents = Array.from({ length: Math.min(50, count - first) }, (_, i) => automation(first + i, steps));
    files.push({ path: `automations-${first / 50}.yaml`, content: documents.join('---\n') });
  }
  return files;
}

export interface ApplyBenchRow {
  automations: number;
  steps: number;
  ms: number;
  /** Milliseconds per step applied (automations × steps). */
  msPerStep: number;
}

export interface ApplyBenchFigures {
  /** One automation of growing length, up to MAX_STEPS. */
  bySteps: ApplyBenchRow[];
  /** Growing numbers of 10-step automations, up to MAX_DOCUMENTS (with the webhook) in one apply. */
  byDocuments: ApplyBenchRow[];
}

async function timeApply(count: number, steps: number, rounds: number): Promise<ApplyBenchRow> {
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // A fresh store each round: every definition is new, as in a first apply.
    const store = await openStore({ memory: true });
    const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const engine = new IdflowEngine({ store, client, namespace: 'default', taskQueue: 'unused', logger: pino({ level: 'silent' }) });
    const files = fileSet(count, steps);
    const started = performance.now();
    const result = await engine.apply(files, { dryRun: false, actor: 'bench' });
    times.push(performance.now() - started);
    await store.close();
    if (!result.ok) throw new Error(`apply failed: ${JSON.stringify(result.errors.slice(0, 3))}`);
  }
  const ms = times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
  return { automations: count, steps, ms, msPerStep: ms / (count * steps) };
}

export async function benchApply(): Promise<ApplyBenchFigures> {
  await timeApply(20, 10, 1); // warm-up: module loading, the CEL environment, SQLite
  const bySteps: ApplyBenchRow[] = [];
  for (const steps of [MAX_STEPS / 8, MAX_STEPS / 4, MAX_STEPS / 2, MAX_STEPS]) bySteps.push(await timeApply(1, steps, 5));
  const byDocuments: ApplyBenchRow[] = [];
  const most = MAX_DOCUMENTS - 1; // and the webhook
  for (const count of [Math.floor(most / 8), Math.floor(most / 4), Math.floor(most / 2), most])
    byDocuments.push(await timeApply(count, 10, 3));
  return { bySteps, byDocuments };
}

export function describeApply(figures: ApplyBenchFigures): string {
  const describe = (rows: ApplyBenchRow[], unit: (row: ApplyBenchRow) => string) => {
    const first = rows[0] as ApplyBenchRow;
    const last = rows[rows.length - 1] as ApplyBenchRow;
    const lines = rows.map(
      (row) => `  ${unit(row).padEnd(28)} ${row.ms.toFixed(0).padStart(6)} ms  ${(row.msPerStep * 1000).toFixed(0).padStart(5)} µs/step`,
    );
    return [...lines, `  per step, largest / smallest: ${(last.msPerStep / first.msPerStep).toFixed(2)} (linear ≈ 1; target ≤ 1.5)`].join(
      '\n',
    );
  };
  return [
    'one automation, growing:',
    describe(figures.bySteps, (row) => `${row.steps} steps`),
    'many 10-step automations in one apply:',
    describe(figures.byDocuments, (row) => `${row.automations} automations`),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(describeApply(await benchApply()));
}
