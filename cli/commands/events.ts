/** emit, run, events: starting runs and seeing what events matched. */
import type { Command } from 'commander';
import type { IngestResult } from '../../engine/types.js';
import type { EventRecord, RunRecord } from '../../store/types.js';
import { jsonObjectArg, positiveInt } from '../args.js';
import { connect, type ApiClient } from '../client.js';
import { CliError, formatRun, printJson, runSummary, type Output } from '../output.js';

const TERMINAL_POLL_MS = 30_000;

/** Waits for every run to leave "running", up to timeoutSeconds in all. */
export async function waitForRuns(client: ApiClient, runIds: string[], timeoutSeconds: number): Promise<RunRecord[]> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return Promise.all(
    runIds.map(async (runId) => {
      for (;;) {
        const remaining = Math.max(0, Math.min(TERMINAL_POLL_MS, deadline - Date.now()));
        const run = await client.request<RunRecord>('GET', `/v1/runs/${encodeURIComponent(runId)}/wait?timeoutMs=${remaining}`);
        if (run.status !== 'running' || Date.now() >= deadline) return run;
      }
    }),
  );
}

function printMatches(output: Output, event: EventRecord): void {
  output.out(`event ${event.id} (${event.type})`);
  if (event.matches.length === 0) output.out('  no automation is triggered by this event type');
  for (const match of event.matches) {
    if (match.error !== undefined) output.out(`  ✗ ${match.automation} v${match.version} matched, but ${match.error}`);
    else
      output.out(
        match.matched
          ? `  ✓ ${match.automation} v${match.version} → run ${match.runId}`
          : `  · ${match.automation} v${match.version}: ${match.reason}`,
      );
  }
}

/** The matches of an event whose run could not be started, as messages. */
function unstarted(event: EventRecord | undefined): string[] {
  return (event?.matches ?? []).flatMap((match) => (match.error === undefined ? [] : [`${match.automation}: ${match.error}`]));
}

/** Prints waited runs; a failed run, or a matched automation that could not start, makes the command fail. */
function finishRuns(output: Output, runs: RunRecord[], json: boolean, event?: EventRecord): void {
  if (json) printJson(output, { ...(event ? { event } : {}), runs: runs.map(runSummary) });
  else for (const run of runs) output.out(formatRun(run));
  const problems = [
    ...unstarted(event),
    ...runs.filter((run) => run.status !== 'completed').map((run) => `run ${run.runId} is ${run.status}`),
  ];
  if (problems.length > 0) throw new CliError(problems.join('; '));
}

export function registerEventCommands(program: Command, output: Output): void {
  program
    .command('emit')
    .description('Send a lifecycle event; every enabled automation it triggers starts one run')
    .argument(
      '<type>',
      'user.created, user.updated, user.deactivated, account.*, grant.*, review.completed (manual automations: idflow run)',
    )
    .option('--data <json>', 'event data as JSON or @FILE: becomes ctx.trigger')
    .option('--id <id>', 'idempotency key: the same id never starts the same automation twice')
    .option('--occurred-at <time>', 'RFC 3339 time the change happened')
    .option('--wait', 'wait for the started runs and print their outcome')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, 300)
    .option('--json', 'print one JSON object')
    .action(
      async (
        type: string,
        options: { data?: string; id?: string; occurredAt?: string; wait?: boolean; timeout: number; json?: boolean },
      ) => {
        const data = await jsonObjectArg(options.data, '--data');
        const client = await connect();
        const result = await client.request<IngestResult>('POST', '/v1/events', {
          type,
          data,
          id: options.id,
          occurredAt: options.occurredAt,
        });
        if (!options.wait) {
          if (options.json) printJson(output, { event: result.event, runs: result.runs.map(runSummary) });
          else printMatches(output, result.event);
          if (result.duplicate && !options.json) output.out('  (this event id was received before: nothing new was started)');
          const problems = unstarted(result.event);
          if (problems.length > 0) throw new CliError(problems.join('; '));
          return;
        }
        if (!options.json) printMatches(output, result.event);
        const runs = await waitForRuns(
          client,
          result.runs.map((run) => run.runId),
          options.timeout,
        );
        finishRuns(output, runs, Boolean(options.json), result.event);
      },
    );

  program
    .command('run')
    .description('Run an automation by hand; the context becomes ctx.trigger')
    .argument('<automation>')
    .option('--context <json>', 'JSON or @FILE')
    .option('--wait', 'wait for the run and print its outcome')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, 300)
    .option('--json', 'print one JSON object')
    .action(async (automation: string, options: { context?: string; wait?: boolean; timeout: number; json?: boolean }) => {
      const context = await jsonObjectArg(options.context, '--context');
      const client = await connect();
      const run = await client.request<RunRecord>('POST', `/v1/automations/${encodeURIComponent(automation)}/runs`, { context });
      if (!options.wait) {
        if (options.json) return printJson(output, { runs: [runSummary(run)] });
        return output.out(`started run ${run.runId}`);
      }
      finishRuns(output, await waitForRuns(client, [run.runId], options.timeout), Boolean(options.json));
    });

  const events = program.command('events').description('Events and what they matched');
  events
    .command('show')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const event = await (await connect()).request<EventRecord>('GET', `/v1/events/${encodeURIComponent(id)}`);
      if (options.json) return printJson(output, event);
      printMatches(output, event);
    });
  events
    .command('list')
    .option('--type <type>')
    .option('--json', 'machine-readable output')
    .action(async (options: { type?: string; json?: boolean }) => {
      const query = options.type ? `?type=${encodeURIComponent(options.type)}` : '';
      const { events: list } = await (await connect()).request<{ events: EventRecord[] }>('GET', `/v1/events${query}`);
      if (options.json) return printJson(output, list);
      for (const event of list)
        output.out(
          `${event.receivedAt}  ${event.id.padEnd(36)} ${event.type.padEnd(18)} ${event.matches.filter((m) => m.matched).length} run(s)`,
        );
    });
}
