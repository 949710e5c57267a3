/** Runs as a dense table (the runs page, a person's or an automation's runs, a run's children). */
import { Link } from 'wouter';
import type { RunRecord } from '../api/types.js';
import { Status } from '../ui/Status.js';
import { Duration, Time } from '../ui/Time.js';

export function runHref(runId: string): string {
  return `/runs/${encodeURIComponent(runId)}`;
}

export function RunsTable({ runs, caption }: { runs: RunRecord[]; caption?: string }) {
  if (runs.length === 0) return <p className="muted">No runs.</p>;
  return (
    <table className="list">
      {caption && <caption className="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">Automation</th>
          <th scope="col">Status</th>
          <th scope="col">Steps</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Error</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.runId}>
            <td className="mono clip">
              <Link href={runHref(run.runId)}>{run.runId}</Link>
            </td>
            <td>
              <Link href={`/automations/${encodeURIComponent(run.automation)}`}>{run.automation}</Link>{' '}
              <span className="muted">v{run.version}</span>
            </td>
            <td>
              <Status value={run.status} />
            </td>
            <td className="num">
              {run.steps.filter((step) => step.status === 'completed' || step.status === 'skipped').length}/{run.steps.length}
            </td>
            <td>
              <Time iso={run.startedAt} />
            </td>
            <td className="num">{run.endedAt ? <Duration from={run.startedAt} to={run.endedAt} /> : <span className="muted">…</span>}</td>
            <td className="clip" title={run.error}>
              {run.error}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
