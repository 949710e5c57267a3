/** Every automation with its state, version, trigger and last runs. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { AutomationSummary } from '../api/types.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';
import { runHref } from './RunsTable.js';

export function AutomationsPage() {
  const automations = useQuery({
    queryKey: ['automations'],
    queryFn: () => api.get<{ automations: AutomationSummary[] }>('/v1/automations'),
  });
  return (
    <>
      <PageHeader title="Automations" />
      <Loaded query={automations}>
        {({ automations: list }) =>
          list.length === 0 ? (
            <p className="muted">No automation applied yet (idflow apply).</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">Automation</th>
                  <th scope="col">State</th>
                  <th scope="col">Version</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Last runs</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {list.map((automation) => (
                  <tr key={automation.name}>
                    <td>
                      <Link href={`/automations/${seg(automation.name)}`}>{automation.name}</Link>
                      {automation.description && <div className="muted small clip">{automation.description}</div>}
                    </td>
                    <td>
                      <span className={`status ${automation.enabled ? 'status-completed' : 'status-cancelled'}`}>
                        {automation.enabled ? 'enabled' : 'disabled'}
                      </span>
                    </td>
                    <td className="num">v{automation.version}</td>
                    <td>{automation.triggerType ?? <span className="muted">—</span>}</td>
                    <td>
                      <span className="dots">
                        {(automation.lastRuns ?? []).map((run) => (
                          <Link
                            key={run.runId}
                            href={runHref(run.runId)}
                            className={`dot status-${run.status}`}
                            title={`${run.status}, ${run.startedAt}`}
                          >
                            <span className="visually-hidden">
                              {run.status} run {run.runId}
                            </span>
                          </Link>
                        ))}
                      </span>
                    </td>
                    <td>
                      <Time iso={automation.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}
