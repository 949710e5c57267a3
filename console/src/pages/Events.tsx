/** What arrived and what it matched, a page at a time, filtered by type and time. */
import { Link } from 'wouter';
import type { EventPage, EventRecord } from '../api/types.js';
import type { Column } from '../ui/DataTable.js';
import type { FilterField } from '../ui/Filters.js';
import { PagedList } from '../ui/PagedList.js';
import { Time } from '../ui/Time.js';

const FIELDS: FilterField[] = [
  { name: 'type', label: 'Type', placeholder: 'user.created' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
];

const matched = (event: EventRecord) => event.matches.filter((match) => match.matched);

const COLUMNS: Column<EventRecord>[] = [
  { header: 'Event', cell: (event) => <Link href={`/events/${encodeURIComponent(event.id)}`}>{event.id}</Link>, className: 'mono clip' },
  { header: 'Type', cell: (event) => event.type },
  { header: 'Received', cell: (event) => <Time iso={event.receivedAt} /> },
  {
    header: 'Matched',
    cell: (event) =>
      matched(event)
        .map((match) => match.automation)
        .join(', ') || <span className="muted">none</span>,
  },
  { header: 'Not matched', cell: (event) => event.matches.length - matched(event).length, className: 'num' },
];

export function EventsPage() {
  return (
    <PagedList<EventPage, EventRecord>
      title="Events"
      fields={FIELDS}
      path="/v1/events"
      limit={50}
      rowsOf={(page) => page.events}
      columns={COLUMNS}
      rowKey={(event) => event.id}
      empty="No events."
    />
  );
}
