/** Scheduled automations: the next fires in their own zone (and the viewer's), pause, unpause, trigger now. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { ScheduleSummary } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { ACTIONS_HEADER, DataTable, type Column } from '../ui/DataTable.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Time } from '../ui/Time.js';

export function SchedulesPage() {
  const can = useCan();
  const schedules = useQuery({ queryKey: ['schedules'], queryFn: () => api.get<{ schedules: ScheduleSummary[] }>('/v1/schedules') });
  const columns: Column<ScheduleSummary>[] = [
    { header: 'Automation', cell: (schedule) => <Link href={`/automations/${seg(schedule.name)}`}>{schedule.name}</Link> },
    {
      header: 'When',
      className: 'mono',
      cell: (schedule) => (
        <>
          {schedule.cron ?? `every ${schedule.every}`} <span className="muted">{schedule.timezone}</span>
        </>
      ),
    },
    { header: 'State', cell: (schedule) => (schedule.paused ? <Status value="paused" /> : <Status value="active" />) },
    {
      header: 'Next fires (their zone)',
      cell: (schedule) => (
        <ul className="plain">
          {schedule.nextFireTimes.map((fire) => (
            <li key={fire.at}>
              {fire.local}{' '}
              <span className="muted">
                (yours: <Time iso={fire.at} />)
              </span>
            </li>
          ))}
        </ul>
      ),
    },
    {
      header: ACTIONS_HEADER,
      className: 'row-actions',
      cell: (schedule) =>
        can('runs:write') && (
          <>
            <Action
              run={() => api.post(`/v1/schedules/${seg(schedule.name)}/${schedule.paused ? 'unpause' : 'pause'}`)}
              invalidate={[['schedules'], ['overview']]}
            >
              {schedule.paused ? 'Unpause' : 'Pause'}
            </Action>
            <Action
              confirm={`Run ${schedule.name} now?`}
              run={() => api.post(`/v1/schedules/${seg(schedule.name)}/trigger`)}
              invalidate={[['runs']]}
            >
              Trigger now
            </Action>
          </>
        ),
    },
  ];
  return (
    <>
      <PageHeader title="Schedules" />
      <Loaded query={schedules}>
        {({ schedules: list }) => (
          <DataTable rows={list} columns={columns} rowKey={(schedule) => schedule.name} empty="No scheduled automation." />
        )}
      </Loaded>
    </>
  );
}
