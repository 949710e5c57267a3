/** idflow guard status|release|discard: automations the blast-radius guard tripped and the runs it holds (/v1/guard). */
import type { Command } from 'commander';
import type { Plan } from '../../core/plan.js';
import type { GuardDecisionResult, GuardStatus } from '../../engine/guard.js';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';
import { renderPlan } from '../plan-tree.js';

/** `--runs a,b,c` as the body's list; absent: every held run of the automation. */
function runsBody(runs: string | undefined): { runs?: string[] } {
  if (runs === undefined) return {};
  return {
    runs: runs
      .split(',')
      .map((runId) => runId.trim())
      .filter(Boolean),
  };
}

export function registerGuardCommands(program: Command, output: Output): void {
  const guard = program
    .command('guard')
    .description(
      'The blast-radius guard: automations tripped by their hourly limits, the runs held before any side effect, and what to do with them',
    );

  guard
    .command('status')
    .description('Tripped automations and their held runs, oldest first; with --plan RUN_ID, what that held run would do if released')
    .option('--automation <name>', 'only this automation')
    .option('--limit <n>', 'held runs listed (at most 1000)', '100')
    .option('--plan <run id>', "a held run's plan: its steps and effects, changing nothing")
    .option('--json', 'machine-readable output')
    .action(async (options: { automation?: string; limit: string; plan?: string; json?: boolean }) => {
      const client = await connect();
      if (options.plan) {
        const plan = await client.request<Plan>('GET', `/v1/guard/runs/${encodeURIComponent(options.plan)}/plan`);
        if (options.json) return printJson(output, plan);
        return output.out(renderPlan(plan, { color: process.stdout.isTTY === true }));
      }
      const query = new URLSearchParams({ limit: options.limit });
      if (options.automation) query.set('automation', options.automation);
      const status = await client.request<GuardStatus>('GET', `/v1/guard?${query}`);
      if (options.json) return printJson(output, status);
      if (status.trips.length === 0 && status.held.length === 0) return output.out('nothing is tripped, no run is held');
      for (const trip of status.trips)
        output.out(
          `tripped  ${trip.automation}  since ${trip.trippedAt}: ${trip.reason}; ${trip.held} run(s) held; ` +
            (trip.notifiedAt ? `admins told at ${trip.notifiedAt}` : 'admins not told yet'),
        );
      for (const hold of status.held) output.out(`held     ${hold.heldAt}  ${hold.runId}  (${hold.reason})`);
      const shown = status.held.length;
      const total = status.trips.reduce((sum, trip) => sum + trip.held, 0);
      if (total > shown) output.out(`… ${total - shown} more (--limit)`);
    });

  for (const [action, description] of [
    ['release', 'The held runs go on past the limit (an admin’s override; needs an admin token)'],
    ['discard', 'The held runs end as cancelled, the reason recorded; nothing after the hold happens'],
  ] as const)
    guard
      .command(action)
      .description(description)
      .argument('<automation>')
      .option('--runs <ids>', 'only these held runs, comma-separated')
      .option('--json', 'machine-readable output')
      .action(async (automation: string, options: { runs?: string; json?: boolean }) => {
        const result = await (
          await connect()
        ).request<GuardDecisionResult>('POST', `/v1/guard/${encodeURIComponent(automation)}/${action}`, runsBody(options.runs));
        if (options.json) return printJson(output, result);
        output.out(`${result.decision} ${result.runIds.length} held run(s) of ${result.automation}`);
      });
}
