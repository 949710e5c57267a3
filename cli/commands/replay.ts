/** replay: recorded events against a version of an automation, and the report `apply --plan` prints too. */
import type { Command } from 'commander';
import { collectDefinitionFiles } from '../../definitions/files.js';
import { formatDefinitionError } from '../../definitions/load.js';
import type { DefinitionError, SourceFile } from '../../definitions/types.js';
import type { ReplayRequest, ReplayResult } from '../../engine/replay.js';
import type { ReplayReport } from '../../engine/replay-report.js';
import { positiveInt } from '../args.js';
import { connect } from '../client.js';
import { CliError, printJson, type Output } from '../output.js';
import { replayHistories } from './replay-histories.js';

/** Ids listed per list on a terminal (`--json` has them all). */
const LISTED = 20;

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

function listed(ids: string[], limit: number): string {
  const more = ids.length - limit;
  return ids.slice(0, limit).join(', ') + (more > 0 ? ` … and ${more} more (--json lists all)` : '');
}

function describeCandidate(report: ReplayReport): string {
  const { candidate } = report;
  if (candidate.source === 'stored') return `${report.automation} v${candidate.version}`;
  const becomes = candidate.changed ? `would be v${candidate.version}` : `the same as v${candidate.version}`;
  return `${report.automation} from ${candidate.file}:${candidate.line} (${becomes})`;
}

function describeWindow(report: ReplayReport): string {
  const { window } = report;
  const what = report.trigger === 'schedule' ? 'ticks' : `${report.trigger} events`;
  if ('events' in window) return `${plural(window.events, 'named event')}`;
  return `${what} of the last ${window.since} (${window.from} → ${window.to})`;
}

/** A replay for a terminal: the counts, what would match differently, the runs whose inputs would differ. */
export function formatReplay(report: ReplayReport, limit = LISTED): string {
  const { summary } = report;
  const lines = [`replay of ${describeCandidate(report)} against ${describeWindow(report)}`];
  if (report.ticks) {
    lines.push(`  ${plural(summary.seen, 'tick')} · ${plural(summary.runsCompared, 'run')} compared`);
    for (const tick of report.ticks.filter(
      (t) => t.forEachUser && t.forEachUser.newlySelected.length + t.forEachUser.noLongerSelected.length > 0,
    )) {
      const users = tick.forEachUser as NonNullable<typeof tick.forEachUser>;
      lines.push(`  tick ${tick.scheduledTime}: ${users.then} users then, ${users.now} now`);
      if (users.newlySelected.length > 0) lines.push(`    + newly selected: ${listed(users.newlySelected, limit)}`);
      if (users.noLongerSelected.length > 0) lines.push(`    − no longer selected: ${listed(users.noLongerSelected, limit)}`);
    }
  } else {
    lines.push(`  ${summary.seen} seen · ${summary.matchedThen} matched then · ${summary.matchedNow} matched now`);
    const newly = report.newlyMatched.map((event) => event.id);
    const noLonger = report.noLongerMatched.map((event) => event.id);
    lines.push(`  + ${summary.newlyMatched} newly matched${newly.length > 0 ? `: ${listed(newly, limit)}` : ''}`);
    lines.push(`  − ${summary.noLongerMatched} no longer matched${noLonger.length > 0 ? `: ${listed(noLonger, limit)}` : ''}`);
  }
  lines.push(`  ≠ ${plural(summary.inputsDiffer, 'run')} whose step inputs would differ (of ${summary.runsCompared} compared)`);
  for (const run of report.inputsDiffer.slice(0, limit)) {
    const parts = [
      run.changes.length > 0 ? run.changes.map((change) => change.field).join(', ') : '',
      run.added.length > 0 ? `steps added: ${run.added.join(', ')}` : '',
      run.removed.length > 0 ? `steps removed: ${run.removed.join(', ')}` : '',
      ...run.unrendered.map((step) => `${step.step} cannot be rendered: ${step.error}`),
    ];
    lines.push(`      ${run.runId}: ${parts.filter(Boolean).join('; ')}`);
  }
  if (report.inputsDiffer.length > limit) lines.push(`      … and ${report.inputsDiffer.length - limit} more (--json lists all)`);
  if (report.truncated) lines.push(`  note: ${report.truncated}`);
  return lines.join('\n');
}

/**
 * POST /v1/replay; a candidate with errors prints each at its file:line (as apply does) and
 * fails. The API checks the rest of the request and names what is wrong.
 */
export async function requestReplay(output: Output, request: ReplayRequest): Promise<ReplayResult> {
  const answer = await (
    await connect()
  ).request<ReplayResult | { error: { message: string; details?: DefinitionError[] } }>('POST', '/v1/replay', request, [422]);
  if ('error' in answer) {
    const errors = answer.error.details ?? [];
    for (const error of errors) output.err(formatDefinitionError(error));
    throw new CliError(`${plural(errors.length, 'error')} in the candidate; nothing was replayed`);
  }
  return answer;
}

/** Every definition file under `path` (a file or a folder), as apply reads them. */
export async function definitionFiles(paths: string[]): Promise<SourceFile[]> {
  const files = await collectDefinitionFiles(paths).catch((error: Error) => {
    throw new CliError(error.message);
  });
  if (files.length === 0) throw new CliError(`no definition files (*.yaml, *.yml, *.json) under ${paths.join(', ')}`);
  return files;
}

interface ReplayOptions {
  automation?: string;
  version?: number;
  file?: string;
  since?: string;
  events?: string;
  histories?: boolean;
  limit?: number;
  json?: boolean;
}

export function registerReplayCommands(program: Command, output: Output): void {
  program
    .command('replay')
    .description(
      'Replay recorded events against a version of an automation: which would match differently, which runs would get other inputs',
    )
    .option('--automation <name>', 'a stored automation (with --file: the one of the file to replay)')
    .option('--version <n>', 'a stored version (default: the one in force)', positiveInt)
    .option('--file <path>', 'a definition file or folder not yet applied')
    .option('--since <duration>', 'the window, back from now (default 30d, at most 400d; with --histories 7d)')
    .option('--events <ids>', 'these events instead of a window, comma-separated')
    .option('--histories', 'replay recorded Temporal histories against the current workflow code')
    .option('--limit <n>', 'with --histories: at most this many, newest first (default 200)', positiveInt)
    .option('--json', 'the whole report, machine-readable')
    .action(async (options: ReplayOptions) => {
      if (options.histories) return replayHistories(output, { since: options.since, limit: options.limit, json: options.json });
      if (options.automation === undefined && options.file === undefined) throw new CliError('give --automation NAME or --file PATH', 2);
      if (options.since !== undefined && options.events !== undefined) throw new CliError('give --since or --events, not both', 2);
      if (options.version !== undefined && options.file !== undefined)
        throw new CliError('--version names a stored version: not with --file', 2);
      const events = options.events?.split(',').flatMap((id) => id.trim() || []);
      const result = await requestReplay(output, {
        ...(options.automation !== undefined && { automation: options.automation }),
        ...(options.version !== undefined && { version: options.version }),
        ...(options.file !== undefined && { files: await definitionFiles([options.file]) }),
        ...(options.since !== undefined && { since: options.since }),
        ...(events !== undefined && { events }),
      });
      if (options.json) return printJson(output, result);
      output.out(result.replays.map((report) => formatReplay(report)).join('\n\n'));
    });
}
