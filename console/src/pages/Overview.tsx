/** The last 24 hours: runs by status, failures to look at, held runs and tripped guards, pending approvals, next fires. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api } from '../api/client.js';
import type { Overview } from '../api/types.js';
import { DataTable } from '../ui/DataTable.js';
import { PageHeader, Section } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Time } from '../ui/Time.js';

export function OverviewPage() {
  const overview = useQuery({ queryKey: ['overview'], queryFn: () => api.get<Overview>('/v1/overview'), refetchInterval: 10_000 });
  return (
    <>
      <PageHeader title="Overview" subtitle="The last 24 hours" />
      <Loaded query={overview}>
        {(data) => (
          <>
            <div className="tiles">
              <Link className="tile" href={`/runs?since=${encodeURIComponent(data.since)}`}>
                <span className="tile-value">{data.runs.total}</span>
                <span className="tile-label">runs</span>
              </Link>
              {Object.entries(data.runs.byStatus)
                .filter(([, count]) => count)
                .map(([status, count]) => (
                  <Link key={status} className="tile" href={`/runs?status=${status}&since=${encodeURIComponent(data.since)}`}>
                    <span className="tile-value">{count}</span>
                    <span className="tile-label">
                      <Status value={status} />
                    </span>
                  </Link>
                ))}
              {data.guard && (
                <Link className={`tile${data.guard.trips ? ' tile-alert' : ''}`} href="/guard">
                  <span className="tile-value">{data.guard.held}</span>
                  <span className="tile-label">
                    held runs, {data.guard.trips} tripped guard{data.guard.trips === 1 ? '' : 's'}
                  </span>
                </Link>
              )}
              {data.approvals && (
                <Link className="tile" href="/approvals">
                  <span className="tile-value">{data.approvals.pending}</span>
                  <span className="tile-label">pending approvals</span>
                </Link>
              )}
            </div>
            <Section title="Failures to look at">
              <DataTable
                rows={data.failures}
                empty="No failed run in the last 24 hours."
                rowKey={(run) => run.runId}
                columns={[
                  { header: 'Run', cell: (run) => <Link href={`/runs/${encodeURIComponent(run.runId)}`}>{run.runId}</Link> },
                  {
                    header: 'Automation',
                    cell: (run) => (
                      <>
                        {run.automation} <span className="muted">v{run.version}</span>
                      </>
                    ),
                  },
                  { header: 'Status', cell: (run) => <Status value={run.status} /> },
                  { header: 'Started', cell: (run) => <Time iso={run.startedAt} /> },
                  { header: 'Error', className: 'clip', title: (run) => run.error, cell: (run) => run.error },
                ]}
              />
            </Section>
            {data.schedules && (
              <Section title="Next scheduled fires">
                {data.schedules.length === 0 ? (
                  <p className="muted">No scheduled automation.</p>
                ) : (
                  <ul className="plain">
                    {data.schedules.map((schedule) => (
                      <li key={schedule.automation}>
                        <Link href={`/automations/${encodeURIComponent(schedule.automation)}`}>{schedule.automation}</Link>{' '}
                        {schedule.paused ? <Status value="paused" /> : <Time iso={schedule.nextFireAt} />}{' '}
                        <span className="muted">({schedule.timezone})</span>
                      </li>
                    ))}
                  </ul>
                )}
              </Section>
            )}
          </>
        )}
      </Loaded>
    </>
  );
}
