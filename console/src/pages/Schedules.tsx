/** Scheduled automations: the next fires in their own zone (and the viewer's), pause, unpause, trigger now. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { ScheduleSummary } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Time } from '../ui/Time.js';

export function SchedulesPage() {
  const can = useCan();
  const schedules = useQuery({ queryKey: ['schedules'], queryFn: () => api.get<{ schedules: ScheduleSummary[] }>('/v1/schedules') });
  return (
    <>
      <PageHeader title="Schedules" />
      <Loaded query={schedules}>
        {({ schedules: list }) =>
          list.length === 0 ? (
            <p className="muted">No scheduled automation.</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">Automation</th>
                  <th scope="col">When</th>
                  <th scope="col">State</th>
                  <th scope="col">Next fires (their zone)</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((schedule) => (
                  <tr key={schedule.name}>
                    <td>
                      <Link href={`/automations/${seg(schedule.name)}`}>{schedule.name}</Link>
                    </td>
                    <td className="mono">
                      {schedule.cron ?? `every ${schedule.every}`} <span className="muted">{schedule.timezone}</span>
                    </td>
                    <td>{schedule.paused ? <Status value="paused" /> : <Status value="active" />}</td>
                    <td>
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
                    </td>
                    <td className="row-actions">
                      {can('runs:write') && (
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
                      )}
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
