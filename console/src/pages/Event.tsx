/** One event: its data, what it matched (with the runs) and why the others did not. */
import { useQuery } from '@tanstack/react-query';
import { api, seg } from '../api/client.js';
import { useRouteParam } from '../route-params.js';
import type { EventRecord } from '../api/types.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader, Section } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';
import { Matches } from './Matches.js';

export function EventPage() {
  const id = useRouteParam('id');
  const event = useQuery({ queryKey: ['event', id], queryFn: () => api.get<EventRecord>(`/v1/events/${seg(id)}`) });
  return (
    <Loaded query={event}>
      {(data) => (
        <>
          <PageHeader
            title={data.type}
            subtitle={
              <>
                <span className="mono">{data.id}</span> · occurred <Time iso={data.occurredAt} /> · received <Time iso={data.receivedAt} />
              </>
            }
          />
          <Section title="Matches">
            <Matches matches={data.matches} />
          </Section>
          <Section title="Data">
            <JsonView value={data.data} label="Event data" />
          </Section>
        </>
      )}
    </Loaded>
  );
}
