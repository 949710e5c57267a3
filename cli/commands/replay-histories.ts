/**
 * `idflow replay --histories`: replays the recorded histories of recent runs against this
 * installation's workflow code and exits 1 when any does not replay, so a deploy pipeline can
 * gate on it (docs/deployment.md, Upgrades). Temporal is found as `idflow worker` finds it.
 */
import { replayRecentHistories, type HistoryReplayReport, type ReplayedHistory } from '../../app/history-replay.js';
import { DURATION_HINT, parseDuration } from '../../core/duration.js';
import { CliError, printJson, type Output } from '../output.js';
import { clusterSettings } from './dev.js';

/** The defaults, for the `replay` command's help. */
export const DEFAULT_SINCE = '7d';
export const DEFAULT_LIMIT = 200;
/** A year: beyond it, Temporal's retention has removed the histories (30 days in docker-compose.yml). */
const MAX_SINCE_MS = 365 * 86_400_000;
/** Each history is fetched whole and replayed in ~40 ms: 10,000 take minutes. */
const MAX_LIMIT = 10_000;

function sinceMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || ms > MAX_SINCE_MS) throw new CliError(`--since: "${text}" is not ${DURATION_HINT} of at most 365d`, 2);
  return ms;
}

function checkedLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new CliError(`--limit must be a whole number from 1 to ${MAX_LIMIT}, got ${limit}`, 2);
  return limit;
}

const SYMBOL: Record<ReplayedHistory['status'], string> = { ok: '✓', nondeterministic: '✗', failed: '✗' };
const LABEL: Record<ReplayedHistory['status'], string> = { ok: 'ok', nondeterministic: 'non-deterministic', failed: 'replay failed' };

/**
 * The SDK core's own sentence in a replay error (`[TMPRL1100] Nondeterminism error: No command
 * scheduled for event HistoryEvent(id: 5, TimerStarted)`), without the wrapping the SDK adds
 * around it; the whole message where there is none. `--json` keeps the whole message.
 */
function coreMessage(error: string): string {
  return /message: "((?:[^"\\]|\\.)*)"/.exec(error)?.[1] ?? error;
}

function printReport(output: Output, report: HistoryReplayReport): void {
  const typeWidth = Math.max(0, ...report.histories.map((history) => history.workflowType.length));
  for (const history of report.histories) {
    output.out(
      `  ${SYMBOL[history.status]} ${history.workflowType.padEnd(typeWidth)}  ${history.workflowId}${history.running ? '  (in progress)' : ''}`,
    );
    if (history.error) output.out(`      ${LABEL[history.status]}: ${coreMessage(history.error)}`);
  }
  const failed = report.failed > 0 ? `, ${report.failed} failed to replay` : '';
  output.out(`${report.replayed} histories replayed, ${report.nonDeterministic} non-deterministic${failed}`);
  if (report.limited) output.out(`(the newest ${report.limit} of the runs started since ${report.since}; --limit replays more)`);
}

export async function replayHistories(output: Output, options: { since?: string; limit?: number; json?: boolean }): Promise<void> {
  const since = new Date(Date.now() - sinceMs(options.since ?? DEFAULT_SINCE));
  const limit = checkedLimit(options.limit ?? DEFAULT_LIMIT);
  const report = await replayRecentHistories({ temporal: clusterSettings(), since, limit });
  if (options.json) printJson(output, report);
  else printReport(output, report);
  const broken = report.nonDeterministic + report.failed;
  if (broken > 0)
    throw new CliError(
      `${broken} of ${report.replayed} histories do not replay against this workflow code: guard the change with patched() before deploying it (docs/deployment.md, Upgrades)`,
    );
}
