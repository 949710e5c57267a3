/** The session gate and the routes: without a session every path shows the sign-in form at /signin. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Redirect, Route, Switch, useLocation, useSearch } from 'wouter';
import { api, setCsrfToken, whenUnauthorized } from './api/client.js';
import type { Session } from './api/types.js';
import { Layout } from './Layout.js';
import { ApprovalsPage } from './pages/Approvals.js';
import { AuditPage } from './pages/Audit.js';
import { AutomationPage } from './pages/Automation.js';
import { AutomationsPage } from './pages/Automations.js';
import { EventPage } from './pages/Event.js';
import { EventsPage } from './pages/Events.js';
import { FunctionPage } from './pages/Function.js';
import { FunctionsPage } from './pages/Functions.js';
import { GuardPage } from './pages/Guard.js';
import { NotFound } from './pages/NotFound.js';
import { OutboxPage } from './pages/Outbox.js';
import { OverviewPage } from './pages/Overview.js';
import { PeoplePage } from './pages/People.js';
import { PersonPage } from './pages/Person.js';
import { RunPage } from './pages/Run.js';
import { RunsPage } from './pages/Runs.js';
import { SchedulesPage } from './pages/Schedules.js';
import { SignIn } from './pages/SignIn.js';
import { SessionContext } from './session.js';

export function App() {
  const client = useQueryClient();
  const [location, navigate] = useLocation();
  const search = useSearch();
  const session = useQuery({
    queryKey: ['session'],
    queryFn: () => api.get<Session | null>('/v1/console/session'),
    retry: false,
    staleTime: Infinity,
  });
  useEffect(() => whenUnauthorized(() => client.setQueryData(['session'], null)), [client]);
  setCsrfToken(session.data?.csrfToken);

  if (session.isPending) return <p className="muted boot">Loading…</p>;
  if (!session.data) {
    if (location !== '/signin') return <Redirect to={`/signin?next=${encodeURIComponent(location + (search ? `?${search}` : ''))}`} />;
    const next = new URLSearchParams(search).get('next');
    return (
      <SignIn
        onSignedIn={(signedIn) => {
          client.setQueryData(['session'], signedIn);
          // Only a path of this console, never another site.
          navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/');
        }}
      />
    );
  }
  if (location === '/signin') return <Redirect to="/" />;
  return (
    <SessionContext.Provider value={session.data}>
      <Layout>
        <Switch>
          <Route path="/" component={OverviewPage} />
          <Route path="/runs" component={RunsPage} />
          <Route path="/runs/:id" component={RunPage} />
          <Route path="/events" component={EventsPage} />
          <Route path="/events/:id" component={EventPage} />
          <Route path="/automations" component={AutomationsPage} />
          <Route path="/automations/:name" component={AutomationPage} />
          <Route path="/people" component={PeoplePage} />
          <Route path="/people/:id" component={PersonPage} />
          <Route path="/functions" component={FunctionsPage} />
          <Route path="/functions/:name" component={FunctionPage} />
          <Route path="/approvals" component={ApprovalsPage} />
          <Route path="/guard" component={GuardPage} />
          <Route path="/schedules" component={SchedulesPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/outbox" component={OutboxPage} />
          <Route component={NotFound} />
        </Switch>
      </Layout>
    </SessionContext.Provider>
  );
}
