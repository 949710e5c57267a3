/** runs list|show|cancel|retry, outbox. */
import type { Command } from 'commander';
import type { RunList } from '../../engine/types.js';
import type { RunRecord } from '../../store/types.js';
import { connect } from '../client.js';
import { formatRun, printJson, runSummary, type Output } from '../output.js';

interface OutboxEntry {
  at: string;
  channel: string;
  to: string;
  signed?: boolean;
  body: unknown;
}

/** Email: subject and text; Slack: the text; webhooks: the JSON payload. */
function describeOutboxItem(item: OutboxEntry): string {
  const body = (item.body ?? {}) as { subject?: string; text?: string };
  const indent = (text: string) => text.trimEnd().replace(/^/gm, '  ');
  if (item.channel === 'email') return indent(`Subject: ${body.subject ?? ''}\n${body.text ?? ''}`);
  if (item.channel === 'slack') return indent(body.text ?? '');
  return indent(JSON.stringify(item.body));
}

export function registerRunCommands(program: Command, output: Output): void {
  const runs = program.command('runs').description('Runs and their steps');
  runs
    .command('list')
    .option('--automation <name>')
    .option('--status <status>', 'running, completed, failed, cancelled, terminated, timed_out')
    .option('--parent <run id>', "the runs this run started (a forEachUser tick's per-user runs, run_automation children)")
    .option('--json', 'machine-readable output')
    .action(async (options: { automation?: string; status?: string; parent?: string; json?: boolean }) => {
      const query = new URLSearchParams();
      if (options.automation) query.set('automation', options.automation);
      if (options.status) query.set('status', options.status);
      if (options.parent) query.set('parent', options.parent);
      const { runs: list, warning } = await (await connect()).request<RunList>('GET', `/v1/runs?${query}`);
      if (warning) output.err(`warning: ${warning}`);
      if (options.json) return printJson(output, list.map(runSummary));
      if (list.length === 0) return output.out('no runs');
      for (const run of list) output.out(`${run.startedAt}  ${run.status.padEnd(10)} ${run.runId}`);
    });
  runs
    .command('show')
    .argument('<run>')
    .option('--json', 'machine-readable output')
    .action(async (runId: string, options: { json?: boolean }) => {
      const run = await (await connect()).request<RunRecord & { webUiLink?: string }>('GET', `/v1/runs/${encodeURIComponent(runId)}`);
      if (options.json) return printJson(output, run);
      output.out(formatRun(run));
    });
  runs
    .command('cancel')
    .argument('<run>')
    .action(async (runId: string) => {
      await (await connect()).request('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`);
      output.out(`cancellation of ${runId} requested`);
    });
  runs
    .command('retry')
    .description("Run a failed run again from its failed step: a new run with the earlier steps' outputs, linked to it")
    .argument('<run>')
    .option('--json', 'machine-readable output')
    .action(async (runId: string, options: { json?: boolean }) => {
      const retry = await (await connect()).request<RunRecord>('POST', `/v1/runs/${encodeURIComponent(runId)}/retry`);
      if (options.json) return printJson(output, retry);
      const from = retry.steps.find((step) => step.status !== 'completed' && step.status !== 'skipped');
      output.out(`retrying ${runId} as ${retry.runId}${from ? ` from step ${from.name}` : ''}: idflow runs show ${retry.runId}`);
    });

  program
    .command('outbox')
    .description('What the automations sent under idflow dev: emails, Slack messages, webhooks')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const { items } = await (await connect()).request<{ items: OutboxEntry[] }>('GET', '/v1/outbox');
      if (options.json) return printJson(output, items);
      if (items.length === 0) return output.out('the outbox is empty');
      for (const item of items)
        output.out(`${item.at}  ${item.channel} → ${item.to}${item.signed ? ' (signed)' : ''}\n${describeOutboxItem(item)}`);
    });
}
