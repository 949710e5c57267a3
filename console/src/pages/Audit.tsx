/** Who changed what: filtered in the URL, paged by the server, exported as JSON lines with the same filters. */
import { withQuery } from '../api/client.js';
import type { AuditEntry, AuditPage as Page } from '../api/types.js';
import type { Column } from '../ui/DataTable.js';
import { useFilters, type FilterField } from '../ui/Filters.js';
import { JsonView } from '../ui/JsonView.js';
import { PagedList } from '../ui/PagedList.js';
import { Time } from '../ui/Time.js';

const FIELDS: FilterField[] = [
  { name: 'actor', label: 'Actor' },
  { name: 'action', label: 'Action' },
  { name: 'target', label: 'Target' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
];

const COLUMNS: Column<AuditEntry>[] = [
  { header: 'When', cell: (entry) => <Time iso={entry.at} /> },
  { header: 'Actor', cell: (entry) => entry.actor },
  { header: 'Action', cell: (entry) => entry.action, className: 'mono' },
  { header: 'Target', cell: (entry) => entry.target, className: 'mono' },
  {
    header: 'Details',
    cell: (entry) => (
      <details>
        <summary>details</summary>
        <JsonView value={entry.details} label={`Details of ${entry.action}`} />
      </details>
    ),
  },
];

export function AuditPage() {
  const { cursor: _cursor, ...filters } = useFilters(FIELDS.map((field) => field.name));
  return (
    <PagedList<Page, AuditEntry>
      title="Audit log"
      actions={
        <a className="button ghost" href={withQuery('/v1/audit', { ...filters, format: 'jsonl' })} download="idflow-audit.jsonl">
          Export JSON lines
        </a>
      }
      fields={FIELDS}
      path="/v1/audit"
      limit={100}
      rowsOf={(page) => page.entries}
      columns={COLUMNS}
      rowKey={(entry) => entry.id}
      empty="No entries."
    />
  );
}
