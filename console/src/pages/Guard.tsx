/** The blast-radius guard: tripped automations, their held runs with what they would do, release or discard. */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { GuardState, Plan } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { ACTIONS_HEADER, DataTable } from '../ui/DataTable.js';
import { PageHeader, Section } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { PlanView } from '../ui/PlanView.js';
import { Time } from '../ui/Time.js';
import { runHref } from './RunsTable.js';

function HeldPlan({ runId }: { runId: string }) {
  const plan = useQuery({ queryKey: ['guard-plan', runId], queryFn: () => api.get<Plan>(`/v1/guard/runs/${seg(runId)}/plan`) });
  return <Loaded query={plan}>{(data) => <PlanView plan={data} />}</Loaded>;
}

export function GuardPage() {
  const can = useCan();
  const [planOf, setPlanOf] = useState<string>();
  const guard = useQuery({ queryKey: ['guard'], queryFn: () => api.get<GuardState>('/v1/guard'), refetchInterval: 10_000 });
  const invalidate = [['guard'], ['overview']];
  return (
    <>
      <PageHeader title="Guard" subtitle="Automations stopped by their blast-radius limit, and the runs they hold" />
      <Loaded query={guard}>
        {(data) => (
          <>
            <Section title="Tripped automations">
              {data.trips.length === 0 ? (
                <p className="muted">No automation is tripped.</p>
              ) : (
                <ul className="cards">
                  {data.trips.map((trip) => (
                    <li key={trip.automation} className="card">
                      <p>
                        <Link href={`/automations/${seg(trip.automation)}`}>
                          <strong>{trip.automation}</strong>
                        </Link>{' '}
                        tripped <Time iso={trip.trippedAt} /> · {trip.held} held
                      </p>
                      <p>{trip.reason}</p>
                      <div className="actions">
                        {can('admin') && (
                          <Action
                            kind="primary"
                            confirm={`Release every run of ${trip.automation} held by the guard? They go on past the limit.`}
                            run={() => api.post(`/v1/guard/${seg(trip.automation)}/release`, {})}
                            invalidate={invalidate}
                          >
                            Release all
                          </Action>
                        )}
                        {can('runs:write') && (
                          <Action
                            kind="danger"
                            confirm={`Discard every held run of ${trip.automation}? They end cancelled.`}
                            run={() => api.post(`/v1/guard/${seg(trip.automation)}/discard`, {})}
                            invalidate={invalidate}
                          >
                            Discard all
                          </Action>
                        )}
                      </div>
                    </li>
                  ))}
                </ul>
              )}
            </Section>
            <Section title={`Held runs (${data.held.length})`}>
              <DataTable
                rows={data.held}
                empty="No run is held."
                rowKey={(hold) => hold.runId}
                columns={[
                  { header: 'Run', className: 'mono clip', cell: (hold) => <Link href={runHref(hold.runId)}>{hold.runId}</Link> },
                  { header: 'Automation', cell: (hold) => hold.automation },
                  { header: 'Held', cell: (hold) => <Time iso={hold.heldAt} /> },
                  { header: 'Why', cell: (hold) => hold.reason },
                  {
                    header: ACTIONS_HEADER,
                    className: 'row-actions',
                    cell: (hold) => (
                      <>
                        {can('plan') && (
                          <button
                            type="button"
                            className="button ghost"
                            aria-expanded={planOf === hold.runId}
                            onClick={() => setPlanOf(planOf === hold.runId ? undefined : hold.runId)}
                          >
                            Plan
                          </button>
                        )}
                        {can('admin') && (
                          <Action
                            run={() => api.post(`/v1/guard/${seg(hold.automation)}/release`, { runs: [hold.runId] })}
                            invalidate={invalidate}
                          >
                            Release
                          </Action>
                        )}
                        {can('runs:write') && (
                          <Action
                            kind="danger"
                            run={() => api.post(`/v1/guard/${seg(hold.automation)}/discard`, { runs: [hold.runId] })}
                            invalidate={invalidate}
                          >
                            Discard
                          </Action>
                        )}
                      </>
                    ),
                  },
                ]}
              />
              {planOf && (
                <Section title={`What ${planOf} would do if released`}>
                  <HeldPlan runId={planOf} />
                </Section>
              )}
            </Section>
          </>
        )}
      </Loaded>
    </>
  );
}
