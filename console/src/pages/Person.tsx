/**
 * A person: attributes, grants, accounts (with their state in the apps), tasks, delegates, and the
 * timeline of every run and change about them — each change linked to the run and step that made it
 * (the answer to "why did Ada lose GitHub access").
 */
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import { useRouteParam } from '../route-params.js';
import type { Account, Delegate, Grant, Task, Timeline, TimelineEntry, User } from '../api/types.js';
import { useCan } from '../session.js';
import { DataTable } from '../ui/DataTable.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader, Section } from '../ui/Page.js';
import { ErrorMessage, Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Time } from '../ui/Time.js';
import { runHref } from './RunsTable.js';

function Facts({ user }: { user: User }) {
  const rows: [string, string | undefined][] = [
    ['Id', user.id],
    ['Email', user.email],
    ['Username', user.username],
    ['Department', user.department],
    ['Title', user.title],
    ['Employment', user.employmentType],
    ['Manager', user.manager],
    ['Location', user.location],
    ['Start date', user.startDate],
    ['End date', user.endDate],
  ];
  return (
    <dl className="facts">
      {rows
        .filter(([, value]) => value)
        .map(([label, value]) => (
          <div key={label} className="fact">
            <dt>{label}</dt>
            <dd>{label === 'Manager' && user.managerId ? <Link href={`/people/${seg(user.managerId)}`}>{value}</Link> : value}</dd>
          </div>
        ))}
      <div className="fact">
        <dt>Updated</dt>
        <dd>
          <Time iso={user.updatedAt} />
        </dd>
      </div>
    </dl>
  );
}

/** A grant's source, its run linked when a run made it ("automation joiner run joiner:evt-1"). */
function GrantSource({ source }: { source: string }) {
  const run = /^automation (\S+) run (\S+)$/.exec(source);
  if (!run) return <>{source}</>;
  return (
    <>
      {run[1]} · <Link href={runHref(run[2])}>run</Link>
    </>
  );
}

function Entry({ entry }: { entry: TimelineEntry }) {
  switch (entry.kind) {
    case 'run':
      return (
        <>
          <span className="effect effect-run">run</span>{' '}
          <Link href={runHref(entry.run.runId)}>
            {entry.run.automation} v{entry.run.version}
          </Link>{' '}
          <Status value={entry.run.status} />
          {entry.run.error && <span className="error-text"> {entry.run.error}</span>}
        </>
      );
    case 'change':
      return (
        <>
          <span className={`effect effect-${entry.event.type.replace(/\W/g, '-')}`}>{entry.event.type}</span> {entry.event.summary}
          {entry.event.runId && (
            <span className="cause">
              {' '}
              ← <Link href={runHref(entry.event.runId)}>run {entry.event.runId}</Link>
              {entry.event.stepName && <> step {entry.event.stepName}</>}
            </span>
          )}
        </>
      );
    case 'audit':
      return (
        <>
          <span className="effect effect-audit">audit</span> {entry.entry.actor} {entry.entry.action} {entry.entry.target}
        </>
      );
  }
}

function PersonTimeline({ user }: { user: string }) {
  const timeline = useInfiniteQuery({
    queryKey: ['timeline', user],
    queryFn: ({ pageParam }) => api.get<Timeline>(`/v1/directory/users/${seg(user)}/timeline`, { limit: 50, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor,
  });
  if (timeline.isPending) return <p className="muted">Loading…</p>;
  if (timeline.isError) return <ErrorMessage error={timeline.error} />;
  const entries = timeline.data.pages.flatMap((page) => page.entries);
  return (
    <>
      {entries.length === 0 ? (
        <p className="muted">Nothing happened to this person yet.</p>
      ) : (
        <ol className="person-timeline">
          {entries.map((entry, index) => (
            <li key={index}>
              <span className="when">
                <Time iso={entry.at} />
              </span>
              <span className="what">
                <Entry entry={entry} />
              </span>
            </li>
          ))}
        </ol>
      )}
      {timeline.hasNextPage && (
        <button type="button" className="button ghost" disabled={timeline.isFetchingNextPage} onClick={() => timeline.fetchNextPage()}>
          {timeline.isFetchingNextPage ? 'Loading…' : 'Older'}
        </button>
      )}
    </>
  );
}

export function PersonPage() {
  const id = useRouteParam('id');
  const can = useCan();
  const user = useQuery({ queryKey: ['user', id], queryFn: () => api.get<User>(`/v1/directory/users/${seg(id)}`) });
  const related = useQuery({
    queryKey: ['user-related', id],
    queryFn: async () => {
      const [grants, accounts, tasks, delegates] = await Promise.all([
        api.get<{ grants: Grant[] }>('/v1/directory/grants', { user: id }),
        api.get<{ accounts: Account[] }>('/v1/directory/accounts', { user: id }),
        api.get<{ tasks: Task[] }>('/v1/directory/tasks', { user: id }),
        api.get<{ delegates: Delegate[] }>('/v1/directory/delegates', { user: id }),
      ]);
      return { ...grants, ...accounts, ...tasks, ...delegates };
    },
  });
  return (
    <Loaded query={user}>
      {(person) => (
        <>
          <PageHeader
            title={person.displayName ?? ([person.firstName, person.lastName].filter(Boolean).join(' ') || person.email)}
            subtitle={
              <>
                {person.email} · <Status value={person.status.toLowerCase()} />
              </>
            }
          />
          <div className="columns">
            <div>
              <Section title="Attributes">
                <Facts user={person} />
                {Object.keys(person.attributes).length > 0 && <JsonView value={person.attributes} label="Custom attributes" />}
              </Section>
              <Loaded query={related}>
                {(data) => (
                  <>
                    <Section title={`Grants (${data.grants.length})`}>
                      <DataTable
                        rows={data.grants}
                        empty="No grants."
                        rowKey={(grant) => grant.entitlementId}
                        columns={[
                          { header: 'Entitlement', className: 'mono', cell: (grant) => grant.entitlement },
                          { header: 'Source', cell: (grant) => <GrantSource source={grant.source} /> },
                          { header: 'Granted', cell: (grant) => <Time iso={grant.grantedAt} /> },
                          { header: 'Expires', cell: (grant) => <Time iso={grant.expiresAt} /> },
                        ]}
                      />
                    </Section>
                    <Section title={`Accounts (${data.accounts.length})`}>
                      <DataTable
                        rows={data.accounts}
                        empty="No accounts."
                        rowKey={(account) => account.id}
                        columns={[
                          { header: 'App', cell: (account) => account.app },
                          { header: 'Username', cell: (account) => account.username },
                          {
                            header: 'State',
                            cell: (account) => <Status value={account.status.replace('APP_USER_STATUS_', '').toLowerCase()} />,
                          },
                          {
                            header: 'In the app',
                            cell: (account) =>
                              account.appUserId ? (
                                <span className="mono">{account.appUserId}</span>
                              ) : (
                                <span className="muted">not provisioned</span>
                              ),
                          },
                        ]}
                      />
                    </Section>
                    <Section title={`Tasks (${data.tasks.length})`}>
                      {data.tasks.length === 0 ? (
                        <p className="muted">No tasks.</p>
                      ) : (
                        <ul className="plain">
                          {data.tasks.map((task) => (
                            <li key={task.id}>
                              <Status value={task.state} /> {task.title} <span className="muted">({task.type.replace('_', ' ')})</span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </Section>
                    <Section title="Delegates">
                      {data.delegates.length === 0 ? (
                        <p className="muted">No delegate.</p>
                      ) : (
                        <ul className="plain">
                          {data.delegates.map((delegate) => (
                            <li key={delegate.delegateId}>
                              <Link href={`/people/${seg(delegate.delegateId === person.id ? delegate.userId : delegate.delegateId)}`}>
                                {delegate.delegateId === person.id ? `delegate of ${delegate.userId}` : delegate.delegateId}
                              </Link>
                            </li>
                          ))}
                        </ul>
                      )}
                    </Section>
                  </>
                )}
              </Loaded>
            </div>
            {can('runs:read') && (
              <Section title="Timeline">
                <PersonTimeline user={person.id} />
              </Section>
            )}
          </div>
        </>
      )}
    </Loaded>
  );
}
