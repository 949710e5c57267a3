/**
 * The one-step automation the engine benches run (a webhook to a loopback receiver), and the two
 * measurements made of it: emit → first step, and completed runs.
 */
import type { Client } from '@temporalio/client';
import type { IdflowEngine } from '../engine/engine.js';
import type { Receiver } from '../test/helpers/receiver.js';

export async function applyOneStep(engine: IdflowEngine, receiver: Receiver): Promise<void> {
  await engine.apply(
    [
      {
        path: 'bench.yaml',
        content: `kind: Webhook\nname: sink\nurl: ${receiver.url}/sink\n---\nkind: Automation\nname: one-step\ntrigger: { type: user.created }\nsteps:\n  - name: notify\n    type: run_webhook\n    with: { webhook: sink, payload: { user: "{{ ctx.trigger.newUser.email }}" } }\n`,
      },
    ],
    { dryRun: false, actor: 'bench' },
  );
}

/**
 * Ingests one user.created event and returns the ms until its step's HTTP request reaches the
 * receiver. `aboutPerson`: the new user has an id, so the run starts through the person's queue.
 */
export async function emitToFirstStep(engine: IdflowEngine, receiver: Receiver, id: string, aboutPerson = false): Promise<number> {
  const before = receiver.requests.length;
  const started = performance.now();
  const newUser = { email: `${id}@example.com`, ...(aboutPerson && { id: `u-${id}` }) };
  await engine.ingest({ id, type: 'user.created', data: { newUser } }, 'bench');
  while (receiver.requests.length === before) await new Promise((resolve) => setImmediate(resolve));
  const ms = performance.now() - started;
  await engine.waitForRun(`one-step:${id}`, 30_000);
  return ms;
}

/** Ingests one event per id at once and waits until every run completed. */
export async function completeRuns(engine: IdflowEngine, client: Client, ids: string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id, i) => {
      await engine.ingest({ id, type: 'user.created', data: { newUser: { email: `t${i}@example.com` } } }, 'bench');
      await client.workflow.getHandle(`one-step:${id}`).result();
    }),
  );
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
