/** Runs as a dense table (the runs page, a person's or an automation's runs, a run's children). */
import { Link } from 'wouter';
import type { RunRecord } from '../api/types.js';
import { DataTable, type Column } from '../ui/DataTable.js';
import { Status } from '../ui/Status.js';
import { Duration, Time } from '../ui/Time.js';

export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

const COLUMNS: Column<RunRecord>[] = [
  { header: 'Run', className: 'mono clip', cell: (run) => <Link href={runHref(run.runId)}>{run.runId}</Link> },
  {
    header: 'Automation',
    cell: (run) => (
      <>
        <Link href={`/automations/${encodeURIComponent(run.automation)}`}>{run.automation}</Link>{' '}
        <span className="muted">v{run.version}</span>
      </>
    ),
  },
  { header: 'Status', cell: (run) => <Status value={run.status} /> },
  {
    header: 'Steps',
    className: 'num',
    cell: (run) => `${run.steps.filter((step) => step.status === 'completed' || step.status === 'skipped').length}/${run.steps.length}`,
  },
  { header: 'Started', cell: (run) => <Time iso={run.startedAt} /> },
  {
    header: 'Duration',
    className: 'num',
    cell: (run) => (run.endedAt ? <Duration from={run.startedAt} to={run.endedAt} /> : <span className="muted">…</span>),
  },
  { header: 'Error', className: 'clip', title: (run) => run.error, cell: (run) => run.error },
];

export function RunsTable({ runs, caption }: { runs: RunRecord[]; caption?: string }) {
  return <DataTable rows={runs} columns={COLUMNS} rowKey={(run) => run.runId} caption={caption} empty="No runs." />;
}
