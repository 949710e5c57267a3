/** Every automation with its state, version, trigger and last runs. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { AutomationSummary } from '../api/types.js';
import { DataTable, type Column } from '../ui/DataTable.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';
import { runHref } from './RunsTable.js';

const COLUMNS: Column<AutomationSummary>[] = [
  {
    header: 'Automation',
    cell: (automation) => (
      <>
        <Link href={`/automations/${seg(automation.name)}`}>{automation.name}</Link>
        {automation.description && <div className="muted small clip">{automation.description}</div>}
      </>
    ),
  },
  {
    header: 'State',
    cell: (automation) => (
      <span className={`status ${automation.enabled ? 'status-completed' : 'status-cancelled'}`}>
        {automation.enabled ? 'enabled' : 'disabled'}
      </span>
    ),
  },
  { header: 'Version', cell: (automation) => `v${automation.version}`, className: 'num' },
  { header: 'Trigger', cell: (automation) => automation.triggerType ?? <span className="muted">—</span> },
  {
    header: 'Last runs',
    cell: (automation) => (
      <span className="dots">
        {(automation.lastRuns ?? []).map((run) => (
          <Link key={run.runId} href={runHref(run.runId)} className={`dot status-${run.status}`} title={`${run.status}, ${run.startedAt}`}>
            <span className="visually-hidden">
              {run.status} run {run.runId}
            </span>
          </Link>
        ))}
      </span>
    ),
  },
  { header: 'Updated', cell: (automation) => <Time iso={automation.updatedAt} /> },
];

export function AutomationsPage() {
  const automations = useQuery({
    queryKey: ['automations'],
    queryFn: () => api.get<{ automations: AutomationSummary[] }>('/v1/automations'),
  });
  return (
    <>
      <PageHeader title="Automations" />
      <Loaded query={automations}>
        {({ automations: list }) => (
          <DataTable
            rows={list}
            columns={COLUMNS}
            rowKey={(automation) => automation.name}
            empty="No automation applied yet (idflow apply)."
          />
        )}
      </Loaded>
    </>
  );
}
