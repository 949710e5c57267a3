/** Who changed what: filtered in the URL, paged by the server, exported as JSON lines with the same filters. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, withQuery } from '../api/client.js';
import type { AuditPage as Page } from '../api/types.js';
import { Filters, Pager, useFilters, type FilterField } from '../ui/Filters.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';

const FIELDS: FilterField[] = [
  { name: 'actor', label: 'Actor' },
  { name: 'action', label: 'Action' },
  { name: 'target', label: 'Target' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
];

export function AuditPage() {
  const query = useFilters(FIELDS.map((field) => field.name));
  const audit = useQuery({
    queryKey: ['audit', query],
    queryFn: () => api.get<Page>('/v1/audit', { ...query, limit: 100 }),
    placeholderData: keepPreviousData,
  });
  const { cursor: _cursor, ...filters } = query;
  return (
    <>
      <PageHeader title="Audit log">
        <a className="button ghost" href={withQuery('/v1/audit', { ...filters, format: 'jsonl' })} download="idflow-audit.jsonl">
          Export JSON lines
        </a>
      </PageHeader>
      <Filters fields={FIELDS} />
      <Loaded query={audit}>
        {(page) =>
          page.entries.length === 0 ? (
            <p className="muted">No entries.</p>
          ) : (
            <>
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {page.entries.map((entry) => (
                    <tr key={entry.id}>
                      <td>
                        <Time iso={entry.at} />
                      </td>
                      <td>{entry.actor}</td>
                      <td className="mono">{entry.action}</td>
                      <td className="mono">{entry.target}</td>
                      <td>
                        <details>
                          <summary>details</summary>
                          <JsonView value={entry.details} label={`Details of ${entry.action}`} />
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager nextCursor={page.nextCursor} />
            </>
          )
        }
      </Loaded>
    </>
  );
}
