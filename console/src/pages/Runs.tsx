/** Runs with their filters in the URL, a page at a time from the server, refreshed while a shown run is running. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '../api/client.js';
import type { RunPage, RunStatus } from '../api/types.js';
import { Filters, Pager, useFilters, type FilterField } from '../ui/Filters.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { RunsTable } from './RunsTable.js';

/** Every status once: the compiler holds this to the server's RunStatus. */
const RUN_STATUSES = Object.keys({
  running: true,
  completed: true,
  failed: true,
  cancelled: true,
  terminated: true,
  timed_out: true,
  rejected: true,
} satisfies Record<RunStatus, true>);

const FIELDS: FilterField[] = [
  { name: 'automation', label: 'Automation' },
  { name: 'status', label: 'Status', type: 'select', options: RUN_STATUSES },
  { name: 'person', label: 'Person', placeholder: 'id or email' },
  { name: 'eventId', label: 'Event' },
  { name: 'since', label: 'Since', type: 'datetime' },
  { name: 'until', label: 'Until', type: 'datetime' },
];

/** How often a page showing a running run asks again. */
export const LIVE_REFRESH_MS = 3_000;

export function RunsPage() {
  const query = useFilters([...FIELDS.map((field) => field.name), 'parent']);
  const runs = useQuery({
    queryKey: ['runs', query],
    queryFn: () => api.get<RunPage>('/v1/runs', { ...query, limit: 50 }),
    placeholderData: keepPreviousData,
    refetchInterval: (current) => (current.state.data?.runs.some((run) => run.status === 'running') ? LIVE_REFRESH_MS : false),
  });
  const live = runs.data?.runs.some((run) => run.status === 'running');
  return (
    <>
      <PageHeader title="Runs" subtitle={live ? 'Live: refreshing while runs are running' : undefined} />
      <Filters fields={FIELDS} />
      <Loaded query={runs}>
        {(page) => (
          <>
            {page.warning && <p className="warning">{page.warning}</p>}
            <RunsTable runs={page.runs} caption="Runs" />
            <Pager nextCursor={page.nextCursor} />
          </>
        )}
      </Loaded>
    </>
  );
}
