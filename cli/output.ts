/** Where the CLI writes (injectable so tests run commands in-process) and how runs read. */
import type { RunRecord, StepRecord } from '../store/types.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** An error the CLI reports as `idflow: <message>`, exiting with `exitCode` (1 unless said otherwise). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function printJson(output: Output, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

const STEP_SYMBOL: Record<StepRecord['status'], string> = {
  completed: '✓',
  skipped: '↷',
  failed: '✗',
  running: '…',
  pending: '·',
  cancelled: '⊘',
};

function seconds(from?: string, to?: string): string {
  if (!from || !to) return '';
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)}s`;
}

/** The readable step timeline of `idflow runs show`. */
export function formatRun(run: RunRecord & { webUiLink?: string }): string {
  const lines = [
    `run ${run.runId}  ${run.status}  (${run.automation} v${run.version}${run.endedAt ? `, ${seconds(run.startedAt, run.endedAt)}` : ''})`,
  ];
  const width = Math.max(...run.steps.map((step) => step.name.length), 4);
  const typeWidth = Math.max(...run.steps.map((step) => step.type.length), 4);
  for (const step of run.steps) {
    const attempts = step.attempts > 0 ? `${step.attempts} attempt${step.attempts === 1 ? '' : 's'}` : '';
    const detail = step.error ? `  error: ${step.error}` : '';
    lines.push(
      `  ${STEP_SYMBOL[step.status]} ${step.name.padEnd(width)}  ${step.type.padEnd(typeWidth)}  ${attempts.padEnd(10)} ${seconds(step.startedAt, step.endedAt).padStart(6)}${detail}`,
    );
  }
  if (run.error && !run.steps.some((step) => step.error)) lines.push(`  error: ${run.error}`);
  if (run.webUiLink) lines.push(`  Temporal Web UI: ${run.webUiLink}`);
  return lines.join('\n');
}

/** The run shape of `--json` outputs. */
export function runSummary(run: RunRecord) {
  return {
    runId: run.runId,
    automation: run.automation,
    version: run.version,
    status: run.status,
    error: run.error,
    steps: run.steps.map((step) => ({
      name: step.name,
      type: step.type,
      status: step.status,
      attempts: step.attempts,
      output: step.output,
      error: step.error,
    })),
  };
}
