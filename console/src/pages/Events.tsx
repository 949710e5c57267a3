/** What arrived and what it matched, a page at a time, filtered by type and time. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api } from '../api/client.js';
import type { EventPage } from '../api/types.js';
import { Filters, Pager, useFilters, type FilterField } from '../ui/Filters.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';

const FIELDS: FilterField[] = [
  { name: 'type', label: 'Type', placeholder: 'user.created' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
];

export function EventsPage() {
  const query = useFilters(FIELDS.map((field) => field.name));
  const events = useQuery({
    queryKey: ['events', query],
    queryFn: () => api.get<EventPage>('/v1/events', { ...query, limit: 50 }),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="Events" />
      <Filters fields={FIELDS} />
      <Loaded query={events}>
        {(page) =>
          page.events.length === 0 ? (
            <p className="muted">No events.</p>
          ) : (
            <>
              <table className="list">
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Type</th>
                    <th scope="col">Received</th>
                    <th scope="col">Matched</th>
                    <th scope="col">Not matched</th>
                  </tr>
                </thead>
                <tbody>
                  {page.events.map((event) => {
                    const matched = event.matches.filter((match) => match.matched);
                    return (
                      <tr key={event.id}>
                        <td className="mono clip">
                          <Link href={`/events/${encodeURIComponent(event.id)}`}>{event.id}</Link>
                        </td>
                        <td>{event.type}</td>
                        <td>
                          <Time iso={event.receivedAt} />
                        </td>
                        <td>{matched.map((match) => match.automation).join(', ') || <span className="muted">none</span>}</td>
                        <td className="num">{event.matches.length - matched.length}</td>
                      </tr>
                    );
                  })}
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
