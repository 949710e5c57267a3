/** idflow plan event|run|import: what a change would do, before it happens (POST /v1/plan/*). */
import type { Command } from 'commander';
import { basename } from 'node:path';
import type { Plan } from '../../core/plan.js';
import { jsonObjectArg } from '../args.js';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';
import { renderPlan } from '../plan-tree.js';
import { mappingParameter, sendFeed } from './directory.js';

function show(output: Output, plan: Plan, json: boolean | undefined): void {
  if (json) printJson(output, plan);
  else output.out(renderPlan(plan, { color: process.stdout.isTTY === true }));
}

export function registerPlanCommands(program: Command, output: Output): void {
  const plan = program
    .command('plan')
    .description('Say what an event, a run or an HR import would do — which automations, which steps, which effects — changing nothing');

  plan
    .command('event')
    .description('What an event would do if it were sent now (as idflow emit)')
    .argument('<type>', 'user.created, user.updated, user.deactivated, account.*, grant.*, review.completed')
    .option('--data <json>', 'event data as JSON or @FILE: becomes ctx.trigger')
    .option('--id <id>', 'the id the event would have (run ids are derived from it)')
    .option('--json', 'print the plan as one JSON document')
    .action(async (type: string, options: { data?: string; id?: string; json?: boolean }) => {
      const data = await jsonObjectArg(options.data, '--data');
      const result = await (await connect()).request<Plan>('POST', '/v1/plan/events', { type, data, id: options.id });
      show(output, result, options.json);
    });

  plan
    .command('run')
    .description('What a manual run of an automation would do (as idflow run)')
    .argument('<automation>')
    .option('--context <json>', "the run's ctx.trigger as JSON or @FILE")
    .option('--json', 'print the plan as one JSON document')
    .action(async (automation: string, options: { context?: string; json?: boolean }) => {
      const context = await jsonObjectArg(options.context, '--context');
      const result = await (await connect()).request<Plan>('POST', '/v1/plan/runs', { automation, context });
      show(output, result, options.json);
    });

  plan
    .command('import')
    .description('What an HR import would change in the directory, and what those changes would start (as idflow directory import)')
    .argument('<file>')
    .option('--source <name>', 'names the feed, as the import would', 'hr')
    .option('--mapping <file>', 'YAML file renaming feed columns: { columns: { "Work Email": email } }')
    .option('--full', 'the feed lists everyone: deactivate enabled people missing from it')
    .option('--json', 'print the plan as one JSON document')
    .action(async (file: string, options: { source: string; mapping?: string; full?: boolean; json?: boolean }) => {
      const query = new URLSearchParams({ source: options.source, file: basename(file), full: String(Boolean(options.full)) });
      if (options.mapping) query.set('mapping', await mappingParameter(options.mapping));
      const client = await connect();
      const result = await sendFeed(file, (body) => client.request<Plan>('POST', `/v1/plan/imports?${query}`, body));
      show(output, result, options.json);
    });
}
